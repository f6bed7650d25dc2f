/* Vulkan results and validation messages as vittm errors: what every vk/ file reports with,
 * below the device and the objects made on it. */
#ifndef VITTM_VK_STATUS_H
#define VITTM_VK_STATUS_H

#include <vulkan/vulkan.h>

#include "vittm/device.h"

/* VITTM_ERROR_VULKAN naming `what` and the VkResult (VITTM_ERROR_OUT_OF_MEMORY for the
 * out-of-memory results), or VITTM_OK for VK_SUCCESS. */
vittm_status vittm_vk_result(VkResult r, vittm_error *err, const char *what);

/* Fails with the first new validation message if the count rose above `before`. */
vittm_status vittm_device_check_validation(vittm_device *dev, unsigned before, vittm_error *err);

#endif

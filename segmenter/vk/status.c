#include "vk/status.h"

#include "vk/device.h"

vittm_status vittm_vk_result(VkResult r, vittm_error *err, const char *what)
{
  if (r == VK_SUCCESS)
    return VITTM_OK;
  vittm_status code = VITTM_ERROR_VULKAN;
  if (r == VK_ERROR_OUT_OF_HOST_MEMORY || r == VK_ERROR_OUT_OF_DEVICE_MEMORY)
    code = VITTM_ERROR_OUT_OF_MEMORY;
  return vittm_error_set(err, code, "%s failed (VkResult %d)", what, (int)r);
}

vittm_status vittm_device_check_validation(vittm_device *dev, unsigned before, vittm_error *err)
{
  if (atomic_load(&dev->validation_errors) == before)
    return VITTM_OK;
  return vittm_error_set(err, VITTM_ERROR_VALIDATION, "Vulkan validation: %s",
                         dev->validation_message);
}

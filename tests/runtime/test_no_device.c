/* With no Vulkan driver at all (VK_ICD_FILENAMES pointing nowhere), opening a device is a
 * clear error, never a crash. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static void test_no_driver_gives_a_clear_error(void **state)
{
  (void)state;
  vittm_device *dev = (vittm_device *)1;
  vittm_error err = {0};
  assert_int_equal(vittm_device_open(NULL, &dev, &err), VITTM_ERROR_NO_DEVICE);
  assert_null(dev);
  assert_non_null(strstr(err.message, "Vulkan"));
  assert_non_null(strstr(err.message, "install"));
  assert_int_equal(err.cause, VITTM_CAUSE_NO_DRIVER);
  /* The same status without an error record. */
  assert_int_equal(vittm_device_open(NULL, &dev, NULL), VITTM_ERROR_NO_DEVICE);
  vittm_device_info infos[4];
  uint32_t n = 99;
  vittm_status st = vittm_device_enumerate(infos, 4, &n, &err);
  assert_true(st == VITTM_ERROR_NO_DEVICE || (st == VITTM_OK && n == 0));
  assert_int_equal(vittm_device_enumerate(infos, 4, &n, NULL), st);
}

int main(void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_driver_gives_a_clear_error)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}

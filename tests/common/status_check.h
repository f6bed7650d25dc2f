/* Checks that a public function fails with the same status whether or not the caller passes
 * an error record (vittm/error.h's contract). Header-only, for tests of either library. Include
 * after <cmocka.h> and a header that declares vittm_status_name. */
#ifndef VITTM_TEST_STATUS_CHECK_H
#define VITTM_TEST_STATUS_CHECK_H

/* Both statuses must be `expected`, and the record must say the same and why. */
static inline void check_same_status(const char *call, vittm_status expected,
                                     vittm_status with_record, vittm_status without_record,
                                     const vittm_error *record)
{
  print_message("%s: %s (%s)\n", call, vittm_status_name(with_record), record->message);
  if (with_record != without_record)
    fail_msg("%s returns %s with an error record but %s without one", call,
             vittm_status_name(with_record), vittm_status_name(without_record));
  if (with_record != expected)
    fail_msg("%s returns %s, expected %s", call, vittm_status_name(with_record),
             vittm_status_name(expected));
  assert_int_equal(record->code, with_record);
  assert_true(record->message[0] != '\0');
}

/* Evaluates call twice, with ERR a record and then NULL. */
#define ASSERT_FAILS_THE_SAME(expected, call)                                                      \
  do {                                                                                             \
    vittm_error record_ = {0};                                                                     \
    vittm_error *ERR = &record_;                                                                   \
    vittm_status with_ = (call);                                                                   \
    ERR = NULL;                                                                                    \
    vittm_status without_ = (call);                                                                \
    check_same_status(#call, (expected), with_, without_, &record_);                               \
  } while (0)

#endif

/* libvittm-decoder's public functions return the same status with an error record and
 * without one: every failure path, called once each way. */
#include "media.h"
#include "videos.h"
#include "vittm/decoder.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "status_check.h"

/* Opens path and iterates to the end or the first error; the status that ended it. */
static vittm_status decode_all(const char *path, const vittm_decoder_options *opts,
                               vittm_error *err)
{
  vittm_decoder *dec = NULL;
  vittm_status st = vittm_decoder_open(path, opts, &dec, err);
  vittm_video_frame frame = {0};
  for (int calls = 0; !st && calls < 10000; calls++) {
    st = vittm_decoder_next(dec, &frame, err);
    if (frame.eos)
      break;
  }
  vittm_decoder_free(dec);
  return st;
}

static vittm_status refuse_frame(const vittm_video_frame *frame, void *user, vittm_error *err)
{
  (void)frame, (void)user, (void)err;
  return VITTM_ERROR_UNSUPPORTED;
}

static vittm_status accept_frame(const vittm_video_frame *frame, void *user, vittm_error *err)
{
  (void)frame, (void)user, (void)err;
  return VITTM_OK;
}

static vittm_status run_all(const char *path, const vittm_decoder_options *opts,
                            vittm_decoder_frame_fn fn, vittm_error *err)
{
  vittm_decoder *dec = NULL;
  vittm_status st = vittm_decoder_open(path, opts, &dec, err);
  if (!st)
    st = vittm_decoder_run(dec, fn, NULL, err);
  vittm_decoder_free(dec);
  return st;
}

static void test_decoder_open_failures_do_not_depend_on_the_record(void **state)
{
  (void)state;
  vittm_decoder *dec = NULL;
  char missing[1200];
  media_path(missing, sizeof missing, "no-such-clip.mp4");
  const char *text = media_write_text("status-notes.txt", "not a video\n");
  const char *mjpeg = video_quadrants("mjpeg", 320, 240);
  const char *unknown =
      media_retag(video_quadrants("mpeg4", 320, 240), "status-unknown.avi", "FMP4", "ZZZZ");
  vittm_decoder_options bad = {.threads = -2};
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT, vittm_decoder_open(mjpeg, NULL, NULL, ERR));
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT, vittm_decoder_open(NULL, NULL, &dec, ERR));
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT, vittm_decoder_open(mjpeg, &bad, &dec, ERR));
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_IO, vittm_decoder_open(missing, NULL, &dec, ERR));
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_FORMAT, vittm_decoder_open(text, NULL, &dec, ERR));
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_UNSUPPORTED, vittm_decoder_open(unknown, NULL, &dec, ERR));
  assert_null(dec);
}

static void test_decoder_iteration_failures_do_not_depend_on_the_record(void **state)
{
  (void)state;
  vittm_video_frame frame;
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT, vittm_decoder_next(NULL, &frame, ERR));
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT,
                        vittm_decoder_run(NULL, refuse_frame, NULL, ERR));
  const char *broken =
      media_wreck_jpegs(video_quadrants("mjpeg", 320, 240), "status-broken.avi", 4, 4);
  vittm_decoder_options strict = {.max_consecutive_failures = 3};
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_FORMAT, decode_all(broken, &strict, ERR));
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_FORMAT, run_all(broken, &strict, accept_frame, ERR));
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_UNSUPPORTED, run_all(broken, NULL, refuse_frame, ERR));
}

int main(int argc, char **argv)
{
  media_init(argc > 1 ? argv[1] : "decoder-status-media");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decoder_open_failures_do_not_depend_on_the_record),
      cmocka_unit_test(test_decoder_iteration_failures_do_not_depend_on_the_record),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* libvittm-decoder on bad input: every user-reachable error path, once. Nothing crashes,
 * nothing hangs, and every message names the file at fault. */
#include "media.h"
#include "videos.h"
#include "vittm/decoder.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

/* Opens path, expecting status; the decoder pointer must come back NULL, the message must
 * name the file and contain `says`. */
static void assert_open_fails(const char *path, const vittm_decoder_options *opts,
                              vittm_status status, const char *says)
{
  vittm_decoder *dec = (vittm_decoder *)&dec; /* not NULL: open must clear it */
  vittm_error err = {0};
  vittm_status got = vittm_decoder_open(path, opts, &dec, &err);
  print_message("%s: %s\n", vittm_status_name(got), err.message);
  assert_int_equal(got, status);
  assert_int_equal(err.code, status);
  assert_null(dec);
  assert_non_null(strstr(err.message, path));
  if (!strstr(err.message, says))
    fail_msg("message \"%s\" does not say \"%s\"", err.message, says);
}

typedef struct outcome {
  int frames;
  vittm_status status; /* of the call that ended the loop */
  vittm_error err;
  vittm_decoder_info info;
} outcome;

/* Iterates to the end (or the first error), with a bound far above any sane frame count so
 * that a decoder that never ends fails the test instead of hanging it. */
static outcome decode_until_stop(const char *path, const vittm_decoder_options *opts)
{
  outcome o = {0};
  vittm_decoder *dec = NULL;
  if (vittm_decoder_open(path, opts, &dec, &o.err) != VITTM_OK)
    fail_msg("open %s: %s", path, o.err.message);
  vittm_video_frame frame;
  for (int calls = 0; calls < 10000; calls++) {
    o.status = vittm_decoder_next(dec, &frame, &o.err);
    if (o.status != VITTM_OK || frame.eos)
      break;
    o.frames++;
  }
  assert_true(o.status != VITTM_OK || frame.eos);
  /* Whatever ended it is said again, not undone. */
  vittm_status again = vittm_decoder_next(dec, &frame, NULL);
  assert_int_equal(again, o.status);
  assert_true(again != VITTM_OK || frame.eos);
  vittm_decoder_get_info(dec, &o.info);
  vittm_decoder_free(dec);
  return o;
}

static void test_decoder_missing_file_is_an_io_error(void **state)
{
  (void)state;
  char path[1200];
  media_path(path, sizeof path, "no-such-clip.mp4");
  assert_open_fails(path, NULL, VITTM_ERROR_IO, "No such file");
}

static void test_decoder_directory_is_refused(void **state)
{
  (void)state;
  char path[1200];
  media_path(path, sizeof path, ".");
  vittm_decoder *dec = NULL;
  vittm_error err = {0};
  assert_int_not_equal(vittm_decoder_open(path, NULL, &dec, &err), VITTM_OK);
  assert_null(dec);
  assert_non_null(strstr(err.message, path));
}

/* Text is refused whether the probe finds nothing (.txt) or a weak, wrong guess (.dat:
 * FFmpeg 5.1 takes it for a "luodat" file, which then ends before its streams). */
static void test_decoder_text_file_is_not_a_media_file(void **state)
{
  (void)state;
  const char *text = "hello\nthis is not a video\n";
  assert_open_fails(media_write_text("notes.txt", text), NULL, VITTM_ERROR_FORMAT,
                    "not a media file");
  assert_open_fails(media_write_text("notes.dat", text), NULL, VITTM_ERROR_FORMAT,
                    "not a media file");
}

static void test_decoder_audio_only_file_has_no_video_stream(void **state)
{
  (void)state;
  assert_open_fails(video_audio_only(), NULL, VITTM_ERROR_FORMAT,
                    "no video stream (streams: audio)");
}

/* A picture attached to a song is not a video to segment. */
static void test_decoder_cover_art_is_not_a_video_stream(void **state)
{
  (void)state;
  assert_open_fails(video_audio_with_cover_art(), NULL, VITTM_ERROR_FORMAT,
                    "no video stream (streams: audio, cover art)");
}

/* An MPEG-4 AVI whose codec tag is made unknown: a video stream nothing can decode. */
static void test_decoder_unknown_codec_is_unsupported(void **state)
{
  (void)state;
  const char *path =
      media_retag(video_quadrants("mpeg4", 320, 240), "unknown-codec.avi", "FMP4", "ZZZZ");
  assert_open_fails(path, NULL, VITTM_ERROR_UNSUPPORTED, "no decoder for video codec");
}

/* mp4 writes its index (moov) last: half a file has none and cannot be opened. */
static void test_decoder_mp4_cut_before_its_index_is_refused(void **state)
{
  (void)state;
  const char *path = media_truncate(video_quadrants("h264", 320, 240), "half.mp4", 1, 2);
  assert_open_fails(path, NULL, VITTM_ERROR_FORMAT, "not a media file");
}

/* A raw H.264 stream cut in the middle of a picture: what is whole comes out, then EOS. */
static void test_decoder_truncated_h264_decodes_what_it_can(void **state)
{
  (void)state;
  const char *path = media_truncate(video_raw_h264(), "testsrc-half.h264", 1, 2);
  outcome o = decode_until_stop(path, NULL);
  print_message("%d frames, %lld skipped, %lld corrupt\n", o.frames,
                (long long)o.info.packets_skipped, (long long)o.info.frames_corrupt);
  assert_int_equal(o.status, VITTM_OK);
  assert_true(o.frames > 0);
  assert_true(o.frames < 30);
}

/* Garbage over the middle of an MJPEG AVI, container structure included: the demuxer
 * resynchronises (or not), and either way the stream ends normally. */
static void test_decoder_garbage_over_the_middle_ends_normally(void **state)
{
  (void)state;
  const char *path = media_damage(video_quadrants("mjpeg", 320, 240), "garbage.avi", 35, 65);
  outcome o = decode_until_stop(path, NULL);
  print_message("%d frames, %lld skipped\n", o.frames, (long long)o.info.packets_skipped);
  assert_int_equal(o.status, VITTM_OK);
  assert_true(o.frames > 0);
  assert_true(o.frames < VIDEO_FRAMES);
}

/* Pictures 4-7 of an MJPEG AVI cannot be decoded: they are counted as skipped and the
 * pictures after them still come out, in order. */
static void test_decoder_undecodable_packets_are_skipped(void **state)
{
  (void)state;
  const char *path = media_wreck_jpegs(video_quadrants("mjpeg", 320, 240), "four-broken.avi", 4, 4);
  outcome o = decode_until_stop(path, NULL);
  assert_int_equal(o.status, VITTM_OK);
  assert_int_equal(o.frames, VIDEO_FRAMES - 4);
  assert_int_equal(o.info.packets_skipped, 4);
  assert_int_equal(o.info.frames_decoded, VIDEO_FRAMES - 4);
}

/* With a bound of 3, four failures in a row end the iteration with an error that says why,
 * after the frames before them. */
static void test_decoder_gives_up_after_failures_in_a_row(void **state)
{
  (void)state;
  const char *path = media_wreck_jpegs(video_quadrants("mjpeg", 320, 240), "four-broken.avi", 4, 4);
  vittm_decoder_options opts = {.max_consecutive_failures = 3};
  outcome o = decode_until_stop(path, &opts);
  print_message("%s\n", o.err.message);
  assert_int_equal(o.status, VITTM_ERROR_FORMAT);
  assert_int_equal(o.frames, 4);
  assert_non_null(strstr(o.err.message, path));
  assert_non_null(strstr(o.err.message, "gave up after 4 packets in a row"));

  /* ... and a bound of 4 tolerates them. */
  opts.max_consecutive_failures = 4;
  o = decode_until_stop(path, &opts);
  assert_int_equal(o.status, VITTM_OK);
  assert_int_equal(o.frames, VIDEO_FRAMES - 4);
}

static void test_decoder_rejects_bad_options(void **state)
{
  (void)state;
  const char *path = video_quadrants("mjpeg", 320, 240);
  const vittm_decoder_options bad[] = {
      {.format = (vittm_decoder_format)7},    {.width = -1},
      {.height = VITTM_DECODER_MAX_SIZE + 1}, {.threads = -2},
      {.max_consecutive_failures = -1},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_open_fails(path, &bad[i], VITTM_ERROR_INVALID_ARGUMENT, "");
}

/* Derived sizes are bounded too: a 4:3 picture 16000 rows high would be 21333 wide. */
static void test_decoder_rejects_a_derived_size_too_large(void **state)
{
  (void)state;
  vittm_decoder_options opts = {.height = 16000};
  assert_open_fails(video_quadrants("mjpeg", 320, 240), &opts, VITTM_ERROR_UNSUPPORTED, "exceeds");
}

static vittm_status never_called(const vittm_video_frame *frame, void *user, vittm_error *err)
{
  (void)frame, (void)user, (void)err;
  fail();
  return VITTM_OK;
}

static void test_decoder_null_arguments_are_refused(void **state)
{
  (void)state;
  const char *path = video_quadrants("mjpeg", 320, 240);
  vittm_decoder *dec = NULL;
  vittm_error err;
  vittm_video_frame frame;
  assert_int_equal(vittm_decoder_open(path, NULL, NULL, &err), VITTM_ERROR_INVALID_ARGUMENT);
  assert_int_equal(vittm_decoder_open(NULL, NULL, &dec, &err), VITTM_ERROR_INVALID_ARGUMENT);
  assert_null(dec);
  assert_int_equal(vittm_decoder_next(NULL, &frame, &err), VITTM_ERROR_INVALID_ARGUMENT);
  assert_int_equal(vittm_decoder_run(NULL, never_called, NULL, &err), VITTM_ERROR_INVALID_ARGUMENT);
  assert_int_equal(vittm_decoder_open(path, NULL, &dec, NULL), VITTM_OK);
  assert_int_equal(vittm_decoder_next(dec, NULL, NULL), VITTM_ERROR_INVALID_ARGUMENT);
  assert_int_equal(vittm_decoder_run(dec, NULL, NULL, NULL), VITTM_ERROR_INVALID_ARGUMENT);
  vittm_decoder_free(dec);
}

/* A NULL error record is allowed everywhere; the status still tells what happened. */
static void test_decoder_errors_without_an_error_record(void **state)
{
  (void)state;
  char path[1200];
  media_path(path, sizeof path, "no-such-clip.mp4");
  vittm_decoder *dec = NULL;
  assert_int_equal(vittm_decoder_open(path, NULL, &dec, NULL), VITTM_ERROR_IO);
  vittm_decoder_options bad = {.width = -1};
  assert_int_equal(vittm_decoder_open(path, &bad, &dec, NULL), VITTM_ERROR_INVALID_ARGUMENT);
  assert_int_equal(vittm_decoder_open(video_audio_only(), NULL, &dec, NULL), VITTM_ERROR_FORMAT);
  assert_null(dec);
}

static void test_decoder_free_null_is_a_no_op(void **state)
{
  (void)state;
  vittm_decoder_free(NULL);
  vittm_decoder_info info = {.width = 7};
  vittm_decoder_get_info(NULL, &info);
  assert_int_equal(info.width, 7);
  assert_int_equal(vittm_decoder_format_bytes(VITTM_DECODER_FORMAT_RGB24), 3);
  assert_int_equal(vittm_decoder_format_bytes(VITTM_DECODER_FORMAT_RGBA), 4);
  assert_int_equal(vittm_decoder_format_bytes((vittm_decoder_format)9), 0);
}

int main(int argc, char **argv)
{
  media_init(argc > 1 ? argv[1] : "decoder-errors-media");
  if (argc > 2)
    cmocka_set_test_filter(argv[2]);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decoder_missing_file_is_an_io_error),
      cmocka_unit_test(test_decoder_directory_is_refused),
      cmocka_unit_test(test_decoder_text_file_is_not_a_media_file),
      cmocka_unit_test(test_decoder_audio_only_file_has_no_video_stream),
      cmocka_unit_test(test_decoder_cover_art_is_not_a_video_stream),
      cmocka_unit_test(test_decoder_unknown_codec_is_unsupported),
      cmocka_unit_test(test_decoder_mp4_cut_before_its_index_is_refused),
      cmocka_unit_test(test_decoder_truncated_h264_decodes_what_it_can),
      cmocka_unit_test(test_decoder_garbage_over_the_middle_ends_normally),
      cmocka_unit_test(test_decoder_undecodable_packets_are_skipped),
      cmocka_unit_test(test_decoder_gives_up_after_failures_in_a_row),
      cmocka_unit_test(test_decoder_rejects_bad_options),
      cmocka_unit_test(test_decoder_rejects_a_derived_size_too_large),
      cmocka_unit_test(test_decoder_null_arguments_are_refused),
      cmocka_unit_test(test_decoder_errors_without_an_error_record),
      cmocka_unit_test(test_decoder_free_null_is_a_no_op),
  };
  return cmocka_run_group_tests_name("decoder-errors", tests, NULL, NULL);
}

/* libvittm-decoder on good files: every codec and size decodes to the right frames. */
#include "frame_check.h"
#include "media.h"
#include "videos.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

/* Timestamps of a 10 fps file, in seconds: containers round them to milliseconds. */
#define PTS_TOLERANCE 0.002

typedef struct clip {
  const char *encoding;
  int width, height;
  const char *codec_name; /* what the decoder should report */
} clip;

static void assert_frame_times(const decoded *d)
{
  assert_true(fabs(d->first_pts) < PTS_TOLERANCE);
  double expected_last = (VIDEO_FRAMES - 1) / (double)VIDEO_RATE;
  if (fabs(d->last_pts - expected_last) > PTS_TOLERANCE)
    fail_msg("last pts %.4f, expected %.4f", d->last_pts, expected_last);
}

/* Every frame of the clip comes out (the delayed ones too), at its own size, in order, with
 * the pattern's colours where they were drawn. */
static void test_decoder_clip_decodes_every_frame(void **state)
{
  const clip *c = *state;
  const char *path = video_quadrants(c->encoding, c->width, c->height);
  decoded d = decode_all(path, NULL, 1);
  assert_int_equal(d.frames, VIDEO_FRAMES);
  assert_int_equal(d.width, c->width);
  assert_int_equal(d.height, c->height);
  assert_int_equal(d.sar_num, 1);
  assert_int_equal(d.sar_den, 1);
  assert_frame_times(&d);
  assert_string_equal(d.info.codec_name, c->codec_name);
  assert_int_equal(d.info.frames_decoded, VIDEO_FRAMES);
  assert_int_equal(d.info.packets_skipped, 0);
}

static void test_decoder_info_describes_the_stream(void **state)
{
  (void)state;
  vittm_decoder *dec = NULL;
  vittm_error err;
  assert_int_equal(vittm_decoder_open(video_quadrants("h264", 320, 240), NULL, &dec, &err),
                   VITTM_OK);
  vittm_decoder_info info;
  vittm_decoder_get_info(dec, &info);
  assert_int_equal(info.stream_index, 0);
  assert_string_equal(info.codec_name, "h264");
  assert_int_equal(info.width, 320);
  assert_int_equal(info.height, 240);
  assert_int_equal(info.output_width, 320);
  assert_int_equal(info.output_height, 240);
  assert_int_equal(info.frame_rate_num / info.frame_rate_den, VIDEO_RATE);
  assert_true(fabs(info.frame_rate - VIDEO_RATE) < 1e-9);
  assert_true(fabs(info.duration - VIDEO_FRAMES / (double)VIDEO_RATE) < 0.05);
  assert_int_equal(info.frames_decoded, 0);
  vittm_decoder_free(dec);
}

static void test_decoder_picks_the_video_stream_after_audio(void **state)
{
  (void)state;
  decoded d = decode_all(video_audio_then_video(), NULL, 1);
  assert_int_equal(d.info.stream_index, 1);
  assert_int_equal(d.frames, VIDEO_FRAMES);
  assert_frame_times(&d);
}

static void test_decoder_width_only_keeps_aspect(void **state)
{
  (void)state;
  vittm_decoder_options opts = {.width = 160};
  decoded d = decode_all(video_quadrants("h264", 320, 240), &opts, 1);
  assert_int_equal(d.frames, VIDEO_FRAMES);
  assert_int_equal(d.width, 160);
  assert_int_equal(d.height, 120);
  assert_int_equal(d.info.width, 320);
  assert_int_equal(d.info.output_width, 160);
}

static void test_decoder_height_only_upscales_odd_size(void **state)
{
  (void)state;
  vittm_decoder_options opts = {.height = 810};
  decoded d = decode_all(video_quadrants("mjpeg", 719, 405), &opts, 1);
  assert_int_equal(d.width, 1438);
  assert_int_equal(d.height, 810);
}

/* Forcing both sides changes the pixel shape; the frames say so. */
static void test_decoder_explicit_size_reports_pixel_aspect(void **state)
{
  (void)state;
  vittm_decoder_options opts = {.width = 224, .height = 224};
  decoded d = decode_all(video_quadrants("vp9", 320, 240), &opts, 1);
  assert_int_equal(d.width, 224);
  assert_int_equal(d.height, 224);
  assert_int_equal(d.sar_num, 4);
  assert_int_equal(d.sar_den, 3);
}

static void test_decoder_rgba_has_opaque_alpha_and_4_byte_pixels(void **state)
{
  (void)state;
  vittm_decoder_options opts = {.format = VITTM_DECODER_FORMAT_RGBA};
  decoded d = decode_all(video_quadrants("h264-444", 719, 405), &opts, 1);
  assert_int_equal(d.frames, VIDEO_FRAMES);
  assert_int_equal(d.width, 719);
  assert_true(d.stride >= 719 * 4);
  assert_int_equal(d.stride % 4, 0);
}

static void test_decoder_rgb24_odd_width_rows_are_padded(void **state)
{
  (void)state;
  decoded d = decode_all(video_quadrants("h264-444", 719, 405), NULL, 1);
  assert_true(d.stride >= 719 * 3);
}

static void test_decoder_keeps_stored_size_of_wide_pixels(void **state)
{
  (void)state;
  decoded d = decode_all(video_wide_pixels(), NULL, 1);
  assert_int_equal(d.width, 320);
  assert_int_equal(d.height, 240);
  assert_int_equal(d.info.sar_num, 4);
  assert_int_equal(d.info.sar_den, 3);
  assert_int_equal(d.sar_num, 4);
  assert_int_equal(d.sar_den, 3);
}

static void test_decoder_square_pixels_scales_to_display_aspect(void **state)
{
  (void)state;
  vittm_decoder_options opts = {.square_pixels = true};
  decoded d = decode_all(video_wide_pixels(), &opts, 1);
  assert_int_equal(d.frames, VIDEO_FRAMES);
  assert_int_equal(d.width, 427); /* 320 * 4/3, rounded */
  assert_int_equal(d.height, 240);
  assert_int_equal(d.sar_num, 1);
  assert_int_equal(d.sar_den, 1);
}

/* Threads change how the work is split, never the pictures. */
static void test_decoder_threads_do_not_change_pixels(void **state)
{
  (void)state;
  const char *path = video_quadrants("h264", 320, 240);
  vittm_decoder_options one = {.threads = 1}, four = {.threads = 4}, automatic = {0};
  decoded a = decode_all(path, &one, 0);
  decoded b = decode_all(path, &four, 0);
  decoded c = decode_all(path, &automatic, 0);
  assert_int_equal(a.frames, VIDEO_FRAMES);
  assert_int_equal(b.frames, VIDEO_FRAMES);
  assert_true(a.hash == b.hash);
  assert_true(a.hash == c.hash);
}

static void test_decoder_eos_repeats_after_the_end(void **state)
{
  (void)state;
  vittm_decoder *dec = NULL;
  vittm_error err;
  assert_int_equal(vittm_decoder_open(video_quadrants("mjpeg", 320, 240), NULL, &dec, &err),
                   VITTM_OK);
  vittm_video_frame frame;
  int frames = 0;
  while (vittm_decoder_next(dec, &frame, &err) == VITTM_OK && !frame.eos)
    frames++;
  assert_int_equal(frames, VIDEO_FRAMES);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(vittm_decoder_next(dec, &frame, &err), VITTM_OK);
    assert_true(frame.eos);
    assert_null(frame.data);
  }
  vittm_decoder_free(dec);
}

typedef struct run_log {
  int frames;
  int stop_at; /* -1: never */
  int say_why;
} run_log;

static vittm_status count_frames(const vittm_video_frame *frame, void *user, vittm_error *err)
{
  run_log *log = user;
  assert_int_equal(frame->index, log->frames);
  assert_quadrants(frame);
  if (frame->index == log->stop_at) {
    if (log->say_why)
      return vittm_error_set(err, VITTM_ERROR_IO, "sink full at frame %lld",
                             (long long)frame->index);
    return VITTM_ERROR_IO;
  }
  log->frames++;
  return VITTM_OK;
}

static void test_decoder_run_calls_back_every_frame(void **state)
{
  (void)state;
  vittm_decoder *dec = NULL;
  vittm_error err;
  assert_int_equal(vittm_decoder_open(video_quadrants("mpeg4", 320, 240), NULL, &dec, &err),
                   VITTM_OK);
  run_log log = {.stop_at = -1};
  assert_int_equal(vittm_decoder_run(dec, count_frames, &log, &err), VITTM_OK);
  assert_int_equal(log.frames, VIDEO_FRAMES);
  vittm_decoder_free(dec);
}

static void test_decoder_run_stops_when_the_callback_fails(void **state)
{
  (void)state;
  const char *path = video_quadrants("vp8", 320, 240);
  for (int say_why = 0; say_why <= 1; say_why++) {
    vittm_decoder *dec = NULL;
    vittm_error err;
    assert_int_equal(vittm_decoder_open(path, NULL, &dec, &err), VITTM_OK);
    run_log log = {.stop_at = 3, .say_why = say_why};
    assert_int_equal(vittm_decoder_run(dec, count_frames, &log, &err), VITTM_ERROR_IO);
    assert_int_equal(err.code, VITTM_ERROR_IO);
    assert_int_equal(log.frames, 3);
    assert_non_null(strstr(err.message, say_why ? "sink full at frame 3" : "callback stopped"));
    vittm_decoder_free(dec);
  }
}

static const clip clips[] = {
    {"h264", 320, 240, "h264"},   {"vp8", 320, 240, "vp8"},     {"vp9", 320, 240, "vp9"},
    {"mpeg4", 320, 240, "mpeg4"}, {"mjpeg", 320, 240, "mjpeg"}, {"h264-444", 719, 405, "h264"},
    {"vp9", 719, 405, "vp9"},     {"mpeg4", 719, 405, "mpeg4"}, {"mjpeg", 719, 405, "mjpeg"},
};

#define CLIP_TEST(i, name)                                                                         \
  {                                                                                                \
    "test_decoder_" name "_decodes_every_frame", test_decoder_clip_decodes_every_frame, NULL,      \
        NULL, (void *)&clips[i]                                                                    \
  }

int main(int argc, char **argv)
{
  media_init(argc > 1 ? argv[1] : "decoder-decode-media");
  if (argc > 2)
    cmocka_set_test_filter(argv[2]);
  const struct CMUnitTest tests[] = {
      CLIP_TEST(0, "h264_320x240"),
      CLIP_TEST(1, "vp8_320x240"),
      CLIP_TEST(2, "vp9_320x240"),
      CLIP_TEST(3, "mpeg4_320x240"),
      CLIP_TEST(4, "mjpeg_320x240"),
      CLIP_TEST(5, "h264_yuv444_719x405"),
      CLIP_TEST(6, "vp9_719x405"),
      CLIP_TEST(7, "mpeg4_719x405"),
      CLIP_TEST(8, "mjpeg_719x405"),
      cmocka_unit_test(test_decoder_info_describes_the_stream),
      cmocka_unit_test(test_decoder_picks_the_video_stream_after_audio),
      cmocka_unit_test(test_decoder_width_only_keeps_aspect),
      cmocka_unit_test(test_decoder_height_only_upscales_odd_size),
      cmocka_unit_test(test_decoder_explicit_size_reports_pixel_aspect),
      cmocka_unit_test(test_decoder_rgba_has_opaque_alpha_and_4_byte_pixels),
      cmocka_unit_test(test_decoder_rgb24_odd_width_rows_are_padded),
      cmocka_unit_test(test_decoder_keeps_stored_size_of_wide_pixels),
      cmocka_unit_test(test_decoder_square_pixels_scales_to_display_aspect),
      cmocka_unit_test(test_decoder_threads_do_not_change_pixels),
      cmocka_unit_test(test_decoder_eos_repeats_after_the_end),
      cmocka_unit_test(test_decoder_run_calls_back_every_frame),
      cmocka_unit_test(test_decoder_run_stops_when_the_callback_fails),
  };
  return cmocka_run_group_tests_name("decoder-decode", tests, NULL, NULL);
}

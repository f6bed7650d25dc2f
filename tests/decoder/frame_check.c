#include "frame_check.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

void assert_colour_near(const vittm_video_frame *frame, int x, int y, int r, int g, int b)
{
  int bpp = vittm_decoder_format_bytes(frame->format);
  const uint8_t *p = frame->data + (size_t)y * frame->stride + (size_t)x * bpp;
  if (abs(p[0] - r) > COLOUR_TOLERANCE || abs(p[1] - g) > COLOUR_TOLERANCE ||
      abs(p[2] - b) > COLOUR_TOLERANCE)
    fail_msg("frame %lld (%dx%d) pixel (%d,%d) is (%d,%d,%d), expected (%d,%d,%d) +- %d",
             (long long)frame->index, frame->width, frame->height, x, y, p[0], p[1], p[2], r, g, b,
             COLOUR_TOLERANCE);
  if (frame->format == VITTM_DECODER_FORMAT_RGBA && p[3] != 255)
    fail_msg("frame %lld pixel (%d,%d) has alpha %d, expected 255", (long long)frame->index, x, y,
             p[3]);
}

void assert_quadrants(const vittm_video_frame *frame)
{
  int w = frame->width, h = frame->height;
  assert_colour_near(frame, w / 4, h / 4, 255, 0, 0);
  assert_colour_near(frame, 3 * w / 4, h / 4, 0, 255, 0);
  assert_colour_near(frame, w / 4, 3 * h / 4, 0, 0, 255);
  assert_colour_near(frame, 3 * w / 4, 3 * h / 4, 255, 255, 255);
  /* The last pixel of the last row: wrong if the stride is misread. */
  assert_colour_near(frame, w - 1, h - 1, 255, 255, 255);
}

static unsigned long long hash_frame(unsigned long long h, const vittm_video_frame *f)
{
  int row_bytes = f->width * vittm_decoder_format_bytes(f->format);
  for (int y = 0; y < f->height; y++)
    for (int x = 0; x < row_bytes; x++)
      h = (h ^ f->data[(size_t)y * f->stride + x]) * 1099511628211ull;
  return h;
}

decoded decode_all(const char *path, const vittm_decoder_options *opts, int check_pattern)
{
  decoded d = {.hash = 14695981039346656037ull, .first_pts = NAN, .last_pts = NAN};
  vittm_decoder *dec = NULL;
  vittm_error err = {0};
  if (vittm_decoder_open(path, opts, &dec, &err) != VITTM_OK)
    fail_msg("open %s: %s", path, err.message);
  vittm_video_frame frame;
  for (;;) {
    vittm_status status = vittm_decoder_next(dec, &frame, &err);
    if (status != VITTM_OK)
      fail_msg("frame %d of %s: %s", d.frames, path, err.message);
    if (frame.eos)
      break;
    assert_non_null(frame.data);
    assert_int_equal(frame.index, d.frames);
    assert_true(frame.stride >= frame.width * vittm_decoder_format_bytes(frame.format));
    if (d.frames == 0) {
      d.width = frame.width;
      d.height = frame.height;
      d.stride = frame.stride;
      d.sar_num = frame.sar_num;
      d.sar_den = frame.sar_den;
      d.first_pts = frame.pts;
    } else {
      assert_int_equal(frame.width, d.width);
      assert_int_equal(frame.height, d.height);
      if (!(frame.pts > d.last_pts))
        fail_msg("%s: frame %d pts %.4f after %.4f", path, d.frames, frame.pts, d.last_pts);
    }
    if (check_pattern)
      assert_quadrants(&frame);
    d.hash = hash_frame(d.hash, &frame);
    d.last_pts = frame.pts;
    d.frames++;
  }
  vittm_decoder_get_info(dec, &d.info);
  vittm_decoder_free(dec);
  return d;
}

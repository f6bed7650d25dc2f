/* The output size and pixel aspect chosen from the stream and the options (no files). */
#include "output_geometry.h"
#include "vittm/decoder.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

typedef struct geometry_case {
  int in_w, in_h, sar_num, sar_den; /* the stream */
  int req_w, req_h;                 /* the options */
  bool square;
  int w, h, out_sar_num, out_sar_den; /* expected */
} geometry_case;

static const geometry_case cases[] = {
    /* native size, square pixels: unchanged */
    {320, 240, 1, 1, 0, 0, false, 320, 240, 1, 1},
    /* native size keeps non-square pixels and reports them */
    {320, 240, 4, 3, 0, 0, false, 320, 240, 4, 3},
    /* unknown aspect (0:0, 0:1) is square */
    {320, 240, 0, 0, 0, 0, false, 320, 240, 1, 1},
    {320, 240, 0, 1, 0, 0, true, 320, 240, 1, 1},
    /* square_pixels: width stretched (or squeezed) to the display aspect */
    {320, 240, 4, 3, 0, 0, true, 427, 240, 1, 1},
    {720, 576, 16, 15, 0, 0, true, 768, 576, 1, 1},
    {720, 480, 8, 9, 0, 0, true, 640, 480, 1, 1},
    /* one side given: the other follows the stored aspect ... */
    {320, 240, 1, 1, 160, 0, false, 160, 120, 1, 1},
    {320, 240, 1, 1, 0, 120, false, 160, 120, 1, 1},
    {719, 405, 1, 1, 0, 810, false, 1438, 810, 1, 1},
    {320, 240, 4, 3, 160, 0, false, 160, 120, 4, 3},
    /* ... or the display aspect with square_pixels */
    {320, 240, 4, 3, 640, 0, true, 640, 360, 1, 1},
    {320, 240, 4, 3, 0, 360, true, 640, 360, 1, 1},
    /* both given: that size, and the pixel aspect that keeps the picture's shape */
    {320, 240, 1, 1, 224, 224, false, 224, 224, 4, 3},
    {320, 240, 4, 3, 224, 224, true, 224, 224, 16, 9},
    {640, 480, 1, 1, 320, 240, false, 320, 240, 1, 1},
    /* a derived side never rounds to zero */
    {4000, 2, 1, 1, 10, 0, false, 10, 1, 200, 1},
};

static void test_geometry_table(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const geometry_case *c = &cases[i];
    vittm_decoder_geometry g = {0};
    vittm_error err = {0};
    vittm_status status = vittm_decoder_output_geometry(c->in_w, c->in_h, c->sar_num, c->sar_den,
                                                        c->req_w, c->req_h, c->square, &g, &err);
    if (status != VITTM_OK || g.width != c->w || g.height != c->h || g.sar_num != c->out_sar_num ||
        g.sar_den != c->out_sar_den)
      fail_msg("case %zu: %dx%d SAR %d:%d, request %dx%d%s -> %dx%d SAR %d:%d (%s), "
               "expected %dx%d SAR %d:%d",
               i, c->in_w, c->in_h, c->sar_num, c->sar_den, c->req_w, c->req_h,
               c->square ? " square" : "", g.width, g.height, g.sar_num, g.sar_den,
               status == VITTM_OK ? "ok" : err.message, c->w, c->h, c->out_sar_num, c->out_sar_den);
  }
}

static void test_geometry_refuses_a_stream_without_size(void **state)
{
  (void)state;
  vittm_decoder_geometry g;
  vittm_error err;
  assert_int_equal(vittm_decoder_output_geometry(0, 240, 1, 1, 0, 0, false, &g, &err),
                   VITTM_ERROR_FORMAT);
  assert_int_equal(vittm_decoder_output_geometry(320, -1, 1, 1, 0, 0, false, &g, &err),
                   VITTM_ERROR_FORMAT);
}

static void test_geometry_refuses_a_derived_size_over_the_limit(void **state)
{
  (void)state;
  vittm_decoder_geometry g;
  vittm_error err;
  /* 16000 wide with 2:1 pixels shows as 32000 wide */
  assert_int_equal(vittm_decoder_output_geometry(16000, 100, 2, 1, 0, 0, true, &g, &err),
                   VITTM_ERROR_UNSUPPORTED);
  assert_int_equal(vittm_decoder_output_geometry(100, 1, 1, 1, 0, 200, false, &g, &err),
                   VITTM_ERROR_UNSUPPORTED);
  /* the limit itself is allowed */
  assert_int_equal(vittm_decoder_output_geometry(16384, 100, 1, 1, 0, 0, false, &g, &err),
                   VITTM_OK);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_geometry_table),
      cmocka_unit_test(test_geometry_refuses_a_stream_without_size),
      cmocka_unit_test(test_geometry_refuses_a_derived_size_over_the_limit),
  };
  return cmocka_run_group_tests_name("decoder-geometry", tests, NULL, NULL);
}

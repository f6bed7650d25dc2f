#include "output_geometry.h"

#include "vittm/decoder.h"

#include <libavutil/rational.h>
#include <math.h>

/* Largest numerator/denominator of a reported aspect ratio: H.264 and HEVC carry 16 bits. */
#define SAR_MAX_TERM 65535

static bool fits(double size)
{
  return size <= VITTM_DECODER_MAX_SIZE;
}

vittm_status vittm_decoder_output_geometry(int in_w, int in_h, int sar_num, int sar_den, int req_w,
                                           int req_h, bool square_pixels,
                                           vittm_decoder_geometry *out, vittm_error *err)
{
  if (in_w <= 0 || in_h <= 0)
    return vittm_error_set(err, VITTM_ERROR_FORMAT, "the stream has no picture size (%dx%d)", in_w,
                           in_h);
  if (sar_num <= 0 || sar_den <= 0)
    sar_num = sar_den = 1;

  /* With square_pixels the output shows the display aspect; otherwise the stored one. */
  double pixel_aspect = square_pixels ? (double)sar_num / sar_den : 1.0;
  double aspect = in_w * pixel_aspect / in_h;
  double w = req_w, h = req_h;
  if (req_w == 0 && req_h == 0) {
    w = in_w * pixel_aspect;
    h = in_h;
  } else if (req_w == 0) {
    w = req_h * aspect;
  } else if (req_h == 0) {
    h = req_w / aspect;
  }
  if (!fits(w) || !fits(h))
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "output size %.0fx%.0f (from %dx%d, SAR %d:%d) exceeds %d", w, h, in_w,
                           in_h, sar_num, sar_den, VITTM_DECODER_MAX_SIZE);
  out->width = w < 1 ? 1 : (int)lround(w);
  out->height = h < 1 ? 1 : (int)lround(h);

  bool derived = req_w == 0 || req_h == 0;
  if (square_pixels && derived) {
    /* Off from 1:1 only by the rounding to whole pixels. */
    out->sar_num = out->sar_den = 1;
  } else if (out->width == in_w && out->height == in_h) {
    out->sar_num = sar_num;
    out->sar_den = sar_den;
  } else {
    /* The display aspect is kept by whatever pixel aspect the new size implies. */
    double sar = (double)in_w * sar_num * out->height / ((double)in_h * sar_den * out->width);
    AVRational q = av_d2q(sar, SAR_MAX_TERM);
    out->sar_num = q.num;
    out->sar_den = q.den;
  }
  return VITTM_OK;
}

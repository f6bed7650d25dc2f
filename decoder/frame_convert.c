#include "frame_convert.h"

#include <libavutil/imgutils.h>
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <stdbool.h>
#include <string.h>

/* Row alignment of the output buffer: what swscale's SIMD writers like best. */
#define ROW_ALIGN 32

int vittm_decoder_format_bytes(vittm_decoder_format format)
{
  switch (format) {
  case VITTM_DECODER_FORMAT_RGB24: return 3;
  case VITTM_DECODER_FORMAT_RGBA: return 4;
  }
  return 0;
}

static enum AVPixelFormat av_format_of(vittm_decoder_format format)
{
  return format == VITTM_DECODER_FORMAT_RGBA ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24;
}

vittm_status vittm_frame_converter_init(vittm_frame_converter *conv, vittm_decoder_format format,
                                        int width, int height, vittm_error *err)
{
  memset(conv, 0, sizeof *conv);
  conv->format = format;
  conv->width = width;
  conv->height = height;
  conv->stride = FFALIGN(width * vittm_decoder_format_bytes(format), ROW_ALIGN);
  conv->src_format = AV_PIX_FMT_NONE;
  /* Padding past the last row: SIMD writers may overrun a row's end. */
  conv->buffer = av_malloc((size_t)conv->stride * height + ROW_ALIGN);
  if (!conv->buffer)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "no memory for a %dx%d output frame",
                           width, height);
  return VITTM_OK;
}

/* The deprecated full-range "J" formats, as their plain twins (swscale warns about the J
 * ones and wants the range given separately). */
static enum AVPixelFormat unjpeg(enum AVPixelFormat f, bool *full_range)
{
  switch (f) {
  case AV_PIX_FMT_YUVJ420P: *full_range = true; return AV_PIX_FMT_YUV420P;
  case AV_PIX_FMT_YUVJ422P: *full_range = true; return AV_PIX_FMT_YUV422P;
  case AV_PIX_FMT_YUVJ444P: *full_range = true; return AV_PIX_FMT_YUV444P;
  case AV_PIX_FMT_YUVJ440P: *full_range = true; return AV_PIX_FMT_YUV440P;
  case AV_PIX_FMT_YUVJ411P: *full_range = true; return AV_PIX_FMT_YUV411P;
  default: return f;
  }
}

/* The YUV matrix to use: the stream's, or the usual guess (BT.709 for HD, BT.601 below)
 * when the stream does not say. */
static const int *yuv_coefficients(enum AVColorSpace space, int height)
{
  if (space == AVCOL_SPC_UNSPECIFIED || space == AVCOL_SPC_RGB || space == AVCOL_SPC_RESERVED)
    space = height >= 720 ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M;
  return sws_getCoefficients(space);
}

static vittm_status make_context(vittm_frame_converter *conv, const AVFrame *src, vittm_error *err)
{
  sws_freeContext(conv->sws);
  conv->sws = NULL;
  bool full_range = src->color_range == AVCOL_RANGE_JPEG;
  enum AVPixelFormat in_format = unjpeg((enum AVPixelFormat)src->format, &full_range);
  bool scaling = src->width != conv->width || src->height != conv->height;
  int flags = (scaling ? SWS_BICUBIC : SWS_BILINEAR) | SWS_ACCURATE_RND;
  conv->sws = sws_getContext(src->width, src->height, in_format, conv->width, conv->height,
                             av_format_of(conv->format), flags, NULL, NULL, NULL);
  if (!conv->sws) {
    const char *name = av_get_pix_fmt_name(in_format);
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "cannot convert %dx%d %s pictures to %dx%d %s", src->width, src->height,
                           name ? name : "(unknown format)", conv->width, conv->height,
                           av_get_pix_fmt_name(av_format_of(conv->format)));
  }
  /* RGB sources refuse colour details (-1); nothing to set for them. */
  const int *coefficients = yuv_coefficients(src->colorspace, src->height);
  sws_setColorspaceDetails(conv->sws, coefficients, full_range, coefficients, 1, 0, 1 << 16,
                           1 << 16);
  conv->src_width = src->width;
  conv->src_height = src->height;
  conv->src_format = (enum AVPixelFormat)src->format;
  conv->src_space = src->colorspace;
  conv->src_range = src->color_range;
  return VITTM_OK;
}

static bool context_fits(const vittm_frame_converter *conv, const AVFrame *src)
{
  return conv->sws && conv->src_width == src->width && conv->src_height == src->height &&
         conv->src_format == src->format && conv->src_space == src->colorspace &&
         conv->src_range == src->color_range;
}

vittm_status vittm_frame_converter_run(vittm_frame_converter *conv, const AVFrame *src,
                                       vittm_error *err)
{
  if (!context_fits(conv, src)) {
    vittm_status status = make_context(conv, src, err);
    if (status != VITTM_OK)
      return status;
  }
  uint8_t *dst[4] = {conv->buffer};
  int dst_stride[4] = {conv->stride};
  int rows = sws_scale(conv->sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height,
                       dst, dst_stride);
  if (rows != conv->height)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "swscale wrote %d of %d rows converting a %dx%d %s picture", rows,
                           conv->height, src->width, src->height,
                           av_get_pix_fmt_name((enum AVPixelFormat)src->format));
  return VITTM_OK;
}

void vittm_frame_converter_release(vittm_frame_converter *conv)
{
  sws_freeContext(conv->sws);
  av_freep(&conv->buffer);
  conv->sws = NULL;
}

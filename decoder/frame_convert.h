/* vittm decoder — decoded pictures (any libavcodec pixel format and size) to packed RGB. */
#ifndef VITTM_DECODER_FRAME_CONVERT_H
#define VITTM_DECODER_FRAME_CONVERT_H

#include "vittm/decoder.h"

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>

/* A swscale context and the one output buffer it writes, reused for every frame. */
typedef struct vittm_frame_converter {
  vittm_decoder_format format;
  int width, height, stride;
  uint8_t *buffer;
  struct SwsContext *sws;
  /* The source the context was made for; a change makes a new one. */
  int src_width, src_height;
  enum AVPixelFormat src_format;
  enum AVColorSpace src_space;
  enum AVColorRange src_range;
} vittm_frame_converter;

/* Allocates the output buffer of width x height in format. */
vittm_status vittm_frame_converter_init(vittm_frame_converter *conv, vittm_decoder_format format,
                                        int width, int height, vittm_error *err);

/* Converts src into conv->buffer, scaling it to the output size. */
vittm_status vittm_frame_converter_run(vittm_frame_converter *conv, const AVFrame *src,
                                       vittm_error *err);

/* Frees what init and run made; safe on a zeroed converter. */
void vittm_frame_converter_release(vittm_frame_converter *conv);

#endif

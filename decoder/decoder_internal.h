/* vittm decoder — the decoder's state, shared by the files of decoder/ and nobody else. */
#ifndef VITTM_DECODER_INTERNAL_H
#define VITTM_DECODER_INTERNAL_H

#include "av_status.h"
#include "frame_convert.h"
#include "output_geometry.h"
#include "vittm/decoder.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

/* Where the packet/frame state machine of iterate.c stands. */
typedef enum vittm_decoder_state {
  VITTM_DECODER_READING,  /* packets are read and sent */
  VITTM_DECODER_DRAINING, /* input has ended; the decoder is being flushed */
  VITTM_DECODER_ENDED,    /* every frame is out: only EOS from now on */
  VITTM_DECODER_FAILED,   /* gave up: the same error from now on */
} vittm_decoder_state;

struct vittm_decoder {
  char *path;
  AVFormatContext *format;
  AVCodecContext *codec;
  AVStream *stream;
  AVPacket *packet;
  AVFrame *frame;
  vittm_frame_converter converter;
  vittm_decoder_info info;
  vittm_decoder_geometry geometry;

  vittm_decoder_state state;
  int max_failures;         /* consecutive failures tolerated before giving up */
  int consecutive_failures; /* failed reads/decodes since the last good frame */
  int last_averror;         /* the most recent FFmpeg failure, for the give-up message */
  double start_seconds;     /* the file's start time, subtracted from every pts */
  double last_pts;          /* pts of the previous frame, to fill in missing ones */
  vittm_error failure;      /* repeated once the decoder is FAILED */
};

#endif

/* vittm decoder — the frame loop: read packets, decode them, convert what comes out.
 *
 * libavcodec's send/receive protocol: frames are received until the decoder asks for input
 * (EAGAIN), then one packet is read and sent. At the end of the file a NULL packet starts the
 * drain, which lets the delayed frames (B-frames, frame threads) out until AVERROR_EOF.
 * Every failed read or decode is counted; a run of more than max_failures of them in a row
 * ends the loop, so a file that never makes progress cannot hold the caller forever. */
#include "decoder_internal.h"

#include <libavutil/avutil.h>
#include <math.h>
#include <string.h>

/* The decoder's last word, dec->failure, is what every later call returns. */
static vittm_status stop_with_failure(vittm_decoder *dec, vittm_error *err)
{
  dec->state = VITTM_DECODER_FAILED;
  if (err)
    *err = dec->failure;
  return dec->failure.code;
}

static vittm_status give_up(vittm_decoder *dec, vittm_error *err)
{
  char reason[AV_ERROR_MAX_STRING_SIZE];
  av_strerror(dec->last_averror, reason, sizeof reason);
  vittm_error_set(&dec->failure, vittm_status_from_averror(dec->last_averror),
                  "%s: gave up after %d packets in a row failed (last: %s); %lld frames "
                  "decoded",
                  dec->path, dec->consecutive_failures, reason,
                  (long long)dec->info.frames_decoded);
  return stop_with_failure(dec, err);
}

/* Counts a packet that could not be read or decoded; false once too many came in a row. */
static bool tolerate(vittm_decoder *dec, int averror)
{
  dec->info.packets_skipped++;
  dec->last_averror = averror;
  return ++dec->consecutive_failures <= dec->max_failures;
}

static void start_drain(vittm_decoder *dec)
{
  /* A refusal here (already draining) leaves receive_frame to report EOF or EAGAIN. */
  avcodec_send_packet(dec->codec, NULL);
  dec->state = VITTM_DECODER_DRAINING;
}

static bool at_end_of_file(const vittm_decoder *dec, int averror)
{
  AVIOContext *pb = dec->format->pb;
  return averror == AVERROR_EOF || (pb && avio_feof(pb));
}

/* Reads the next packet of our stream and sends it to the decoder. */
static vittm_status feed(vittm_decoder *dec, vittm_error *err)
{
  AVPacket *packet = dec->packet;
  int ret = av_read_frame(dec->format, packet);
  if (ret < 0) {
    if (at_end_of_file(dec, ret))
      start_drain(dec);
    else if (!tolerate(dec, ret))
      return give_up(dec, err);
    return VITTM_OK;
  }
  if (packet->stream_index != dec->info.stream_index) {
    av_packet_unref(packet);
    return VITTM_OK;
  }
  /* Frames were received until EAGAIN before this, so EAGAIN here is a failure too. */
  ret = avcodec_send_packet(dec->codec, packet);
  av_packet_unref(packet);
  if (ret < 0 && !tolerate(dec, ret))
    return give_up(dec, err);
  return VITTM_OK;
}

/* Seconds from the start of the file; filled in from the frame rate when the frame has none. */
static double frame_pts(vittm_decoder *dec, const AVFrame *f)
{
  double pts = NAN;
  if (f->best_effort_timestamp != AV_NOPTS_VALUE)
    pts = f->best_effort_timestamp * av_q2d(dec->stream->time_base) - dec->start_seconds;
  double rate = dec->info.frame_rate;
  if (isnan(pts) && rate > 0)
    pts = isnan(dec->last_pts) ? dec->info.frames_decoded / rate : dec->last_pts + 1.0 / rate;
  dec->last_pts = pts;
  return pts;
}

static vittm_status deliver(vittm_decoder *dec, vittm_video_frame *frame, vittm_error *err)
{
  AVFrame *f = dec->frame;
  /* Written to dec->failure, not err, so that a NULL err loses no message. */
  vittm_status st = vittm_frame_converter_run(&dec->converter, f, &dec->failure);
  if (st != VITTM_OK) {
    av_frame_unref(f);
    vittm_error_prefix(&dec->failure, st, "%s: frame %lld", dec->path,
                       (long long)dec->info.frames_decoded);
    return stop_with_failure(dec, err);
  }
  dec->consecutive_failures = 0;
  const vittm_frame_converter *conv = &dec->converter;
  frame->eos = false;
  frame->data = conv->buffer;
  frame->width = conv->width;
  frame->height = conv->height;
  frame->stride = conv->stride;
  frame->format = conv->format;
  frame->sar_num = dec->geometry.sar_num;
  frame->sar_den = dec->geometry.sar_den;
  frame->pts = frame_pts(dec, f);
  frame->index = dec->info.frames_decoded++;
  frame->corrupt = (f->flags & AV_FRAME_FLAG_CORRUPT) || f->decode_error_flags;
  if (frame->corrupt)
    dec->info.frames_corrupt++;
  av_frame_unref(f);
  return VITTM_OK;
}

vittm_status vittm_decoder_next(vittm_decoder *dec, vittm_video_frame *frame, vittm_error *err)
{
  if (!dec || !frame)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "vittm_decoder_next: decoder or frame is NULL");
  memset(frame, 0, sizeof *frame);
  for (;;) {
    if (dec->state == VITTM_DECODER_ENDED) {
      frame->eos = true;
      return VITTM_OK;
    }
    if (dec->state == VITTM_DECODER_FAILED)
      return stop_with_failure(dec, err);
    int ret = avcodec_receive_frame(dec->codec, dec->frame);
    if (ret == 0)
      return deliver(dec, frame, err);
    if (ret == AVERROR_EOF) {
      dec->state = VITTM_DECODER_ENDED;
    } else if (ret != AVERROR(EAGAIN)) {
      if (!tolerate(dec, ret))
        return give_up(dec, err);
    } else if (dec->state == VITTM_DECODER_DRAINING) {
      dec->state = VITTM_DECODER_ENDED; /* a drained decoder wanting input: nothing left */
    } else {
      vittm_status status = feed(dec, err);
      if (status != VITTM_OK)
        return status;
    }
  }
}

vittm_status vittm_decoder_run(vittm_decoder *dec, vittm_decoder_frame_fn fn, void *user,
                               vittm_error *err)
{
  if (!dec || !fn)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "vittm_decoder_run: decoder or callback is NULL");
  vittm_error local;
  vittm_error *cb_err = err ? err : &local;
  for (;;) {
    vittm_video_frame frame;
    vittm_status status = vittm_decoder_next(dec, &frame, err);
    if (status != VITTM_OK || frame.eos)
      return status;
    cb_err->code = VITTM_OK;
    cb_err->cause = VITTM_CAUSE_NONE;
    cb_err->message[0] = '\0';
    status = fn(&frame, user, cb_err);
    if (status != VITTM_OK) {
      if (cb_err->message[0] == '\0')
        vittm_error_set(cb_err, status, "%s: the frame callback stopped at frame %lld", dec->path,
                        (long long)frame.index);
      cb_err->code = status;
      return status;
    }
  }
}

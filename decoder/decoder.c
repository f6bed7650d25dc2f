/* vittm decoder — opening a file, choosing its video stream, describing it, closing it.
 * The frame loop is in iterate.c, the pixel conversion in frame_convert.c. */
#include "decoder_internal.h"

#include <libavutil/avutil.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static vittm_status check_options(const vittm_decoder_options *o, vittm_error *err)
{
  if (vittm_decoder_format_bytes(o->format) == 0)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "unknown output format %d",
                           (int)o->format);
  if (o->width < 0 || o->height < 0 || o->width > VITTM_DECODER_MAX_SIZE ||
      o->height > VITTM_DECODER_MAX_SIZE)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "requested size %dx%d is outside 0..%d", o->width, o->height,
                           VITTM_DECODER_MAX_SIZE);
  if (o->threads < 0)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "negative thread count %d",
                           o->threads);
  if (o->max_consecutive_failures < 0)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "negative max_consecutive_failures %d", o->max_consecutive_failures);
  return VITTM_OK;
}

/* Bad data means the file is not media (or too damaged to tell); anything else is I/O. */
static vittm_status open_failure(const vittm_decoder *dec, int averror, vittm_error *err)
{
  bool bad_data = vittm_status_from_averror(averror) == VITTM_ERROR_FORMAT;
  return vittm_error_set_av(err, averror, dec->path,
                            bad_data ? "not a media file FFmpeg can read" : "cannot open");
}

static vittm_status open_input(vittm_decoder *dec, vittm_error *err)
{
  int ret = avformat_open_input(&dec->format, dec->path, NULL, NULL);
  if (ret >= 0)
    ret = avformat_find_stream_info(dec->format, NULL);
  return ret < 0 ? open_failure(dec, ret, err) : VITTM_OK;
}

/* "audio, cover art, subtitle": what the file holds instead of a video stream. */
static void list_streams(const AVFormatContext *format, char *out, size_t size)
{
  size_t used = 0;
  out[0] = '\0';
  for (unsigned i = 0; i < format->nb_streams && used < size; i++) {
    const AVStream *st = format->streams[i];
    const char *kind = st->disposition & AV_DISPOSITION_ATTACHED_PIC
                           ? "cover art"
                           : av_get_media_type_string(st->codecpar->codec_type);
    used += snprintf(out + used, size - used, "%s%s", i ? ", " : "", kind ? kind : "unknown");
  }
  if (!format->nb_streams)
    snprintf(out, size, "none");
}

/* The best video stream, or -1. Cover art (an attached picture) is not video: an audio file
 * with a picture has no video stream to segment. */
static int choose_stream(AVFormatContext *format)
{
  /* No decoder_ret: a stream without a decoder must be reported as such, not skipped. */
  int best = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  if (best >= 0 && !(format->streams[best]->disposition & AV_DISPOSITION_ATTACHED_PIC))
    return best;
  for (unsigned i = 0; i < format->nb_streams; i++) {
    const AVStream *st = format->streams[i];
    if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
        !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
      return (int)i;
  }
  return -1;
}

static vittm_status open_codec(vittm_decoder *dec, int threads, vittm_error *err)
{
  int index = choose_stream(dec->format);
  if (index < 0) {
    char streams[128];
    list_streams(dec->format, streams, sizeof streams);
    return vittm_error_set(err, VITTM_ERROR_FORMAT, "%s: no video stream (streams: %s)", dec->path,
                           streams);
  }
  /* The demuxer can skip whatever is not ours. */
  for (unsigned i = 0; i < dec->format->nb_streams; i++)
    dec->format->streams[i]->discard = (int)i == index ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
  dec->stream = dec->format->streams[index];
  const AVCodecParameters *par = dec->stream->codecpar;
  const AVCodec *codec = avcodec_find_decoder(par->codec_id);
  if (!codec) {
    char tag[AV_FOURCC_MAX_STRING_SIZE] = "";
    av_fourcc_make_string(tag, par->codec_tag);
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "%s: no decoder for video codec '%s' (tag %s) in this FFmpeg build",
                           dec->path, avcodec_get_name(par->codec_id), tag);
  }
  dec->codec = avcodec_alloc_context3(codec);
  if (!dec->codec)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "%s: no memory for a decoder",
                           dec->path);
  int ret = avcodec_parameters_to_context(dec->codec, par);
  if (ret < 0)
    return vittm_error_set_av(err, ret, dec->path, "bad codec parameters");
  dec->codec->pkt_timebase = dec->stream->time_base;
  dec->codec->thread_count = threads; /* 0: libavcodec picks one per core */
  dec->codec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  ret = avcodec_open2(dec->codec, codec, NULL);
  if (ret < 0)
    return vittm_error_set_av(err, ret, dec->path, "cannot open the decoder");
  dec->info.stream_index = index;
  snprintf(dec->info.codec_name, sizeof dec->info.codec_name, "%s", codec->name);
  return VITTM_OK;
}

static double seconds(int64_t t, AVRational time_base)
{
  return t == AV_NOPTS_VALUE ? NAN : t * av_q2d(time_base);
}

/* Fills the stream part of info, and the start time every pts is measured from. */
static void describe(vittm_decoder *dec)
{
  const AVCodecParameters *par = dec->stream->codecpar;
  vittm_decoder_info *info = &dec->info;
  info->width = par->width;
  info->height = par->height;
  AVRational sar = av_guess_sample_aspect_ratio(dec->format, dec->stream, NULL);
  info->sar_num = sar.num > 0 && sar.den > 0 ? sar.num : 1;
  info->sar_den = sar.num > 0 && sar.den > 0 ? sar.den : 1;
  AVRational rate = av_guess_frame_rate(dec->format, dec->stream, NULL);
  info->frame_rate_num = rate.num > 0 && rate.den > 0 ? rate.num : 0;
  info->frame_rate_den = rate.num > 0 && rate.den > 0 ? rate.den : 1;
  info->frame_rate = (double)info->frame_rate_num / info->frame_rate_den;
  info->duration = -1.0;
  if (dec->stream->duration != AV_NOPTS_VALUE)
    info->duration = seconds(dec->stream->duration, dec->stream->time_base);
  else if (dec->format->duration != AV_NOPTS_VALUE)
    info->duration = seconds(dec->format->duration, AV_TIME_BASE_Q);
  if (dec->format->start_time != AV_NOPTS_VALUE)
    dec->start_seconds = seconds(dec->format->start_time, AV_TIME_BASE_Q);
  else if (dec->stream->start_time != AV_NOPTS_VALUE)
    dec->start_seconds = seconds(dec->stream->start_time, dec->stream->time_base);
  dec->last_pts = NAN;
}

static vittm_status prepare_output(vittm_decoder *dec, const vittm_decoder_options *o,
                                   vittm_error *err)
{
  vittm_decoder_info *info = &dec->info;
  vittm_status status =
      vittm_decoder_output_geometry(info->width, info->height, info->sar_num, info->sar_den,
                                    o->width, o->height, o->square_pixels, &dec->geometry, err);
  if (status != VITTM_OK)
    return vittm_error_prefix(err, status, "%s", dec->path);
  info->output_width = dec->geometry.width;
  info->output_height = dec->geometry.height;
  status = vittm_frame_converter_init(&dec->converter, o->format, info->output_width,
                                      info->output_height, err);
  if (status != VITTM_OK)
    return vittm_error_prefix(err, status, "%s", dec->path);
  dec->packet = av_packet_alloc();
  dec->frame = av_frame_alloc();
  if (!dec->packet || !dec->frame)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "%s: no memory for frames", dec->path);
  return VITTM_OK;
}

vittm_status vittm_decoder_open(const char *path, const vittm_decoder_options *opts,
                                vittm_decoder **out, vittm_error *err)
{
  if (!out)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "vittm_decoder_open: out is NULL");
  *out = NULL;
  if (!path)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "vittm_decoder_open: path is NULL");
  vittm_decoder_options o = opts ? *opts : (vittm_decoder_options){0};
  vittm_status status = check_options(&o, err);
  if (status != VITTM_OK)
    return vittm_error_prefix(err, status, "%s", path);

  vittm_decoder *dec = calloc(1, sizeof *dec);
  if (!dec || !(dec->path = strdup(path))) {
    free(dec);
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "%s: no memory for a decoder", path);
  }
  dec->max_failures =
      o.max_consecutive_failures ? o.max_consecutive_failures : VITTM_DECODER_DEFAULT_MAX_FAILURES;
  status = open_input(dec, err);
  if (status == VITTM_OK)
    status = open_codec(dec, o.threads, err);
  if (status == VITTM_OK) {
    describe(dec);
    status = prepare_output(dec, &o, err);
  }
  if (status != VITTM_OK) {
    vittm_decoder_free(dec);
    return status;
  }
  *out = dec;
  return VITTM_OK;
}

void vittm_decoder_get_info(const vittm_decoder *dec, vittm_decoder_info *info)
{
  if (dec && info)
    *info = dec->info;
}

void vittm_decoder_free(vittm_decoder *dec)
{
  if (!dec)
    return;
  vittm_frame_converter_release(&dec->converter);
  av_frame_free(&dec->frame);
  av_packet_free(&dec->packet);
  avcodec_free_context(&dec->codec);
  avformat_close_input(&dec->format);
  free(dec->path);
  free(dec);
}

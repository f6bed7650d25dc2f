/* vittm — video files to packed RGB frames (libavformat + libavcodec + libswscale).
 *
 * The decoder opens the best video stream of a file, decodes it with libavcodec (frame and
 * slice threads) and converts every picture to one packed RGB layout of a size fixed at open.
 * It is what the command-line tools feed the segmenter with outside GStreamer.
 *
 *   vittm_decoder *dec;
 *   vittm_error err;
 *   if (vittm_decoder_open("clip.mp4", NULL, &dec, &err) != VITTM_OK) { ... err.message ... }
 *   vittm_video_frame frame;
 *   while (vittm_decoder_next(dec, &frame, &err) == VITTM_OK && !frame.eos)
 *     use(frame.data, frame.width, frame.height, frame.stride);
 *   vittm_decoder_free(dec);
 *
 * A packet that fails to decode is counted (vittm_decoder_info.packets_skipped) and decoding
 * goes on; only a long run of consecutive failures ends the iteration with an error.
 * FFmpeg's own log goes wherever the application sends it (av_log_set_callback); this library
 * leaves FFmpeg's global state alone.
 */
#ifndef VITTM_DECODER_H
#define VITTM_DECODER_H

#include <stdbool.h>
#include <stdint.h>

#include "vittm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest output width or height accepted, requested or derived. */
#define VITTM_DECODER_MAX_SIZE 16384

/* Consecutive failed packets (read or decode) after which iteration gives up, by default. */
#define VITTM_DECODER_DEFAULT_MAX_FAILURES 100

typedef struct vittm_decoder vittm_decoder;

/* Packed output layouts, 8 bits per channel. */
typedef enum vittm_decoder_format {
  VITTM_DECODER_FORMAT_RGB24 = 0, /* R, G, B bytes */
  VITTM_DECODER_FORMAT_RGBA = 1,  /* R, G, B, A bytes; A is 255 */
} vittm_decoder_format;

/* Options for vittm_decoder_open. All-zero (or a NULL pointer) gives the defaults. */
typedef struct vittm_decoder_options {
  vittm_decoder_format format; /* default RGB24 */
  /* Output size. Both 0: the stored size (or the display size with square_pixels).
   * One 0: derived from the other, keeping the picture's aspect. Frames are scaled to it. */
  int width;
  int height;
  /* Scale non-square-pixel video so that its pixels come out square (display aspect);
   * otherwise the stored size is kept and the sample aspect ratio is reported. */
  bool square_pixels;
  int threads;                  /* libavcodec threads; 0 = one per core */
  int max_consecutive_failures; /* 0 = VITTM_DECODER_DEFAULT_MAX_FAILURES */
} vittm_decoder_options;

/* What the decoder knows about the file and its stream. */
typedef struct vittm_decoder_info {
  int stream_index;     /* av_find_best_stream's video stream; never cover art */
  char codec_name[32];  /* libavcodec's short name: "h264", "vp9", ... */
  int width, height;    /* size as stored in the stream */
  int sar_num, sar_den; /* sample (pixel) aspect ratio; 1:1 when the file says none */
  int output_width;     /* size of the frames handed out */
  int output_height;
  int frame_rate_num; /* frame rate as a fraction; 0/1 when unknown */
  int frame_rate_den;
  double frame_rate;       /* frames per second; 0 when unknown */
  double duration;         /* seconds; negative when unknown */
  int64_t frames_decoded;  /* frames handed out so far */
  int64_t packets_skipped; /* packets that could not be read or decoded so far */
  int64_t frames_corrupt;  /* frames handed out that the decoder flagged as damaged */
} vittm_decoder_info;

/* One decoded, converted picture. Its data belong to the decoder. */
typedef struct vittm_video_frame {
  bool eos;            /* true: end of stream, no picture (data is NULL) */
  const uint8_t *data; /* first row; valid until the next call on the decoder */
  int width, height;   /* pixels */
  int stride;          /* bytes from one row to the next (>= width * bytes per pixel) */
  vittm_decoder_format format;
  int sar_num, sar_den; /* sample aspect ratio of this output frame */
  double pts;           /* seconds from the start of the file; from the frame rate when
                                  the frame has no timestamp; NAN when neither is known */
  int64_t index;        /* 0 for the first frame handed out, then 1, 2, ... */
  bool corrupt;         /* the decoder concealed errors in this picture */
} vittm_video_frame;

/* Called once per frame by vittm_decoder_run; a status other than VITTM_OK stops the run. */
typedef vittm_status (*vittm_decoder_frame_fn)(const vittm_video_frame *frame, void *user,
                                               vittm_error *err);

/* Opens path and prepares its best video stream; opts may be NULL. On failure *out is NULL
 * and err names the file and what is wrong with it. */
VITTM_API vittm_status vittm_decoder_open(const char *path, const vittm_decoder_options *opts,
                                          vittm_decoder **out, vittm_error *err);

/* Hands out the next frame, or frame->eos at the end (and on every call after it). */
VITTM_API vittm_status vittm_decoder_next(vittm_decoder *dec, vittm_video_frame *frame,
                                          vittm_error *err);

/* Calls fn for every remaining frame; VITTM_OK once the stream has ended. */
VITTM_API vittm_status vittm_decoder_run(vittm_decoder *dec, vittm_decoder_frame_fn fn, void *user,
                                         vittm_error *err);

/* Copies the stream's description and the counters as they stand now into *info. */
VITTM_API void vittm_decoder_get_info(const vittm_decoder *dec, vittm_decoder_info *info);

/* Bytes per pixel of a format (3 or 4); 0 for a value outside the enum. */
VITTM_API int vittm_decoder_format_bytes(vittm_decoder_format format);

/* Closes the file and frees everything; NULL is a no-op. */
VITTM_API void vittm_decoder_free(vittm_decoder *dec);

#ifdef __cplusplus
}
#endif
#endif

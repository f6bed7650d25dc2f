#include "av_status.h"

#include <errno.h>
#include <libavutil/error.h>

vittm_status vittm_status_from_averror(int averror)
{
  switch (averror) {
  case AVERROR(ENOMEM): return VITTM_ERROR_OUT_OF_MEMORY;
  case AVERROR(EINVAL): return VITTM_ERROR_INVALID_ARGUMENT;
  case AVERROR_DECODER_NOT_FOUND:
  case AVERROR_PATCHWELCOME:
  case AVERROR(ENOSYS): return VITTM_ERROR_UNSUPPORTED;
  case AVERROR_INVALIDDATA:
  case AVERROR_EOF: /* while opening: the file ended before it made sense */
  case AVERROR_STREAM_NOT_FOUND:
  case AVERROR_DEMUXER_NOT_FOUND:
  case AVERROR_BUG: return VITTM_ERROR_FORMAT;
  default: return VITTM_ERROR_IO; /* ENOENT, EACCES, EIO, EISDIR, protocol errors ... */
  }
}

vittm_status vittm_error_set_av(vittm_error *err, int averror, const char *path, const char *what)
{
  char reason[AV_ERROR_MAX_STRING_SIZE];
  av_strerror(averror, reason, sizeof reason);
  return vittm_error_set(err, vittm_status_from_averror(averror), "%s: %s: %s", path, what, reason);
}

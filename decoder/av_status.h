/* vittm decoder — FFmpeg error codes as vittm statuses. */
#ifndef VITTM_DECODER_AV_STATUS_H
#define VITTM_DECODER_AV_STATUS_H

#include "vittm/error.h"

/* The vittm status that fits an AVERROR: file-system errors are IO, bad data FORMAT,
 * ENOMEM OUT_OF_MEMORY, a missing decoder UNSUPPORTED. */
vittm_status vittm_status_from_averror(int averror);

/* Sets err to the status of averror with "path: what: FFmpeg's explanation"; returns it. */
vittm_status vittm_error_set_av(vittm_error *err, int averror, const char *path, const char *what);

#endif

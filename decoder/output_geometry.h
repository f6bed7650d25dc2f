/* vittm decoder — the size and pixel aspect of the frames handed out. */
#ifndef VITTM_DECODER_OUTPUT_GEOMETRY_H
#define VITTM_DECODER_OUTPUT_GEOMETRY_H

#include "vittm/error.h"

#include <stdbool.h>

typedef struct vittm_decoder_geometry {
  int width, height;    /* output size */
  int sar_num, sar_den; /* sample aspect ratio of an output pixel */
} vittm_decoder_geometry;

/* The output geometry for a stream stored at in_w x in_h with sample aspect
 * sar_num:sar_den (non-positive: unknown, taken as 1:1), a request of req_w x req_h
 * (0 = derive it) and the square_pixels choice; see vittm_decoder_options. */
vittm_status vittm_decoder_output_geometry(int in_w, int in_h, int sar_num, int sar_den, int req_w,
                                           int req_h, bool square_pixels,
                                           vittm_decoder_geometry *out, vittm_error *err);

#endif

/* What the tools built on vittm_core may ask of a segmenter beyond the public API. */
#ifndef VITTM_SEGMENTER_INTERNAL_H
#define VITTM_SEGMENTER_INTERNAL_H

#include <stdio.h>

#include "vittm/vittm.h"

/* After a run on a device opened with profiling (VITTM_PROFILE=1): title, then the GPU time of
 * the last run per kind of dispatch, one table per command buffer (per crop under slide
 * inference). Prints nothing on a device that does not profile. */
void vittm_segmenter_print_profile(const vittm_segmenter *s, const char *title, FILE *out);

#endif

/* What the tools built on vittm_core may ask of a segmenter beyond the public API. */
#ifndef VITTM_SEGMENTER_INTERNAL_H
#define VITTM_SEGMENTER_INTERNAL_H

#include <stdio.h>

#include "vittm/vittm.h"

/* After a run on a device opened with profiling (VITTM_PROFILE=1): title, then the GPU time of
 * the last run per kind of dispatch, one table per command buffer (per crop under slide
 * inference). Prints nothing on a device that does not profile. */
void vittm_segmenter_print_profile(const vittm_segmenter *s, const char *title, FILE *out);
/* Multiply-adds a frame performs in its matrix products, convolutions and attention, as the
 * device's routes do them (a 3×3 convolution by Winograd: the multiplications of its
 * products), summed over the crops of sliding-window inference. */
double vittm_segmenter_macs(const vittm_segmenter *s);

#endif

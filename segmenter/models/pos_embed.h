/* Learned position embeddings resampled to the input's patch grid, on the host at load time. */
#ifndef VITTM_MODELS_POS_EMBED_H
#define VITTM_MODELS_POS_EMBED_H

#include <stdbool.h>
#include <stdint.h>

/* Resamples src ((gh·gw) × d, row y·gw + x) to dst ((th·tw) × d) bicubically, separably, as
 * timm's resample_abs_pos_embed → F.interpolate(mode='bicubic', align_corners=False,
 * antialias=antialias) (docs/model-format.md §4.1: Keys a = −0.75 with edge clamping, or
 * a = −0.5 with widened support and renormalised weights). A copy when the grids match. */
void vittm_pos_embed_resample(const float *src, uint32_t gh, uint32_t gw, uint32_t d, uint32_t th,
                              uint32_t tw, bool antialias, float *dst);

#endif

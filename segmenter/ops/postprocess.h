/* Post-processing: the head's logits → the class map. */
#ifndef VITTM_OPS_POSTPROCESS_H
#define VITTM_OPS_POSTPROCESS_H

#include "ops/dispatch.h"

/* Largest class count a byte map holds. */
#define VITTM_MAX_MAP_CLASSES 256u

/* Bytes of scratch memory that vittm_resize_argmax_record needs to make a map_h × map_w map of
 * an h × w grid of these logits: records of the candidate classes of each cell of the grid (a
 * few hundred bytes per cell), or 0 when the map is not larger than about twice the grid and
 * every pixel blends every class. */
uint64_t vittm_resize_argmax_scratch_size(const vittm_tensor *logits, uint32_t h, uint32_t w,
                                          uint32_t map_w, uint32_t map_h);

/* Records the class map of logits ((h·w) × K, row y·w + x; fp32 or fp16, K ≤ 256): for every
 * pixel of a map_h × map_w map, the argmax (first maximum wins, as torch.argmax) of the
 * logits bilinearly resized to map_h × map_w (F.interpolate, align_corners=False), written as
 * one byte at map[y·map_stride + x]. The resized logits are never stored. map_stride must be a
 * multiple of 4 and at least map_w, and map must hold map_stride·map_h bytes; bytes of a row
 * past map_w keep their values. map_w × map_h may equal w × h (a map at the model's size) or
 * be smaller. scratch holds at least vittm_resize_argmax_scratch_size bytes (NULL where that is
 * 0); its contents are the recording's own. The rows of logits that one source row of cells
 * needs (2·w rows) must lie in at most 4 of its chunks. */
vittm_status vittm_resize_argmax_record(vittm_cmd *cmd, const vittm_tensor *logits, uint32_t h,
                                        uint32_t w, vittm_buffer *scratch, vittm_buffer *map,
                                        uint32_t map_w, uint32_t map_h, uint32_t map_stride,
                                        vittm_error *err);

/* Whether vittm_resize_argmax_record lists the cells of these logits reading them through a
 * texel buffer (CPU drivers: the profile's words=64, the logits one chunk that starts on a
 * texel), rather than from storage buffers. */
bool vittm_resize_argmax_cells_read_texels(const vittm_tensor *logits);

/* Slide inference's crops (mmseg's test_cfg mode='slide'): a canvas_h × canvas_w image (the
 * resized frame) covered by n_h × n_w crops of crop_h × crop_w, crop (i, j) with its top-left
 * corner at (min(i·stride_h, canvas_h − crop_h), min(j·stride_w, canvas_w − crop_w)). */
typedef struct vittm_slide_grid {
  uint32_t canvas_h, canvas_w, crop_h, crop_w, stride_h, stride_w, n_h, n_w;
  uint32_t depth_h, depth_w; /* the most crops any pixel lies in, along each axis */
} vittm_slide_grid;

/* Lays out the crops as mmseg does (n = ⌈(canvas − crop) / stride⌉ + 1 per axis). Refuses a
 * canvas smaller than the crop, and strides so short that a pixel lies in more than four
 * crops along an axis (the class-map shader sums at most four). */
vittm_status vittm_slide_grid_compute(uint32_t canvas_h, uint32_t canvas_w, uint32_t crop_h,
                                      uint32_t crop_w, uint32_t stride_h, uint32_t stride_w,
                                      vittm_slide_grid *grid, vittm_error *err);
/* The top-left corner of crop (i, j). */
void vittm_slide_crop_origin(const vittm_slide_grid *grid, uint32_t i, uint32_t j, uint32_t *y,
                             uint32_t *x);

/* Records the class map of slide inference: logits holds the n_h·n_w crops' logits at the
 * head's resolution, crop i·n_w + j at rows (i·n_w + j)·h·w …; each is resized to its crop,
 * the crops are averaged where they overlap, the canvas is resized to map_h × map_w and the
 * argmax taken (first maximum wins), all as mmseg computes it, without storing the canvas.
 * logits must be one chunk; the map is as for vittm_resize_argmax_record. */
vittm_status vittm_slide_argmax_record(vittm_cmd *cmd, const vittm_tensor *logits, uint32_t h,
                                       uint32_t w, const vittm_slide_grid *grid, vittm_buffer *map,
                                       uint32_t map_w, uint32_t map_h, uint32_t map_stride,
                                       vittm_error *err);

#endif

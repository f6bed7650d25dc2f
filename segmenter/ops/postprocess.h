/* Post-processing: the head's logits → the class map. */
#ifndef VITTM_OPS_POSTPROCESS_H
#define VITTM_OPS_POSTPROCESS_H

#include "ops/dispatch.h"

/* Largest class count a byte map holds. */
#define VITTM_MAX_MAP_CLASSES 256u

/* Records the class map of logits ((h·w) × K, row y·w + x; fp32 or fp16, K ≤ 256): for every
 * pixel of a map_h × map_w map, the argmax (first maximum wins, as torch.argmax) of the
 * logits bilinearly resized to map_h × map_w (F.interpolate, align_corners=False), written as
 * one byte at map[y·map_stride + x]. The resized logits are never stored. map_stride must be a
 * multiple of 4 and at least map_w, and map must hold map_stride·map_h bytes; bytes of a row
 * past map_w keep their values. map_w × map_h may equal w × h (a map at the model's size) or
 * be smaller. The rows of logits that one source row of cells needs (2·w rows) must lie in at
 * most 4 of its chunks. */
vittm_status vittm_resize_argmax_record(vittm_cmd *cmd, const vittm_tensor *logits, uint32_t h,
                                        uint32_t w, vittm_buffer *map, uint32_t map_w,
                                        uint32_t map_h, uint32_t map_stride, vittm_error *err);

#endif

/* Helpers shared by the operators' host code: binding a tensor at a row, and walking row
 * spans that stay inside one chunk of every tensor (see vk/tensor.h on splitting). */
#ifndef VITTM_OPS_DISPATCH_H
#define VITTM_OPS_DISPATCH_H

#include "vk/command.h"
#include "vk/tensor.h"

/* The binding of the chunk of t that holds `row`, and the element offset of `row` in it. */
vittm_binding vittm_tensor_bind(const vittm_tensor *t, uint32_t row, bool write,
                                uint32_t *elem_offset);

/* The end (exclusive) of the longest span [row, end) with end ≤ limit that lies inside one
 * chunk of each of the n tensors. */
uint32_t vittm_span_end(const vittm_tensor *const *t, uint32_t n, uint32_t row, uint32_t limit);

/* Shape and dtype checks, with messages naming the operator. */
vittm_status vittm_check_same_dtype(const char *op, const vittm_tensor *const *t, uint32_t n,
                                    vittm_error *err);
vittm_status vittm_check_shape(const char *op, const char *name, const vittm_tensor *t,
                               uint32_t rows, uint32_t cols, vittm_error *err);
/* Fails unless t is one chunk (small parameter vectors: biases, LayerNorm weights). */
vittm_status vittm_check_single_chunk(const char *op, const char *name, const vittm_tensor *t,
                                      vittm_error *err);

/* A 1-D grid covering `count` items at `per_group` each, of at most the device's grid width
 * (65535 workgroups; VITTM_MAX_GRID lowers it): the shaders loop with a grid stride over
 * what one pass does not cover. */
uint32_t vittm_grid_1d(const vittm_device *dev, uint64_t count, uint32_t per_group);

/* A 2-D grid with one workgroup per row, rows of at most the grid width (the shaders fold y
 * back into a row index and skip the workgroups past the last row). */
void vittm_grid_rows(const vittm_device *dev, uint32_t rows, uint32_t *gx, uint32_t *gy);
/* A power-of-two workgroup size for a row-wise reduction over `cols` values. */
uint32_t vittm_row_workgroup(const vittm_device *dev, uint32_t cols);
/* The pipeline name ("<base>[_sg]_<dtype>") and workgroup size of a row-wise reduction over
 * `cols` values, one workgroup per row, and the kernel (*id: `plain` or `subgroup`). Where the
 * device profile says so (CPU drivers whose subgroups can add and take maxima), a row is one
 * subgroup and the `subgroup` kernel reduces with subgroup operations: there a workgroup
 * barrier costs a switch between invocations, and the shared-memory tree has log2(size) of
 * them per reduction. Elsewhere vittm_row_workgroup's size and the tree of `plain`. */
uint32_t vittm_row_reduction(const vittm_device *dev, vittm_shader_id plain,
                             vittm_shader_id subgroup, uint32_t cols, vittm_shader_id *id);
/* How many of a row's `values` each of a reduction's `wg` invocations holds in registers
 * between its passes instead of reading them again (a CPU driver reads a storage buffer lane
 * by lane): its share, where that is at most 32 (ViT-B's 768-wide rows by vec4s over 8
 * lanes are 24); else 0, and the kernel reads them at every pass. */
uint32_t vittm_row_held(uint32_t values, uint32_t wg);

/* Whether kernels read and write groups of four values in storage buffers as 64-bit words:
 * the profile's words=64 (CPU drivers, where a storage access is a loop over the lanes and,
 * in each, over the components) on a device with 64-bit integers. */
bool vittm_words64(const vittm_device *dev);

/* Texel buffers over whole tensors (vk/pipeline.h's vittm_pipeline_get_texel): CPU drivers'
 * GEMM, attention, linear attention, LayerNorm, bilinear resize and Winograd's transforms read
 * their operands so, 16 bytes a texel. vittm_texels: whether dev reads storage texel buffers of
 * 16-byte texels (rgba32ui) as large as its storage buffers, three per stage, its storage
 * buffers holding at most 2 GiB (2²⁷ texels: the kernels' texel indices fit 27 bits).
 * vittm_texel_aligned: whether t (one chunk) starts a texel and its buffer's whole texels hold
 * all of it. */
#define VITTM_TEXEL_BYTES 16u
bool vittm_texels(const vittm_device *dev);
bool vittm_texel_aligned(const vittm_tensor *t);
/* For one-chunk tensor t: the 16-byte unit at which its row `row` starts in its buffer (an
 * index into a texel view, where that row starts a unit), and the bytes of rows [row, row + n),
 * what a texel view of them reads (a dispatch's window, vk/command.h). */
uint32_t vittm_texel_unit(const vittm_tensor *t, uint32_t row);
vittm_buffer_window vittm_texel_rows(const vittm_tensor *t, uint32_t row, uint32_t n);

#endif

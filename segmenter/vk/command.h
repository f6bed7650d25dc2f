/* A recorded sequence of dispatches, replayed as often as needed (once per frame).
 *
 * Dispatches are collected and turned into a command buffer when the recording ends: first the
 * transient buffers they use are given memory by lifetime (vk/arena.h), then barriers are
 * inserted only where a dispatch touches device memory that an earlier dispatch since the last
 * barrier wrote (read-after-write, write-after-write) or read (write-after-read) — compared as
 * memory ranges, so that buffers sharing memory order correctly. Timestamps give the GPU time
 * of each submission, and of each dispatch when the device was opened with profiling. */
#ifndef VITTM_VK_COMMAND_H
#define VITTM_VK_COMMAND_H

#include <stdio.h>

#include "vk/buffer.h"
#include "vk/pipeline.h"

typedef struct vittm_cmd vittm_cmd;

/* A whole buffer bound to one binding of a dispatch; `write` if the dispatch may write it. */
typedef struct vittm_binding {
  vittm_buffer *buffer;
  bool write;
} vittm_binding;

/* The part of a buffer a uniform buffer descriptor shows (vk/pipeline.h): `range` bytes from
 * byte `offset`, at most the device's uniform buffer range, the offset a multiple of its
 * uniform buffer offset alignment. */
typedef struct vittm_buffer_window {
  VkDeviceSize offset, range;
} vittm_buffer_window;

typedef struct vittm_cmd_timing {
  double wall_ms; /* submit to completion, measured on the host */
  double gpu_ms;  /* from timestamps; negative when the queue cannot time */
} vittm_cmd_timing;

/* Starts recording. */
vittm_status vittm_cmd_begin(vittm_device *dev, vittm_cmd **out, vittm_error *err);
/* Records one dispatch of p with p->n_bindings bindings and p->push_size bytes of push
 * constants; `label` names it in profiles and errors. */
vittm_status vittm_cmd_dispatch(vittm_cmd *cmd, const vittm_pipeline *p, const vittm_binding *b,
                                const void *push, uint32_t gx, uint32_t gy, uint32_t gz,
                                const char *label, vittm_error *err);
/* The same for a pipeline with uniform or texel buffers: w[i] is the window of descriptor i,
 * for a uniform buffer the bytes it shows, for a texel buffer (which shows the whole buffer)
 * the bytes the kernel reads, so that only dispatches that write them wait; storage buffers
 * are bound whole. */
vittm_status vittm_cmd_dispatch_windows(vittm_cmd *cmd, const vittm_pipeline *p,
                                        const vittm_binding *b, const vittm_buffer_window *w,
                                        const void *push, uint32_t gx, uint32_t gy, uint32_t gz,
                                        const char *label, vittm_error *err);
/* Scratch buffers by slot: a recording's own, or shared by the recordings of one model (whose
 * runs take turns under its lock, as its activations do). */
typedef struct vittm_scratch_pool {
  struct vittm_scratch *items;
  size_t n, cap;
} vittm_scratch_pool;
/* Bytes the pool's buffers take. */
uint64_t vittm_scratch_pool_bytes(const vittm_scratch_pool *pool);
/* Frees the pool's buffers (not the pool itself); the pool is then empty. */
void vittm_scratch_pool_free(vittm_device *dev, vittm_scratch_pool *pool);

/* A storage buffer of at least `size` bytes for operators' scratch data, from the
 * recording's pool (its own, freed with it, unless vittm_cmd_share_scratch gave it another);
 * calls with the same `slot` return the same buffer while it is large enough, so that the
 * operators of a recording share it (the recording orders their uses by its barriers). A
 * larger one replaces it, the smaller staying alive for the dispatches that bind it. */
vittm_status vittm_cmd_scratch(vittm_cmd *cmd, uint32_t slot, VkDeviceSize size, vittm_buffer **out,
                               vittm_error *err);
/* Takes scratch buffers from `pool` (which outlives the recording) from now on: recordings
 * that never run at the same time can share them. */
void vittm_cmd_share_scratch(vittm_cmd *cmd, vittm_scratch_pool *pool);
/* Records a copy of the first `size` bytes of src into dst (staging transfers). */
vittm_status vittm_cmd_copy(vittm_cmd *cmd, vittm_buffer *src, vittm_buffer *dst, VkDeviceSize size,
                            const char *label, vittm_error *err);
/* `runs` runs of `bytes` bytes each: run i from byte src_at + i·src_stride of the source to
 * byte dst_at + i·dst_stride of the destination. */
typedef struct vittm_copy_runs {
  VkDeviceSize src_at, src_stride, dst_at, dst_stride, bytes;
  uint32_t runs;
} vittm_copy_runs;
/* Records the transfer of the runs r from src to dst (a block of rows between two row-major
 * tensors): on a CPU driver a memcpy per run, where a copy shader reads and writes storage
 * buffers value by value. Fails with INVALID_ARGUMENT where a run lies outside a buffer or the
 * destination's runs overlap. */
vittm_status vittm_cmd_copy_runs(vittm_cmd *cmd, vittm_buffer *src, vittm_buffer *dst,
                                 const vittm_copy_runs *r, const char *label, vittm_error *err);
/* Ends recording: places the transient buffers used, then writes the command buffer, which
 * can then be submitted any number of times. */
vittm_status vittm_cmd_end(vittm_cmd *cmd, vittm_error *err);
/* Submits, waits for completion, fills timing (may be NULL). */
vittm_status vittm_cmd_submit(vittm_cmd *cmd, vittm_cmd_timing *timing, vittm_error *err);
/* Counts `flops` floating-point operations (a multiply-add is 2) to the last dispatch
 * recorded, for the GFLOP/s of its label in profiles and the work of a run (vittm_cmd_flops):
 * an operator counts its work once, after its dispatches. */
void vittm_cmd_count_flops(vittm_cmd *cmd, double flops);
/* The floating-point operations counted to the recorded dispatches, all of them. */
double vittm_cmd_flops(const vittm_cmd *cmd);
/* Number of dispatches recorded, and of barriers (known once the recording has ended). */
uint32_t vittm_cmd_dispatch_count(const vittm_cmd *cmd);
uint32_t vittm_cmd_barrier_count(const vittm_cmd *cmd);
/* After a profiled submission: label and GPU milliseconds of dispatch i (false if unknown). */
bool vittm_cmd_dispatch_time(const vittm_cmd *cmd, uint32_t i, const char **label, double *ms);
/* After a profiled submission: GPU time per dispatch label (summed), largest first, and the
 * GFLOP/s of the labels whose work is counted, printed as a table to out; then, where
 * vittm_profile_lists_dispatches, every dispatch and copy in order. Prints nothing when the
 * device was not opened with profiling. */
void vittm_cmd_print_profile(const vittm_cmd *cmd, FILE *out);
/* Whether profiles also list every dispatch in order with the kernel that ran it
 * (VITTM_PROFILE=dispatches). */
bool vittm_profile_lists_dispatches(void);
/* Frees the recording; NULL is a no-op. */
void vittm_cmd_free(vittm_cmd *cmd);

#endif

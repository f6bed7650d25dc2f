/* Activation memory shared by lifetime.
 *
 * A transient buffer (vittm_buffer_create_transient) is a VkBuffer without memory: its contents
 * matter only between the dispatch that first uses it and the one that last uses it. When a
 * recording ends (vittm_cmd_end), the buffers it uses that have no memory yet are placed in
 * blocks of their arena so that buffers whose lifetimes overlap never share bytes, then bound.
 * Device memory then stays near the largest set of activations live at one dispatch instead of
 * the sum of them all.
 *
 * Placement is greedy by size (largest first, each at the lowest offset free during its whole
 * lifetime). It happens once per buffer: later recordings that use the same buffers must use
 * them in the same order (a model's graph recorded again for another segmenter), which every
 * recording in this library does. Thread-safe: recordings may end on several threads. */
#ifndef VITTM_VK_ARENA_H
#define VITTM_VK_ARENA_H

#include "vk/buffer.h"

typedef struct vittm_arena vittm_arena;

/* A transient buffer's lifetime in a recording: the first and last dispatch that use it. */
typedef struct vittm_arena_use {
  vittm_buffer *buffer;
  uint32_t first, last;
} vittm_arena_use;

vittm_status vittm_arena_create(vittm_device *dev, vittm_arena **out, vittm_error *err);
/* Frees the arena's memory: destroy (or never use again) its buffers first. NULL is a no-op. */
void vittm_arena_free(vittm_arena *a);

/* Places the buffers of `uses` that have no memory yet and binds them; the others are left as
 * they are. Reorders `uses`. */
vittm_status vittm_arena_place(vittm_arena *a, vittm_arena_use *uses, size_t n, vittm_error *err);

/* Device bytes the arena holds, and the bytes its placed buffers would hold each on its own. */
uint64_t vittm_arena_bytes(const vittm_arena *a);
uint64_t vittm_arena_requested(const vittm_arena *a);

#endif

/* The device profile: every choice of kernel route the engine makes from what a device is,
 * made once when the device opens, from its info and the environment, by one pure function.
 *
 * CPU drivers (lavapipe, SwiftShader) run an invocation per SIMD lane of a CPU thread and
 * pay a loop over the lanes for every load, from a buffer or shared memory alike, but one
 * instruction for an FMA; a workgroup is one thread's work. So they get register tiles
 * (no shared memory), row reductions by one subgroup, the texel GEMM, attention and the other
 * memory-bound kernels reading their operands through texel buffers, and few, long workgroups.
 * GPUs get shared-memory tiles, workgroup reductions, the fused attention kernel, many short
 * workgroups, and fp16 where they have it.
 *
 * VITTM_ROUTES forces routes so that one device can check every kernel the engine has
 * (vittm-verify --all-routes): a comma-separated list of
 *   tiles=register|shared  attention=fused|gemm|uniform  reductions=workgroup|subgroup
 *   shuffles=on|off  gemm=uniform|tiled  winograd=on|off|all  copies=transfer|shader
 *   words=64|32
 * (gemm=uniform: Linear layers' products and convolutions read their operands through texel
 * buffers, the weights packed into panels: ops/gemm.c, docs/cpu-drivers.md; CPU drivers only
 * profit from it, and get it by default. winograd=on, CPU drivers' default whatever their
 * GEMM route: fp32 3×3 convolutions over more channels than a k-chunk go by Winograd's
 * F(4×4, 3×3) on the texel GEMM, four times fewer multiplications.)
 * VITTM_GEMM_TILE and VITTM_CONV_TILE (BMxBNxBK/TMxTN) force one tile, for tuning: and so the
 * tiled kernel, whatever the gemm route. */
#ifndef VITTM_VK_PROFILE_H
#define VITTM_VK_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vittm/device.h"

/* An output tile: bm×bn outputs per workgroup in bk-deep shared-memory slices (bk 0: a
 * register tile, no shared memory), tm×tn per invocation. */
typedef struct vittm_tile {
  uint32_t bm, bn, bk;
  uint32_t tm, tn;
} vittm_tile;

typedef enum vittm_tile_kind {
  VITTM_TILES_REGISTER, /* bk = 0: operands from the buffers into registers */
  VITTM_TILES_SHARED,   /* slices staged in shared memory */
} vittm_tile_kind;

typedef enum vittm_attention_route {
  VITTM_ATTENTION_FUSED, /* one kernel: scores, online softmax, weighted sum */
  VITTM_ATTENTION_GEMM,  /* scores by GEMM, a softmax, values by GEMM (fp32 only) */
  /* the fused kernel's algorithm with keys and values read where they lie in qkv through a
   * texel buffer (CPU drivers) */
  VITTM_ATTENTION_UNIFORM,
} vittm_attention_route;

typedef enum vittm_reduction_route {
  VITTM_REDUCTIONS_WORKGROUP, /* a row per workgroup, reduced through shared memory */
  VITTM_REDUCTIONS_SUBGROUP,  /* a row per subgroup, reduced with subgroup arithmetic */
} vittm_reduction_route;

typedef struct vittm_device_profile {
  bool fp16;                        /* precision auto means fp16 */
  vittm_tile_kind tiles;            /* GEMM, convolution, patch embedding */
  vittm_attention_route attention;  /* the GEMM route is fp32 only: fp16 then goes fused */
  bool attention_tiles;             /* attention=tiled: the uniform route's attention as the
                                       texel GEMM's tile (attention_tiled.comp) where the head
                                       fits it: CPU drivers without AVX-512 code, where the
                                       uniform kernel's state spills over 16 vector registers
                                       (docs/cpu-drivers.md) */
  vittm_reduction_route reductions; /* LayerNorm, softmax rows */
  uint32_t shuffle_subgroup;        /* register tiles share loads over subgroups of this size
                                       with shuffles (GEMM, convolution, patch embedding);
                                       0: each lane loads its own. It is the device's
                                       subgroupSize, which Vulkan makes gl_SubgroupSize in
                                       every pipeline of SPIR-V before 1.6 created without a
                                       varying or required size, as ours are
                                       (shaders/compile.sh); shaders take it for that */
  bool long_workgroups;             /* few workgroups of much work each (CPU drivers) */
  bool gemm_uniform;                /* Linear products and convolutions by the texel GEMM
                                       (named for the uniform buffers it first read) */
  bool winograd;                    /* deep fp32 3×3 convolutions by Winograd's algorithm
                                       on the texel GEMM */
  bool winograd_small_maps;         /* ... on maps of any size, not only where it pays
                                       (winograd=all: to compare, and for tests) */
  bool copies_by_transfer;          /* block copies as transfer commands, not the copy shader
                                       (CPU drivers: a memcpy per row) */
  bool words64;                     /* storage loads and stores of four values as 64-bit
                                       words where the device has them (CPU drivers: a loop
                                       per lane and per component; ops/dispatch.h's
                                       vittm_words64): the resize, the texel GEMM's epilogue,
                                       linear attention's output, fp16 LayerNorm */
  vittm_tile gemm_tile, conv_tile;  /* forced tiles; bm == 0 when none */
} vittm_device_profile;

/* What the environment asks of the profile, as text (NULL: nothing). */
typedef struct vittm_profile_env {
  const char *routes;    /* VITTM_ROUTES */
  const char *gemm_tile; /* VITTM_GEMM_TILE */
  const char *conv_tile; /* VITTM_CONV_TILE */
} vittm_profile_env;

/* The process environment's VITTM_ROUTES, VITTM_GEMM_TILE and VITTM_CONV_TILE. */
vittm_profile_env vittm_profile_env_read(void);

/* The profile of a device with `info` under `env` (NULL: none); depends on nothing else.
 * Fails with INVALID_ARGUMENT naming the variable on a malformed route or tile, and with
 * UNSUPPORTED on a forced route the device cannot run (subgroup reductions without subgroup
 * arithmetic at one fixed subgroup size). */
vittm_status vittm_device_profile_select(const vittm_device_info *info,
                                         const vittm_profile_env *env, vittm_device_profile *out,
                                         vittm_error *err);

/* Whether two profiles choose the same routes and tiles. */
bool vittm_device_profile_equal(const vittm_device_profile *a, const vittm_device_profile *b);

/* "tiles=register,attention=gemm,reductions=subgroup" and ",fp16" when fp16 is the default:
 * the routes in VITTM_ROUTES's syntax. */
void vittm_device_profile_describe(const vittm_device_profile *p, char *buf, size_t size);

/* Parses "BMxBNxBK/TMxTN". */
bool vittm_tile_parse(const char *text, vittm_tile *out);

/* An operator's tiles: the register table (CPU drivers) and the shared-memory table (GPUs),
 * each in order of preference, and what its shader allows. */
typedef struct vittm_tile_table {
  const char *op; /* names the operator in errors */
  const vittm_tile *registers;
  size_t n_registers;
  const vittm_tile *shared;
  size_t n_shared;
  uint32_t max_tm, max_tn; /* the shader's largest register tile */
  bool register_spans_n;   /* a register tile's invocation computes all bn columns */
  /* Register tile for products of fewer than short_rows rows (NULL: none), where the
   * table's first tile would compute mostly padding in a handful of workgroups. */
  const vittm_tile *short_register;
  uint32_t short_rows;
} vittm_tile_table;

/* A tile table from two arrays of tiles (for its `static const` definition). */
#define VITTM_TILE_TABLE(op_, registers_, shared_, max_tm_, max_tn_, spans_n_)                     \
  VITTM_TILE_TABLE_SHORT(op_, registers_, shared_, max_tm_, max_tn_, spans_n_, NULL, 0)
/* The same with a register tile for products of fewer than short_rows_ rows. */
#define VITTM_TILE_TABLE_SHORT(op_, registers_, shared_, max_tm_, max_tn_, spans_n_, short_,       \
                               short_rows_)                                                        \
  {                                                                                                \
    .op = (op_), .registers = (registers_),                                                        \
    .n_registers = sizeof(registers_) / sizeof *(registers_), .shared = (shared_),                 \
    .n_shared = sizeof(shared_) / sizeof *(shared_), .max_tm = (max_tm_), .max_tn = (max_tn_),     \
    .register_spans_n = (spans_n_), .short_register = (short_), .short_rows = (short_rows_)        \
  }

/* The subgroup size a register tile spreads its rows over, sharing loads with shuffles, or 0
 * where it cannot: the profile allows shuffles, and every subgroup lies in one row of
 * invocations (bn/tn a multiple of it) and owns whole rows (tm a multiple of it). Shaders
 * take it for gl_SubgroupSize (see shuffle_subgroup) and are built with one register kernel:
 * a run-time check would make the driver compile both. */
uint32_t vittm_tile_shuffle_subgroup(const vittm_device_profile *p, const vittm_tile *t);

/* Shared memory a tile declares (a register tile still declares one row). */
uint32_t vittm_tile_shared_bytes(const vittm_tile *t);
/* Invocations per workgroup. */
uint32_t vittm_tile_invocations(const vittm_tile *t);
/* Whether the tile is well formed for the table's shader and within the device's limits. */
bool vittm_tile_fits(const vittm_device_info *info, const vittm_tile_table *table,
                     const vittm_tile *t);
/* The tile for a product of `rows` rows: `forced` when it is set (bm != 0) and fits, else
 * for register tiles the table's short tile when rows < short_rows and it fits, else the
 * first tile of the profile's kind that fits; UNSUPPORTED naming the operator and the limits
 * when none does. */
vittm_status vittm_tile_choose(const vittm_device_info *info, const vittm_device_profile *p,
                               const vittm_tile_table *table, const vittm_tile *forced,
                               uint32_t rows, vittm_tile *out, vittm_error *err);

#endif

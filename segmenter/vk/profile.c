#include "vk/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

vittm_profile_env vittm_profile_env_read(void)
{
  return (vittm_profile_env){
      .routes = getenv("VITTM_ROUTES"),
      .gemm_tile = getenv("VITTM_GEMM_TILE"),
      .conv_tile = getenv("VITTM_CONV_TILE"),
  };
}

bool vittm_tile_parse(const char *text, vittm_tile *out)
{
  vittm_tile t;
  char end;
  if (!text || sscanf(text, "%ux%ux%u/%ux%u%c", &t.bm, &t.bn, &t.bk, &t.tm, &t.tn, &end) != 5)
    return false;
  *out = t;
  return true;
}

static bool subgroup_reductions_possible(const vittm_device_info *info)
{
  return info->subgroup_arithmetic && info->subgroup_size &&
         info->min_subgroup_size == info->max_subgroup_size &&
         info->subgroup_size <= info->max_workgroup_invocations;
}

/* Subgroup shuffles at one known subgroup size: what register tiles need to share loads. */
static uint32_t shuffle_subgroup(const vittm_device_info *info)
{
  return info->subgroup_shuffle && info->min_subgroup_size == info->max_subgroup_size
             ? info->subgroup_size
             : 0;
}

/* One "key=value" of VITTM_ROUTES applied to p. */
static vittm_status apply_route(const vittm_device_info *info, const char *item, size_t len,
                                vittm_device_profile *p, vittm_error *err)
{
  static const struct {
    const char *text;
    int field; /* 0 tiles, 1 attention, 2 reductions, 3 shuffles, 4 gemm, 5 winograd, 6 copies,
                  7 words */
    int value;
  } routes[] = {
      {"tiles=register", 0, VITTM_TILES_REGISTER},
      {"tiles=shared", 0, VITTM_TILES_SHARED},
      {"attention=fused", 1, VITTM_ATTENTION_FUSED},
      {"attention=gemm", 1, VITTM_ATTENTION_GEMM},
      {"attention=uniform", 1, VITTM_ATTENTION_UNIFORM},
      {"attention=tiled", 1, -1},
      {"reductions=workgroup", 2, VITTM_REDUCTIONS_WORKGROUP},
      {"reductions=subgroup", 2, VITTM_REDUCTIONS_SUBGROUP},
      {"shuffles=on", 3, 1},
      {"shuffles=off", 3, 0},
      {"gemm=uniform", 4, 1},
      {"gemm=tiled", 4, 0},
      {"winograd=on", 5, 1},
      {"winograd=off", 5, 0},
      {"winograd=all", 5, 2},
      {"copies=transfer", 6, 1},
      {"copies=shader", 6, 0},
      {"words=64", 7, 1},
      {"words=32", 7, 0},
  };
  for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
    if (strlen(routes[i].text) != len || strncmp(routes[i].text, item, len) != 0)
      continue;
    switch (routes[i].field) {
    case 0: p->tiles = (vittm_tile_kind)routes[i].value; break;
    case 1:
      p->attention =
          routes[i].value < 0 ? VITTM_ATTENTION_UNIFORM : (vittm_attention_route)routes[i].value;
      p->attention_tiles = routes[i].value < 0;
      break;
    case 4: p->gemm_uniform = routes[i].value; break;
    case 5:
      p->winograd = routes[i].value != 0;
      p->winograd_small_maps = routes[i].value == 2;
      break;
    case 6: p->copies_by_transfer = routes[i].value; break;
    case 7: p->words64 = routes[i].value; break;
    case 3:
      if (routes[i].value && !shuffle_subgroup(info))
        return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                               "VITTM_ROUTES: shuffles=on needs subgroup shuffles at one fixed "
                               "subgroup size, which %s does not have",
                               info->name);
      p->shuffle_subgroup = routes[i].value ? shuffle_subgroup(info) : 0;
      break;
    default:
      if (routes[i].value == VITTM_REDUCTIONS_SUBGROUP && !subgroup_reductions_possible(info))
        return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                               "VITTM_ROUTES: reductions=subgroup needs subgroup arithmetic "
                               "at one fixed subgroup size, which %s does not have",
                               info->name);
      p->reductions = (vittm_reduction_route)routes[i].value;
    }
    return VITTM_OK;
  }
  return vittm_error_set(
      err, VITTM_ERROR_INVALID_ARGUMENT,
      "VITTM_ROUTES: unknown route \"%.*s\" (known: tiles=register|shared, "
      "attention=fused|gemm|uniform|tiled, reductions=workgroup|subgroup, shuffles=on|off, "
      "gemm=uniform|tiled, winograd=on|off|all, copies=transfer|shader, words=64|32)",
      (int)len, item);
}

static vittm_status forced_tile(const char *name, const char *text, vittm_tile *out,
                                vittm_error *err)
{
  *out = (vittm_tile){0};
  if (!text || !*text || vittm_tile_parse(text, out))
    return VITTM_OK;
  return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                         "%s: \"%s\" is not a tile BMxBNxBK/TMxTN (e.g. 64x64x16/4x4)", name, text);
}

vittm_status vittm_device_profile_select(const vittm_device_info *info,
                                         const vittm_profile_env *env, vittm_device_profile *out,
                                         vittm_error *err)
{
  bool cpu = info->type == VITTM_DEVICE_CPU;
  vittm_device_profile p = {
      /* On a CPU driver fp16 only adds conversions. */
      .fp16 = info->fp16 && !cpu,
      .tiles = cpu ? VITTM_TILES_REGISTER : VITTM_TILES_SHARED,
      .attention = cpu ? VITTM_ATTENTION_UNIFORM : VITTM_ATTENTION_FUSED,
      /* x86 code without AVX-512: 16 vector registers, where the uniform kernel's 256 floats
       * of state per lane spill twice as much as with AVX-512VL's 32; the tiled kernel's
       * attention was 1.2× as fast there and 0.9× with AVX-512 (docs/cpu-drivers.md). */
      .attention_tiles = cpu && info->cpu_vectors[0] && strcmp(info->cpu_vectors, "avx512") != 0,
      .reductions = cpu && subgroup_reductions_possible(info) ? VITTM_REDUCTIONS_SUBGROUP
                                                              : VITTM_REDUCTIONS_WORKGROUP,
      .shuffle_subgroup = shuffle_subgroup(info),
      .long_workgroups = cpu,
      /* A CPU driver loads a 16-byte texel in one load per lane, a storage buffer's value
       * lane by lane: the texel GEMM runs ViT-B's products 1.5–2.5× as fast as the register
       * kernel with AVX-512, 2–3× without (docs/cpu-drivers.md). */
      .gemm_uniform = cpu,
      .winograd = cpu,
      .copies_by_transfer = cpu,
      .words64 = cpu,
  };
  vittm_status st = VITTM_OK;
  if (env) {
    st = forced_tile("VITTM_GEMM_TILE", env->gemm_tile, &p.gemm_tile, err);
    if (!st)
      st = forced_tile("VITTM_CONV_TILE", env->conv_tile, &p.conv_tile, err);
    for (const char *s = env->routes; !st && s && *s;) {
      size_t len = strcspn(s, ",");
      if (len)
        st = apply_route(info, s, len, &p, err);
      s += len + (s[len] == ',');
    }
  }
  if (!st)
    *out = p;
  return st;
}

static bool tile_equal(const vittm_tile *a, const vittm_tile *b)
{
  return a->bm == b->bm && a->bn == b->bn && a->bk == b->bk && a->tm == b->tm && a->tn == b->tn;
}

bool vittm_device_profile_equal(const vittm_device_profile *a, const vittm_device_profile *b)
{
  return a->fp16 == b->fp16 && a->tiles == b->tiles && a->attention == b->attention &&
         a->attention_tiles == b->attention_tiles && a->reductions == b->reductions &&
         a->shuffle_subgroup == b->shuffle_subgroup && a->long_workgroups == b->long_workgroups &&
         a->gemm_uniform == b->gemm_uniform && a->winograd == b->winograd &&
         a->winograd_small_maps == b->winograd_small_maps &&
         a->copies_by_transfer == b->copies_by_transfer && a->words64 == b->words64 &&
         tile_equal(&a->gemm_tile, &b->gemm_tile) && tile_equal(&a->conv_tile, &b->conv_tile);
}

void vittm_device_profile_describe(const vittm_device_profile *p, char *buf, size_t size)
{
  snprintf(buf, size, "tiles=%s,attention=%s,reductions=%s,shuffles=%s%s%s%s%s%s",
           p->tiles == VITTM_TILES_REGISTER ? "register" : "shared",
           p->attention == VITTM_ATTENTION_UNIFORM ? (p->attention_tiles ? "tiled" : "uniform")
           : p->attention == VITTM_ATTENTION_GEMM  ? "gemm"
                                                   : "fused",
           p->reductions == VITTM_REDUCTIONS_SUBGROUP ? "subgroup" : "workgroup",
           p->shuffle_subgroup ? "on" : "off", p->gemm_uniform ? ",gemm=uniform" : "",
           p->winograd_small_maps ? ",winograd=all"
           : p->winograd          ? ",winograd=on"
                                  : "",
           p->copies_by_transfer ? ",copies=transfer" : "", p->words64 ? ",words=64" : "",
           p->fp16 ? ",fp16" : "");
}

uint32_t vittm_tile_shuffle_subgroup(const vittm_device_profile *p, const vittm_tile *t)
{
  uint32_t sg = p->shuffle_subgroup;
  return !t->bk && sg && t->tn && (t->bn / t->tn) % sg == 0 && t->tm % sg == 0 ? sg : 0;
}

uint32_t vittm_tile_shared_bytes(const vittm_tile *t)
{
  return (t->bk ? t->bk : 1) * (t->bm + t->bn) * (uint32_t)sizeof(float);
}

uint32_t vittm_tile_invocations(const vittm_tile *t)
{
  return t->tm && t->tn ? (t->bm / t->tm) * (t->bn / t->tn) : 0;
}

bool vittm_tile_fits(const vittm_device_info *info, const vittm_tile_table *table,
                     const vittm_tile *t)
{
  if (!t->bm || !t->bn || !t->tm || !t->tn || t->tm > table->max_tm || t->tn > table->max_tn ||
      t->bm % t->tm || t->bn % t->tn)
    return false;
  if (table->register_spans_n && !t->bk && t->bn != t->tn)
    return false;
  uint32_t wg = vittm_tile_invocations(t);
  return vittm_tile_shared_bytes(t) <= info->max_shared_memory &&
         wg <= info->max_workgroup_invocations && wg <= info->max_workgroup_size[0];
}

vittm_status vittm_tile_choose(const vittm_device_info *info, const vittm_device_profile *p,
                               const vittm_tile_table *table, const vittm_tile *forced,
                               uint32_t rows, vittm_tile *out, vittm_error *err)
{
  if (forced && forced->bm && vittm_tile_fits(info, table, forced)) {
    *out = *forced;
    return VITTM_OK;
  }
  bool regs = p->tiles == VITTM_TILES_REGISTER;
  if (regs && table->short_register && rows < table->short_rows &&
      vittm_tile_fits(info, table, table->short_register)) {
    *out = *table->short_register;
    return VITTM_OK;
  }
  const vittm_tile *tiles = regs ? table->registers : table->shared;
  size_t n = regs ? table->n_registers : table->n_shared;
  for (size_t i = 0; i < n; i++) {
    if (vittm_tile_fits(info, table, &tiles[i])) {
      *out = tiles[i];
      return VITTM_OK;
    }
  }
  return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                         "%s: no %s tile fits %s (%u bytes of shared memory, %u invocations "
                         "per workgroup)",
                         table->op, regs ? "register" : "shared-memory", info->name,
                         info->max_shared_memory, info->max_workgroup_invocations);
}

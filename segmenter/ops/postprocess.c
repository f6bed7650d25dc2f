#include "ops/postprocess.h"

#define WG_SIZE 64
#define PIXELS_PER_INVOCATION 4 /* one uint of the map */
/* Output rows per workgroup of resize_argmax.comp, at most. Each row holds a vec4 and a uvec4
 * in registers per invocation: CPU drivers gain from reading each candidate once for many
 * rows, GPUs from fewer registers. */
#define MAX_ROWS_CPU 16
#define MAX_ROWS_GPU 4
#define MAX_CHUNKS 4           /* logit bindings of resize_argmax.comp */
#define RECORD_BYTES 304       /* class_map.glsl's CellRecord: 16 uints and 15 vec4 */
#define MAX_RECORDS (1u << 21) /* cells listed per dispatch: 32768 workgroups of 64 */

/* Mirrors the push block of class_map.glsl. */
typedef struct resize_argmax_push {
  uint32_t w, h, k;
  uint32_t map_w, map_h, stride_words;
  float scale_x, scale_y;
  uint32_t cy0, cy1;
  uint32_t slices;
  uint32_t row_base, chunk_rows;
  uint32_t x_at;
} resize_argmax_push;
_Static_assert(sizeof(resize_argmax_push) == VITTM_SHADER_RESIZE_ARGMAX_PUSH_SIZE,
               "resize_argmax_push does not match resize_argmax's push constants");
_Static_assert(sizeof(resize_argmax_push) == VITTM_SHADER_RESIZE_ARGMAX_CELLS_PUSH_SIZE,
               "resize_argmax_push does not match resize_argmax_cells's push constants");
_Static_assert(sizeof(resize_argmax_push) == VITTM_SHADER_RESIZE_ARGMAX_CELLS_TEXEL_PUSH_SIZE,
               "resize_argmax_push does not match resize_argmax_cells_texel's push constants");

_Static_assert(sizeof(resize_argmax_push) <= 128, "push constants must fit 128 bytes");

static vittm_status check(const vittm_tensor *logits, uint32_t h, uint32_t w,
                          const vittm_buffer *map, uint32_t map_w, uint32_t map_h,
                          uint32_t map_stride, vittm_error *err)
{
  const char *op = "resize argmax";
  if (h == 0 || w == 0 || (uint64_t)h * w > UINT32_MAX)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "%s: logits grid %u×%u is empty "
                           "or too large",
                           op, h, w);
  if (logits->cols == 0 || logits->cols > VITTM_MAX_MAP_CLASSES)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "%s: %u classes do not fit a byte map (1…%u)", op, logits->cols,
                           VITTM_MAX_MAP_CLASSES);
  vittm_status st = vittm_check_shape(op, "logits", logits, h * w, logits->cols, err);
  if (st)
    return st;
  if (map_w == 0 || map_h == 0 || map_h > 65535)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "%s: a %u×%u map is empty or taller than 65535 rows", op, map_w, map_h);
  if (map_stride % 4 != 0 || map_stride < map_w)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "%s: map stride %u must be a multiple of 4 and at least the width %u",
                           op, map_stride, map_w);
  if (map->size < (uint64_t)map_stride * map_h)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "%s: the map buffer holds %llu bytes, %u rows of %u need %llu", op,
                           (unsigned long long)map->size, map_h, map_stride,
                           (unsigned long long)map_stride * map_h);
  return VITTM_OK;
}

/* Rows of cells whose records fit the scratch buffer at once (0: the map pass blends every
 * class of every pixel, with no records). Listing a cell costs about two all-class blends: it
 * pays when the map has at least twice as many pixels as the logits have cells (upscaling). */
static uint32_t listed_rows(const vittm_device_info *info, uint32_t h, uint32_t w, uint32_t map_w,
                            uint32_t map_h)
{
  if ((uint64_t)map_w * map_h < 2 * (uint64_t)h * w)
    return 0;
  uint64_t bytes = info->max_storage_buffer_range < MAX_RECORDS * RECORD_BYTES
                       ? info->max_storage_buffer_range
                       : MAX_RECORDS * RECORD_BYTES;
  uint64_t rows = bytes / ((uint64_t)w * RECORD_BYTES);
  return rows < h ? (uint32_t)rows : h;
}

bool vittm_resize_argmax_cells_read_texels(const vittm_tensor *logits)
{
  return vittm_words64(logits->dev) && logits->n_chunks == 1 && vittm_texels(logits->dev) &&
         vittm_texel_aligned(logits);
}

uint64_t vittm_resize_argmax_scratch_size(const vittm_tensor *logits, uint32_t h, uint32_t w,
                                          uint32_t map_w, uint32_t map_h)
{
  const vittm_device_info *info = vittm_device_get_info(logits->dev);
  return (uint64_t)listed_rows(info, h, w, map_w, map_h) * w * RECORD_BYTES;
}

/* Chunks [first, last] of the logit rows that cell rows [cy, cy_end) read. */
static void chunks_of(const vittm_tensor *logits, uint32_t h, uint32_t w, uint32_t cy,
                      uint32_t cy_end, uint32_t *first, uint32_t *last)
{
  uint32_t bottom = cy_end < h ? cy_end : h - 1; /* the lower row of the last cell row */
  *first = vittm_tensor_chunk_of(logits, cy * w);
  *last = vittm_tensor_chunk_of(logits, bottom * w + w - 1);
}

vittm_status vittm_resize_argmax_record(vittm_cmd *cmd, const vittm_tensor *logits, uint32_t h,
                                        uint32_t w, vittm_buffer *scratch, vittm_buffer *map,
                                        uint32_t map_w, uint32_t map_h, uint32_t map_stride,
                                        vittm_error *err)
{
  vittm_status st = check(logits, h, w, map, map_w, map_h, map_stride, err);
  if (st)
    return st;
  const vittm_device_info *info = vittm_device_get_info(logits->dev);
  const uint32_t band = listed_rows(info, h, w, map_w, map_h);
  const uint64_t need = (uint64_t)band * w * RECORD_BYTES;
  if (band && (!scratch || scratch->size < need))
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "resize argmax: the scratch buffer holds %llu bytes, a %u×%u map of "
                           "%u×%u logits needs %llu (vittm_resize_argmax_scratch_size)",
                           scratch ? (unsigned long long)scratch->size : 0ull, map_w, map_h, w, h,
                           (unsigned long long)need);
  uint32_t wg = WG_SIZE;
  while (wg > info->max_workgroup_invocations)
    wg /= 2;
  uint32_t n_chunks = logits->n_chunks < MAX_CHUNKS ? logits->n_chunks : MAX_CHUNKS;
  const vittm_pipeline *cells = NULL, *pixels;
  /* CPU drivers list the cells reading the logits through a texel buffer, where they are one
   * chunk that starts on a texel (ops/dispatch.h). */
  const bool texel = band && vittm_resize_argmax_cells_read_texels(logits);
  if (band) {
    uint32_t spec[] = {wg, n_chunks};
    st = texel
             ? vittm_pipeline_get_texel(logits->dev, VITTM_SHADER_RESIZE_ARGMAX_CELLS_TEXEL,
                                        logits->dtype, spec, 2, MAX_CHUNKS + 1, 1,
                                        sizeof(resize_argmax_push), &cells, err)
             : vittm_pipeline_get(logits->dev, VITTM_SHADER_RESIZE_ARGMAX_CELLS, logits->dtype,
                                  spec, 2, MAX_CHUNKS + 1, sizeof(resize_argmax_push), &cells, err);
    if (st)
      return st;
  }
  /* Output rows per workgroup: about those of one row of cells. */
  const uint32_t max_rows =
      vittm_device_get_profile(logits->dev)->long_workgroups ? MAX_ROWS_CPU : MAX_ROWS_GPU;
  uint32_t rows = (map_h + h - 1) / h;
  rows = rows < max_rows ? rows : max_rows;
  resize_argmax_push pc = {
      .w = w,
      .h = h,
      .k = logits->cols,
      .map_w = map_w,
      .map_h = map_h,
      .stride_words = map_stride / 4,
      .scale_x = (float)w / (float)map_w,
      .scale_y = (float)h / (float)map_h,
      .chunk_rows = logits->chunk_rows,
      .x_at = texel ? vittm_texel_unit(logits, 0) : 0,
      /* Output rows of one row of cells: about map_h / h, and half as many again for the first
       * and last, which also take the rows whose source coordinate is clamped. */
      .slices = (3 * map_h / (2 * h) + 2 + rows - 1) / rows,
  };
  uint32_t spec[] = {wg, n_chunks, band != 0, rows};
  st = vittm_pipeline_get(logits->dev, VITTM_SHADER_RESIZE_ARGMAX, logits->dtype, spec, 4,
                          MAX_CHUNKS + 2, sizeof(resize_argmax_push), &pixels, err);
  if (st)
    return st;
  const uint32_t words = (map_w + PIXELS_PER_INVOCATION - 1) / PIXELS_PER_INVOCATION;
  const uint32_t gx = (words + wg - 1) / wg;
  /* Rows of cells go in bands whose records fit the scratch buffer and whose logit rows lie
   * in at most MAX_CHUNKS chunks (one band unless the logits or the records are split), and
   * whose workgroups fit a dispatch. */
  for (uint32_t cy = 0; cy < h;) {
    uint32_t first, last, end = cy + 1;
    chunks_of(logits, h, w, cy, end, &first, &last);
    if (last - first >= MAX_CHUNKS)
      return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                             "resize argmax: logit rows %u…%u span %u storage buffers; at most "
                             "%u can be bound",
                             cy * w, (end < h ? end : h - 1) * w + w - 1, last - first + 1,
                             MAX_CHUNKS);
    while (end < h && (!band || end - cy < band) && (uint64_t)(end + 1 - cy) * pc.slices <= 65535) {
      uint32_t f, l;
      chunks_of(logits, h, w, cy, end + 1, &f, &l);
      if (l - f >= MAX_CHUNKS)
        break;
      end++;
    }
    chunks_of(logits, h, w, cy, end, &first, &last);
    pc.cy0 = cy;
    pc.cy1 = end;
    pc.row_base = first * logits->chunk_rows;
    vittm_binding bind[MAX_CHUNKS + 2];
    uint32_t unused;
    for (uint32_t c = 0; c < MAX_CHUNKS; c++) {
      uint32_t chunk = first + c <= last ? first + c : first;
      bind[c] = vittm_tensor_bind(logits, chunk * logits->chunk_rows, false, &unused);
    }
    if (band) {
      bind[MAX_CHUNKS] = (vittm_binding){scratch, true};
      /* The texel view shows the logits' whole buffer: the window is what the band reads. */
      vittm_buffer_window read = {0, 0};
      if (texel) {
        const uint32_t bottom = end < h ? end : h - 1;
        read = vittm_texel_rows(logits, cy * w, (bottom - cy + 1) * w);
      }
      st = vittm_cmd_dispatch_windows(cmd, cells, bind, texel ? &read : NULL, &pc,
                                      ((end - cy) * w + wg - 1) / wg, 1, 1, "resize argmax cells",
                                      err);
      if (st)
        return st;
    }
    bind[MAX_CHUNKS] = (vittm_binding){map, true};
    bind[MAX_CHUNKS + 1] = band ? (vittm_binding){scratch, false} : bind[0];
    st = vittm_cmd_dispatch(cmd, pixels, bind, &pc, gx, (end - cy) * pc.slices, 1, "resize argmax",
                            err);
    if (st)
      return st;
    cy = end;
  }
  return VITTM_OK;
}

/* Mirrors the push block of slide_argmax.comp. */
typedef struct slide_argmax_push {
  uint32_t w, h, k, logits_off;
  uint32_t crop_w, crop_h, stride_w, stride_h, n_w, n_h;
  uint32_t canvas_w, canvas_h;
  uint32_t map_w, map_h, stride_words;
  float scale_x, scale_y, crop_scale_x, crop_scale_y;
} slide_argmax_push;
_Static_assert(sizeof(slide_argmax_push) == VITTM_SHADER_SLIDE_ARGMAX_PUSH_SIZE,
               "slide_argmax_push does not match slide_argmax's push constants");

_Static_assert(sizeof(slide_argmax_push) <= 128, "push constants must fit 128 bytes");

#define MAX_DEPTH 4 /* crops over one pixel along an axis: slide_argmax.comp's MAX_TERMS / 4 */

/* Crops along one axis, and the most of them any pixel lies in (mmseg moves the last crop back
 * inside the canvas, so this can exceed ⌈crop / stride⌉ by one). */
static uint32_t axis_crops(uint32_t canvas, uint32_t crop, uint32_t stride, uint32_t *depth)
{
  uint32_t n = (canvas - crop + stride - 1) / stride + 1;
  *depth = 0;
  for (uint32_t c = 0; c < canvas && *depth <= MAX_DEPTH; c++) {
    uint32_t covering = 0;
    for (uint32_t i = 0; i < n; i++) {
      uint32_t y1 = i * stride < canvas - crop ? i * stride : canvas - crop;
      covering += y1 <= c && c < y1 + crop;
    }
    *depth = covering > *depth ? covering : *depth;
  }
  return n;
}

vittm_status vittm_slide_grid_compute(uint32_t canvas_h, uint32_t canvas_w, uint32_t crop_h,
                                      uint32_t crop_w, uint32_t stride_h, uint32_t stride_w,
                                      vittm_slide_grid *grid, vittm_error *err)
{
  if (!crop_h || !crop_w || !stride_h || !stride_w || canvas_h < crop_h || canvas_w < crop_w)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "slide inference: %u×%u crops (stride %u×%u) do not tile a %u×%u "
                           "image; it must be at least one crop in each direction",
                           crop_w, crop_h, stride_w, stride_h, canvas_w, canvas_h);
  *grid = (vittm_slide_grid){canvas_h, canvas_w, crop_h, crop_w, stride_h, stride_w, 0, 0, 0, 0};
  grid->n_h = axis_crops(canvas_h, crop_h, stride_h, &grid->depth_h);
  grid->n_w = axis_crops(canvas_w, crop_w, stride_w, &grid->depth_w);
  if (grid->depth_h > MAX_DEPTH || grid->depth_w > MAX_DEPTH)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "slide inference: with a stride of %u×%u, %u×%u crops of a %u×%u "
                           "image overlap more than %u deep; use a longer stride",
                           stride_w, stride_h, crop_w, crop_h, canvas_w, canvas_h, MAX_DEPTH);
  return VITTM_OK;
}

void vittm_slide_crop_origin(const vittm_slide_grid *g, uint32_t i, uint32_t j, uint32_t *y,
                             uint32_t *x)
{
  *y = i * g->stride_h < g->canvas_h - g->crop_h ? i * g->stride_h : g->canvas_h - g->crop_h;
  *x = j * g->stride_w < g->canvas_w - g->crop_w ? j * g->stride_w : g->canvas_w - g->crop_w;
}

vittm_status vittm_slide_argmax_record(vittm_cmd *cmd, const vittm_tensor *logits, uint32_t h,
                                       uint32_t w, const vittm_slide_grid *g, vittm_buffer *map,
                                       uint32_t map_w, uint32_t map_h, uint32_t map_stride,
                                       vittm_error *err)
{
  const uint32_t crops = g->n_h * g->n_w;
  if (!crops || (uint64_t)crops * h > UINT32_MAX)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "slide argmax: %u crops", crops);
  vittm_status st = check(logits, crops * h, w, map, map_w, map_h, map_stride, err);
  if (!st)
    st = vittm_check_single_chunk("slide argmax", "logits", logits, err);
  /* llvmpipe ends an invocation after 65535 loop iterations: classes × y terms × x terms. */
  if (!st && (uint64_t)logits->cols * 4 * g->depth_h * 4 * g->depth_w > 65535)
    st = vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                         "slide argmax: %u classes over crops %u×%u deep is more than one "
                         "invocation may loop; use a longer stride",
                         logits->cols, g->depth_w, g->depth_h);
  if (st)
    return st;
  slide_argmax_push pc = {
      .w = w,
      .h = h,
      .k = logits->cols,
      .crop_w = g->crop_w,
      .crop_h = g->crop_h,
      .stride_w = g->stride_w,
      .stride_h = g->stride_h,
      .n_w = g->n_w,
      .n_h = g->n_h,
      .canvas_w = g->canvas_w,
      .canvas_h = g->canvas_h,
      .map_w = map_w,
      .map_h = map_h,
      .stride_words = map_stride / 4,
      /* In fp32, as PyTorch computes them. */
      .scale_x = (float)g->canvas_w / (float)map_w,
      .scale_y = (float)g->canvas_h / (float)map_h,
      .crop_scale_x = (float)w / (float)g->crop_w,
      .crop_scale_y = (float)h / (float)g->crop_h,
  };
  uint32_t spec[] = {WG_SIZE};
  const vittm_pipeline *p;
  st = vittm_pipeline_get(logits->dev, VITTM_SHADER_SLIDE_ARGMAX, logits->dtype, spec, 1, 2,
                          sizeof pc, &p, err);
  if (st)
    return st;
  vittm_binding bind[2] = {vittm_tensor_bind(logits, 0, false, &pc.logits_off), {map, true}};
  return vittm_cmd_dispatch(cmd, p, bind, &pc, (map_w + WG_SIZE - 1) / WG_SIZE, map_h, 1,
                            "slide argmax", err);
}

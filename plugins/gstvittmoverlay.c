/* vittm — vittmoverlay: draws a GstVittmSegMeta class map onto the video
 *
 * SPDX-License-Identifier: MIT
 */

/**
 * SECTION:element-vittmoverlay
 * @title: vittmoverlay
 * @see_also: vittmsegment, vittmfpsmeter
 *
 * Blends, in place, the colour of each pixel's class onto the video:
 * out = (1 - alpha) × pixel + alpha × colour. The classes come from the
 * #GstVittmSegMeta on each buffer (put there by vittmsegment); its class map
 * is scaled nearest-neighbour to the frame whatever their sizes. On NV12 and
 * I420 the colours are converted once per class to YUV following the
 * frame's colorimetry (BT.601 limited range when unknown); luma is blended
 * per pixel and chroma per 2×2 block, with the class at the block's top-left
 * pixel. With #GstVittmOverlay:mode `outline`, only the class boundaries are
 * painted: the pixels (of the frame, after scaling the map) whose class
 * differs from that of one of their four neighbours, which leaves the scene
 * itself visible; on NV12 and I420 a chroma sample is painted when its
 * block's top-left pixel is on a boundary. #GstVittmOverlay:classes restricts the drawing to some classes and
 * #GstVittmOverlay:show-legend draws, in the corner that
 * #GstVittmOverlay:legend-position names, a colour swatch and the name of
 * every drawn class present in the map. Its 8-pixel font is scaled by an
 * integer factor that follows the frame height (height / 240, rounded: 2 at
 * 360 to 599 lines, 3 at 720, 5 at 1080), so that a row of text stays
 * about a thirtieth of the frame high; a frame narrower than 160 pixels per
 * step keeps a smaller factor.
 *
 * Buffers without a meta pass unchanged; the first of each stream makes the
 * element post a warning message (no vittmsegment upstream, most likely).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=street.mp4 ! decodebin ! videoconvert ! \
 *     vittmsegment ! vittmoverlay alpha=0.6 classes=person,car show-legend=true ! \
 *     videoconvert ! autovideosink
 * ]| Segments a video and paints persons and cars, with a legend.
 * |[
 * gst-launch-1.0 filesrc location=street.mp4 ! decodebin ! videoconvert ! \
 *     vittmsegment ! vittmoverlay mode=outline alpha=1 ! videoconvert ! \
 *     autovideosink
 * ]| Draws the outline of every segment in its class colour.
 */

#include "gstvittmoverlay.h"
#include "gstvittmelements.h"
#include "gstvittmsegmeta.h"
#include "font8x8.h"

#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_vittm_overlay_debug);
#define GST_CAT_DEFAULT gst_vittm_overlay_debug

#define PROP_ALPHA_DEFAULT 0.5
#define PROP_CLASSES_DEFAULT NULL
#define PROP_SHOW_LEGEND_DEFAULT FALSE
#define PROP_LEGEND_POSITION_DEFAULT GST_VITTM_OVERLAY_LEGEND_TOP_LEFT
#define PROP_MODE_DEFAULT GST_VITTM_OVERLAY_MODE_FILL

enum
{
  PROP_0,
  PROP_ALPHA,
  PROP_CLASSES,
  PROP_SHOW_LEGEND,
  PROP_LEGEND_POSITION,
  PROP_MODE,
};

#define VIDEO_FORMATS "{ RGB, RGBA, BGRA, BGRx, RGBx, NV12, I420 }"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (VIDEO_FORMATS)));

static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (VIDEO_FORMATS)));

/* How to paint one index of a map: out = (pixel × inv + pre[c]) >> 8, with
 * inv = 256 - a, pre[c] = colour[c] × a + 128 and a = round (alpha × 256).
 * a = 256 gives the colour exactly, inv = 256 leaves the pixel untouched. */
typedef struct
{
  guint16 inv;
  guint16 pre[3];
} PaintEntry;

#define PAINT_SKIP 256

/* The components one pass over the frame blends: for packed RGB the three
 * colour components of a pixel; for YUV first luma, then both chroma
 * components, which are subsampled by 2^sub_w × 2^sub_h. */
typedef struct
{
  guint n;
  guint comp[3];
  guint8 *data[3];
  gint stride[3];
  gint pstride[3];
  guint sub_w, sub_h;
} PaintPass;

/* Legend canvas values: 0 leaves the pixel, then background, text, and one
 * swatch per listed class. */
enum
{
  LEGEND_NONE,
  LEGEND_BACKGROUND,
  LEGEND_TEXT,
  LEGEND_FIRST_SWATCH,
};
#define LEGEND_MAX_ENTRIES (256 - LEGEND_FIRST_SWATCH)
#define LEGEND_BACKGROUND_ALPHA 0.6
/* Layout, in font pixels (scaled with the frame): margin to the frame's
 * corner (even, so that chroma blocks align), padding, swatch size, gap
 * between swatch and name, and row pitch. */
#define LEGEND_MARGIN 4
#define LEGEND_PAD 2
#define LEGEND_SWATCH GST_VITTM_FONT_HEIGHT
#define LEGEND_GAP 3
#define LEGEND_ROW (GST_VITTM_FONT_HEIGHT + 2)
/* Frame lines per font scale step, and the narrowest frame, in pixels per
 * step, that keeps a scale (a legend too wide for its frame is not drawn). */
#define LEGEND_LINES_PER_SCALE 240
#define LEGEND_MIN_WIDTH_PER_SCALE 160

struct _GstVittmOverlay
{
  GstVideoFilter parent;

  /* properties, under the object lock */
  gdouble alpha;
  gchar *classes;
  gboolean show_legend;
  GstVittmOverlayLegendPosition legend_position;
  GstVittmOverlayMode mode;
  gboolean classes_changed;

  /* streaming state */
  GstVittmClassTable *table; /* the table the paint was built for */
  guint16 built_a;           /* alpha (×256) the paint was built with */
  gboolean paint_valid;
  gboolean enabled[256];
  PaintEntry paint[256];
  gboolean warned_no_meta;

  /* nearest-neighbour index tables frame → map, for one pair of sizes */
  guint *xmap, *ymap;
  guint idx_frame_w, idx_frame_h, idx_map_w, idx_map_h;

  /* outline mode: 1 where a frame pixel is on a class boundary, frame-sized */
  guint8 *boundary;
  gsize boundary_size;

  /* legend scratch, grown as needed, never shrunk */
  guint8 *legend;
  gsize legend_size;
  guint *identity;
  guint identity_len;
};

#define gst_vittm_overlay_parent_class parent_class
G_DEFINE_TYPE (GstVittmOverlay, gst_vittm_overlay, GST_TYPE_VIDEO_FILTER);

GType
gst_vittm_overlay_legend_position_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
      {GST_VITTM_OVERLAY_LEGEND_TOP_LEFT, "Top-left corner", "top-left"},
      {GST_VITTM_OVERLAY_LEGEND_TOP_RIGHT, "Top-right corner", "top-right"},
      {GST_VITTM_OVERLAY_LEGEND_BOTTOM_LEFT, "Bottom-left corner",
          "bottom-left"},
      {GST_VITTM_OVERLAY_LEGEND_BOTTOM_RIGHT, "Bottom-right corner",
          "bottom-right"},
      {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstVittmOverlayLegendPosition", values);
    g_once_init_leave (&type, t);
  }
  return (GType) type;
}

GType
gst_vittm_overlay_mode_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
      {GST_VITTM_OVERLAY_MODE_FILL,
          "Blend the colour over every pixel of a "
          "class",
          "fill"},
      {GST_VITTM_OVERLAY_MODE_OUTLINE, "Paint only class boundaries",
          "outline"},
      {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstVittmOverlayMode", values);
    g_once_init_leave (&type, t);
  }
  return (GType) type;
}
GST_ELEMENT_REGISTER_DEFINE (
    vittmoverlay, "vittmoverlay", GST_RANK_NONE, GST_TYPE_VITTM_OVERLAY);

/* ------------------------------------------------------------------------ */
/* colours                                                                  */

/* Converts an RGB colour to the frame's components: R, G, B for RGB formats;
 * Y, U, V for YUV ones, following the frame's matrix and range (BT.601,
 * limited range when the caps leave them unknown). */
static void
colour_to_components (
    const GstVideoInfo *info, const guint8 rgb[3], guint8 out[3])
{
  gdouble kr, kb, r, g, b, y, pb, pr;
  gint offset[GST_VIDEO_MAX_COMPONENTS], scale[GST_VIDEO_MAX_COMPONENTS];
  GstVideoColorRange range = GST_VIDEO_INFO_COLORIMETRY (info).range;
  gdouble v[3];

  if (GST_VIDEO_INFO_IS_RGB (info)) {
    memcpy (out, rgb, 3);
    return;
  }

  if (!gst_video_color_matrix_get_Kr_Kb (
          GST_VIDEO_INFO_COLORIMETRY (info).matrix, &kr, &kb)) {
    kr = 0.299;
    kb = 0.114;
  }
  if (range == GST_VIDEO_COLOR_RANGE_UNKNOWN)
    range = GST_VIDEO_COLOR_RANGE_16_235;
  gst_video_color_range_offsets (range, info->finfo, offset, scale);

  r = rgb[0] / 255.0;
  g = rgb[1] / 255.0;
  b = rgb[2] / 255.0;
  y = kr * r + (1.0 - kr - kb) * g + kb * b;
  pb = (b - y) / (2.0 * (1.0 - kb));
  pr = (r - y) / (2.0 * (1.0 - kr));
  v[0] = offset[0] + y * scale[0];
  v[1] = offset[1] + pb * scale[1];
  v[2] = offset[2] + pr * scale[2];
  for (guint c = 0; c < 3; c++)
    out[c] = (guint8) CLAMP (v[c] + 0.5, 0.0, 255.0);
}

static void
paint_entry_set (
    PaintEntry *e, const GstVideoInfo *info, const guint8 rgb[3], guint16 a)
{
  guint8 comps[3];

  if (a == 0) {
    e->inv = PAINT_SKIP;
    return;
  }
  colour_to_components (info, rgb, comps);
  e->inv = 256 - a;
  for (guint c = 0; c < 3; c++)
    e->pre[c] = comps[c] * a + 128;
}

static guint16
alpha_to_fixed (gdouble alpha)
{
  return (guint16) CLAMP (alpha * 256.0 + 0.5, 0.0, 256.0);
}

/* ------------------------------------------------------------------------ */
/* the one blend loop                                                       */

/* Builds the passes that blend the colour components of @frame (alpha, if
 * any, is left as it is). Returns the number of passes. */
static guint
paint_passes_init (GstVideoFrame *frame, PaintPass passes[2])
{
  const GstVideoFormatInfo *finfo = frame->info.finfo;
  guint n_passes = GST_VIDEO_FORMAT_INFO_IS_YUV (finfo) ? 2 : 1;

  memset (passes, 0, 2 * sizeof (PaintPass));
  for (guint c = 0; c < 3; c++) {
    /* RGB: one pass over R, G, B; YUV: pass 0 over Y, pass 1 over U, V. */
    PaintPass *p = &passes[n_passes == 1 ? 0 : (c == 0 ? 0 : 1)];
    guint k = p->n++;

    p->comp[k] = c;
    p->data[k] = GST_VIDEO_FRAME_COMP_DATA (frame, c);
    p->stride[k] = GST_VIDEO_FRAME_COMP_STRIDE (frame, c);
    p->pstride[k] = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, c);
    p->sub_w = GST_VIDEO_FORMAT_INFO_W_SUB (finfo, c);
    p->sub_h = GST_VIDEO_FORMAT_INFO_H_SUB (finfo, c);
  }
  return n_passes;
}

/* Blends the frame rectangle (@x0, @y0, @w × @h) with the colours @paint
 * gives to the indices of @map: frame pixel (x, y) takes index
 * map[ymap[y - y0] × map_stride + xmap[x - x0]]. With @mask, only the pixels
 * whose mask[(y - y0) × w + x - x0] is non-zero are painted. A subsampled
 * component takes the index (and mask) of the top-left pixel of its block;
 * @x0 and @y0 must therefore be multiples of the subsampling. This is the
 * only pixel loop of the element: formats differ only in the PaintPass that
 * describes them. */
static void
paint_rect (const PaintPass *pass, const guint8 *map, gsize map_stride,
    const guint *xmap, const guint *ymap, guint x0, guint y0, guint w, guint h,
    const PaintEntry *paint, const guint8 *mask)
{
  const guint sw = pass->sub_w, sh = pass->sub_h;
  const guint cx0 = x0 >> sw, cy0 = y0 >> sh;
  const guint cx1 = (x0 + w + (1u << sw) - 1) >> sw;
  const guint cy1 = (y0 + h + (1u << sh) - 1) >> sh;
  const guint n = pass->n;

  for (guint cy = cy0; cy < cy1; cy++) {
    const guint8 *mrow = map + ymap[(cy << sh) - y0] * map_stride;
    const guint8 *krow = mask ? mask + (gsize) ((cy << sh) - y0) * w : NULL;
    guint8 *rows[3];

    for (guint k = 0; k < n; k++)
      rows[k] = pass->data[k] + (gsize) cy * pass->stride[k];

    for (guint cx = cx0; cx < cx1; cx++) {
      const PaintEntry *e = &paint[mrow[xmap[(cx << sw) - x0]]];

      if (e->inv == PAINT_SKIP || (krow && !krow[(cx << sw) - x0]))
        continue;
      for (guint k = 0; k < n; k++) {
        guint8 *px = rows[k] + (gsize) cx * pass->pstride[k];

        *px = (guint8) ((*px * e->inv + e->pre[pass->comp[k]]) >> 8);
      }
    }
  }
}

/* ------------------------------------------------------------------------ */
/* class selection and paint                                                */

static gboolean
is_all_digits (const gchar *s)
{
  if (!*s)
    return FALSE;
  for (; *s; s++)
    if (!g_ascii_isdigit (*s))
      return FALSE;
  return TRUE;
}

/* Resolves the `classes` property against @table into self->enabled,
 * posting a warning for every name or id the model does not have. */
static void
resolve_classes (
    GstVittmOverlay *self, const GstVittmClassTable *table, const gchar *spec)
{
  gchar **tokens;
  gboolean any = FALSE;

  memset (self->enabled, 0, sizeof (self->enabled));
  tokens = g_strsplit (spec ? spec : "", ",", -1);

  for (guint i = 0; tokens[i]; i++) {
    const gchar *tok = g_strstrip (tokens[i]);
    gint id = -1;

    if (!*tok)
      continue;
    any = TRUE;
    if (is_all_digits (tok)) {
      guint64 v = g_ascii_strtoull (tok, NULL, 10);
      if (v < table->n_classes)
        id = (gint) v;
    } else {
      id = gst_vittm_class_table_lookup (table, tok);
    }

    if (id < 0) {
      GST_ELEMENT_WARNING (self, RESOURCE, NOT_FOUND,
          ("Unknown class \"%s\" in property 'classes'; it is not drawn.", tok),
          ("The model has %u classes: give their names (e.g. \"%s\") or ids "
           "0..%u, separated by commas.",
              table->n_classes, table->names[0], table->n_classes - 1));
      continue;
    }
    self->enabled[id] = TRUE;
  }
  g_strfreev (tokens);

  if (!any)
    for (guint i = 0; i < table->n_classes; i++)
      self->enabled[i] = TRUE;
}

/* Rebuilds the per-class paint when the model, the caps, `alpha` or
 * `classes` changed: colours are converted once per class, not per pixel. */
static void
update_paint (GstVittmOverlay *self, GstVittmClassTable *table, guint16 a,
    const gchar *classes, gboolean classes_changed)
{
  GstVideoInfo *info = &GST_VIDEO_FILTER (self)->in_info;

  if (self->paint_valid && table == self->table && a == self->built_a &&
      !classes_changed)
    return;

  if (table != self->table || classes_changed) {
    resolve_classes (self, table, classes);
    if (table != self->table) {
      if (self->table)
        gst_vittm_class_table_unref (self->table);
      self->table = gst_vittm_class_table_ref (table);
    }
  }

  for (guint i = 0; i < 256; i++) {
    if (i < table->n_classes && self->enabled[i])
      paint_entry_set (&self->paint[i], info, &table->palette[3 * i], a);
    else
      self->paint[i].inv = PAINT_SKIP;
  }
  self->built_a = a;
  self->paint_valid = TRUE;
}

/* Precomputes, once per pair of sizes, which map column and row each frame
 * column and row shows: the map pixel whose area holds the frame pixel's
 * centre, i.e. floor ((x + 0.5) × map_w / frame_w). */
static void
update_index_tables (GstVittmOverlay *self, guint frame_w, guint frame_h,
    guint map_w, guint map_h)
{
  if (self->xmap && self->idx_frame_w == frame_w &&
      self->idx_frame_h == frame_h && self->idx_map_w == map_w &&
      self->idx_map_h == map_h)
    return;

  self->xmap = g_renew (guint, self->xmap, frame_w);
  self->ymap = g_renew (guint, self->ymap, frame_h);
  for (guint x = 0; x < frame_w; x++)
    self->xmap[x] = (guint) (((guint64) 2 * x + 1) * map_w / (2ull * frame_w));
  for (guint y = 0; y < frame_h; y++)
    self->ymap[y] = (guint) (((guint64) 2 * y + 1) * map_h / (2ull * frame_h));

  self->idx_frame_w = frame_w;
  self->idx_frame_h = frame_h;
  self->idx_map_w = map_w;
  self->idx_map_h = map_h;
  GST_DEBUG_OBJECT (self, "index tables for a %ux%u map on a %ux%u frame",
      map_w, map_h, frame_w, frame_h);
}

/* ------------------------------------------------------------------------ */
/* outline                                                                  */

/* Marks, in self->boundary (@w × @h, row stride @w), the frame pixels whose
 * class, through the index tables, differs from that of a 4-neighbour. */
static const guint8 *
update_boundary (
    GstVittmOverlay *self, const GstVittmSegMeta *meta, guint w, guint h)
{
  const guint8 *ids = meta->class_ids;
  const gsize stride = meta->stride;
  const guint *xmap = self->xmap, *ymap = self->ymap;

  if (self->boundary_size < (gsize) w * h) {
    self->boundary_size = (gsize) w * h;
    self->boundary = g_realloc (self->boundary, self->boundary_size);
  }

  for (guint y = 0; y < h; y++) {
    const guint8 *row = ids + ymap[y] * stride;
    const guint8 *up = y > 0 ? ids + ymap[y - 1] * stride : row;
    const guint8 *down = y + 1 < h ? ids + ymap[y + 1] * stride : row;
    guint8 *out = self->boundary + (gsize) y * w;

    for (guint x = 0; x < w; x++) {
      const guint mx = xmap[x];
      const guint8 c = row[mx];

      out[x] = up[mx] != c || down[mx] != c ||
          (x > 0 && row[xmap[x - 1]] != c) ||
          (x + 1 < w && row[xmap[x + 1]] != c);
    }
  }
  return self->boundary;
}

/* ------------------------------------------------------------------------ */
/* legend                                                                   */

static void
legend_fill (guint8 *canvas, guint canvas_w, guint x, guint y, guint w, guint h,
    guint8 value)
{
  for (guint j = 0; j < h; j++)
    memset (canvas + (gsize) (y + j) * canvas_w + x, value, w);
}

/* Writes @len characters of @text at (@x, @y) of the canvas, @s canvas
 * pixels per font pixel. */
static void
legend_text (guint8 *canvas, guint canvas_w, guint x, guint y, guint s,
    const gchar *text, guint len)
{
  for (guint i = 0; i < len; i++) {
    const guint8 *glyph = gst_vittm_font8x8_glyph (text[i]);
    guint gx = x + i * GST_VITTM_FONT_ADVANCE * s;

    for (guint row = 0; row < GST_VITTM_FONT_HEIGHT; row++)
      for (guint col = 0; col < GST_VITTM_FONT_WIDTH; col++)
        if (glyph[row] & (0x80 >> col))
          legend_fill (
              canvas, canvas_w, gx + col * s, y + row * s, s, s, LEGEND_TEXT);
  }
}

static const gchar *
skip_spaces (const gchar *s)
{
  while (g_ascii_isspace (*s))
    s++;
  return s;
}

static guint
trimmed_len (const gchar *s)
{
  guint len = strlen (s);

  while (len > 0 && g_ascii_isspace (s[len - 1]))
    len--;
  return len;
}

/* Font pixels are s × s frame pixels: s follows the frame height, rounded,
 * but a narrow frame keeps a smaller scale so that names still fit. */
static guint
legend_scale (guint frame_w, guint frame_h)
{
  guint s = (frame_h + LEGEND_LINES_PER_SCALE / 2) / LEGEND_LINES_PER_SCALE;

  s = MIN (s, frame_w / LEGEND_MIN_WIDTH_PER_SCALE);
  return MAX (s, 1);
}

/* Draws the legend: one row per drawn class present in the map (lowest id
 * first), as many as fit the frame, names cut to fit its width, in the
 * corner @position names. */
static void
draw_legend (GstVittmOverlay *self, GstVideoFrame *frame,
    const PaintPass *passes, guint n_passes, const GstVittmSegMeta *meta,
    GstVittmOverlayLegendPosition position)
{
  const GstVittmClassTable *table = meta->classes;
  const GstVideoInfo *info = &frame->info;
  const guint frame_w = GST_VIDEO_FRAME_WIDTH (frame);
  const guint frame_h = GST_VIDEO_FRAME_HEIGHT (frame);
  const guint s = legend_scale (frame_w, frame_h);
  const guint margin = LEGEND_MARGIN * s;
  const guint8 black[3] = {0, 0, 0}, white[3] = {255, 255, 255};
  gboolean present[256] = {FALSE};
  guint8 entries[LEGEND_MAX_ENTRIES];
  PaintEntry paint[256];
  guint n = 0, max_rows, max_chars, name_chars = 0, text_x;
  guint box_w, box_h, box_x, box_y;

  for (guint y = 0; y < meta->height; y++) {
    const guint8 *row = meta->class_ids + (gsize) y * meta->stride;
    for (guint x = 0; x < meta->width; x++)
      present[row[x]] = TRUE;
  }

  if (frame_h < 2 * margin + (2 * LEGEND_PAD + LEGEND_SWATCH) * s)
    return;
  max_rows = (frame_h - 2 * margin - (2 * LEGEND_PAD + LEGEND_SWATCH) * s) /
          (LEGEND_ROW * s) +
      1;
  text_x = (LEGEND_PAD + LEGEND_SWATCH + LEGEND_GAP) * s;
  if (frame_w < 2 * margin + text_x + (GST_VITTM_FONT_WIDTH + LEGEND_PAD) * s)
    return;
  max_chars = (frame_w - 2 * margin - text_x -
                  (GST_VITTM_FONT_WIDTH + LEGEND_PAD) * s) /
          (GST_VITTM_FONT_ADVANCE * s) +
      1;

  for (guint i = 0;
       i < table->n_classes && n < MIN (max_rows, LEGEND_MAX_ENTRIES); i++) {
    if (present[i] && self->enabled[i]) {
      entries[n++] = (guint8) i;
      name_chars = MAX (name_chars,
          MIN (trimmed_len (skip_spaces (table->names[i])), max_chars));
    }
  }
  if (n == 0)
    return;
  name_chars = MAX (name_chars, 1);

  box_w = text_x +
      ((name_chars - 1) * GST_VITTM_FONT_ADVANCE + GST_VITTM_FONT_WIDTH +
          LEGEND_PAD) *
          s;
  box_h = (2 * LEGEND_PAD + (n - 1) * LEGEND_ROW + LEGEND_SWATCH) * s;

  if (self->legend_size < (gsize) box_w * box_h) {
    self->legend_size = (gsize) box_w * box_h;
    self->legend = g_realloc (self->legend, self->legend_size);
  }
  if (self->identity_len < MAX (box_w, box_h)) {
    self->identity_len = MAX (box_w, box_h);
    self->identity = g_renew (guint, self->identity, self->identity_len);
    for (guint i = 0; i < self->identity_len; i++)
      self->identity[i] = i;
  }

  legend_fill (self->legend, box_w, 0, 0, box_w, box_h, LEGEND_BACKGROUND);
  for (guint i = 0; i < n; i++) {
    const gchar *name = skip_spaces (table->names[entries[i]]);
    guint y = (LEGEND_PAD + i * LEGEND_ROW) * s;

    legend_fill (self->legend, box_w, LEGEND_PAD * s, y, LEGEND_SWATCH * s,
        LEGEND_SWATCH * s, LEGEND_FIRST_SWATCH + i);
    legend_text (self->legend, box_w, text_x, y, s, name,
        MIN (trimmed_len (name), max_chars));
  }

  paint[LEGEND_NONE].inv = PAINT_SKIP;
  paint_entry_set (&paint[LEGEND_BACKGROUND], info, black,
      alpha_to_fixed (LEGEND_BACKGROUND_ALPHA));
  paint_entry_set (&paint[LEGEND_TEXT], info, white, 256);
  for (guint i = 0; i < n; i++)
    paint_entry_set (&paint[LEGEND_FIRST_SWATCH + i], info,
        &table->palette[3 * entries[i]], 256);

  /* The box fits within the margins (max_rows, max_chars); its far-side
   * corner is rounded down to even so that chroma blocks align. */
  box_x = margin;
  box_y = margin;
  if (position == GST_VITTM_OVERLAY_LEGEND_TOP_RIGHT ||
      position == GST_VITTM_OVERLAY_LEGEND_BOTTOM_RIGHT)
    box_x = (frame_w - margin - box_w) & ~1u;
  if (position == GST_VITTM_OVERLAY_LEGEND_BOTTOM_LEFT ||
      position == GST_VITTM_OVERLAY_LEGEND_BOTTOM_RIGHT)
    box_y = (frame_h - margin - box_h) & ~1u;

  for (guint p = 0; p < n_passes; p++)
    paint_rect (&passes[p], self->legend, box_w, self->identity, self->identity,
        box_x, box_y, box_w, box_h, paint, NULL);
}

/* ------------------------------------------------------------------------ */
/* GstVideoFilter                                                           */

static GstFlowReturn
gst_vittm_overlay_transform_frame_ip (
    GstVideoFilter *filter, GstVideoFrame *frame)
{
  GstVittmOverlay *self = GST_VITTM_OVERLAY (filter);
  GstVittmSegMeta *meta;
  PaintPass passes[2];
  guint n_passes;
  guint16 a;
  gboolean show_legend, classes_changed;
  GstVittmOverlayLegendPosition legend_position;
  GstVittmOverlayMode mode;
  gchar *classes;

  meta = gst_buffer_get_vittm_seg_meta (frame->buffer);
  if (!meta) {
    /* Not an error: a pipeline may segment only some streams, or start
     * segmenting later. But a silent pass-through hides a pipeline that
     * lacks vittmsegment, so say it once per stream on the bus. */
    if (!self->warned_no_meta) {
      GST_ELEMENT_WARNING (self, STREAM, FORMAT,
          ("vittmoverlay received video without a class map; it passes "
           "unchanged."),
          ("Buffer %" GST_PTR_FORMAT " has no GstVittmSegMeta. Put "
           "vittmsegment upstream of vittmoverlay. Warned once per "
           "stream.",
              frame->buffer));
      self->warned_no_meta = TRUE;
    }
    return GST_FLOW_OK;
  }

  GST_OBJECT_LOCK (self);
  a = alpha_to_fixed (self->alpha);
  show_legend = self->show_legend;
  legend_position = self->legend_position;
  mode = self->mode;
  classes_changed = self->classes_changed;
  self->classes_changed = FALSE;
  classes = g_strdup (self->classes);
  GST_OBJECT_UNLOCK (self);

  update_paint (self, meta->classes, a, classes, classes_changed);
  g_free (classes);

  n_passes = paint_passes_init (frame, passes);

  if (a > 0) {
    guint w = GST_VIDEO_FRAME_WIDTH (frame), h = GST_VIDEO_FRAME_HEIGHT (frame);

    const guint8 *mask = NULL;

    update_index_tables (self, w, h, meta->width, meta->height);
    if (mode == GST_VITTM_OVERLAY_MODE_OUTLINE)
      mask = update_boundary (self, meta, w, h);
    for (guint p = 0; p < n_passes; p++)
      paint_rect (&passes[p], meta->class_ids, meta->stride, self->xmap,
          self->ymap, 0, 0, w, h, self->paint, mask);
  }

  if (show_legend)
    draw_legend (self, frame, passes, n_passes, meta, legend_position);

  return GST_FLOW_OK;
}

static gboolean
gst_vittm_overlay_set_info (GstVideoFilter *filter,
    G_GNUC_UNUSED GstCaps *incaps, GstVideoInfo *in_info,
    G_GNUC_UNUSED GstCaps *outcaps, G_GNUC_UNUSED GstVideoInfo *out_info)
{
  GstVittmOverlay *self = GST_VITTM_OVERLAY (filter);

  if (GST_VIDEO_INFO_N_COMPONENTS (in_info) < 3) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("vittmoverlay cannot draw on %s video.",
            GST_VIDEO_INFO_NAME (in_info)),
        ("Put videoconvert before vittmoverlay to get one of " VIDEO_FORMATS));
    return FALSE;
  }
  /* Colours depend on the format and colorimetry. */
  self->paint_valid = FALSE;
  GST_DEBUG_OBJECT (self, "drawing on %s %dx%d", GST_VIDEO_INFO_NAME (in_info),
      GST_VIDEO_INFO_WIDTH (in_info), GST_VIDEO_INFO_HEIGHT (in_info));
  return TRUE;
}

static void
release_streaming_state (GstVittmOverlay *self)
{
  if (self->table) {
    gst_vittm_class_table_unref (self->table);
    self->table = NULL;
  }
  self->paint_valid = FALSE;
  g_clear_pointer (&self->xmap, g_free);
  g_clear_pointer (&self->ymap, g_free);
  g_clear_pointer (&self->boundary, g_free);
  self->boundary_size = 0;
  g_clear_pointer (&self->legend, g_free);
  self->legend_size = 0;
  g_clear_pointer (&self->identity, g_free);
  self->identity_len = 0;
}

static gboolean
gst_vittm_overlay_start (GstBaseTransform *trans)
{
  GstVittmOverlay *self = GST_VITTM_OVERLAY (trans);

  self->warned_no_meta = FALSE;
  return TRUE;
}

static gboolean
gst_vittm_overlay_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstVittmOverlay *self = GST_VITTM_OVERLAY (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_STREAM_START)
    self->warned_no_meta = FALSE;
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static gboolean
gst_vittm_overlay_stop (GstBaseTransform *trans)
{
  release_streaming_state (GST_VITTM_OVERLAY (trans));
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* GObject                                                                  */

static void
gst_vittm_overlay_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstVittmOverlay *self = GST_VITTM_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_ALPHA:
      self->alpha = g_value_get_double (value);
      break;
    case PROP_CLASSES:
      g_free (self->classes);
      self->classes = g_value_dup_string (value);
      self->classes_changed = TRUE;
      break;
    case PROP_SHOW_LEGEND:
      self->show_legend = g_value_get_boolean (value);
      break;
    case PROP_LEGEND_POSITION:
      self->legend_position = g_value_get_enum (value);
      break;
    case PROP_MODE:
      self->mode = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_vittm_overlay_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstVittmOverlay *self = GST_VITTM_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_ALPHA:
      g_value_set_double (value, self->alpha);
      break;
    case PROP_CLASSES:
      g_value_set_string (value, self->classes);
      break;
    case PROP_SHOW_LEGEND:
      g_value_set_boolean (value, self->show_legend);
      break;
    case PROP_LEGEND_POSITION:
      g_value_set_enum (value, self->legend_position);
      break;
    case PROP_MODE:
      g_value_set_enum (value, self->mode);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_vittm_overlay_finalize (GObject *object)
{
  GstVittmOverlay *self = GST_VITTM_OVERLAY (object);

  release_streaming_state (self);
  g_free (self->classes);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_vittm_overlay_class_init (GstVittmOverlayClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (
      gst_vittm_overlay_debug, "vittmoverlay", 0, "vittm segmentation overlay");

  gobject_class->set_property = gst_vittm_overlay_set_property;
  gobject_class->get_property = gst_vittm_overlay_get_property;
  gobject_class->finalize = gst_vittm_overlay_finalize;

  g_object_class_install_property (gobject_class, PROP_ALPHA,
      g_param_spec_double ("alpha", "Alpha",
          "Opacity of the class colours: 0 leaves the video as it is, "
          "1 paints the colours opaque",
          0.0, 1.0, PROP_ALPHA_DEFAULT,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING |
              G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_CLASSES,
      g_param_spec_string ("classes", "Classes",
          "Comma-separated class names or ids to draw, e.g. "
          "\"person,car,12\" (names as in the model's class table, matched "
          "case-insensitively); empty or unset draws all classes. Unknown "
          "names are reported as warnings",
          PROP_CLASSES_DEFAULT,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING |
              G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_SHOW_LEGEND,
      g_param_spec_boolean ("show-legend", "Show legend",
          "Draw, in the corner legend-position names, a colour swatch and "
          "the name of every drawn class present in the frame's class map, "
          "in a font scaled with the frame height",
          PROP_SHOW_LEGEND_DEFAULT,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING |
              G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_LEGEND_POSITION,
      g_param_spec_enum ("legend-position", "Legend position",
          "Corner of the frame where the legend is drawn",
          GST_TYPE_VITTM_OVERLAY_LEGEND_POSITION, PROP_LEGEND_POSITION_DEFAULT,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING |
              G_PARAM_STATIC_STRINGS));
  gst_type_mark_as_plugin_api (GST_TYPE_VITTM_OVERLAY_LEGEND_POSITION, 0);
  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "What is painted of each drawn class: all its pixels (fill), or "
          "only those on a boundary with another class (outline), in the "
          "class colour at 'alpha' and leaving the rest of the frame as it is",
          GST_TYPE_VITTM_OVERLAY_MODE, PROP_MODE_DEFAULT,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING |
              G_PARAM_STATIC_STRINGS));
  gst_type_mark_as_plugin_api (GST_TYPE_VITTM_OVERLAY_MODE, 0);

  gst_element_class_set_static_metadata (element_class,
      "vittm segmentation overlay", "Filter/Effect/Video",
      "Blends the colours of the semantic classes of a GstVittmSegMeta "
      "class map onto the video, with an optional legend",
      "vittm developers");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_vittm_overlay_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_vittm_overlay_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_vittm_overlay_sink_event);
  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_vittm_overlay_set_info);
  filter_class->transform_frame_ip =
      GST_DEBUG_FUNCPTR (gst_vittm_overlay_transform_frame_ip);
}

static void
gst_vittm_overlay_init (GstVittmOverlay *self)
{
  self->alpha = PROP_ALPHA_DEFAULT;
  self->classes = g_strdup (PROP_CLASSES_DEFAULT);
  self->show_legend = PROP_SHOW_LEGEND_DEFAULT;
  self->legend_position = PROP_LEGEND_POSITION_DEFAULT;
  self->mode = PROP_MODE_DEFAULT;
}

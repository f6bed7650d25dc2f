/* vittm — GstVittmSegMeta and GstVittmClassTable
 *
 * SPDX-License-Identifier: MIT
 */

#include "gstvittmsegmeta.h"

#include <math.h>
#include <string.h>
#include <gst/video/video.h>

GST_DEBUG_CATEGORY_STATIC (vittm_seg_meta_debug);
#define GST_CAT_DEFAULT vittm_seg_meta_debug

/* ------------------------------------------------------------------------ */
/* class table                                                              */

GST_DEFINE_MINI_OBJECT_TYPE (GstVittmClassTable, gst_vittm_class_table);

static void
gst_vittm_class_table_free (GstMiniObject *obj)
{
  GstVittmClassTable *table = (GstVittmClassTable *) obj;

  g_strfreev ((gchar **) table->names);
  g_free ((guint8 *) table->palette);
  g_free (table);
}

/* A deterministic palette for tables made without one: hues spread by the
 * golden ratio, alternating brightness, so that neighbouring ids differ. */
static void
fill_default_palette (guint8 *palette, guint n_classes)
{
  for (guint i = 0; i < n_classes; i++) {
    gdouble h = fmod (i * 0.6180339887498949, 1.0) * 6.0;
    gdouble v = (i & 1) ? 0.75 : 0.95;
    gdouble s = (i & 2) ? 0.55 : 0.85;
    gint sector = (gint) h;
    gdouble f = h - sector;
    gdouble p = v * (1.0 - s), q = v * (1.0 - s * f),
            t = v * (1.0 - s * (1.0 - f));
    gdouble rgb[6][3] = {
        {v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};

    for (guint c = 0; c < 3; c++)
      palette[3 * i + c] = (guint8) (rgb[sector % 6][c] * 255.0 + 0.5);
  }
}

/**
 * gst_vittm_class_table_new:
 * @n_classes: number of classes (1..256)
 * @names: (array length=n_classes) (nullable): the class names, or %NULL to
 *   name the classes by their id
 * @palette: (array) (element-type guint8) (nullable): 3 × @n_classes bytes,
 *   RGB, or %NULL for a generated palette
 *
 * Makes a class table holding copies of @names and @palette.
 *
 * Returns: (transfer full) (nullable): the new table, or %NULL when
 *   @n_classes is 0 or above %GST_VITTM_CLASS_TABLE_MAX_CLASSES
 */
GstVittmClassTable *
gst_vittm_class_table_new (
    guint n_classes, const gchar *const *names, const guint8 *palette)
{
  GstVittmClassTable *table;
  gchar **own_names;
  guint8 *own_palette;

  g_return_val_if_fail (n_classes > 0, NULL);
  g_return_val_if_fail (n_classes <= GST_VITTM_CLASS_TABLE_MAX_CLASSES, NULL);

  own_names = g_new0 (gchar *, n_classes + 1);
  for (guint i = 0; i < n_classes; i++) {
    if (names && names[i])
      own_names[i] = g_strdup (names[i]);
    else
      own_names[i] = g_strdup_printf ("%u", i);
  }

  own_palette = g_malloc (3 * n_classes);
  if (palette)
    memcpy (own_palette, palette, 3 * n_classes);
  else
    fill_default_palette (own_palette, n_classes);

  table = g_new0 (GstVittmClassTable, 1);
  gst_mini_object_init (GST_MINI_OBJECT_CAST (table),
      GST_MINI_OBJECT_FLAG_LOCK_READONLY, GST_TYPE_VITTM_CLASS_TABLE, NULL,
      NULL, gst_vittm_class_table_free);
  table->n_classes = n_classes;
  table->names = (const gchar *const *) own_names;
  table->palette = own_palette;

  return table;
}

/* Equal but for ASCII case and surrounding white space (model files carry
 * names such as "bed "). */
static gboolean
names_loosely_equal (const gchar *a, const gchar *b)
{
  gsize la, lb;

  while (g_ascii_isspace (*a))
    a++;
  while (g_ascii_isspace (*b))
    b++;
  la = strlen (a);
  lb = strlen (b);
  while (la > 0 && g_ascii_isspace (a[la - 1]))
    la--;
  while (lb > 0 && g_ascii_isspace (b[lb - 1]))
    lb--;
  return la == lb && g_ascii_strncasecmp (a, b, la) == 0;
}

/**
 * gst_vittm_class_table_lookup:
 * @table: a #GstVittmClassTable
 * @name: a class name
 *
 * Finds a class by name: an exact match first, else one that differs only in
 * ASCII case and surrounding white space.
 *
 * Returns: the class id, or -1 when no class has that name
 */
gint
gst_vittm_class_table_lookup (
    const GstVittmClassTable *table, const gchar *name)
{
  g_return_val_if_fail (table != NULL, -1);
  g_return_val_if_fail (name != NULL, -1);

  for (guint i = 0; i < table->n_classes; i++)
    if (strcmp (table->names[i], name) == 0)
      return (gint) i;
  for (guint i = 0; i < table->n_classes; i++)
    if (names_loosely_equal (table->names[i], name))
      return (gint) i;
  return -1;
}

/**
 * gst_vittm_class_table_get_names:
 * @table: a #GstVittmClassTable
 *
 * The class names, indexed by class id.
 *
 * Returns: (transfer none) (array zero-terminated=1): @table's n_classes
 *   names followed by %NULL, owned by @table
 */
const gchar *const *
gst_vittm_class_table_get_names (const GstVittmClassTable *table)
{
  g_return_val_if_fail (table != NULL, NULL);

  return table->names;
}

/**
 * gst_vittm_class_table_get_palette:
 * @table: a #GstVittmClassTable
 * @n_bytes: (out): the palette's size in bytes, 3 × n_classes
 *
 * The display colours of the classes: red, green and blue of class 0, then
 * of class 1, and so on.
 *
 * Returns: (transfer none) (array length=n_bytes): @table's palette, owned
 *   by @table
 */
const guint8 *
gst_vittm_class_table_get_palette (
    const GstVittmClassTable *table, gsize *n_bytes)
{
  g_return_val_if_fail (table != NULL, NULL);

  if (n_bytes)
    *n_bytes = 3 * (gsize) table->n_classes;
  return table->palette;
}

/* ------------------------------------------------------------------------ */
/* meta                                                                     */

GType
gst_vittm_seg_meta_api_get_type (void)
{
  static GType type = 0;
  /* The map covers the whole frame in its own coordinates: a new frame size
   * keeps it valid ("size", handled by the scale transform below), a flip or
   * rotation does not ("orientation", for elements that can tell), and a
   * colourspace conversion does not touch it (no "colorspace" tag). */
  static const gchar *tags[] = {GST_META_TAG_VIDEO_STR,
      GST_META_TAG_VIDEO_SIZE_STR, GST_META_TAG_VIDEO_ORIENTATION_STR, NULL};

  if (g_once_init_enter (&type)) {
    GType api = gst_meta_api_type_register ("GstVittmSegMetaAPI", tags);
    g_once_init_leave (&type, api);
  }
  return type;
}

static gboolean
gst_vittm_seg_meta_init (GstMeta *meta, G_GNUC_UNUSED gpointer params,
    G_GNUC_UNUSED GstBuffer *buffer)
{
  GstVittmSegMeta *smeta = (GstVittmSegMeta *) meta;

  smeta->width = smeta->height = smeta->stride = 0;
  smeta->class_ids = NULL;
  smeta->map = NULL;
  smeta->classes = NULL;
  smeta->reused = FALSE;
  smeta->wall_time = GST_CLOCK_TIME_NONE;
  smeta->gpu_time = GST_CLOCK_TIME_NONE;
  smeta->frame_index = 0;
  memset (&smeta->map_info, 0, sizeof (smeta->map_info));
  return TRUE;
}

static void
gst_vittm_seg_meta_free (GstMeta *meta, G_GNUC_UNUSED GstBuffer *buffer)
{
  GstVittmSegMeta *smeta = (GstVittmSegMeta *) meta;

  if (smeta->map) {
    gst_buffer_unmap (smeta->map, &smeta->map_info);
    gst_buffer_unref (smeta->map);
    smeta->map = NULL;
  }
  if (smeta->classes) {
    gst_vittm_class_table_unref (smeta->classes);
    smeta->classes = NULL;
  }
  smeta->class_ids = NULL;
}

/* Shares (refs) the map and the class table: copying a meta costs no copy of
 * the map. */
static gboolean
copy_meta_to (GstBuffer *dest, const GstVittmSegMeta *src)
{
  GstVittmSegMeta *dmeta;

  dmeta = gst_buffer_add_vittm_seg_meta (
      dest, src->map, src->width, src->height, src->stride, src->classes);
  if (!dmeta)
    return FALSE;
  dmeta->reused = src->reused;
  dmeta->wall_time = src->wall_time;
  dmeta->gpu_time = src->gpu_time;
  dmeta->frame_index = src->frame_index;
  return TRUE;
}

static gboolean
gst_vittm_seg_meta_transform (GstBuffer *dest, GstMeta *meta,
    G_GNUC_UNUSED GstBuffer *buffer, GQuark type, gpointer data)
{
  GstVittmSegMeta *smeta = (GstVittmSegMeta *) meta;

  if (GST_META_TRANSFORM_IS_COPY (type)) {
    GstMetaTransformCopy *copy = data;

    /* A byte region of a frame is no frame: the map would not match it. */
    if (copy->region)
      return TRUE;
    return copy_meta_to (dest, smeta);
  }

  if (GST_VIDEO_META_TRANSFORM_IS_SCALE (type)) {
    /* The map is in its own coordinates and covers the whole frame:
     * consumers scale it to whatever size the frame has. */
    return copy_meta_to (dest, smeta);
  }

  GST_LOG ("not transforming meta for unsupported transform %s",
      g_quark_to_string (type));
  return FALSE;
}

const GstMetaInfo *
gst_vittm_seg_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **) &info)) {
    const GstMetaInfo *mi;

    GST_DEBUG_CATEGORY_INIT (
        vittm_seg_meta_debug, "vittmsegmeta", 0, "vittm segmentation meta");
    mi = gst_meta_register (GST_VITTM_SEG_META_API_TYPE, "GstVittmSegMeta",
        sizeof (GstVittmSegMeta), gst_vittm_seg_meta_init,
        gst_vittm_seg_meta_free, gst_vittm_seg_meta_transform);
    g_once_init_leave ((GstMetaInfo **) &info, (GstMetaInfo *) mi);
  }
  return info;
}

/**
 * gst_buffer_add_vittm_seg_meta:
 * @buffer: a writable #GstBuffer (the video frame)
 * @map: the class map's bytes; not to be written afterwards
 * @width: map width, in map pixels (> 0)
 * @height: map height, in map pixels (> 0)
 * @stride: bytes from one map row to the next (>= @width)
 * @classes: the model's class table
 *
 * Attaches a class map to @buffer. The meta takes its own references on @map
 * and @classes and keeps @map mapped for reading while it lives. Its reused
 * field is %FALSE, wall_time and gpu_time are %GST_CLOCK_TIME_NONE and
 * frame_index 0: set those on the returned meta.
 *
 * Returns: (transfer none) (nullable): the new meta, or %NULL when @map is
 *   smaller than @stride × (@height - 1) + @width bytes or cannot be mapped
 *   for reading, or a size is 0
 */
GstVittmSegMeta *
gst_buffer_add_vittm_seg_meta (GstBuffer *buffer, GstBuffer *map, guint width,
    guint height, guint stride, GstVittmClassTable *classes)
{
  /* Registers the meta and the debug category before anything logs. */
  const GstMetaInfo *meta_info = GST_VITTM_SEG_META_INFO;
  GstVittmSegMeta *smeta;
  GstMapInfo info;
  guint64 needed;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (gst_buffer_is_writable (buffer), NULL);
  g_return_val_if_fail (GST_IS_BUFFER (map), NULL);
  g_return_val_if_fail (classes != NULL, NULL);
  g_return_val_if_fail (width > 0 && height > 0, NULL);
  g_return_val_if_fail (stride >= width, NULL);

  needed = (guint64) stride * (height - 1) + width;
  if (gst_buffer_get_size (map) < needed) {
    GST_WARNING ("class map buffer holds %" G_GSIZE_FORMAT " bytes, a %ux%u "
                 "map with stride %u needs %" G_GUINT64_FORMAT,
        gst_buffer_get_size (map), width, height, stride, needed);
    return NULL;
  }
  if (!gst_buffer_map (map, &info, GST_MAP_READ)) {
    GST_WARNING ("cannot map the class map buffer for reading");
    return NULL;
  }

  smeta = (GstVittmSegMeta *) gst_buffer_add_meta (buffer, meta_info, NULL);
  smeta->width = width;
  smeta->height = height;
  smeta->stride = stride;
  smeta->map = gst_buffer_ref (map);
  smeta->map_info = info;
  smeta->class_ids = info.data;
  smeta->classes = gst_vittm_class_table_ref (classes);

  return smeta;
}

/**
 * gst_buffer_get_vittm_seg_meta:
 * @buffer: a #GstBuffer
 *
 * Finds the class map of a video frame.
 *
 * Returns: (transfer none) (nullable): the #GstVittmSegMeta of @buffer, or
 *   %NULL when it has none
 */
GstVittmSegMeta *
gst_buffer_get_vittm_seg_meta (GstBuffer *buffer)
{
  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);

  return (GstVittmSegMeta *) gst_buffer_get_meta (
      buffer, GST_VITTM_SEG_META_API_TYPE);
}

/**
 * gst_vittm_seg_meta_get_class_map:
 * @meta: a #GstVittmSegMeta
 *
 * The buffer that holds the class map: its first row starts at the buffer's
 * first byte and rows are @meta's stride bytes apart. Mapping it for reading
 * gives the map's own memory, not a copy (from Python, with the GStreamer
 * overrides of python3-gst-1.0: `with map.map(Gst.MapFlags.READ) as info:
 * numpy.ndarray((height, width), numpy.uint8, info.data, strides=(stride,
 * 1))`). Never map it for writing: other metas share it.
 *
 * Returns: (transfer none): the class map's buffer, owned by @meta
 */
GstBuffer *
gst_vittm_seg_meta_get_class_map (GstVittmSegMeta *meta)
{
  g_return_val_if_fail (meta != NULL, NULL);

  return meta->map;
}

/**
 * gst_vittm_seg_meta_get_classes:
 * @meta: a #GstVittmSegMeta
 *
 * The classes the ids of @meta's map refer to.
 *
 * Returns: (transfer none): the class table, owned by @meta
 */
GstVittmClassTable *
gst_vittm_seg_meta_get_classes (GstVittmSegMeta *meta)
{
  g_return_val_if_fail (meta != NULL, NULL);

  return meta->classes;
}

/* vittm — GstVittmSegMeta: a semantic segmentation class map on a video buffer
 *
 * SPDX-License-Identifier: MIT
 */

#ifndef __GST_VITTM_SEG_META_H__
#define __GST_VITTM_SEG_META_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#ifndef GST_VITTM_API
#if defined(BUILDING_GST_VITTM) && defined(__GNUC__)
#define GST_VITTM_API __attribute__ ((visibility ("default"))) extern
#else
#define GST_VITTM_API extern
#endif
#endif

/**
 * GstVittmClassTable:
 * @mini_object: the parent mini object
 * @n_classes: number of classes of the model (1..256)
 * @names: (array zero-terminated=1): @n_classes class names, UTF-8,
 *   followed by %NULL
 * @palette: (array) (element-type guint8): @n_classes RGB triplets
 *   (3 × @n_classes bytes)
 *
 * The classes a model predicts: names and display colours. Immutable once
 * created and reference counted, so that every #GstVittmSegMeta of one model
 * shares the same table. Compare tables by pointer to know whether a model
 * (hence the meaning of the class ids) changed. Bindings read @names and
 * @palette with gst_vittm_class_table_get_names() and
 * gst_vittm_class_table_get_palette().
 */
typedef struct _GstVittmClassTable GstVittmClassTable;

struct _GstVittmClassTable
{
  GstMiniObject mini_object;

  guint n_classes;
  const gchar *const *names;
  const guint8 *palette;
};

#define GST_TYPE_VITTM_CLASS_TABLE (gst_vittm_class_table_get_type ())

/**
 * GST_VITTM_CLASS_TABLE_MAX_CLASSES:
 *
 * Largest number of classes: class ids are one byte.
 */
#define GST_VITTM_CLASS_TABLE_MAX_CLASSES 256

GST_VITTM_API
GType gst_vittm_class_table_get_type (void);

/* Returns a new table holding copies of @names and @palette, or NULL when
 * @n_classes is 0 or above GST_VITTM_CLASS_TABLE_MAX_CLASSES. @names (n_classes
 * strings) may be NULL: classes are then named by their id. @palette
 * (3 × n_classes bytes, RGB) may be NULL: a fixed, well-spread palette is
 * generated. */
GST_VITTM_API
GstVittmClassTable *gst_vittm_class_table_new (
    guint n_classes, const gchar *const *names, const guint8 *palette);

/* Returns the id of the class called @name: an exact match first, else one
 * that differs only in ASCII case and surrounding white space; -1 when there
 * is none. */
GST_VITTM_API
gint gst_vittm_class_table_lookup (
    const GstVittmClassTable *table, const gchar *name);

/* Returns the @n_classes class names followed by NULL, owned by @table. */
GST_VITTM_API
const gchar *const *gst_vittm_class_table_get_names (
    const GstVittmClassTable *table);

/* Returns the palette (3 × n_classes bytes, RGB), owned by @table, and its
 * size in @n_bytes. */
GST_VITTM_API
const guint8 *gst_vittm_class_table_get_palette (
    const GstVittmClassTable *table, gsize *n_bytes);

/* Adds a reference to @table and returns it. */
static inline GstVittmClassTable *
gst_vittm_class_table_ref (GstVittmClassTable *table)
{
  return (GstVittmClassTable *) gst_mini_object_ref (
      GST_MINI_OBJECT_CAST (table));
}

/* Drops a reference to @table; the last one frees it. */
static inline void
gst_vittm_class_table_unref (GstVittmClassTable *table)
{
  gst_mini_object_unref (GST_MINI_OBJECT_CAST (table));
}

/**
 * GstVittmSegMeta:
 * @meta: the parent #GstMeta
 * @width: width of the class map, in map pixels
 * @height: height of the class map, in map pixels
 * @stride: bytes from one map row to the next (>= @width)
 * @class_ids: (type gpointer): the class map: @height rows of @width class
 *   ids, @stride bytes apart. Ids >= @classes->n_classes mean "no class"
 *   (e.g. 255, ignore). Valid as long as the meta is. (Bindings see its
 *   address: the data of a mapping of @map starts there.)
 * @map: the buffer holding @class_ids, which start at its first byte
 *   (shared, never written through a meta)
 * @classes: the model's class table (shared by all metas of one model)
 * @reused: %TRUE when the map was computed on an earlier frame and carried
 *   over to this one (e.g. vittmsegment's inference-interval)
 * @wall_time: wall-clock inference time of the map, in ns, or
 *   %GST_CLOCK_TIME_NONE when unknown
 * @gpu_time: device (GPU) execution time of the map, in ns; 0 or
 *   %GST_CLOCK_TIME_NONE when unknown
 * @frame_index: index (0-based, in stream order) of the frame the map was
 *   computed on; equals this frame's index unless @reused
 *
 * A semantic segmentation of the video frame the buffer holds. The map is in
 * its own coordinate system: it covers the whole frame, whatever its size;
 * map pixel (mx, my) covers the frame area around
 * (mx × frame_width / @width, my × frame_height / @height). Consumers scale it.
 * Scaling or converting the frame (videoscale, videoconvert) therefore keeps
 * the meta as it is; cropping (videocrop) drops it. GStreamer 1.22's videoflip
 * hands metas to the scale transform, which cannot tell a flip from a resize:
 * the map would stay unflipped, so flip or rotate before vittmsegment.
 *
 * Read it from a pad probe or an appsink with gst_buffer_get_vittm_seg_meta().
 * Bindings (GstVittm-1.0 through GObject introspection) read the map by
 * mapping the buffer gst_vittm_seg_meta_get_class_map() returns, which
 * gives the map's own bytes without a copy.
 */
typedef struct _GstVittmSegMeta GstVittmSegMeta;

struct _GstVittmSegMeta
{
  GstMeta meta;

  guint width;
  guint height;
  guint stride;
  const guint8 *class_ids;
  GstBuffer *map;
  GstVittmClassTable *classes;

  gboolean reused;
  GstClockTime wall_time;
  GstClockTime gpu_time;
  guint64 frame_index;

  /*< private >*/
  GstMapInfo map_info;
  gpointer _gst_reserved[GST_PADDING];
};

#define GST_VITTM_SEG_META_API_TYPE (gst_vittm_seg_meta_api_get_type ())
#define GST_VITTM_SEG_META_INFO (gst_vittm_seg_meta_get_info ())

/* Returns the registered GType of the meta API (tags: "video", "size",
 * "orientation"). */
GST_VITTM_API
GType gst_vittm_seg_meta_api_get_type (void);

/* Returns the registered GstMetaInfo of GstVittmSegMeta. */
GST_VITTM_API
const GstMetaInfo *gst_vittm_seg_meta_get_info (void);

/* Attaches a class map to @buffer (which must be writable) and returns the
 * new meta, or NULL when @map is smaller than stride × (height - 1) + width
 * bytes, cannot be mapped for reading, or a size is 0. The meta takes its own
 * references on @map and @classes (transfer none) and keeps @map mapped for
 * reading while it lives; @map must not be written afterwards. reused is
 * FALSE, wall_time and gpu_time GST_CLOCK_TIME_NONE, frame_index 0: set
 * those fields on the returned meta. */
GST_VITTM_API
GstVittmSegMeta *gst_buffer_add_vittm_seg_meta (GstBuffer *buffer,
    GstBuffer *map, guint width, guint height, guint stride,
    GstVittmClassTable *classes);

/* Returns the GstVittmSegMeta of @buffer, or NULL when it has none. */
GST_VITTM_API
GstVittmSegMeta *gst_buffer_get_vittm_seg_meta (GstBuffer *buffer);

/* Returns the buffer holding @meta's class map (owned by @meta): the map's
 * first row starts at its first byte, rows are meta->stride bytes apart. */
GST_VITTM_API
GstBuffer *gst_vittm_seg_meta_get_class_map (GstVittmSegMeta *meta);

/* Returns @meta's class table (owned by @meta). */
GST_VITTM_API
GstVittmClassTable *gst_vittm_seg_meta_get_classes (GstVittmSegMeta *meta);

/* Returns the class id at map pixel (@x, @y); both must be inside the map. */
static inline guint8
gst_vittm_seg_meta_class_at (const GstVittmSegMeta *meta, guint x, guint y)
{
  return meta->class_ids[(gsize) y * meta->stride + x];
}

G_END_DECLS

#endif /* __GST_VITTM_SEG_META_H__ */

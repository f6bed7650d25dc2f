/* vittm — helpers shared by the plugin tests
 *
 * SPDX-License-Identifier: MIT
 */

#include "plugin_test_util.h"

#include <gst/check/gstcheck.h>

#include <math.h>
#include <string.h>

void
ptu_class_colour (guint id, guint8 rgb[3])
{
  rgb[0] = (guint8) (id * 67 + 13);
  rgb[1] = (guint8) (id * 131 + 71);
  rgb[2] = (guint8) (id * 29 + 200);
}

GstVittmClassTable *
ptu_class_table_new (guint n)
{
  gchar **names = g_new0 (gchar *, n + 1);
  guint8 *palette = g_malloc (3 * n);
  GstVittmClassTable *table;

  for (guint i = 0; i < n; i++) {
    names[i] = g_strdup_printf ("class%u", i);
    ptu_class_colour (i, &palette[3 * i]);
  }
  table = gst_vittm_class_table_new (n, (const gchar *const *) names, palette);
  g_strfreev (names);
  g_free (palette);
  return table;
}

guint8 *
ptu_map_new (guint w, guint h, guint8 (*fn) (guint x, guint y))
{
  guint8 *ids = g_malloc ((gsize) w * h);

  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      ids[(gsize) y * w + x] = fn (x, y);
  return ids;
}

GstVittmSegMeta *
ptu_attach_map (GstBuffer *buf, const guint8 *ids, guint w, guint h,
    GstVittmClassTable *table)
{
  GstBuffer *map = gst_buffer_new_memdup (ids, (gsize) w * h);
  GstVittmSegMeta *meta;

  meta = gst_buffer_add_vittm_seg_meta (buf, map, w, h, w, table);
  gst_buffer_unref (map);
  return meta;
}

GstBuffer *
ptu_frame_new (const GstVideoInfo *info, guint32 seed)
{
  GstBuffer *buf =
      gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (info), NULL);
  GstMapInfo map;
  guint32 s = seed * 2654435761u + 1;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (gsize i = 0; i < map.size; i++) {
    s = s * 1664525u + 1013904223u;
    map.data[i] = (guint8) (s >> 24);
  }
  gst_buffer_unmap (buf, &map);
  return buf;
}

void
ptu_rgb_to_yuv601 (const guint8 rgb[3], guint8 yuv[3])
{
  gdouble r = rgb[0] / 255.0, g = rgb[1] / 255.0, b = rgb[2] / 255.0;
  gdouble y = 0.299 * r + 0.587 * g + 0.114 * b;

  yuv[0] = (guint8) lround (16.0 + 219.0 * y);
  yuv[1] = (guint8) lround (128.0 + 224.0 * (b - y) / 1.772);
  yuv[2] = (guint8) lround (128.0 + 224.0 * (r - y) / 1.402);
}

/* What GstCheck does for its own domains (gst_check_log_critical_func). */
static void
check_log (const gchar *domain, GLogLevelFlags level, const gchar *message,
    G_GNUC_UNUSED gpointer user_data)
{
  if (!_gst_check_expecting_log)
    fail ("Unexpected critical/warning: %s: %s", domain, message);
  if (level & G_LOG_LEVEL_CRITICAL)
    _gst_check_raised_critical = TRUE;
  if (level & G_LOG_LEVEL_WARNING)
    _gst_check_raised_warning = TRUE;
}

GstClockTime
ptu_time_bound (GstClockTime t)
{
  const gchar *m = g_getenv ("CK_TIMEOUT_MULTIPLIER");
  gdouble k = m ? g_ascii_strtod (m, NULL) : 1.0;

  return k > 1.0 ? (GstClockTime) (t * k) : t;
}

GstStateChangeReturn
ptu_wait_state (GstElement *element)
{
  return gst_element_get_state (
      element, NULL, NULL, ptu_time_bound (60 * GST_SECOND));
}

void
ptu_check_vittm_log_domain (void)
{
  g_log_set_handler ("GStreamer-Vittm",
      G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING, check_log, NULL);
}

guint
ptu_print_live_objects (GstTracer *tracer)
{
  GstStructure *info = NULL;
  const GValue *live;
  guint n;

  g_signal_emit_by_name (tracer, "get-live-objects", &info);
  live = gst_structure_get_value (info, "live-objects-list");
  n = gst_value_list_get_size (live);
  for (guint i = 0; i < n; i++) {
    gchar *desc = gst_structure_to_string (
        gst_value_get_structure (gst_value_list_get_value (live, i)));

    g_printerr ("still alive: %s\n", desc);
    g_free (desc);
  }
  gst_structure_free (info);
  return n;
}

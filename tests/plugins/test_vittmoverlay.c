/* vittm — vittmoverlay tests (GstHarness)
 *
 * SPDX-License-Identifier: MIT
 *
 * Every check compares the element's output with a reference computed here,
 * independently of the element: byte layouts of the packed formats are
 * written out by hand, YUV colours come from ptu_rgb_to_yuv601(), and the
 * nearest-neighbour index is computed in floating point.
 */

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <math.h>
#include <string.h>

#include "gstvittmsegmeta.h"
#include "plugin_test_util.h"

#define FRAME_W 719
#define FRAME_H 405
#define N_CLASSES 7 /* ids 0..6; maps also hold 7 = "no class" */

/* Tolerances, written down once: RGB at alpha 1 is exact; blending rounds
 * (±1); YUV colours may differ from the BT.601 reference by ±2, plus one for
 * blending. */
#define TOL_RGB_BLEND 1
#define TOL_YUV 2

static const gchar *all_formats[] = {
    "RGB", "RGBA", "BGRA", "BGRx", "RGBx", "NV12", "I420"};

/* Byte offsets of R, G, B and alpha/padding (-1: none) in one pixel. */
typedef struct
{
  const gchar *format;
  gint r, g, b, extra, pstride;
} PackedLayout;

static const PackedLayout packed_layouts[] = {
    {"RGB", 0, 1, 2, -1, 3},
    {"RGBA", 0, 1, 2, 3, 4},
    {"BGRA", 2, 1, 0, 3, 4},
    {"BGRx", 2, 1, 0, 3, 4},
    {"RGBx", 0, 1, 2, 3, 4},
};

/* What a frame should look like after the overlay. */
typedef struct
{
  const guint8 *map;
  guint map_w, map_h;
  const gboolean *drawn; /* per id; NULL: every id < N_CLASSES */
  gdouble alpha;
  gboolean outline; /* only pixels on a class boundary */
} Expect;

static guint8
pattern_blocks (guint x, guint y)
{
  /* Odd block sizes put class borders on odd and even columns and rows, so
   * that chroma blocks straddle them. */
  return (guint8) (((x / 37) + 3 * (y / 23)) % (N_CLASSES + 1));
}

static guint8
class_at (const Expect *e, guint x, guint y, guint fw, guint fh)
{
  guint mx = (guint) floor ((x + 0.5) * e->map_w / fw);
  guint my = (guint) floor ((y + 0.5) * e->map_h / fh);

  return e->map[my * e->map_w + mx];
}

static gboolean
is_drawn (const Expect *e, guint8 id)
{
  return id < N_CLASSES && (!e->drawn || e->drawn[id]);
}

/* Whether frame pixel (@x, @y) is painted: its class is drawn and, in
 * outline mode, one of its four neighbours has another class. */
static gboolean
paints (const Expect *e, guint x, guint y, guint fw, guint fh)
{
  guint8 id = class_at (e, x, y, fw, fh);

  if (!is_drawn (e, id))
    return FALSE;
  if (!e->outline)
    return TRUE;
  return (x > 0 && class_at (e, x - 1, y, fw, fh) != id) ||
      (x + 1 < fw && class_at (e, x + 1, y, fw, fh) != id) ||
      (y > 0 && class_at (e, x, y - 1, fw, fh) != id) ||
      (y + 1 < fh && class_at (e, x, y + 1, fw, fh) != id);
}

static gint
blend (gint in, gint colour, gdouble alpha)
{
  return (gint) lround ((1.0 - alpha) * in + alpha * colour);
}

typedef struct
{
  guint mismatches;
  gchar first[256];
} Mismatch;

static void
check_value (Mismatch *m, const gchar *what, guint x, guint y, gint got,
    gint want, gint tol)
{
  if (ABS (got - want) <= tol)
    return;
  if (m->mismatches++ == 0)
    g_snprintf (m->first, sizeof (m->first),
        "%s at (%u, %u): got %d, "
        "want %d ± %d",
        what, x, y, got, want, tol);
}

static void
check_packed (const GstVideoFrame *fi, const GstVideoFrame *fo,
    const PackedLayout *lay, const Expect *e, Mismatch *m)
{
  const guint fw = GST_VIDEO_FRAME_WIDTH (fi), fh = GST_VIDEO_FRAME_HEIGHT (fi);
  const gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (fi, 0);
  const gint tol = e->alpha == 1.0 ? 0 : TOL_RGB_BLEND;
  const gint offs[3] = {lay->r, lay->g, lay->b};

  for (guint y = 0; y < fh; y++) {
    for (guint x = 0; x < fw; x++) {
      const guint8 *pi = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (fi, 0) +
          y * stride + x * lay->pstride;
      const guint8 *po = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (fo, 0) +
          y * stride + x * lay->pstride;
      guint8 id = class_at (e, x, y, fw, fh);

      if (paints (e, x, y, fw, fh)) {
        guint8 rgb[3];

        ptu_class_colour (id, rgb);
        for (guint c = 0; c < 3; c++)
          check_value (m, "RGB component", x, y, po[offs[c]],
              blend (pi[offs[c]], rgb[c], e->alpha), tol);
        if (lay->extra >= 0)
          check_value (
              m, "alpha/padding byte", x, y, po[lay->extra], pi[lay->extra], 0);
      } else {
        for (gint c = 0; c < lay->pstride; c++)
          check_value (m, "undrawn pixel", x, y, po[c], pi[c], 0);
      }
    }
  }
}

static void
check_yuv (const GstVideoFrame *fi, const GstVideoFrame *fo, const Expect *e,
    Mismatch *m)
{
  const gboolean nv12 = GST_VIDEO_FRAME_FORMAT (fi) == GST_VIDEO_FORMAT_NV12;
  const guint fw = GST_VIDEO_FRAME_WIDTH (fi), fh = GST_VIDEO_FRAME_HEIGHT (fi);
  const gint tol = TOL_YUV + (e->alpha == 1.0 ? 0 : TOL_RGB_BLEND);
  const gint ys = GST_VIDEO_FRAME_PLANE_STRIDE (fi, 0);

  for (guint y = 0; y < fh; y++) {
    for (guint x = 0; x < fw; x++) {
      gint in =
          ((const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (fi, 0))[y * ys + x];
      gint out =
          ((const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (fo, 0))[y * ys + x];
      guint8 id = class_at (e, x, y, fw, fh);

      if (paints (e, x, y, fw, fh)) {
        guint8 rgb[3], yuv[3];

        ptu_class_colour (id, rgb);
        ptu_rgb_to_yuv601 (rgb, yuv);
        check_value (m, "luma", x, y, out, blend (in, yuv[0], e->alpha), tol);
      } else {
        check_value (m, "undrawn luma", x, y, out, in, 0);
      }
    }
  }

  /* Chroma: one sample per 2×2 block, coloured by the block's top-left pixel. */
  for (guint cy = 0; cy < (fh + 1) / 2; cy++) {
    for (guint cx = 0; cx < (fw + 1) / 2; cx++) {
      guint8 id = class_at (e, 2 * cx, 2 * cy, fw, fh);
      const guint8 *ui, *vi, *uo, *vo;

      if (nv12) {
        gint s = GST_VIDEO_FRAME_PLANE_STRIDE (fi, 1);
        ui = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (fi, 1) + cy * s +
            2 * cx;
        uo = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (fo, 1) + cy * s +
            2 * cx;
        vi = ui + 1;
        vo = uo + 1;
      } else {
        gint su = GST_VIDEO_FRAME_PLANE_STRIDE (fi, 1);
        gint sv = GST_VIDEO_FRAME_PLANE_STRIDE (fi, 2);
        ui = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (fi, 1) + cy * su + cx;
        uo = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (fo, 1) + cy * su + cx;
        vi = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (fi, 2) + cy * sv + cx;
        vo = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (fo, 2) + cy * sv + cx;
      }

      if (paints (e, 2 * cx, 2 * cy, fw, fh)) {
        guint8 rgb[3], yuv[3];

        ptu_class_colour (id, rgb);
        ptu_rgb_to_yuv601 (rgb, yuv);
        check_value (m, "U", cx, cy, *uo, blend (*ui, yuv[1], e->alpha), tol);
        check_value (m, "V", cx, cy, *vo, blend (*vi, yuv[2], e->alpha), tol);
      } else {
        check_value (m, "undrawn U", cx, cy, *uo, *ui, 0);
        check_value (m, "undrawn V", cx, cy, *vo, *vi, 0);
      }
    }
  }
}

static void
check_frame (
    GstBuffer *in, GstBuffer *out, const GstVideoInfo *info, const Expect *e)
{
  GstVideoFrame fi, fo;
  Mismatch m = {0, ""};
  const gchar *format = GST_VIDEO_INFO_NAME (info);

  fail_unless (gst_video_frame_map (&fi, info, in, GST_MAP_READ));
  fail_unless (gst_video_frame_map (&fo, info, out, GST_MAP_READ));

  if (GST_VIDEO_INFO_IS_YUV (info)) {
    check_yuv (&fi, &fo, e, &m);
  } else {
    const PackedLayout *lay = NULL;

    for (guint i = 0; i < G_N_ELEMENTS (packed_layouts); i++)
      if (strcmp (packed_layouts[i].format, format) == 0)
        lay = &packed_layouts[i];
    fail_unless (lay != NULL, "no layout for %s", format);
    check_packed (&fi, &fo, lay, e, &m);
  }

  gst_video_frame_unmap (&fi);
  gst_video_frame_unmap (&fo);
  fail_unless (m.mismatches == 0, "%s: %u mismatches, first: %s", format,
      m.mismatches, m.first);
}

static gchar *
caps_string (const gchar *format, guint w, guint h)
{
  /* YUV colorimetry is explicit so that the reference conversion applies. */
  gboolean yuv = g_str_equal (format, "NV12") || g_str_equal (format, "I420");

  return g_strdup_printf ("video/x-raw,format=%s,width=%u,height=%u,"
                          "framerate=30/1%s",
      format, w, h, yuv ? ",colorimetry=bt601" : "");
}

/* Pushes a patterned frame of @format carrying @map through @h and checks
 * the result against @e (whose map is @map). With @map NULL the frame has no
 * meta and must come out unchanged. */
static void
run_frame (GstHarness *h, const gchar *format, guint w, guint h_px,
    const guint8 *map, guint map_w, guint map_h, const Expect *e)
{
  gchar *caps = caps_string (format, w, h_px);
  GstVittmClassTable *table = ptu_class_table_new (N_CLASSES);
  GstVideoInfo info;
  GstBuffer *in, *ref, *out;
  GstCaps *c;

  gst_harness_set_src_caps_str (h, caps);
  c = gst_caps_from_string (caps);
  fail_unless (gst_video_info_from_caps (&info, c));
  gst_caps_unref (c);

  in = ptu_frame_new (&info, 1234);
  ref = gst_buffer_copy_deep (in);
  if (map)
    fail_unless (ptu_attach_map (in, map, map_w, map_h, table) != NULL);

  out = gst_harness_push_and_pull (h, in);
  fail_unless (out != NULL);
  if (map) {
    check_frame (ref, out, &info, e);
  } else {
    GstMapInfo mo, mr;

    fail_unless (gst_buffer_get_vittm_seg_meta (out) == NULL);
    gst_buffer_map (out, &mo, GST_MAP_READ);
    gst_buffer_map (ref, &mr, GST_MAP_READ);
    fail_unless_equals_uint64 (mo.size, mr.size);
    fail_unless (memcmp (mo.data, mr.data, mo.size) == 0,
        "%s frame without meta was modified", format);
    gst_buffer_unmap (out, &mo);
    gst_buffer_unmap (ref, &mr);
  }

  gst_buffer_unref (out);
  gst_buffer_unref (ref);
  gst_vittm_class_table_unref (table);
  g_free (caps);
}

static guint8
pattern_small (guint x, guint y)
{
  return (guint8) ((x + 2 * y) % (N_CLASSES + 1));
}

static GstHarness *
overlay_new (gdouble alpha, const gchar *classes, gboolean legend)
{
  GstHarness *h = gst_harness_new ("vittmoverlay");

  g_object_set (h->element, "alpha", alpha, "classes", classes, "show-legend",
      legend, NULL);
  return h;
}

GST_START_TEST (test_overlay_outline_paints_only_class_boundaries)
{
  guint8 *map = ptu_map_new (FRAME_W, FRAME_H, pattern_blocks);
  Expect e = {map, FRAME_W, FRAME_H, NULL, 1.0, TRUE};
  gboolean drawn[256] = {FALSE};
  Expect some = {map, FRAME_W, FRAME_H, drawn, 0.5, TRUE};
  guint on_boundary = 0;

  /* the reference itself: boundaries are a small part of the frame */
  for (guint y = 0; y < FRAME_H; y++)
    for (guint x = 0; x < FRAME_W; x++)
      on_boundary += paints (&e, x, y, FRAME_W, FRAME_H);
  fail_unless (on_boundary > 1000 && on_boundary < FRAME_W * FRAME_H / 5,
      "%u boundary pixels", on_boundary);

  for (guint i = 0; i < G_N_ELEMENTS (all_formats); i++) {
    GstHarness *h = overlay_new (1.0, NULL, FALSE);

    gst_util_set_object_arg (G_OBJECT (h->element), "mode", "outline");
    run_frame (h, all_formats[i], FRAME_W, FRAME_H, map, FRAME_W, FRAME_H, &e);
    gst_harness_teardown (h);
  }

  /* with a class filter and half alpha */
  drawn[1] = drawn[6] = TRUE;
  for (guint i = 0; i < 2; i++) {
    GstHarness *h = overlay_new (0.5, "class1,class6", FALSE);

    gst_util_set_object_arg (G_OBJECT (h->element), "mode", "outline");
    run_frame (
        h, i ? "NV12" : "BGRx", FRAME_W, FRAME_H, map, FRAME_W, FRAME_H, &some);
    gst_harness_teardown (h);
  }
  g_free (map);
}

GST_END_TEST;

GST_START_TEST (test_overlay_outline_follows_scaled_map)
{
  /* A 7 × 5 map: the boundaries are those of the scaled cells. */
  guint8 *map = ptu_map_new (7, 5, pattern_small);
  Expect e = {map, 7, 5, NULL, 1.0, TRUE};
  const gchar *formats[] = {"RGB", "I420"};

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    GstHarness *h = overlay_new (1.0, NULL, FALSE);

    gst_util_set_object_arg (G_OBJECT (h->element), "mode", "outline");
    run_frame (h, formats[i], FRAME_W, FRAME_H, map, 7, 5, &e);
    gst_harness_teardown (h);
  }
  g_free (map);
}

GST_END_TEST;

static guint8
pattern_uniform (G_GNUC_UNUSED guint x, G_GNUC_UNUSED guint y)
{
  return 3;
}

GST_START_TEST (test_overlay_outline_of_one_class_leaves_frame_unchanged)
{
  guint8 *map = ptu_map_new (40, 30, pattern_uniform);
  gboolean drawn[256] = {FALSE};
  Expect e = {map, 40, 30, drawn, 1.0, FALSE}; /* nothing painted */
  GstHarness *h = overlay_new (1.0, NULL, FALSE);
  gint mode = -1;

  g_object_get (h->element, "mode", &mode, NULL);
  fail_unless_equals_int (mode, 0); /* fill */
  gst_util_set_object_arg (G_OBJECT (h->element), "mode", "outline");
  run_frame (h, "RGBA", FRAME_W, FRAME_H, map, 40, 30, &e);
  gst_harness_teardown (h);
  g_free (map);
}

GST_END_TEST;

GST_START_TEST (test_overlay_alpha_one_paints_palette_exactly_in_every_format)
{
  guint8 *map = ptu_map_new (FRAME_W, FRAME_H, pattern_blocks);
  Expect e = {map, FRAME_W, FRAME_H, NULL, 1.0, FALSE};

  for (guint i = 0; i < G_N_ELEMENTS (all_formats); i++) {
    GstHarness *h = overlay_new (1.0, NULL, FALSE);

    run_frame (h, all_formats[i], FRAME_W, FRAME_H, map, FRAME_W, FRAME_H, &e);
    gst_harness_teardown (h);
  }
  g_free (map);
}

GST_END_TEST;

GST_START_TEST (test_overlay_half_alpha_blends_in_every_format)
{
  guint8 *map = ptu_map_new (FRAME_W, FRAME_H, pattern_blocks);
  Expect e = {map, FRAME_W, FRAME_H, NULL, 0.5, FALSE};

  for (guint i = 0; i < G_N_ELEMENTS (all_formats); i++) {
    GstHarness *h = overlay_new (0.5, NULL, FALSE);

    run_frame (h, all_formats[i], FRAME_W, FRAME_H, map, FRAME_W, FRAME_H, &e);
    gst_harness_teardown (h);
  }
  g_free (map);
}

GST_END_TEST;

GST_START_TEST (test_overlay_classes_filter_leaves_undrawn_classes_untouched)
{
  guint8 *map = ptu_map_new (FRAME_W, FRAME_H, pattern_blocks);
  gboolean drawn[256] = {FALSE};
  Expect e = {map, FRAME_W, FRAME_H, drawn, 0.75, FALSE};
  const gchar *formats[] = {"BGRA", "I420", "NV12"};

  /* names (any case, spaces around), and an id */
  drawn[1] = drawn[3] = drawn[5] = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    GstHarness *h = overlay_new (0.75, "class1, CLASS3 ,5", FALSE);

    run_frame (h, formats[i], FRAME_W, FRAME_H, map, FRAME_W, FRAME_H, &e);
    gst_harness_teardown (h);
  }
  g_free (map);
}

GST_END_TEST;

GST_START_TEST (test_overlay_unknown_class_posts_warning_naming_it)
{
  guint8 *map = ptu_map_new (FRAME_W, FRAME_H, pattern_blocks);
  gboolean drawn[256] = {FALSE};
  Expect e = {map, FRAME_W, FRAME_H, drawn, 1.0, FALSE};
  GstHarness *h = overlay_new (1.0, "class2,no-such-class,99", FALSE);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  guint warnings = 0;
  gboolean named = FALSE, named_id = FALSE;

  gst_element_set_bus (h->element, bus);
  drawn[2] = TRUE;
  run_frame (h, "RGBx", FRAME_W, FRAME_H, map, FRAME_W, FRAME_H, &e);

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING))) {
    GError *err = NULL;
    gchar *debug = NULL;

    gst_message_parse_warning (msg, &err, &debug);
    named |= strstr (err->message, "\"no-such-class\"") != NULL;
    named_id |= strstr (err->message, "\"99\"") != NULL;
    fail_unless (debug && strstr (debug, "7 classes"), "debug: %s", debug);
    warnings++;
    g_error_free (err);
    g_free (debug);
    gst_message_unref (msg);
  }
  fail_unless_equals_int (warnings, 2);
  fail_unless (named && named_id);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (map);
}

GST_END_TEST;

GST_START_TEST (test_overlay_small_map_is_scaled_nearest_neighbour)
{
  guint8 *map = ptu_map_new (7, 5, pattern_small);
  Expect e = {map, 7, 5, NULL, 1.0, FALSE};
  const gchar *formats[] = {"RGB", "I420"};

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    GstHarness *h = overlay_new (1.0, NULL, FALSE);

    run_frame (h, formats[i], FRAME_W, FRAME_H, map, 7, 5, &e);
    gst_harness_teardown (h);
  }
  g_free (map);
}

GST_END_TEST;

GST_START_TEST (test_overlay_two_by_two_map_fills_quadrants)
{
  /* By hand: a 2×2 map on a 4×4 RGB frame paints four 2×2 quadrants. */
  const guint8 map[4] = {0, 1, 2, 3};
  const guint8 quadrant[4][4] = {
      {0, 0, 1, 1}, {0, 0, 1, 1}, {2, 2, 3, 3}, {2, 2, 3, 3}};
  GstHarness *h = overlay_new (1.0, NULL, FALSE);
  GstVittmClassTable *table = ptu_class_table_new (N_CLASSES);
  GstBuffer *in, *out;
  GstVideoInfo info;
  GstVideoFrame f;

  gst_harness_set_src_caps_str (
      h, "video/x-raw,format=RGB,width=4,height=4,framerate=30/1");
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 4, 4);
  in = ptu_frame_new (&info, 7);
  fail_unless (ptu_attach_map (in, map, 2, 2, table) != NULL);
  out = gst_harness_push_and_pull (h, in);

  fail_unless (gst_video_frame_map (&f, &info, out, GST_MAP_READ));
  for (guint y = 0; y < 4; y++) {
    for (guint x = 0; x < 4; x++) {
      const guint8 *px = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&f, 0) +
          y * GST_VIDEO_FRAME_PLANE_STRIDE (&f, 0) + 3 * x;
      guint8 rgb[3];

      ptu_class_colour (quadrant[y][x], rgb);
      fail_unless (memcmp (px, rgb, 3) == 0, "pixel (%u, %u)", x, y);
    }
  }
  gst_video_frame_unmap (&f);

  gst_buffer_unref (out);
  gst_vittm_class_table_unref (table);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_overlay_large_map_is_scaled_nearest_neighbour)
{
  guint8 *map = ptu_map_new (1000, 600, pattern_blocks);
  Expect e = {map, 1000, 600, NULL, 1.0, FALSE};
  const gchar *formats[] = {"RGBA", "NV12"};

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    GstHarness *h = overlay_new (1.0, NULL, FALSE);

    run_frame (h, formats[i], FRAME_W, FRAME_H, map, 1000, 600, &e);
    gst_harness_teardown (h);
  }
  g_free (map);
}

GST_END_TEST;

GST_START_TEST (test_overlay_buffer_without_meta_passes_unchanged)
{
  for (guint i = 0; i < G_N_ELEMENTS (all_formats); i++) {
    GstHarness *h = overlay_new (1.0, NULL, TRUE);

    /* twice: the second time the element has already warned */
    run_frame (h, all_formats[i], FRAME_W, FRAME_H, NULL, 0, 0, NULL);
    run_frame (h, all_formats[i], FRAME_W, FRAME_H, NULL, 0, 0, NULL);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

static guint
count_warnings (GstBus *bus, gboolean check_text)
{
  GstMessage *msg;
  guint n = 0;

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING))) {
    GError *err = NULL;
    gchar *debug = NULL;

    gst_message_parse_warning (msg, &err, &debug);
    if (check_text) {
      fail_unless (strstr (err->message, "without a class map"), "message: %s",
          err->message);
      fail_unless (
          debug && strstr (debug, "vittmsegment upstream"), "debug: %s", debug);
    }
    n++;
    g_error_free (err);
    g_free (debug);
    gst_message_unref (msg);
  }
  return n;
}

GST_START_TEST (test_overlay_missing_meta_warns_once_per_stream)
{
  GstHarness *h = overlay_new (1.0, NULL, FALSE);
  GstBus *bus = gst_bus_new ();

  gst_element_set_bus (h->element, bus);
  for (guint i = 0; i < 3; i++)
    run_frame (h, "RGBx", 64, 48, NULL, 0, 0, NULL);
  fail_unless_equals_int (count_warnings (bus, TRUE), 1);

  /* a new stream: warned again, once */
  fail_unless (
      gst_harness_push_event (h, gst_event_new_stream_start ("second-stream")));
  for (guint i = 0; i < 3; i++)
    run_frame (h, "RGBx", 64, 48, NULL, 0, 0, NULL);
  fail_unless_equals_int (count_warnings (bus, FALSE), 1);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_overlay_alpha_zero_leaves_frame_unchanged)
{
  guint8 *map = ptu_map_new (FRAME_W, FRAME_H, pattern_blocks);
  gboolean drawn[256] = {FALSE};
  Expect e = {map, FRAME_W, FRAME_H, drawn, 0.0, FALSE};
  GstHarness *h = overlay_new (0.0, NULL, FALSE);

  run_frame (h, "I420", FRAME_W, FRAME_H, map, FRAME_W, FRAME_H, &e);
  gst_harness_teardown (h);
  g_free (map);
}

GST_END_TEST;

static guint8
pattern_two_classes (guint x, G_GNUC_UNUSED guint y)
{
  return x < FRAME_W / 2 ? 4 : 2;
}

/* The pixels a legend changed on an RGBx frame (alpha 0: the map itself
 * draws nothing), and the output to look at. */
typedef struct
{
  GstBuffer *out;
  GstVideoInfo info;
  guint min_x, min_y, max_x, max_y;
  guint white;
} LegendRun;

static void
legend_run (LegendRun *r, guint w, guint h_px, const gchar *position,
    guint8 (*pattern) (guint x, guint y))
{
  guint8 *map = ptu_map_new (w, h_px, pattern);
  GstHarness *h = overlay_new (0.0, NULL, TRUE);
  GstVittmClassTable *table = ptu_class_table_new (N_CLASSES);
  gchar *caps = caps_string ("RGBx", w, h_px);
  GstBuffer *in, *ref;
  GstVideoFrame fo, fr;

  gst_util_set_object_arg (G_OBJECT (h->element), "legend-position", position);
  gst_harness_set_src_caps_str (h, caps);
  gst_video_info_set_format (&r->info, GST_VIDEO_FORMAT_RGBx, w, h_px);
  in = ptu_frame_new (&r->info, 99);
  ref = gst_buffer_copy_deep (in);
  fail_unless (ptu_attach_map (in, map, w, h_px, table) != NULL);
  r->out = gst_harness_push_and_pull (h, in);

  r->min_x = r->min_y = G_MAXUINT;
  r->max_x = r->max_y = 0;
  r->white = 0;
  fail_unless (gst_video_frame_map (&fo, &r->info, r->out, GST_MAP_READ));
  fail_unless (gst_video_frame_map (&fr, &r->info, ref, GST_MAP_READ));
  for (guint y = 0; y < h_px; y++) {
    for (guint x = 0; x < w; x++) {
      gsize off = y * GST_VIDEO_FRAME_PLANE_STRIDE (&fo, 0) + 4 * x;
      const guint8 *po =
          (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&fo, 0) + off;
      const guint8 *pr =
          (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&fr, 0) + off;

      if (memcmp (po, pr, 3) != 0) {
        r->min_x = MIN (r->min_x, x);
        r->min_y = MIN (r->min_y, y);
        r->max_x = MAX (r->max_x, x);
        r->max_y = MAX (r->max_y, y);
      }
      if (po[0] == 255 && po[1] == 255 && po[2] == 255)
        r->white++;
    }
  }
  gst_video_frame_unmap (&fo);
  gst_video_frame_unmap (&fr);

  gst_buffer_unref (ref);
  gst_vittm_class_table_unref (table);
  gst_harness_teardown (h);
  g_free (caps);
  g_free (map);
}

static const guint8 *
legend_pixel (GstVideoFrame *f, guint x, guint y)
{
  return (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (f, 0) +
      y * GST_VIDEO_FRAME_PLANE_STRIDE (f, 0) + 4 * x;
}

GST_START_TEST (test_overlay_legend_lists_present_classes_in_top_left_corner)
{
  LegendRun r;
  GstVideoFrame fo;
  guint8 rgb[3];

  /* 405 lines: font scale 2, every layout length below doubled. */
  legend_run (&r, FRAME_W, FRAME_H, "top-left", pattern_two_classes);
  fail_unless (gst_video_frame_map (&fo, &r.info, r.out, GST_MAP_READ));

  /* Two rows (classes 2 and 4, in id order), each with its swatch: the first
   * swatch starts at margin 8 + padding 4 and is 16 wide; rows are 20
   * pixels apart. */
  ptu_class_colour (2, rgb);
  fail_unless (memcmp (legend_pixel (&fo, 12, 12), rgb, 3) == 0);
  fail_unless (memcmp (legend_pixel (&fo, 27, 27), rgb, 3) == 0);
  fail_if (memcmp (legend_pixel (&fo, 11, 11), rgb, 3) == 0);
  fail_if (memcmp (legend_pixel (&fo, 28, 28), rgb, 3) == 0);
  ptu_class_colour (4, rgb);
  fail_unless (memcmp (legend_pixel (&fo, 12, 32), rgb, 3) == 0);
  fail_unless (memcmp (legend_pixel (&fo, 27, 47), rgb, 3) == 0);

  /* Text: font pixels are 2 × 2 blocks aligned on the text's origin at
   * (8 + (2 + 8 + 3) × 2, 8 + 2 × 2) = (34, 12). */
  for (guint y = 8; y < 8 + 44; y++) {
    for (guint x = 8; x < 8 + 100; x++) {
      const guint8 *p = legend_pixel (&fo, x, y);
      guint bx = x - ((x - 34) & 1), by = y - ((y - 12) & 1);

      if (p[0] != 255 || p[1] != 255 || p[2] != 255)
        continue;
      for (guint k = 0; k < 4; k++) {
        const guint8 *q = legend_pixel (&fo, bx + k % 2, by + k / 2);

        fail_unless (q[0] == 255 && q[1] == 255 && q[2] == 255,
            "text pixel (%u, %u) is not part of a 2x2 font pixel", x, y);
      }
    }
  }
  gst_video_frame_unmap (&fo);

  fail_unless (r.white > 80, "no text drawn (%u white pixels)", r.white);
  /* Box at (8, 8): 2 rows → (2 + 10 + 8 + 2) × 2 = 44 high; swatch, gap
   * and "class2" (6 characters of 5 pixels, 1 apart) → (2 + 8 + 3 + 35 + 2)
   * × 2 = 100 wide. */
  fail_unless_equals_int (r.min_x, 8);
  fail_unless_equals_int (r.min_y, 8);
  fail_unless_equals_int (r.max_x, 8 + 100 - 1);
  fail_unless_equals_int (r.max_y, 8 + 44 - 1);
  gst_buffer_unref (r.out);
}

GST_END_TEST;

static guint8
pattern_two_classes_striped (guint x, G_GNUC_UNUSED guint y)
{
  return x % 2 ? 4 : 2;
}

GST_START_TEST (test_overlay_legend_font_scale_follows_frame_height)
{
  /* height → scale: round (height / 240), at least 1; the box of two rows
   * is 22 × 50 font pixels with a 4-pixel margin. */
  const guint sizes[][3] = {
      {320, 200, 1},
      {320, 240, 1},
      {640, 360, 2},
      {1280, 720, 3},
      {1920, 1080, 5},
  };

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    guint s = sizes[i][2];
    LegendRun r;

    legend_run (
        &r, sizes[i][0], sizes[i][1], "top-left", pattern_two_classes_striped);
    fail_unless_equals_int (r.min_x, 4 * s);
    fail_unless_equals_int (r.min_y, 4 * s);
    fail_unless (r.max_x == 4 * s + 50 * s - 1 && r.max_y == 4 * s + 22 * s - 1,
        "%ux%u: legend ends at (%u, %u), want scale %u", sizes[i][0],
        sizes[i][1], r.max_x, r.max_y, s);
    gst_buffer_unref (r.out);
  }
}

GST_END_TEST;

GST_START_TEST (test_overlay_legend_position_puts_box_in_each_corner)
{
  /* 719 × 405, scale 2: box 100 × 44, margin 8; a far-side corner is
   * rounded down to even coordinates (chroma blocks). */
  const struct
  {
    const gchar *nick;
    guint x, y;
  } corners[] = {
      {"top-left", 8, 8},
      {"top-right", (FRAME_W - 8 - 100) & ~1u, 8},
      {"bottom-left", 8, (FRAME_H - 8 - 44) & ~1u},
      {"bottom-right", (FRAME_W - 8 - 100) & ~1u, (FRAME_H - 8 - 44) & ~1u},
  };

  for (guint i = 0; i < G_N_ELEMENTS (corners); i++) {
    LegendRun r;

    legend_run (&r, FRAME_W, FRAME_H, corners[i].nick, pattern_two_classes);
    fail_unless (r.min_x == corners[i].x && r.min_y == corners[i].y &&
            r.max_x == corners[i].x + 99 && r.max_y == corners[i].y + 43,
        "%s: legend spans (%u, %u)-(%u, %u)", corners[i].nick, r.min_x, r.min_y,
        r.max_x, r.max_y);
    gst_buffer_unref (r.out);
  }
}

GST_END_TEST;

GST_START_TEST (test_overlay_legend_properties_and_docs)
{
  GstElement *overlay = gst_element_factory_make ("vittmoverlay", NULL);
  GParamSpec *pspec = g_object_class_find_property (
      G_OBJECT_GET_CLASS (overlay), "legend-position");
  const gchar *nicks[] = {
      "top-left", "top-right", "bottom-left", "bottom-right"};
  GEnumClass *eclass;

  fail_unless (pspec != NULL && G_IS_PARAM_SPEC_ENUM (pspec));
  eclass = G_PARAM_SPEC_ENUM (pspec)->enum_class;
  fail_unless_equals_int (G_PARAM_SPEC_ENUM (pspec)->default_value,
      g_enum_get_value_by_nick (eclass, "top-left")->value);
  fail_unless_equals_int (eclass->n_values, G_N_ELEMENTS (nicks));
  for (guint i = 0; i < G_N_ELEMENTS (nicks); i++)
    fail_unless (
        g_enum_get_value_by_nick (eclass, nicks[i]) != NULL, "%s", nicks[i]);
  fail_unless (strstr (g_param_spec_get_blurb (pspec), "Corner"));
  pspec = g_object_class_find_property (
      G_OBJECT_GET_CLASS (overlay), "show-legend");
  fail_unless (strstr (g_param_spec_get_blurb (pspec), "legend-position"));
  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (overlay), "mode");
  fail_unless (pspec != NULL && G_IS_PARAM_SPEC_ENUM (pspec));
  eclass = G_PARAM_SPEC_ENUM (pspec)->enum_class;
  fail_unless_equals_int (G_PARAM_SPEC_ENUM (pspec)->default_value,
      g_enum_get_value_by_nick (eclass, "fill")->value);
  fail_unless (g_enum_get_value_by_nick (eclass, "outline") != NULL);
  fail_unless (strstr (g_param_spec_get_blurb (pspec), "boundary"));
  gst_object_unref (overlay);
}

GST_END_TEST;

GST_START_TEST (test_overlay_legend_fits_tiny_and_odd_frames)
{
  /* Legends never write outside small or odd frames, in any format. */
  const guint sizes[][2] = {
      {1, 1}, {3, 5}, {17, 9}, {33, 31}, {61, 45}, {75, 600}};
  GstVittmClassTable *table = ptu_class_table_new (N_CLASSES);

  const gchar *positions[] = {"top-left", "bottom-right"};

  for (guint f = 0; f < G_N_ELEMENTS (all_formats) * 2; f++) {
    for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
      GstHarness *h = overlay_new (0.5, NULL, TRUE);
      gchar *caps = caps_string (all_formats[f / 2], sizes[s][0], sizes[s][1]);
      guint8 *map = ptu_map_new (5, 5, pattern_small);
      GstVideoInfo info;
      GstCaps *c = gst_caps_from_string (caps);
      GstBuffer *in, *out;

      gst_util_set_object_arg (
          G_OBJECT (h->element), "legend-position", positions[f % 2]);
      gst_harness_set_src_caps (h, gst_caps_ref (c));
      fail_unless (gst_video_info_from_caps (&info, c));
      in = ptu_frame_new (&info, s);
      fail_unless (ptu_attach_map (in, map, 5, 5, table) != NULL);
      out = gst_harness_push_and_pull (h, in);
      fail_unless (out != NULL);
      gst_buffer_unref (out);
      gst_caps_unref (c);
      g_free (map);
      g_free (caps);
      gst_harness_teardown (h);
    }
  }
  gst_vittm_class_table_unref (table);
}

GST_END_TEST;

static Suite *
vittmoverlay_suite (void)
{
  Suite *s = suite_create ("vittmoverlay");
  TCase *tc = tcase_create ("general");

  ptu_check_vittm_log_domain ();

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (
      tc, test_overlay_alpha_one_paints_palette_exactly_in_every_format);
  tcase_add_test (tc, test_overlay_half_alpha_blends_in_every_format);
  tcase_add_test (
      tc, test_overlay_classes_filter_leaves_undrawn_classes_untouched);
  tcase_add_test (tc, test_overlay_unknown_class_posts_warning_naming_it);
  tcase_add_test (tc, test_overlay_small_map_is_scaled_nearest_neighbour);
  tcase_add_test (tc, test_overlay_two_by_two_map_fills_quadrants);
  tcase_add_test (tc, test_overlay_large_map_is_scaled_nearest_neighbour);
  tcase_add_test (tc, test_overlay_outline_paints_only_class_boundaries);
  tcase_add_test (tc, test_overlay_outline_follows_scaled_map);
  tcase_add_test (tc, test_overlay_outline_of_one_class_leaves_frame_unchanged);
  tcase_add_test (tc, test_overlay_buffer_without_meta_passes_unchanged);
  tcase_add_test (tc, test_overlay_missing_meta_warns_once_per_stream);
  tcase_add_test (tc, test_overlay_alpha_zero_leaves_frame_unchanged);
  tcase_add_test (
      tc, test_overlay_legend_lists_present_classes_in_top_left_corner);
  tcase_add_test (tc, test_overlay_legend_font_scale_follows_frame_height);
  tcase_add_test (tc, test_overlay_legend_position_puts_box_in_each_corner);
  tcase_add_test (tc, test_overlay_legend_properties_and_docs);
  tcase_add_test (tc, test_overlay_legend_fits_tiny_and_odd_frames);
  return s;
}

GST_CHECK_MAIN (vittmoverlay);

/* vittm — GstVittmSegMeta and GstVittmClassTable tests
 *
 * SPDX-License-Identifier: MIT
 */

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <string.h>

#include "gstvittmsegmeta.h"
#include "plugin_test_util.h"

static guint8
pattern (guint x, guint y)
{
  return (guint8) ((x * 3 + y) % 5);
}

static void
mark_freed (gpointer data, G_GNUC_UNUSED GstMiniObject *where)
{
  *(gboolean *) data = TRUE;
}

GST_START_TEST (test_class_table_copies_names_and_palette)
{
  const gchar *names[] = {"wall", "bed ", "Person"};
  guint8 palette[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  GstVittmClassTable *t = gst_vittm_class_table_new (3, names, palette);

  /* the table owns copies */
  palette[0] = 200;
  fail_unless_equals_int (t->n_classes, 3);
  fail_unless_equals_string (t->names[1], "bed ");
  fail_unless (t->names[3] == NULL);
  fail_unless_equals_int (t->palette[0], 1);
  fail_unless_equals_int (t->palette[8], 9);
  gst_vittm_class_table_unref (t);
}

GST_END_TEST;

GST_START_TEST (test_class_table_lookup_exact_then_loose)
{
  const gchar *names[] = {"wall", "bed ", "Person", "person"};
  GstVittmClassTable *t = gst_vittm_class_table_new (4, names, NULL);

  fail_unless_equals_int (gst_vittm_class_table_lookup (t, "wall"), 0);
  /* exact match wins over a case-insensitive one */
  fail_unless_equals_int (gst_vittm_class_table_lookup (t, "person"), 3);
  fail_unless_equals_int (gst_vittm_class_table_lookup (t, "Person"), 2);
  fail_unless_equals_int (gst_vittm_class_table_lookup (t, "WALL"), 0);
  /* surrounding spaces on either side are ignored */
  fail_unless_equals_int (gst_vittm_class_table_lookup (t, "bed"), 1);
  fail_unless_equals_int (gst_vittm_class_table_lookup (t, " Bed "), 1);
  fail_unless_equals_int (gst_vittm_class_table_lookup (t, "sky"), -1);
  gst_vittm_class_table_unref (t);
}

GST_END_TEST;

GST_START_TEST (test_class_table_defaults_without_names_or_palette)
{
  GstVittmClassTable *t = gst_vittm_class_table_new (150, NULL, NULL);
  guint distinct = 0;

  fail_unless_equals_string (t->names[0], "0");
  fail_unless_equals_string (t->names[149], "149");
  /* neighbouring ids get different colours */
  for (guint i = 1; i < 150; i++)
    distinct += memcmp (&t->palette[3 * i], &t->palette[3 * (i - 1)], 3) != 0;
  fail_unless_equals_int (distinct, 149);
  gst_vittm_class_table_unref (t);
}

GST_END_TEST;

GST_START_TEST (test_class_table_rejects_bad_sizes)
{
  ASSERT_CRITICAL (
      fail_unless (gst_vittm_class_table_new (0, NULL, NULL) == NULL));
  ASSERT_CRITICAL (
      fail_unless (gst_vittm_class_table_new (257, NULL, NULL) == NULL));
  {
    GstVittmClassTable *t = gst_vittm_class_table_new (256, NULL, NULL);
    fail_unless (t != NULL);
    gst_vittm_class_table_unref (t);
  }
}

GST_END_TEST;

GST_START_TEST (test_meta_add_and_get_fields)
{
  GstVittmClassTable *t = ptu_class_table_new (5);
  GstBuffer *buf = gst_buffer_new ();
  guint8 *ids = ptu_map_new (33, 17, pattern);
  GstVittmSegMeta *meta;

  fail_unless (gst_buffer_get_vittm_seg_meta (buf) == NULL);
  meta = ptu_attach_map (buf, ids, 33, 17, t);
  fail_unless (meta != NULL);
  meta->wall_time = 12 * GST_MSECOND;
  meta->gpu_time = 9 * GST_MSECOND;
  meta->frame_index = 41;

  meta = gst_buffer_get_vittm_seg_meta (buf);
  fail_unless (meta != NULL);
  fail_unless (meta->meta.info == gst_vittm_seg_meta_get_info ());
  fail_unless_equals_int (meta->width, 33);
  fail_unless_equals_int (meta->height, 17);
  fail_unless_equals_int (meta->stride, 33);
  fail_unless (meta->classes == t);
  fail_unless_equals_int (meta->classes->n_classes, 5);
  fail_unless (!meta->reused);
  fail_unless_equals_uint64 (meta->wall_time, 12 * GST_MSECOND);
  fail_unless_equals_uint64 (meta->frame_index, 41);
  fail_unless (memcmp (meta->class_ids, ids, 33 * 17) == 0);
  fail_unless_equals_int (
      gst_vittm_seg_meta_class_at (meta, 4, 2), pattern (4, 2));

  gst_buffer_unref (buf);
  gst_vittm_class_table_unref (t);
  g_free (ids);
}

GST_END_TEST;

/* The functions bindings use where the fields are not introspectable. */
GST_START_TEST (test_accessors_return_the_meta_and_table_contents)
{
  const gchar *names[] = {"sky", "road", "car"};
  const guint8 palette[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  GstVittmClassTable *t = gst_vittm_class_table_new (3, names, palette);
  GstBuffer *buf = gst_buffer_new ();
  guint8 *ids = ptu_map_new (7, 5, pattern);
  const gchar *const *got_names;
  const guint8 *got_palette;
  GstVittmSegMeta *meta;
  GstBuffer *map;
  GstMapInfo info;
  gsize n_bytes = 0;

  got_names = gst_vittm_class_table_get_names (t);
  for (guint i = 0; i < 3; i++)
    fail_unless_equals_string (got_names[i], names[i]);
  fail_unless (got_names[3] == NULL);
  got_palette = gst_vittm_class_table_get_palette (t, &n_bytes);
  fail_unless_equals_int (n_bytes, 9);
  fail_unless (memcmp (got_palette, palette, 9) == 0);

  fail_unless (gst_buffer_get_vittm_seg_meta (buf) == NULL);
  ptu_attach_map (buf, ids, 7, 5, t);
  meta = gst_buffer_get_vittm_seg_meta (buf);
  fail_unless (meta != NULL);
  fail_unless (gst_vittm_seg_meta_get_classes (meta) == t);

  /* The map's buffer maps to the very bytes the meta points at. */
  map = gst_vittm_seg_meta_get_class_map (meta);
  fail_unless (map == meta->map);
  fail_unless (gst_buffer_map (map, &info, GST_MAP_READ));
  fail_unless (info.data == meta->class_ids);
  fail_unless (info.size >= 7 * 5);
  fail_unless (memcmp (info.data, ids, 7 * 5) == 0);
  gst_buffer_unmap (map, &info);

  gst_buffer_unref (buf);
  gst_vittm_class_table_unref (t);
  g_free (ids);
}

GST_END_TEST;

GST_START_TEST (test_meta_defaults_mark_timings_unknown)
{
  GstVittmClassTable *t = ptu_class_table_new (2);
  GstBuffer *buf = gst_buffer_new ();
  const guint8 id = 1;
  GstVittmSegMeta *meta = ptu_attach_map (buf, &id, 1, 1, t);

  fail_unless (!meta->reused);
  fail_unless (!GST_CLOCK_TIME_IS_VALID (meta->wall_time));
  fail_unless (!GST_CLOCK_TIME_IS_VALID (meta->gpu_time));
  fail_unless_equals_uint64 (meta->frame_index, 0);
  gst_buffer_unref (buf);
  gst_vittm_class_table_unref (t);
}

GST_END_TEST;

GST_START_TEST (test_meta_honours_stride)
{
  GstVittmClassTable *t = ptu_class_table_new (5);
  GstBuffer *buf = gst_buffer_new ();
  /* 3×2 map, rows 8 bytes apart; the last row needs only 3 bytes */
  guint8 data[11] = {0, 1, 2, 9, 9, 9, 9, 9, 3, 4, 0};
  GstBuffer *map = gst_buffer_new_memdup (data, sizeof (data));
  GstVittmSegMeta *meta;

  meta = gst_buffer_add_vittm_seg_meta (buf, map, 3, 2, 8, t);
  fail_unless (meta != NULL);
  fail_unless_equals_int (gst_vittm_seg_meta_class_at (meta, 2, 0), 2);
  fail_unless_equals_int (gst_vittm_seg_meta_class_at (meta, 1, 1), 4);
  gst_buffer_unref (map);
  gst_buffer_unref (buf);
  gst_vittm_class_table_unref (t);
}

GST_END_TEST;

GST_START_TEST (test_meta_rejects_a_map_too_small)
{
  GstVittmClassTable *t = ptu_class_table_new (5);
  GstBuffer *buf = gst_buffer_new ();
  GstBuffer *map = gst_buffer_new_allocate (NULL, 10 * 10 - 1, NULL);

  fail_unless (gst_buffer_add_vittm_seg_meta (buf, map, 10, 10, 10, t) == NULL);
  fail_unless (gst_buffer_get_vittm_seg_meta (buf) == NULL);
  /* stride below width, empty sizes */
  ASSERT_CRITICAL (gst_buffer_add_vittm_seg_meta (buf, map, 10, 5, 9, t));
  ASSERT_CRITICAL (gst_buffer_add_vittm_seg_meta (buf, map, 0, 5, 10, t));
  fail_unless (gst_buffer_get_vittm_seg_meta (buf) == NULL);

  gst_buffer_unref (map);
  gst_buffer_unref (buf);
  gst_vittm_class_table_unref (t);
}

GST_END_TEST;

GST_START_TEST (test_meta_copy_shares_the_map)
{
  GstVittmClassTable *t = ptu_class_table_new (5);
  GstBuffer *buf = gst_buffer_new_allocate (NULL, 64, NULL), *copy;
  guint8 *ids = ptu_map_new (16, 9, pattern);
  GstVittmSegMeta *meta = ptu_attach_map (buf, ids, 16, 9, t), *cmeta;
  gboolean map_freed = FALSE, table_freed = FALSE;

  meta->reused = TRUE;
  meta->wall_time = 30 * GST_MSECOND;
  meta->gpu_time = 20 * GST_MSECOND;
  meta->frame_index = 7;
  gst_mini_object_weak_ref (
      GST_MINI_OBJECT_CAST (meta->map), mark_freed, &map_freed);
  gst_mini_object_weak_ref (GST_MINI_OBJECT_CAST (t), mark_freed, &table_freed);

  copy = gst_buffer_copy (buf);
  cmeta = gst_buffer_get_vittm_seg_meta (copy);
  fail_unless (cmeta != NULL && cmeta != meta);
  /* the same map memory, not a copy of it */
  fail_unless (cmeta->map == meta->map);
  fail_unless (cmeta->class_ids == meta->class_ids);
  fail_unless (cmeta->classes == t);
  fail_unless_equals_int (cmeta->width, 16);
  fail_unless_equals_int (cmeta->height, 9);
  fail_unless (cmeta->reused);
  fail_unless_equals_uint64 (cmeta->wall_time, 30 * GST_MSECOND);
  fail_unless_equals_uint64 (cmeta->gpu_time, 20 * GST_MSECOND);
  fail_unless_equals_uint64 (cmeta->frame_index, 7);

  /* the copy keeps the map alive after the original is gone */
  gst_buffer_unref (buf);
  gst_vittm_class_table_unref (t);
  fail_unless (!map_freed && !table_freed);
  fail_unless (memcmp (cmeta->class_ids, ids, 16 * 9) == 0);
  gst_buffer_unref (copy);
  fail_unless (map_freed && table_freed);
  g_free (ids);
}

GST_END_TEST;

GST_START_TEST (test_meta_api_tags)
{
  GType api = GST_VITTM_SEG_META_API_TYPE;

  fail_unless (gst_meta_api_type_has_tag (
      api, g_quark_from_string (GST_META_TAG_VIDEO_STR)));
  fail_unless (gst_meta_api_type_has_tag (
      api, g_quark_from_string (GST_META_TAG_VIDEO_SIZE_STR)));
  fail_unless (gst_meta_api_type_has_tag (
      api, g_quark_from_string (GST_META_TAG_VIDEO_ORIENTATION_STR)));
  fail_if (gst_meta_api_type_has_tag (
      api, g_quark_from_string (GST_META_TAG_VIDEO_COLORSPACE_STR)));
  fail_unless_equals_string (g_type_name (api), "GstVittmSegMetaAPI");
}

GST_END_TEST;

/* Pushes a 64×48 RGBx frame with a 16×9 map through @launch and returns the
 * meta of what comes out (NULL if dropped); *@out receives the buffer. */
static GstVittmSegMeta *
through (const gchar *launch, GstBuffer **out, const guint8 *ids)
{
  GstHarness *h = gst_harness_new_parse (launch);
  GstVittmClassTable *t = ptu_class_table_new (5);
  GstVideoInfo info;
  GstBuffer *in;
  GstVittmSegMeta *meta;

  gst_harness_set_src_caps_str (
      h, "video/x-raw,format=RGBx,width=64,height=48,framerate=30/1");
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGBx, 64, 48);
  in = ptu_frame_new (&info, 3);
  meta = ptu_attach_map (in, ids, 16, 9, t);
  meta->frame_index = 5;
  *out = gst_harness_push_and_pull (h, in);
  fail_unless (*out != NULL);
  gst_vittm_class_table_unref (t);
  gst_harness_teardown (h);
  return gst_buffer_get_vittm_seg_meta (*out);
}

GST_START_TEST (test_meta_kept_as_is_through_scaling_and_conversion)
{
  const gchar *launches[] = {
      "videoscale ! capsfilter caps=video/x-raw,width=31,height=97",
      "videoconvert ! capsfilter caps=video/x-raw,format=I420",
      ("videoconvert ! videoscale ! "
       "capsfilter caps=video/x-raw,format=NV12,width=200,height=100"),
  };
  guint8 *ids = ptu_map_new (16, 9, pattern);

  for (guint i = 0; i < G_N_ELEMENTS (launches); i++) {
    GstBuffer *out;
    GstVittmSegMeta *meta = through (launches[i], &out, ids);

    fail_unless (meta != NULL, "meta dropped by %s", launches[i]);
    fail_unless_equals_int (meta->width, 16);
    fail_unless_equals_int (meta->height, 9);
    fail_unless_equals_uint64 (meta->frame_index, 5);
    fail_unless (memcmp (meta->class_ids, ids, 16 * 9) == 0);
    gst_buffer_unref (out);
  }
  g_free (ids);
}

GST_END_TEST;

static Suite *
vittmsegmeta_suite (void)
{
  Suite *s = suite_create ("vittmsegmeta");
  TCase *tc = tcase_create ("general");

  ptu_check_vittm_log_domain ();

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_class_table_copies_names_and_palette);
  tcase_add_test (tc, test_class_table_lookup_exact_then_loose);
  tcase_add_test (tc, test_class_table_defaults_without_names_or_palette);
  tcase_add_test (tc, test_class_table_rejects_bad_sizes);
  tcase_add_test (tc, test_meta_add_and_get_fields);
  tcase_add_test (tc, test_accessors_return_the_meta_and_table_contents);
  tcase_add_test (tc, test_meta_defaults_mark_timings_unknown);
  tcase_add_test (tc, test_meta_honours_stride);
  tcase_add_test (tc, test_meta_rejects_a_map_too_small);
  tcase_add_test (tc, test_meta_copy_shares_the_map);
  tcase_add_test (tc, test_meta_api_tags);
  tcase_add_test (tc, test_meta_kept_as_is_through_scaling_and_conversion);
  return s;
}

GST_CHECK_MAIN (vittmsegmeta);

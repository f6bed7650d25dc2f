/* vittm — vittmmask tests (GstHarness, pipelines)
 *
 * SPDX-License-Identifier: MIT
 *
 * Masks are compared with the class map of the meta they come from; the
 * nearest-neighbour index is computed here in floating point, independently
 * of the element. The tests through vittmsegment use the small random model
 * whose path comes in VITTM_SEGMENT_TEST_MODEL (written at test time by
 * tools/reference/make_golden.py); without it they fail, saying so.
 */

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <string.h>

#include "gstvittmsegmeta.h"
#include "plugin_test_util.h"

#define MODEL_ENV "VITTM_SEGMENT_TEST_MODEL"
#define N_CLASSES 5
#define UNLABELED 255

static guint8
pattern (guint x, guint y)
{
  return (guint8) ((x / 3 + 2 * (y / 2)) % N_CLASSES);
}

/* Every id a byte can hold, so that those >= N_CLASSES show up too. */
static guint8
every_byte (guint x, guint y)
{
  return (guint8) (x + 16 * y);
}

static GstHarness *
mask_harness (const gchar *props, const gchar *format, guint w, guint h)
{
  gchar *desc = g_strdup_printf ("vittmmask %s", props ? props : "");
  GstHarness *h_ = gst_harness_new_parse (desc);
  gchar *caps = g_strdup_printf ("video/x-raw,format=%s,width=%u,height=%u,"
                                 "framerate=30/1",
      format, w, h);

  gst_harness_set_src_caps_str (h_, caps);
  g_free (caps);
  g_free (desc);
  return h_;
}

static GstBuffer *
frame_with_map (const gchar *format, guint fw, guint fh, const guint8 *ids,
    guint mw, guint mh, GstVittmClassTable *table)
{
  GstVideoInfo info;
  GstBuffer *buf;

  gst_video_info_set_format (
      &info, gst_video_format_from_string (format), fw, fh);
  buf = ptu_frame_new (&info, fw + fh);
  if (ids)
    fail_unless (ptu_attach_map (buf, ids, mw, mh, table) != NULL);
  GST_BUFFER_PTS (buf) = 3 * GST_SECOND;
  GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
  return buf;
}

/* Checks that @out is a GRAY8 @w × @h frame whose pixel (x, y) is
 * lut[map pixel under the centre of (x, y)], lut mapping ids >= n_classes to
 * UNLABELED. */
static void
check_mask (GstBuffer *out, GstCaps *caps, guint w, guint h, const guint8 *map,
    guint mw, guint mh, guint map_stride, guint n_classes)
{
  GstVideoInfo info;
  GstVideoFrame frame;

  fail_unless (gst_video_info_from_caps (&info, caps));
  fail_unless_equals_string (GST_VIDEO_INFO_NAME (&info), "GRAY8");
  fail_unless_equals_int (GST_VIDEO_INFO_WIDTH (&info), w);
  fail_unless_equals_int (GST_VIDEO_INFO_HEIGHT (&info), h);
  fail_unless (gst_video_frame_map (&frame, &info, out, GST_MAP_READ));
  for (guint y = 0; y < h; y++) {
    const guint8 *row =
        (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0) +
        (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);
    guint my = (guint) ((y + 0.5) * mh / h);

    for (guint x = 0; x < w; x++) {
      guint mx = (guint) ((x + 0.5) * mw / w);
      guint8 id = map[(gsize) my * map_stride + mx];
      guint8 want = id < n_classes ? id : UNLABELED;

      if (row[x] != want)
        fail ("mask (%u, %u) = %u, map (%u, %u) = %u: want %u", x, y, row[x],
            mx, my, id, want);
    }
  }
  gst_video_frame_unmap (&frame);
}

static GstCaps *
harness_src_caps (GstHarness *h)
{
  GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);

  fail_unless (caps != NULL, "vittmmask negotiated no output caps");
  return caps;
}

/* ------------------------------------------------------------------------ */
/* without a model                                                          */

GST_START_TEST (test_mask_equals_the_class_map_at_the_frame_size)
{
  /* 61 wide: the mask's GRAY8 rows are padded to 64 bytes, the map's are
   * 61 bytes apart. */
  const gchar *formats[] = {"RGB", "NV12", "I420", "BGRx"};
  GstVittmClassTable *table = ptu_class_table_new (N_CLASSES);
  guint8 *ids = ptu_map_new (61, 37, pattern);

  for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
    GstHarness *h = mask_harness (NULL, formats[f], 61, 37);
    GstBuffer *out;
    GstCaps *caps;

    out = gst_harness_push_and_pull (
        h, frame_with_map (formats[f], 61, 37, ids, 61, 37, table));
    fail_unless (out != NULL);
    caps = harness_src_caps (h);
    check_mask (out, caps, 61, 37, ids, 61, 37, 61, N_CLASSES);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (out), 3 * GST_SECOND);
    fail_unless_equals_uint64 (GST_BUFFER_DURATION (out), GST_SECOND / 30);
    /* the meta passes on with the mask */
    fail_unless (gst_buffer_get_vittm_seg_meta (out) != NULL);
    gst_caps_unref (caps);
    gst_buffer_unref (out);
    gst_harness_teardown (h);
  }
  gst_vittm_class_table_unref (table);
  g_free (ids);
}

GST_END_TEST;

GST_START_TEST (test_mask_ids_outside_the_table_are_unlabeled)
{
  GstVittmClassTable *table = ptu_class_table_new (N_CLASSES);
  guint8 *ids = ptu_map_new (16, 16, every_byte);
  GstHarness *h = mask_harness (NULL, "RGBA", 16, 16);
  GstBuffer *out;
  GstCaps *caps;

  out = gst_harness_push_and_pull (
      h, frame_with_map ("RGBA", 16, 16, ids, 16, 16, table));
  caps = harness_src_caps (h);
  check_mask (out, caps, 16, 16, ids, 16, 16, 16, N_CLASSES);
  gst_caps_unref (caps);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  gst_vittm_class_table_unref (table);
  g_free (ids);
}

GST_END_TEST;

GST_START_TEST (test_mask_size_properties_scale_the_map_nearest)
{
  static const guint sizes[][4] = {
      /* mask w, h; map w, h */
      {20, 10, 61, 37}, /* smaller */
      {97, 50, 13, 7},  /* larger, neither a multiple */
      {64, 64, 64, 64}, /* the model's size, as it is */
  };
  GstVittmClassTable *table = ptu_class_table_new (N_CLASSES);

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    guint w = sizes[i][0], h_ = sizes[i][1];
    guint mw = sizes[i][2], mh = sizes[i][3];
    guint8 *ids = ptu_map_new (mw, mh, pattern);
    gchar *props = g_strdup_printf ("width=%u height=%u", w, h_);
    /* the frame's size plays no part */
    GstHarness *h = mask_harness (props, "I420", 160, 90);
    GstBuffer *out;
    GstCaps *caps;

    out = gst_harness_push_and_pull (
        h, frame_with_map ("I420", 160, 90, ids, mw, mh, table));
    caps = harness_src_caps (h);
    check_mask (out, caps, w, h_, ids, mw, mh, mw, N_CLASSES);
    gst_caps_unref (caps);
    gst_buffer_unref (out);
    gst_harness_teardown (h);
    g_free (props);
    g_free (ids);
  }
  gst_vittm_class_table_unref (table);
}

GST_END_TEST;

GST_START_TEST (test_mask_caps_follow_the_frame_and_the_properties)
{
  GstElement *mask = gst_element_factory_make ("vittmmask", NULL);
  GstPad *src;
  GstCaps *in =
      gst_caps_from_string ("video/x-raw,format=NV12,width=320,"
                            "height=240,framerate=25/1,pixel-aspect-ratio=1/1");
  GstCaps *want =
      gst_caps_from_string ("video/x-raw,format=GRAY8,width=320,"
                            "height=240,framerate=25/1,pixel-aspect-ratio=1/1");
  GstCaps *gray8 = gst_caps_from_string (GST_VIDEO_CAPS_MAKE ("GRAY8"));
  GstCaps *got;

  fail_unless (mask != NULL, "vittmmask is not registered");
  src = gst_element_get_static_pad (mask, "src");
  /* unlinked: GRAY8 of any size */
  got = gst_pad_query_caps (src, NULL);
  fail_unless (gst_caps_is_equal (got, gray8), "got %" GST_PTR_FORMAT, got);
  gst_caps_unref (got);
  gst_caps_unref (gray8);

  /* sink → src: the frame's size and rate, GRAY8 */
  {
    GstBaseTransformClass *klass = GST_BASE_TRANSFORM_GET_CLASS (mask);

    got = klass->transform_caps (
        GST_BASE_TRANSFORM (mask), GST_PAD_SINK, in, NULL);
    fail_unless (gst_caps_is_equal (got, want), "got %" GST_PTR_FORMAT, got);
    gst_caps_unref (got);

    /* fixed mask size: the frame's size is free upstream */
    g_object_set (mask, "width", 64, "height", 48, NULL);
    got = klass->transform_caps (
        GST_BASE_TRANSFORM (mask), GST_PAD_SINK, in, NULL);
    gst_caps_unref (want);
    want = gst_caps_from_string ("video/x-raw,format=GRAY8,width=64,"
                                 "height=48,framerate=25/1");
    fail_unless (gst_caps_is_equal (got, want), "got %" GST_PTR_FORMAT, got);
    gst_caps_unref (got);
    got = klass->transform_caps (
        GST_BASE_TRANSFORM (mask), GST_PAD_SRC, want, NULL);
    gst_caps_unref (want);
    want = gst_caps_from_string ("video/x-raw,width=[1,2147483647],"
                                 "height=[1,2147483647],framerate=25/1");
    fail_unless (gst_caps_is_equal (got, want), "got %" GST_PTR_FORMAT, got);
    gst_caps_unref (got);
  }
  {
    GstBaseTransformClass *klass = GST_BASE_TRANSFORM_GET_CLASS (mask);
    GstCaps *any = gst_caps_new_any ();
    GstCaps *gray8 = gst_caps_from_string (GST_VIDEO_CAPS_MAKE ("GRAY8"));

    /* nothing known upstream: any GRAY8 */
    got = klass->transform_caps (
        GST_BASE_TRANSFORM (mask), GST_PAD_SINK, any, NULL);
    fail_unless (gst_caps_is_equal (got, gray8), "got %" GST_PTR_FORMAT, got);
    gst_caps_unref (got);
    gst_caps_unref (gray8);
    gst_caps_unref (any);
  }
  gst_caps_unref (want);
  gst_caps_unref (in);
  gst_object_unref (src);
  gst_object_unref (mask);
}

GST_END_TEST;

/* The class map passes on; metas about the picture do not; no QoS drops. */
GST_START_TEST (test_mask_keeps_the_class_map_meta_only_and_no_qos)
{
  GstVittmClassTable *table = ptu_class_table_new (N_CLASSES);
  guint8 *ids = ptu_map_new (16, 8, pattern);
  GstHarness *h = mask_harness ("width=8 height=4", "RGB", 16, 8);
  GstBuffer *in = frame_with_map ("RGB", 16, 8, ids, 16, 8, table);
  GstBuffer *out;
  gboolean qos = TRUE;
  GstElement *mask = gst_harness_find_element (h, "vittmmask");

  g_object_get (mask, "qos", &qos, NULL);
  gst_object_unref (mask);
  fail_if (qos, "vittmmask has QoS on by default");
  gst_buffer_add_video_region_of_interest_meta (in, "car", 1, 1, 4, 4);
  out = gst_harness_push_and_pull (h, in);
  fail_unless (gst_buffer_get_vittm_seg_meta (out) != NULL);
  fail_unless (gst_buffer_get_meta (
                   out, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE) == NULL,
      "a region of interest of the frame reached the mask");
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  gst_vittm_class_table_unref (table);
  g_free (ids);
}

GST_END_TEST;

GST_START_TEST (test_mask_without_meta_is_unlabeled_and_warns_once)
{
  GstHarness *h = mask_harness (NULL, "RGB", 33, 9);
  GstBus *bus = gst_bus_new ();
  guint8 none[1] = {0};
  GstMessage *msg;
  guint warnings = 0;

  gst_element_set_bus (h->element, bus);
  for (guint i = 0; i < 3; i++) {
    GstBuffer *out = gst_harness_push_and_pull (
        h, frame_with_map ("RGB", 33, 9, NULL, 0, 0, NULL));
    GstCaps *caps = harness_src_caps (h);

    /* a 1 × 1 map of UNLABELED-only ids: every pixel must be 255 */
    none[0] = UNLABELED;
    check_mask (out, caps, 33, 9, none, 1, 1, 1, 0);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (out), 3 * GST_SECOND);
    gst_caps_unref (caps);
    gst_buffer_unref (out);
  }
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING))) {
    GError *err = NULL;

    gst_message_parse_warning (msg, &err, NULL);
    fail_unless (strstr (err->message, "without a class map") != NULL,
        "warning: %s", err->message);
    g_error_free (err);
    gst_message_unref (msg);
    warnings++;
  }
  fail_unless_equals_int (warnings, 1);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* through vittmsegment                                                     */

static const gchar *
model_path (void)
{
  const gchar *path = g_getenv (MODEL_ENV);

  fail_unless (path && g_file_test (path, G_FILE_TEST_IS_REGULAR),
      MODEL_ENV " does not name a model file: run through meson test, which "
                "writes it with tools/reference/make_golden.py");
  return path;
}

/* Pushes @n frames through "vittmsegment @seg_props ! vittmmask @props" and
 * checks each mask against the meta the segmenter attached. */
static void
check_segment_masks (const gchar *seg_props, const gchar *props, guint fw,
    guint fh, guint mask_w, guint mask_h, guint n)
{
  gchar *desc = g_strdup_printf ("vittmsegment model=\"%s\" %s ! "
                                 "vittmmask %s",
      model_path (), seg_props, props);
  GstHarness *h = gst_harness_new_parse (desc);
  GstVideoInfo info;

  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, fw, fh);
  gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
  for (guint i = 0; i < n; i++) {
    GstBuffer *out = gst_harness_push_and_pull (h, ptu_frame_new (&info, i));
    GstVittmSegMeta *meta;
    GstCaps *caps;

    fail_unless (out != NULL);
    meta = gst_buffer_get_vittm_seg_meta (out);
    fail_unless (meta != NULL, "the meta did not pass vittmmask");
    caps = harness_src_caps (h);
    check_mask (out, caps, mask_w, mask_h, meta->class_ids, meta->width,
        meta->height, meta->stride, meta->classes->n_classes);
    gst_caps_unref (caps);
    gst_buffer_unref (out);
  }
  gst_harness_teardown (h);
  g_free (desc);
}

GST_START_TEST (test_segment_masks_equal_the_meta_class_map)
{
  check_segment_masks ("", "", 83, 47, 83, 47, 2);
}

GST_END_TEST;

GST_START_TEST (test_segment_masks_at_the_model_size)
{
  /* the test model's input is 64²: mask-size=model with a 64² mask records
   * the map as it is */
  check_segment_masks (
      "mask-size=model", "width=64 height=64", 83, 47, 64, 64, 2);
}

GST_END_TEST;

/* Pulls every sample of appsink @name until EOS, as a list of buffers. */
static GList *
pull_all (GstElement *pipeline, const gchar *name)
{
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), name);
  GList *bufs = NULL;
  GstSample *sample;

  for (;;) {
    g_signal_emit_by_name (sink, "pull-sample", &sample);
    if (!sample)
      break;
    bufs =
        g_list_append (bufs, gst_buffer_ref (gst_sample_get_buffer (sample)));
    gst_sample_unref (sample);
  }
  gst_object_unref (sink);
  return bufs;
}

static GstElement *
run_pipeline (const gchar *desc)
{
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &error);

  fail_unless (pipeline != NULL,
      "%s: %s (gstreamer1.0-libav and "
      "gstreamer1.0-plugins-good installed? tools/setup-debian.sh)",
      desc, error ? error->message : "?");
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  return pipeline;
}

static void
wait_eos (GstElement *pipeline)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus,
      ptu_time_bound (60 * GST_SECOND), GST_MESSAGE_EOS | GST_MESSAGE_ERROR);

  fail_unless (msg != NULL, "no EOS within 60 s");
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;
    gchar *debug = NULL;

    gst_message_parse_error (msg, &err, &debug);
    fail ("pipeline error: %s (%s)", err->message, debug);
  }
  gst_message_unref (msg);
  gst_object_unref (bus);
  gst_element_set_state (pipeline, GST_STATE_NULL);
}

static void
check_same_masks (GList *a, GList *b, guint w, guint h)
{
  fail_unless_equals_int (g_list_length (a), g_list_length (b));
  for (; a && b; a = a->next, b = b->next) {
    GstVideoInfo info;
    GstVideoFrame fa, fb;

    gst_video_info_set_format (&info, GST_VIDEO_FORMAT_GRAY8, w, h);
    fail_unless (gst_video_frame_map (&fa, &info, a->data, GST_MAP_READ));
    fail_unless (gst_video_frame_map (&fb, &info, b->data, GST_MAP_READ));
    for (guint y = 0; y < h; y++)
      fail_unless (memcmp ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&fa, 0) +
                           y * GST_VIDEO_FRAME_PLANE_STRIDE (&fa, 0),
                       (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&fb, 0) +
                           y * GST_VIDEO_FRAME_PLANE_STRIDE (&fb, 0),
                       w) == 0,
          "decoded mask row %u differs from the recorded one", y);
    gst_video_frame_unmap (&fa);
    gst_video_frame_unmap (&fb);
  }
}

/* The README's recording: FFV1 in Matroska gives back the very masks. */
GST_START_TEST (test_masks_recorded_with_ffv1_decode_unchanged)
{
  gchar *dir = g_dir_make_tmp ("vittmmask-XXXXXX", NULL);
  gchar *file = g_build_filename (dir, "masks.mkv", NULL);
  gchar *desc;
  GstElement *pipeline;
  GList *direct, *decoded;

  desc = g_strdup_printf (
      "videotestsrc num-buffers=3 pattern=ball ! "
      "video/x-raw,width=83,height=47 ! vittmsegment model=\"%s\" ! "
      "vittmmask ! tee name=t t. ! queue ! appsink name=direct sync=false "
      "t. ! queue ! avenc_ffv1 ! matroskamux ! filesink location=\"%s\"",
      model_path (), file);
  pipeline = run_pipeline (desc);
  direct = pull_all (pipeline, "direct");
  wait_eos (pipeline);
  gst_object_unref (pipeline);
  g_free (desc);

  desc = g_strdup_printf (
      "filesrc location=\"%s\" ! matroskademux ! "
      "avdec_ffv1 ! video/x-raw,format=GRAY8 ! appsink name=decoded "
      "sync=false",
      file);
  pipeline = run_pipeline (desc);
  decoded = pull_all (pipeline, "decoded");
  wait_eos (pipeline);
  gst_object_unref (pipeline);
  g_free (desc);

  fail_unless_equals_int (g_list_length (direct), 3);
  check_same_masks (direct, decoded, 83, 47);

  g_list_free_full (direct, (GDestroyNotify) gst_buffer_unref);
  g_list_free_full (decoded, (GDestroyNotify) gst_buffer_unref);
  g_unlink (file);
  g_rmdir (dir);
  g_free (file);
  g_free (dir);
}

GST_END_TEST;

static Suite *
vittmmask_suite (void)
{
  Suite *s = suite_create ("vittmmask");
  TCase *tc = tcase_create ("general");

  ptu_check_vittm_log_domain ();

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_mask_equals_the_class_map_at_the_frame_size);
  tcase_add_test (tc, test_mask_ids_outside_the_table_are_unlabeled);
  tcase_add_test (tc, test_mask_size_properties_scale_the_map_nearest);
  tcase_add_test (tc, test_mask_caps_follow_the_frame_and_the_properties);
  tcase_add_test (tc, test_mask_keeps_the_class_map_meta_only_and_no_qos);
  tcase_add_test (tc, test_mask_without_meta_is_unlabeled_and_warns_once);
  tcase_add_test (tc, test_segment_masks_equal_the_meta_class_map);
  tcase_add_test (tc, test_segment_masks_at_the_model_size);
  tcase_add_test (tc, test_masks_recorded_with_ffv1_decode_unchanged);
  return s;
}

GST_CHECK_MAIN (vittmmask);

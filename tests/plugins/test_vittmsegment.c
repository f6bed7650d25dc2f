/* vittm — vittmsegment tests (GstHarness, pipelines, the library directly)
 *
 * SPDX-License-Identifier: MIT
 *
 * The model is a small random-weight segmentation model written at test time
 * by tools/reference/make_golden.py; its path comes in VITTM_SEGMENT_TEST_MODEL.
 * Without it the test fails, saying so. Class maps are checked against
 * vittm_segmenter_run on the same frame through the library's own API.
 */

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <string.h>
#include <vittm/vittm.h>

#include "gstvittmsegmeta.h"
#include "plugin_test_util.h"

#define MODEL_ENV "VITTM_SEGMENT_TEST_MODEL"

static const gchar *model_path;

static const struct
{
  const gchar *gst;
  vittm_pixel_format vittm;
} formats[] = {
    {"RGB", VITTM_FORMAT_RGB},
    {"RGBA", VITTM_FORMAT_RGBA},
    {"BGRA", VITTM_FORMAT_BGRA},
    {"BGRx", VITTM_FORMAT_BGRX},
    {"RGBx", VITTM_FORMAT_RGBX},
    {"NV12", VITTM_FORMAT_NV12},
    {"I420", VITTM_FORMAT_I420},
};

static const guint sizes[][2] = {{64, 48}, {719, 405}};

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */

static GstHarness *
segment_harness (const gchar *props, const gchar *format, guint w, guint h,
    GstVideoInfo *info)
{
  gchar *desc = g_strdup_printf (
      "vittmsegment model=\"%s\" %s", model_path, props ? props : "");
  GstHarness *h_ = gst_harness_new_parse (desc);
  GstCaps *caps = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING,
      format, "width", G_TYPE_INT, (gint) w, "height", G_TYPE_INT, (gint) h,
      "framerate", GST_TYPE_FRACTION, 30, 1, NULL);

  fail_unless (gst_video_info_from_caps (info, caps));
  gst_harness_set_src_caps (h_, caps);
  g_free (desc);
  return h_;
}

/* What the library makes of @buf's frame, on its own segmenter. */
static guint8 *
library_map_with (vittm_pixel_format format, const GstVideoInfo *info,
    GstBuffer *buf, const vittm_segmenter_options *opts, guint *w, guint *h)
{
  vittm_device *dev = NULL;
  vittm_model *model = NULL;
  vittm_segmenter *seg = NULL;
  vittm_error err = {0};
  vittm_frame frame = {0};
  vittm_class_map cm = {0};
  GstVideoFrame vframe;
  guint8 *out;

  fail_unless (
      vittm_device_open (NULL, &dev, &err) == VITTM_OK, "%s", err.message);
  fail_unless (
      vittm_model_load (dev, model_path, NULL, &model, &err) == VITTM_OK, "%s",
      err.message);
  fail_unless (
      vittm_segmenter_create (model, format, GST_VIDEO_INFO_WIDTH (info),
          GST_VIDEO_INFO_HEIGHT (info), opts, &seg, &err) == VITTM_OK,
      "%s", err.message);

  fail_unless (gst_video_frame_map (&vframe, info, buf, GST_MAP_READ));
  frame.format = format;
  frame.width = GST_VIDEO_FRAME_WIDTH (&vframe);
  frame.height = GST_VIDEO_FRAME_HEIGHT (&vframe);
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES (&vframe); p++) {
    frame.planes[p] = GST_VIDEO_FRAME_PLANE_DATA (&vframe, p);
    frame.strides[p] = GST_VIDEO_FRAME_PLANE_STRIDE (&vframe, p);
  }
  fail_unless (vittm_segmenter_run (seg, &frame, &cm, NULL, &err) == VITTM_OK,
      "%s", err.message);
  gst_video_frame_unmap (&vframe);

  *w = cm.width;
  *h = cm.height;
  out = g_malloc ((gsize) cm.width * cm.height);
  for (guint y = 0; y < cm.height; y++)
    memcpy (
        out + (gsize) y * cm.width, cm.data + (gsize) y * cm.stride, cm.width);

  vittm_segmenter_free (seg);
  vittm_model_free (model);
  vittm_device_free (dev);
  return out;
}

static guint8 *
library_map (vittm_pixel_format format, const GstVideoInfo *info,
    GstBuffer *buf, gboolean at_model_size, guint *w, guint *h)
{
  vittm_segmenter_options opts = {.mask_at_model_size = at_model_size};

  return library_map_with (format, info, buf, &opts, w, h);
}

static void
assert_meta_map_equals (
    const GstVittmSegMeta *meta, const guint8 *ids, guint w, guint h)
{
  fail_unless_equals_int (meta->width, w);
  fail_unless_equals_int (meta->height, h);
  for (guint y = 0; y < h; y++) {
    const guint8 *row = meta->class_ids + (gsize) y * meta->stride;

    for (guint x = 0; x < w; x++)
      fail_unless (row[x] == ids[(gsize) y * w + x],
          "class at (%u, %u): element %u, library %u", x, y, row[x],
          ids[(gsize) y * w + x]);
  }
}

static void
assert_buffers_equal (GstBuffer *a, GstBuffer *b)
{
  GstMapInfo ma, mb;

  fail_unless (gst_buffer_map (a, &ma, GST_MAP_READ));
  fail_unless (gst_buffer_map (b, &mb, GST_MAP_READ));
  fail_unless_equals_uint64 (ma.size, mb.size);
  fail_unless (
      memcmp (ma.data, mb.data, ma.size) == 0, "the video bytes changed");
  gst_buffer_unmap (a, &ma);
  gst_buffer_unmap (b, &mb);
}

static void
model_input_size (guint *w, guint *h)
{
  vittm_device *dev = NULL;
  vittm_model *model = NULL;
  vittm_error err = {0};
  uint32_t mh, mw;

  fail_unless (
      vittm_device_open (NULL, &dev, &err) == VITTM_OK, "%s", err.message);
  fail_unless (
      vittm_model_load (dev, model_path, NULL, &model, &err) == VITTM_OK, "%s",
      err.message);
  vittm_model_input_size (model, &mw, &mh);
  *w = mw;
  *h = mh;
  vittm_model_free (model);
  vittm_device_free (dev);
}

/* Runs @launch to its end and returns its first error (or NULL at EOS). */
static GError *
pipeline_error (const gchar *launch, gchar **debug)
{
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (launch, &error);
  GstMessage *msg;
  GstBus *bus;

  fail_unless (pipeline != NULL && error == NULL, "%s: %s", launch,
      error ? error->message : "");
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, ptu_time_bound (60 * GST_SECOND),
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no EOS or error from %s", launch);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    gst_message_parse_error (msg, &error, debug);
  gst_message_unref (msg);
  fail_unless (gst_element_set_state (pipeline, GST_STATE_NULL) ==
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  return error;
}

#define assert_contains(haystack, needle)                                      \
  fail_unless (strstr ((haystack), (needle)) != NULL, "'%s' not in '%s'",      \
      (needle), (haystack))
#define assert_lacks(haystack, needle)                                         \
  fail_unless (strstr ((haystack), (needle)) == NULL, "'%s' in '%s'",          \
      (needle), (haystack))

/* ------------------------------------------------------------------------ */
/* frames                                                                   */

GST_START_TEST (test_every_format_and_size_gets_the_library_map_unchanged_video)
{
  guint fi = __i__ / G_N_ELEMENTS (sizes);
  guint si = __i__ % G_N_ELEMENTS (sizes);
  guint w = sizes[si][0], h = sizes[si][1], mw, mh;
  GstVideoInfo info;
  GstHarness *hs = segment_harness (NULL, formats[fi].gst, w, h, &info);
  GstBuffer *in = ptu_frame_new (&info, 7 + __i__);
  GstBuffer *ref = gst_buffer_copy_deep (in);
  GstBuffer *out;
  GstVittmSegMeta *meta;
  guint8 *ids;

  out = gst_harness_push_and_pull (hs, gst_buffer_ref (in));
  fail_unless (out != NULL);
  meta = gst_buffer_get_vittm_seg_meta (out);
  fail_unless (meta != NULL, "%s %ux%u: no meta", formats[fi].gst, w, h);
  fail_unless_equals_int (meta->width, w);
  fail_unless_equals_int (meta->height, h);
  fail_unless (meta->stride >= meta->width);
  fail_if (meta->reused);
  fail_unless_equals_uint64 (meta->frame_index, 0);
  fail_unless (GST_CLOCK_TIME_IS_VALID (meta->wall_time));
  fail_unless (meta->classes != NULL && meta->classes->n_classes > 0);
  assert_buffers_equal (out, ref);

  ids = library_map (formats[fi].vittm, &info, ref, FALSE, &mw, &mh);
  assert_meta_map_equals (meta, ids, mw, mh);

  g_free (ids);
  gst_buffer_unref (out);
  gst_buffer_unref (ref);
  gst_buffer_unref (in);
  gst_harness_teardown (hs);
}

GST_END_TEST;

/* Full-range BT.709 NV12 is read as such, not as the BT.601 limited default. */
GST_START_TEST (test_yuv_colorimetry_follows_the_caps)
{
  gchar *desc = g_strdup_printf ("vittmsegment model=\"%s\"", model_path);
  GstHarness *hs = gst_harness_new_parse (desc);
  GstCaps *caps = gst_caps_from_string (
      "video/x-raw,format=NV12,width=64,"
      "height=48,framerate=30/1,colorimetry=(string)1:3:5:1");
  vittm_segmenter_options bt709_full = {
      .yuv_matrix = VITTM_YUV_BT709, .yuv_range = VITTM_YUV_FULL};
  GstVideoInfo info;
  GstBuffer *in, *out;
  GstVittmSegMeta *meta;
  guint8 *ids, *default_ids;
  guint w, h, differ = 0;

  fail_unless (gst_video_info_from_caps (&info, caps));
  fail_unless_equals_int (
      GST_VIDEO_INFO_COLORIMETRY (&info).range, GST_VIDEO_COLOR_RANGE_0_255);
  gst_harness_set_src_caps (hs, caps);
  in = ptu_frame_new (&info, 11);
  out = gst_harness_push_and_pull (hs, gst_buffer_ref (in));
  meta = gst_buffer_get_vittm_seg_meta (out);
  fail_unless (meta != NULL);
  ids = library_map_with (VITTM_FORMAT_NV12, &info, in, &bt709_full, &w, &h);
  assert_meta_map_equals (meta, ids, w, h);
  default_ids = library_map (VITTM_FORMAT_NV12, &info, in, FALSE, &w, &h);
  for (gsize i = 0; i < (gsize) w * h; i++)
    differ += ids[i] != default_ids[i];
  fail_unless (differ > 0, "the colorimetry changed no class: a weak test");

  g_free (ids);
  g_free (default_ids);
  g_free (desc);
  gst_buffer_unref (out);
  gst_buffer_unref (in);
  gst_harness_teardown (hs);
}

GST_END_TEST;

GST_START_TEST (test_inference_interval_reuses_the_map_between_inferences)
{
  GstVideoInfo info;
  GstHarness *hs =
      segment_harness ("inference-interval=3", "RGBx", 64, 48, &info);
  GstBuffer *out[4];
  GstVittmSegMeta *m[4];

  for (guint i = 0; i < 4; i++) {
    out[i] = gst_harness_push_and_pull (hs, ptu_frame_new (&info, 100 + i));
    m[i] = gst_buffer_get_vittm_seg_meta (out[i]);
    fail_unless (m[i] != NULL, "frame %u has no meta", i + 1);
  }
  /* frame 1 fresh, 2 and 3 carry its map, frame 4 fresh */
  fail_if (m[0]->reused);
  fail_unless (m[1]->reused && m[2]->reused);
  fail_if (m[3]->reused);
  for (guint i = 1; i < 3; i++) {
    fail_unless (m[i]->map == m[0]->map, "frame %u: another map", i + 1);
    fail_unless_equals_uint64 (m[i]->frame_index, 0);
    fail_unless_equals_uint64 (m[i]->wall_time, m[0]->wall_time);
  }
  fail_unless_equals_uint64 (m[0]->frame_index, 0);
  fail_unless_equals_uint64 (m[3]->frame_index, 3);
  fail_unless (m[3]->map != m[0]->map);

  for (guint i = 0; i < 4; i++)
    gst_buffer_unref (out[i]);
  gst_harness_teardown (hs);
}

GST_END_TEST;

GST_START_TEST (test_mask_size_model_gives_the_model_input_size)
{
  GstVideoInfo info;
  GstHarness *hs = segment_harness ("mask-size=model", "I420", 719, 405, &info);
  GstBuffer *in = ptu_frame_new (&info, 3);
  GstBuffer *out;
  GstVittmSegMeta *meta;
  guint w, h, lw, lh;
  guint8 *ids;

  model_input_size (&w, &h);
  out = gst_harness_push_and_pull (hs, gst_buffer_ref (in));
  meta = gst_buffer_get_vittm_seg_meta (out);
  fail_unless (meta != NULL);
  fail_unless_equals_int (meta->width, w);
  fail_unless_equals_int (meta->height, h);
  ids = library_map (VITTM_FORMAT_I420, &info, in, TRUE, &lw, &lh);
  assert_meta_map_equals (meta, ids, lw, lh);

  g_free (ids);
  gst_buffer_unref (out);
  gst_buffer_unref (in);
  gst_harness_teardown (hs);
}

GST_END_TEST;

/* inference-mode=slide: the map of the library's slide inference (a 16:9
 * frame covered by two crops of the 64² model), which whole inference's
 * squashed frame does not give. */
GST_START_TEST (test_inference_mode_slide_gives_the_librarys_slide_map)
{
  GstVideoInfo info;
  GstHarness *hs =
      segment_harness ("inference-mode=slide", "RGBx", 114, 64, &info);
  GstBuffer *in = ptu_frame_new (&info, 5);
  vittm_segmenter_options slide = {.inference = VITTM_INFERENCE_SLIDE};
  vittm_segmenter_options whole = {.inference = VITTM_INFERENCE_WHOLE};
  GstBuffer *out = gst_harness_push_and_pull (hs, gst_buffer_ref (in));
  GstVittmSegMeta *meta = gst_buffer_get_vittm_seg_meta (out);
  guint w, h;
  guint8 *ids, *squashed;

  fail_unless (meta != NULL);
  ids = library_map_with (VITTM_FORMAT_RGBX, &info, in, &slide, &w, &h);
  assert_meta_map_equals (meta, ids, w, h);
  squashed = library_map_with (VITTM_FORMAT_RGBX, &info, in, &whole, &w, &h);
  fail_if (memcmp (ids, squashed, (gsize) w * h) == 0,
      "slide and whole inference gave the same map");

  g_free (ids);
  g_free (squashed);
  gst_buffer_unref (out);
  gst_buffer_unref (in);
  gst_harness_teardown (hs);
}

GST_END_TEST;

GST_START_TEST (test_latency_query_adds_the_inference_latency)
{
  GstVideoInfo info;
  GstHarness *hs = segment_harness (NULL, "RGB", 64, 48, &info);
  GstElement *seg = gst_harness_find_element (hs, "vittmsegment");
  guint64 ours;

  gst_harness_set_upstream_latency (hs, 10 * GST_MSECOND);
  /* before any frame: the conservative estimate */
  fail_unless (gst_harness_query_latency (hs) > 10 * GST_MSECOND);

  gst_buffer_unref (gst_harness_push_and_pull (hs, ptu_frame_new (&info, 1)));
  g_object_get (seg, "latency", &ours, NULL);
  fail_unless (ours > 0);
  fail_unless_equals_uint64 (
      gst_harness_query_latency (hs), 10 * GST_MSECOND + ours);

  gst_object_unref (seg);
  gst_harness_teardown (hs);
}

GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* errors                                                                   */

GST_START_TEST (test_missing_model_file_names_the_path_and_property)
{
  gchar *debug = NULL;
  GError *err =
      pipeline_error ("videotestsrc num-buffers=1 ! vittmsegment "
                      "model=/nonexistent/missing.safetensors ! fakesink",
          &debug);

  fail_unless (err != NULL);
  fail_unless (
      g_error_matches (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND));
  assert_contains (err->message, "/nonexistent/missing.safetensors");
  assert_contains (err->message, "'model' property");
  g_error_free (err);
  g_free (debug);
}

GST_END_TEST;

/* Writes @len bytes of @data into a new temporary file. */
static gchar *
temp_file (const gchar *name, const gchar *data, gsize len)
{
  gchar *dir = g_dir_make_tmp ("vittmsegment-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, name, NULL);

  fail_unless (g_file_set_contents (path, data, len, NULL));
  g_free (dir);
  return path;
}

static void
remove_temp_file (gchar *path)
{
  gchar *dir = g_path_get_dirname (path);

  g_unlink (path);
  g_rmdir (dir);
  g_free (dir);
  g_free (path);
}

static void
assert_bad_model_error (const gchar *path)
{
  gchar *launch = g_strdup_printf ("videotestsrc num-buffers=1 ! "
                                   "vittmsegment model=\"%s\" ! fakesink",
      path);
  gchar *debug = NULL;
  GError *err = pipeline_error (launch, &debug);

  fail_unless (err != NULL, "%s was accepted", path);
  fail_unless (err->domain == GST_RESOURCE_ERROR, "%s", err->message);
  assert_contains (err->message, path);
  assert_contains (err->message, "'model'");
  assert_contains (err->message, "not a valid vittm model");
  g_error_free (err);
  g_free (debug);
  g_free (launch);
}

GST_START_TEST (test_truncated_model_file_is_refused)
{
  gchar *data;
  gsize len;
  gchar *path;

  fail_unless (g_file_get_contents (model_path, &data, &len, NULL));
  path = temp_file ("truncated.safetensors", data, len / 2);
  assert_bad_model_error (path);
  remove_temp_file (path);
  g_free (data);
}

GST_END_TEST;

GST_START_TEST (test_non_model_file_is_refused)
{
  const gchar text[] = "This is a text file, not a model.\n";
  gchar *path = temp_file ("notes.safetensors", text, sizeof text - 1);

  assert_bad_model_error (path);
  remove_temp_file (path);
}

GST_END_TEST;

/* A copy of the test model with the first @from in its header replaced by
 * @to, and the header length rewritten. The config is JSON inside the
 * header's JSON: its quotes appear as \". */
static gchar *
model_with_header_edit (const gchar *name, const gchar *from, const gchar *to)
{
  gchar *data, *at, *path;
  gsize len;
  guint64 n = 0, m;
  GString *out = g_string_new (NULL);

  fail_unless (g_file_get_contents (model_path, &data, &len, NULL));
  for (gint i = 7; i >= 0; i--)
    n = n << 8 | (guint8) data[i];
  at = g_strstr_len (data + 8, n, from);
  fail_unless (at != NULL, "%s is not in the header of %s", from, model_path);
  m = n - strlen (from) + strlen (to);
  for (gint i = 0; i < 8; i++)
    g_string_append_c (out, (gchar) ((m >> (8 * i)) & 0xff));
  g_string_append_len (out, data + 8, at - (data + 8));
  g_string_append (out, to);
  g_string_append_len (
      out, at + strlen (from), (data + len) - (at + strlen (from)));
  path = temp_file (name, out->str, out->len);
  g_string_free (out, TRUE);
  g_free (data);
  return path;
}

/* Runs one frame through vittmsegment with the model at @path and returns
 * the error, which must be a resource error naming the file and 'model'. */
static GError *
model_error (const gchar *path)
{
  gchar *launch = g_strdup_printf ("videotestsrc num-buffers=1 ! "
                                   "vittmsegment model=\"%s\" ! fakesink",
      path);
  gchar *debug = NULL;
  GError *err = pipeline_error (launch, &debug);

  fail_unless (err != NULL, "%s was accepted", path);
  fail_unless (err->domain == GST_RESOURCE_ERROR, "%s", err->message);
  assert_contains (err->message, path);
  assert_contains (err->message, "'model'");
  g_free (debug);
  g_free (launch);
  return err;
}

/* A model vittm does not run is the model's fault: the hint is about the
 * model, not the precision or the device. */
GST_START_TEST (test_model_of_another_task_asks_for_a_segmentation_model)
{
  gchar *path = model_with_header_edit ("classifier.safetensors",
      "\\\"task\\\":\\\"segmentation\\\"",
      "\\\"task\\\":\\\"classification\\\"");
  GError *err = model_error (path);

  assert_contains (err->message, "is a classification model");
  assert_contains (err->message, "Set 'model' to a vittm segmentation model");
  assert_lacks (err->message, "precision");
  assert_lacks (err->message, "Vulkan driver");
  g_error_free (err);
  remove_temp_file (path);
}

GST_END_TEST;

GST_START_TEST (test_model_of_a_newer_format_says_which_it_reads)
{
  gchar *path = model_with_header_edit ("newer.safetensors",
      "\\\"format_version\\\":1,", "\\\"format_version\\\":7,");
  GError *err = model_error (path);

  assert_contains (err->message,
      "config key format_version is 7, a newer "
      "format than this engine reads (format_version 1)");
  assert_contains (err->message, "newer vittm");
  assert_lacks (err->message, "precision");
  g_error_free (err);
  remove_temp_file (path);
}

GST_END_TEST;

GST_START_TEST (test_malformed_config_says_the_model_is_not_valid)
{
  gchar *path = model_with_header_edit ("banana.safetensors",
      "\\\"format_version\\\":1,", "\\\"format_version\\\":\\\"banana\\\",");
  GError *err = model_error (path);

  assert_contains (err->message, "not a valid vittm model");
  assert_contains (err->message, "config key format_version is \"banana\"");
  assert_lacks (err->message, "precision");
  g_error_free (err);
  remove_temp_file (path);
}

GST_END_TEST;

/* VITTM_DEVICE chooses the device when the property is unset: a value that
 * matches none is named, not blamed on a missing driver. */
GST_START_TEST (test_unmatched_vittm_device_names_the_variable)
{
  gchar *launch = g_strdup_printf ("videotestsrc num-buffers=1 ! "
                                   "vittmsegment model=\"%s\" ! fakesink",
      model_path);
  gchar *saved = g_strdup (g_getenv ("VITTM_DEVICE"));
  gchar *debug = NULL;
  GError *err;

  g_setenv ("VITTM_DEVICE", "no-such-device", TRUE);
  err = pipeline_error (launch, &debug);
  if (saved)
    g_setenv ("VITTM_DEVICE", saved, TRUE);
  else
    g_unsetenv ("VITTM_DEVICE");

  fail_unless (err != NULL, "VITTM_DEVICE=no-such-device was accepted");
  fail_unless (g_error_matches (err, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_INIT),
      "%s", err->message);
  assert_contains (err->message,
      "'no-such-device' (environment variable "
      "VITTM_DEVICE)");
  assert_contains (err->message, "unset it");
  assert_lacks (err->message, "Install a Vulkan driver");
  g_error_free (err);
  g_free (debug);
  g_free (saved);
  g_free (launch);
}

GST_END_TEST;

/* The device is shared per process, so "no device" needs a process of its
 * own: gst-launch-1.0 with the Vulkan loader pointed at no driver, the
 * element given `device_arg` (or nothing). Returns its stdout and stderr. */
static gchar *
launch_without_driver (const gchar *device_arg)
{
  const gchar *launch = g_getenv ("VITTM_GST_LAUNCH");
  gchar *path =
      launch ? g_strdup (launch) : g_find_program_in_path ("gst-launch-1.0");
  gchar *model_arg = g_strdup_printf ("model=%s", model_path);
  gchar **env = g_get_environ ();
  gchar *out = NULL, *err = NULL, *all;
  GError *error = NULL;
  gint status = -1;
  const gchar *args[] = {"videotestsrc", "num-buffers=1", "!", "vittmsegment",
      model_arg, device_arg, "!", "fakesink"};
  GPtrArray *argv = g_ptr_array_new ();
  guint i;

  g_ptr_array_add (argv, path);
  for (i = 0; i < G_N_ELEMENTS (args); i++)
    if (args[i])
      g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  fail_unless (path != NULL, "gst-launch-1.0 not found");
  env = g_environ_setenv (env, "VK_ICD_FILENAMES", "/nonexistent", TRUE);
  env = g_environ_setenv (env, "VK_DRIVER_FILES", "/nonexistent", TRUE);
  env = g_environ_unsetenv (env, "VITTM_DEVICE");

  fail_unless (g_spawn_sync (NULL, (gchar **) argv->pdata, env, G_SPAWN_DEFAULT,
                   NULL, NULL, &out, &err, &status, &error),
      "%s", error ? error->message : "");
  /* exited (no crash), with an error */
  fail_unless (WIFEXITED (status), "gst-launch-1.0 died: %d\n%s", status, err);
  fail_unless (WEXITSTATUS (status) != 0, "no error: %s", out);
  all = g_strconcat (out, err, NULL);

  g_ptr_array_free (argv, TRUE);
  g_free (out);
  g_free (err);
  g_strfreev (env);
  g_free (model_arg);
  g_free (path);
  return all;
}

GST_START_TEST (test_no_vulkan_device_posts_an_error_and_exits)
{
  gchar *all = launch_without_driver (NULL);

  assert_contains (all, "No usable Vulkan device");
  assert_contains (all, "mesa-vulkan-drivers");
  g_free (all);
}

GST_END_TEST;

/* Without a driver, a 'device' that matches nothing is not what is wrong:
 * the hint comes from the error's cause, and it says to install a driver. */
GST_START_TEST (test_no_driver_is_blamed_even_with_a_device_set)
{
  gchar *all = launch_without_driver ("device=no-such-device");

  assert_contains (all, "No usable Vulkan device");
  assert_contains (all, "mesa-vulkan-drivers");
  assert_lacks (all, "property 'device'");
  g_free (all);
}

GST_END_TEST;

GST_START_TEST (test_unsupported_caps_are_not_negotiated)
{
  gchar *desc = g_strdup_printf ("vittmsegment model=\"%s\"", model_path);
  GstHarness *hs;
  GstVideoInfo info;
  GstElement *pipeline;
  GError *err = NULL;
  gchar *launch;

  /* pushed by hand: refused */
  hs = gst_harness_new_parse (desc);
  g_free (desc);
  gst_harness_set_src_caps_str (hs,
      "video/x-raw,format=GRAY8,width=64,"
      "height=48,framerate=30/1");
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_GRAY8, 64, 48);
  fail_unless_equals_int (
      gst_harness_push (hs, ptu_frame_new (&info, 1)), GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown (hs);

  /* in a launch line: the capsfilter cannot be linked to it */
  launch = g_strdup_printf (
      "videotestsrc num-buffers=1 ! "
      "video/x-raw,format=GRAY8 ! vittmsegment name=seg model=\"%s\" ! "
      "fakesink",
      model_path);
  pipeline = gst_parse_launch (launch, &err);
  fail_unless (err != NULL, "GRAY8 was linked to vittmsegment");
  fail_unless (g_error_matches (err, GST_PARSE_ERROR, GST_PARSE_ERROR_LINK),
      "%s", err->message);
  assert_contains (err->message, "seg");
  g_error_free (err);
  gst_clear_object (&pipeline);
  g_free (launch);
}

GST_END_TEST;

static Suite *
vittmsegment_suite (void)
{
  Suite *s = suite_create ("vittmsegment");
  TCase *tc = tcase_create ("general");

  ptu_check_vittm_log_domain ();

  tcase_set_timeout (tc, 300);
  suite_add_tcase (s, tc);
  tcase_add_loop_test (tc,
      test_every_format_and_size_gets_the_library_map_unchanged_video, 0,
      G_N_ELEMENTS (formats) * G_N_ELEMENTS (sizes));
  tcase_add_test (tc, test_yuv_colorimetry_follows_the_caps);
  tcase_add_test (
      tc, test_inference_interval_reuses_the_map_between_inferences);
  tcase_add_test (tc, test_mask_size_model_gives_the_model_input_size);
  tcase_add_test (tc, test_inference_mode_slide_gives_the_librarys_slide_map);
  tcase_add_test (tc, test_latency_query_adds_the_inference_latency);
  tcase_add_test (tc, test_missing_model_file_names_the_path_and_property);
  tcase_add_test (tc, test_truncated_model_file_is_refused);
  tcase_add_test (tc, test_non_model_file_is_refused);
  tcase_add_test (tc, test_model_of_another_task_asks_for_a_segmentation_model);
  tcase_add_test (tc, test_model_of_a_newer_format_says_which_it_reads);
  tcase_add_test (tc, test_malformed_config_says_the_model_is_not_valid);
  tcase_add_test (tc, test_unmatched_vittm_device_names_the_variable);
  tcase_add_test (tc, test_no_vulkan_device_posts_an_error_and_exits);
  tcase_add_test (tc, test_no_driver_is_blamed_even_with_a_device_set);
  tcase_add_test (tc, test_unsupported_caps_are_not_negotiated);
  return s;
}

int
main (int argc, char **argv)
{
  model_path = g_getenv (MODEL_ENV);
  if (!model_path || !g_file_test (model_path, G_FILE_TEST_IS_REGULAR)) {
    g_printerr ("no segmentation model: set " MODEL_ENV " to one made by "
                "tools/reference/make_golden.py --task segmentation (meson "
                "test does)\n");
    return 1;
  }
  gst_check_init (&argc, &argv);
  return gst_check_run_suite (vittmsegment_suite (), "vittmsegment", __FILE__);
}

/* vittm — vittmfpsmeter tests (GstHarness with a test clock)
 *
 * SPDX-License-Identifier: MIT
 *
 * Arrival times are set on a GstTestClock, so frame rates are exact; the
 * latency percentiles are those of numpy's default (linear interpolation).
 */

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include <string.h>

#include "gstvittmsegmeta.h"
#include "plugin_test_util.h"

#define EPS 1e-6
#define NO_META GST_CLOCK_TIME_NONE

static GstVittmClassTable *table;

static void
setup (void)
{
  table = ptu_class_table_new (3);
}

static void
teardown (void)
{
  gst_vittm_class_table_unref (table);
}

/* A meter with @report set before it starts, a test clock and a bus. */
static GstHarness *
meter_new (guint window, guint interval, const gchar *report, GstBus **bus)
{
  GstElement *meter = gst_element_factory_make ("vittmfpsmeter", NULL);
  GstHarness *h;

  fail_unless (meter != NULL);
  g_object_set (meter, "window", window, "interval", interval, "silent", TRUE,
      "label", "test-label", "report", report, NULL);
  h = gst_harness_new_with_element (meter, "sink", "src");
  gst_object_unref (meter);
  gst_harness_use_testclock (h);
  *bus = gst_bus_new ();
  gst_element_set_bus (h->element, *bus);
  gst_harness_set_src_caps_str (h, "application/x-anything");
  return h;
}

static void
meter_free (GstHarness *h, GstBus *bus)
{
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

/* Pushes one buffer arriving at @at; with @wall not NO_META it carries a
 * meta with those timings. Checks that the same buffer comes out. */
static void
push_frame (GstHarness *h, GstClockTime at, GstClockTime wall, GstClockTime gpu,
    gboolean reused)
{
  GstBuffer *buf = gst_harness_create_buffer (h, 16), *out;
  const guint8 id = 0;

  if (wall != NO_META) {
    GstVittmSegMeta *meta = ptu_attach_map (buf, &id, 1, 1, table);

    meta->wall_time = wall;
    meta->gpu_time = gpu;
    meta->reused = reused;
  }
  fail_unless (gst_harness_set_time (h, at));
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  out = gst_harness_pull (h);
  fail_unless (out == buf, "vittmfpsmeter must pass buffers through");
  gst_buffer_unref (out);
}

static void
push_eos (GstHarness *h)
{
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
}

/* Pops the vittm-fps messages on @bus, oldest first. */
static GList *
pop_fps_messages (GstBus *bus)
{
  GList *list = NULL;
  GstMessage *msg;

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    if (gst_message_has_name (msg, "vittm-fps"))
      list = g_list_append (list, msg);
    else
      gst_message_unref (msg);
  }
  return list;
}

static gdouble
get_double (const GstStructure *s, const gchar *field)
{
  gdouble v = 0;

  fail_unless (gst_structure_get_double (s, field, &v),
      "no double %s in %" GST_PTR_FORMAT, field, s);
  return v;
}

static guint64
get_uint64 (const GstStructure *s, const gchar *field)
{
  guint64 v = 0;

  fail_unless (gst_structure_get_uint64 (s, field, &v),
      "no guint64 %s in %" GST_PTR_FORMAT, field, s);
  return v;
}

#define assert_double(s, field, want)                                          \
  G_STMT_START                                                                 \
  {                                                                            \
    gdouble got_ = get_double ((s), (field));                                  \
    fail_unless (ABS (got_ - (want)) < EPS, "%s: got %.9f, want %.9f",         \
        (field), got_, (gdouble) (want));                                      \
  }                                                                            \
  G_STMT_END

GST_START_TEST (test_fpsmeter_posts_messages_with_all_fields)
{
  GstBus *bus;
  GstHarness *h = meter_new (30, 1000, NULL, &bus);
  GList *msgs;
  const GstStructure *s;

  /* 25 fps for 2.4 s: a message when 1 s and 2 s have passed. */
  for (guint i = 0; i < 60; i++)
    push_frame (h, i * 40 * GST_MSECOND, NO_META, 0, FALSE);

  msgs = pop_fps_messages (bus);
  fail_unless_equals_int (g_list_length (msgs), 2);
  fail_unless (GST_MESSAGE_SRC (msgs->data) == GST_OBJECT (h->element));
  s = gst_message_get_structure (msgs->data);
  fail_unless_equals_string (
      gst_structure_get_string (s, "label"), "test-label");
  fail_unless_equals_uint64 (get_uint64 (s, "frames"), 26);
  assert_double (s, "fps", 25.0);
  assert_double (s, "fps-overall", 25.0);
  /* no meta: latencies unknown */
  assert_double (s, "latency-p50-ms", -1.0);
  assert_double (s, "latency-p95-ms", -1.0);
  assert_double (s, "gpu-p50-ms", -1.0);
  assert_double (s, "gpu-p95-ms", -1.0);
  fail_unless_equals_uint64 (get_uint64 (s, "inferences"), 0);

  s = gst_message_get_structure (msgs->next->data);
  fail_unless_equals_uint64 (get_uint64 (s, "frames"), 51);

  g_list_free_full (msgs, (GDestroyNotify) gst_message_unref);
  meter_free (h, bus);
}

GST_END_TEST;

GST_START_TEST (test_fpsmeter_fps_from_known_arrival_times)
{
  GstBus *bus;
  GstHarness *h = meter_new (10, 100000, NULL, &bus);
  GList *msgs;
  const GstStructure *s;
  GstClockTime t = 0;

  /* 20 frames 10 ms apart, then 10 frames 50 ms apart. */
  for (guint i = 0; i < 20; i++, t += 10 * GST_MSECOND)
    push_frame (h, t, NO_META, 0, FALSE);
  t += 40 * GST_MSECOND;
  for (guint i = 0; i < 10; i++, t += 50 * GST_MSECOND)
    push_frame (h, t, NO_META, 0, FALSE);
  push_eos (h);

  msgs = pop_fps_messages (bus);
  fail_unless_equals_int (g_list_length (msgs), 1); /* the one at EOS */
  s = gst_message_get_structure (msgs->data);
  fail_unless_equals_uint64 (get_uint64 (s, "frames"), 30);
  /* window: the last 10 frames span 9 × 50 ms */
  assert_double (s, "fps", 20.0);
  /* overall: 29 intervals over 19 × 10 + 10 × 50 = 690 ms */
  assert_double (s, "fps-overall", 29.0 / 0.690);

  g_list_free_full (msgs, (GDestroyNotify) gst_message_unref);
  meter_free (h, bus);
}

GST_END_TEST;

GST_START_TEST (test_fpsmeter_latency_percentiles_skip_reused_maps)
{
  GstBus *bus;
  GstHarness *h = meter_new (1000, 100000, NULL, &bus);
  GList *msgs;
  const GstStructure *s;
  guint frame = 0;

  /* 100 inferences of 1..100 ms wall (GPU: twice that) in a shuffled order,
   * each followed by a reused map with an absurd latency that must not
   * count, and a few frames without meta. */
  for (guint i = 0; i < 100; i++) {
    guint ms = (i * 37) % 100 + 1;

    push_frame (h, frame++ * GST_MSECOND, ms * GST_MSECOND,
        2 * ms * GST_MSECOND, FALSE);
    push_frame (
        h, frame++ * GST_MSECOND, 1000 * GST_MSECOND, 1000 * GST_MSECOND, TRUE);
    if (i % 10 == 0)
      push_frame (h, frame++ * GST_MSECOND, NO_META, 0, FALSE);
  }
  push_eos (h);

  msgs = pop_fps_messages (bus);
  fail_unless_equals_int (g_list_length (msgs), 1);
  s = gst_message_get_structure (msgs->data);
  fail_unless_equals_uint64 (get_uint64 (s, "frames"), 210);
  fail_unless_equals_uint64 (get_uint64 (s, "inferences"), 100);
  assert_double (s, "latency-p50-ms", 50.5);
  assert_double (s, "latency-p95-ms", 95.05);
  assert_double (s, "gpu-p50-ms", 101.0);
  assert_double (s, "gpu-p95-ms", 190.1);

  g_list_free_full (msgs, (GDestroyNotify) gst_message_unref);
  meter_free (h, bus);
}

GST_END_TEST;

GST_START_TEST (test_fpsmeter_latency_window_holds_last_inferences)
{
  GstBus *bus;
  GstHarness *h = meter_new (10, 100000, NULL, &bus);
  GList *msgs;
  const GstStructure *s;

  /* 1..20 ms in order, GPU time unknown (0): the window holds 11..20. */
  for (guint i = 0; i < 20; i++)
    push_frame (h, i * GST_MSECOND, (i + 1) * GST_MSECOND, 0, FALSE);
  push_eos (h);

  msgs = pop_fps_messages (bus);
  fail_unless_equals_int (g_list_length (msgs), 1);
  s = gst_message_get_structure (msgs->data);
  assert_double (s, "latency-p50-ms", 15.5);
  assert_double (s, "latency-p95-ms", 19.55);
  assert_double (s, "gpu-p50-ms", -1.0);
  assert_double (s, "gpu-p95-ms", -1.0);

  g_list_free_full (msgs, (GDestroyNotify) gst_message_unref);
  meter_free (h, bus);
}

GST_END_TEST;

GST_START_TEST (test_fpsmeter_interval_zero_posts_nothing)
{
  GstBus *bus;
  GstHarness *h = meter_new (30, 0, NULL, &bus);
  GList *msgs;

  for (guint i = 0; i < 100; i++)
    push_frame (h, i * 100 * GST_MSECOND, NO_META, 0, FALSE);
  push_eos (h);

  msgs = pop_fps_messages (bus);
  fail_unless_equals_int (g_list_length (msgs), 0);
  meter_free (h, bus);
}

GST_END_TEST;

static GString *printed;

static void
capture_print (const gchar *text)
{
  g_string_append (printed, text);
}

GST_START_TEST (test_fpsmeter_properties_default_to_reporting_without_printing)
{
  GstElement *meter = gst_element_factory_make ("vittmfpsmeter", NULL);
  GObjectClass *klass = G_OBJECT_GET_CLASS (meter);
  GParamSpec *pspec;
  gboolean silent = TRUE, print = TRUE;
  gchar *last = (gchar *) "unset";

  g_object_get (
      meter, "silent", &silent, "print", &print, "last-message", &last, NULL);
  fail_if (silent);
  fail_if (print, "vittmfpsmeter must not print by default");
  fail_unless (last == NULL);

  pspec = g_object_class_find_property (klass, "last-message");
  fail_unless (pspec != NULL);
  fail_unless (pspec->value_type == G_TYPE_STRING);
  fail_unless ((pspec->flags & G_PARAM_READWRITE) == G_PARAM_READABLE,
      "last-message must be read-only");
  fail_unless (strstr (g_param_spec_get_blurb (pspec), "fpsdisplaysink"));
  pspec = g_object_class_find_property (klass, "print");
  fail_unless (pspec != NULL);
  fail_unless (strstr (g_param_spec_get_blurb (pspec), "standard output"));
  pspec = g_object_class_find_property (klass, "report");
  fail_unless (strstr (g_param_spec_get_blurb (pspec), "without EOS"));
  gst_object_unref (meter);
}

GST_END_TEST;

static guint notifications;

static void
on_last_message (GObject *object, G_GNUC_UNUSED GParamSpec *pspec,
    G_GNUC_UNUSED gpointer data)
{
  gchar *last = NULL;

  g_object_get (object, "last-message", &last, NULL);
  fail_unless (last != NULL);
  g_free (last);
  notifications++;
}

GST_START_TEST (test_fpsmeter_last_message_notified_each_interval_not_printed)
{
  GstBus *bus;
  GstHarness *h = meter_new (30, 500, NULL, &bus);
  GPrintFunc old;
  gchar *last = NULL;
  GList *msgs;
  const GstStructure *s;

  printed = g_string_new (NULL);
  old = g_set_print_handler (capture_print);
  notifications = 0;
  g_signal_connect (
      h->element, "notify::last-message", G_CALLBACK (on_last_message), NULL);

  g_object_set (h->element, "silent", FALSE, NULL);
  for (guint i = 0; i < 11; i++) /* 0 .. 1000 ms: 2 intervals */
    push_frame (
        h, i * 100 * GST_MSECOND, 8 * GST_MSECOND, 4 * GST_MSECOND, FALSE);

  g_set_print_handler (old);
  fail_unless_equals_string (printed->str, "");
  g_string_free (printed, TRUE);
  fail_unless_equals_int (notifications, 2);
  g_object_get (h->element, "last-message", &last, NULL);
  fail_unless_equals_string (last,
      "test-label: 11 frames, 10.00 fps "
      "(overall 10.00), latency p50 8.0 ms p95 8.0 ms, gpu p50 4.0 ms "
      "p95 4.0 ms");
  g_free (last);

  /* the element message of the same interval carries the same figures */
  msgs = pop_fps_messages (bus);
  fail_unless_equals_int (g_list_length (msgs), 2);
  s = gst_message_get_structure (g_list_last (msgs)->data);
  fail_unless_equals_uint64 (get_uint64 (s, "frames"), 11);
  assert_double (s, "fps", 10.0);
  assert_double (s, "latency-p50-ms", 8.0);
  assert_double (s, "gpu-p95-ms", 4.0);
  fail_unless_equals_uint64 (get_uint64 (s, "inferences"), 11);
  g_list_free_full (msgs, (GDestroyNotify) gst_message_unref);

  meter_free (h, bus);
}

GST_END_TEST;

GST_START_TEST (test_fpsmeter_silent_leaves_last_message_unset)
{
  GstBus *bus;
  GstHarness *h = meter_new (30, 100, NULL, &bus); /* silent */
  gchar *last = NULL;
  GList *msgs;

  for (guint i = 0; i < 10; i++)
    push_frame (h, i * 100 * GST_MSECOND, NO_META, 0, FALSE);
  g_object_get (h->element, "last-message", &last, NULL);
  fail_unless (last == NULL, "last-message: %s", last);
  msgs = pop_fps_messages (bus);
  fail_unless_equals_int (g_list_length (msgs), 9); /* still posted */
  g_list_free_full (msgs, (GDestroyNotify) gst_message_unref);
  meter_free (h, bus);
}

GST_END_TEST;

GST_START_TEST (test_fpsmeter_prints_one_line_per_interval_unless_silent)
{
  GstBus *bus;
  GstHarness *h = meter_new (30, 500, NULL, &bus);
  GPrintFunc old;
  gchar **lines;

  printed = g_string_new (NULL);
  old = g_set_print_handler (capture_print);

  g_object_set (h->element, "silent", FALSE, "print", TRUE, NULL);
  for (guint i = 0; i < 11; i++) /* 0 .. 1000 ms: 2 intervals */
    push_frame (h, i * 100 * GST_MSECOND, 8 * GST_MSECOND, 0, FALSE);
  g_object_set (h->element, "silent", TRUE, NULL);
  for (guint i = 11; i < 30; i++)
    push_frame (h, i * 100 * GST_MSECOND, NO_META, 0, FALSE);

  g_set_print_handler (old);
  lines = g_strsplit (printed->str, "\n", -1);
  fail_unless_equals_int (g_strv_length (lines), 3); /* 2 lines + "" */
  g_strfreev (lines);
  fail_unless (
      g_str_has_prefix (printed->str,
          "test-label: 6 frames, 10.00 fps (overall 10.00), latency p50 8.0 "
          "ms p95 8.0 ms, gpu n/a\n"),
      "printed: %s", printed->str);
  g_string_free (printed, TRUE);

  meter_free (h, bus);
}

GST_END_TEST;

static cJSON *
json_get (cJSON *obj, const gchar *key)
{
  cJSON *item = cJSON_GetObjectItemCaseSensitive (obj, key);

  fail_unless (item != NULL, "report has no \"%s\"", key);
  return item;
}

static gdouble
json_number (cJSON *obj, const gchar *key)
{
  cJSON *item = json_get (obj, key);

  fail_unless (cJSON_IsNumber (item), "\"%s\" is not a number", key);
  return item->valuedouble;
}

/* The report at @path, parsed; fails the test if it is missing or not JSON. */
static cJSON *
read_report (const gchar *path, const gchar *what)
{
  gchar *text = NULL;
  cJSON *root;

  fail_unless (
      g_file_get_contents (path, &text, NULL, NULL), "no report %s", what);
  root = cJSON_Parse (text);
  fail_unless (root != NULL, "report is not JSON: %s", text);
  g_free (text);
  return root;
}

/* Removes @path (if left) and its directory @dir, and frees both names. */
static void
remove_report (gchar *dir, gchar *path)
{
  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
}

GST_START_TEST (test_fpsmeter_report_json_written_at_eos)
{
  gchar *dir = g_dir_make_tmp ("vittm-report-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "report.json", NULL);
  GstBus *bus;
  GstHarness *h = meter_new (30, 0, path, &bus);
  cJSON *root, *lat, *wall, *gpu;
  GDir *d;
  const gchar *name;
  guint files = 0;

  for (guint i = 0; i < 10; i++)
    push_frame (h, i * 100 * GST_MSECOND, (4 + i % 3) * GST_MSECOND,
        3 * GST_MSECOND, FALSE);
  push_frame (h, 10 * 100 * GST_MSECOND, 500 * GST_MSECOND, 0, TRUE);
  fail_if (g_file_test (path, G_FILE_TEST_EXISTS), "written before EOS");
  push_eos (h);

  root = read_report (path, "at EOS");
  fail_unless_equals_string (
      cJSON_GetStringValue (json_get (root, "label")), "test-label");
  fail_unless_equals_int ((gint) json_number (root, "frames"), 11);
  fail_unless_equals_int ((gint) json_number (root, "inferences"), 10);
  fail_unless (ABS (json_number (root, "fps") - 10.0) < 1e-3);
  fail_unless (ABS (json_number (root, "fps-overall") - 10.0) < 1e-3);
  fail_unless (ABS (json_number (root, "duration-s") - 1.0) < 1e-3);
  fail_unless (cJSON_IsTrue (json_get (root, "eos")));
  /* wall: 4,5,6,4,5,6,4,5,6,4 ms → p50 5, p95 6 */
  fail_unless (ABS (json_number (root, "latency-p50-ms") - 5.0) < 1e-3);
  fail_unless (ABS (json_number (root, "latency-p95-ms") - 6.0) < 1e-3);
  fail_unless (ABS (json_number (root, "gpu-p50-ms") - 3.0) < 1e-3);
  fail_unless (ABS (json_number (root, "gpu-p95-ms") - 3.0) < 1e-3);

  lat = json_get (root, "latency");
  wall = json_get (lat, "wall");
  fail_unless_equals_int ((gint) json_number (wall, "count"), 10);
  fail_unless (ABS (json_number (wall, "min-ms") - 4.0) < 1e-3);
  fail_unless (ABS (json_number (wall, "max-ms") - 6.0) < 1e-3);
  fail_unless (ABS (json_number (wall, "mean-ms") - 4.9) < 1e-3);
  fail_unless (ABS (json_number (wall, "p99-ms") - 6.0) < 1e-3);
  gpu = json_get (lat, "gpu");
  fail_unless_equals_int ((gint) json_number (gpu, "count"), 10);
  cJSON_Delete (root);

  /* Written atomically: nothing but the report is left in the directory. */
  d = g_dir_open (dir, 0, NULL);
  while ((name = g_dir_read_name (d))) {
    fail_unless_equals_string (name, "report.json");
    files++;
  }
  g_dir_close (d);
  fail_unless_equals_int (files, 1);

  meter_free (h, bus);
  remove_report (dir, path);
}

GST_END_TEST;

GST_START_TEST (test_fpsmeter_report_without_latencies_has_nulls)
{
  gchar *dir = g_dir_make_tmp ("vittm-report-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "r.json", NULL);
  GstBus *bus;
  GstHarness *h = meter_new (30, 0, path, &bus);
  cJSON *root;

  push_frame (h, 0, NO_META, 0, FALSE);
  push_eos (h);

  root = read_report (path, "at EOS");
  fail_unless (cJSON_IsNull (json_get (root, "latency-p50-ms")));
  fail_unless (cJSON_IsNull (json_get (root, "gpu-p95-ms")));
  fail_unless_equals_int ((gint) json_number (root, "fps"), 0);
  cJSON_Delete (root);

  meter_free (h, bus);
  remove_report (dir, path);
}

GST_END_TEST;

GST_START_TEST (test_fpsmeter_report_written_when_stopped_without_eos)
{
  gchar *dir = g_dir_make_tmp ("vittm-report-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "interrupted.json", NULL);
  GstBus *bus;
  GstHarness *h = meter_new (30, 0, path, &bus);
  cJSON *root;

  /* An interrupted run: 5 frames, 5 inferences, then NULL without EOS. */
  for (guint i = 0; i < 5; i++)
    push_frame (h, i * 100 * GST_MSECOND, 7 * GST_MSECOND, 0, FALSE);
  fail_if (g_file_test (path, G_FILE_TEST_EXISTS), "written before the stop");
  fail_unless_equals_int (gst_element_set_state (h->element, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);

  root = read_report (path, "after a stop without EOS");
  fail_unless (cJSON_IsFalse (json_get (root, "eos")));
  fail_unless_equals_int ((gint) json_number (root, "frames"), 5);
  fail_unless_equals_int ((gint) json_number (root, "inferences"), 5);
  fail_unless (ABS (json_number (root, "fps-overall") - 10.0) < 1e-3);
  fail_unless (ABS (json_number (root, "latency-p50-ms") - 7.0) < 1e-3);
  cJSON_Delete (root);

  meter_free (h, bus);
  remove_report (dir, path);
}

GST_END_TEST;

GST_START_TEST (test_fpsmeter_report_at_eos_not_rewritten_at_stop)
{
  gchar *dir = g_dir_make_tmp ("vittm-report-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "eos.json", NULL);
  GstBus *bus;
  GstHarness *h = meter_new (30, 0, path, &bus);

  push_frame (h, 0, NO_META, 0, FALSE);
  push_eos (h);
  fail_unless (g_file_test (path, G_FILE_TEST_EXISTS));
  g_unlink (path);
  fail_unless_equals_int (gst_element_set_state (h->element, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  fail_if (g_file_test (path, G_FILE_TEST_EXISTS),
      "the EOS report was written again at the stop");

  meter_free (h, bus);
  remove_report (dir, path);
}

GST_END_TEST;

GST_START_TEST (test_fpsmeter_report_in_missing_directory_is_an_error)
{
  GstElement *meter = gst_element_factory_make ("vittmfpsmeter", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *err = NULL;
  gchar *debug = NULL;

  g_object_set (meter, "report", "/nonexistent-vittm-dir/report.json", NULL);
  gst_element_set_bus (meter, bus);
  fail_unless_equals_int (gst_element_set_state (meter, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);

  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &err, &debug);
  fail_unless (
      g_error_matches (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND));
  fail_unless (strstr (err->message, "/nonexistent-vittm-dir") != NULL,
      "message: %s", err->message);
  fail_unless (debug && strstr (debug, "directory"), "debug: %s", debug);
  g_error_free (err);
  g_free (debug);
  gst_message_unref (msg);

  gst_element_set_state (meter, GST_STATE_NULL);
  gst_element_set_bus (meter, NULL);
  gst_object_unref (bus);
  gst_object_unref (meter);
}

GST_END_TEST;

static Suite *
vittmfpsmeter_suite (void)
{
  Suite *s = suite_create ("vittmfpsmeter");
  TCase *tc = tcase_create ("general");

  ptu_check_vittm_log_domain ();

  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_fpsmeter_posts_messages_with_all_fields);
  tcase_add_test (tc, test_fpsmeter_fps_from_known_arrival_times);
  tcase_add_test (tc, test_fpsmeter_latency_percentiles_skip_reused_maps);
  tcase_add_test (tc, test_fpsmeter_latency_window_holds_last_inferences);
  tcase_add_test (tc, test_fpsmeter_interval_zero_posts_nothing);
  tcase_add_test (
      tc, test_fpsmeter_properties_default_to_reporting_without_printing);
  tcase_add_test (
      tc, test_fpsmeter_last_message_notified_each_interval_not_printed);
  tcase_add_test (tc, test_fpsmeter_silent_leaves_last_message_unset);
  tcase_add_test (tc, test_fpsmeter_prints_one_line_per_interval_unless_silent);
  tcase_add_test (tc, test_fpsmeter_report_json_written_at_eos);
  tcase_add_test (tc, test_fpsmeter_report_without_latencies_has_nulls);
  tcase_add_test (tc, test_fpsmeter_report_written_when_stopped_without_eos);
  tcase_add_test (tc, test_fpsmeter_report_at_eos_not_rewritten_at_stop);
  tcase_add_test (tc, test_fpsmeter_report_in_missing_directory_is_an_error);
  return s;
}

GST_CHECK_MAIN (vittmfpsmeter);

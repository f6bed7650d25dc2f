/* vittm — the plugin's elements leak nothing (GStreamer's leaks tracer)
 *
 * SPDX-License-Identifier: MIT
 */

#include <gst/check/gstcheck.h>
#include <glib/gstdio.h>
#include <string.h>

#include "gstvittmsegmeta.h"
#include "plugin_test_util.h"

#define CYCLES 20
#define LAUNCH_LINE                                                            \
  "videotestsrc name=src num-buffers=12 ! "                                    \
  "video/x-raw,format=I420,width=160,height=121 ! "                            \
  "vittmoverlay show-legend=true classes=class1,class2 ! "                     \
  "vittmfpsmeter name=meter silent=true interval=1 ! vittmmask ! fakesink"

static GstTracer *
find_leaks_tracer (void)
{
  GList *tracers = gst_tracing_get_active_tracers (), *l;
  GstTracer *found = NULL;

  for (l = tracers; l; l = l->next)
    if (!found && g_str_equal (G_OBJECT_TYPE_NAME (l->data), "GstLeaksTracer"))
      found = gst_object_ref (l->data);
  g_list_free_full (tracers, gst_object_unref);
  return found;
}

static guint8
pattern (guint x, guint y)
{
  return (guint8) ((x / 4 + y / 4) % 4);
}

/* Attaches a class map to every frame, as vittmsegment will. */
static GstPadProbeReturn
attach_meta (
    G_GNUC_UNUSED GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstVittmClassTable *table = user_data;
  GstBuffer *buf = gst_buffer_make_writable (GST_PAD_PROBE_INFO_BUFFER (info));
  guint8 *ids = ptu_map_new (40, 30, pattern);
  GstVittmSegMeta *meta = ptu_attach_map (buf, ids, 40, 30, table);

  meta->wall_time = 3 * GST_MSECOND;
  meta->gpu_time = 2 * GST_MSECOND;
  g_free (ids);
  GST_PAD_PROBE_INFO_DATA (info) = buf;
  return GST_PAD_PROBE_OK;
}

static void
fail_on_error (GstBus *bus)
{
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);

  if (msg) {
    GError *err = NULL;
    gchar *debug = NULL;

    gst_message_parse_error (msg, &err, &debug);
    fail ("pipeline error: %s (%s)", err->message, GST_STR_NULL (debug));
  }
}

GST_START_TEST (test_pipeline_null_to_playing_cycles_leak_nothing)
{
  GstTracer *tracer = find_leaks_tracer ();
  GstVittmClassTable *table = ptu_class_table_new (4);
  gchar *dir = g_dir_make_tmp ("vittm-leaks-XXXXXX", NULL);
  gchar *report = g_build_filename (dir, "report.json", NULL);
  GstElement *pipeline, *src, *meter;
  GstPad *pad;
  GstBus *bus;
  GError *err = NULL;

  fail_unless (tracer != NULL,
      "the leaks tracer is not active: run with "
      "GST_TRACERS=leaks");

  pipeline = gst_parse_launch (LAUNCH_LINE, &err);
  fail_unless (pipeline != NULL, "%s", err ? err->message : "");
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  meter = gst_bin_get_by_name (GST_BIN (pipeline), "meter");
  g_object_set (meter, "report", report, NULL);
  pad = gst_element_get_static_pad (src, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, attach_meta,
      gst_vittm_class_table_ref (table),
      (GDestroyNotify) gst_vittm_class_table_unref);
  gst_object_unref (pad);
  gst_object_unref (src);
  gst_object_unref (meter);
  bus = gst_element_get_bus (pipeline);

  for (guint i = 0; i < CYCLES; i++) {
    GstMessage *msg;

    fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
        GST_STATE_CHANGE_FAILURE);
    if (i % 2 == 0) {
      /* run to the end */
      msg = gst_bus_timed_pop_filtered (
          bus, 30 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
      fail_unless (msg != NULL, "no EOS in cycle %u", i);
      fail_unless (
          GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS, "error in cycle %u", i);
      gst_message_unref (msg);
    } else {
      /* stop mid-stream */
      fail_unless (gst_element_get_state (pipeline, NULL, NULL,
                       30 * GST_SECOND) == GST_STATE_CHANGE_SUCCESS);
    }
    fail_unless (gst_element_set_state (pipeline, GST_STATE_NULL) ==
        GST_STATE_CHANGE_SUCCESS);
    fail_on_error (bus);
    gst_bus_set_flushing (bus, TRUE); /* drop this cycle's messages */
    gst_bus_set_flushing (bus, FALSE);
  }
  fail_unless (g_file_test (report, G_FILE_TEST_IS_REGULAR));

  gst_object_unref (bus);
  gst_object_unref (pipeline);
  gst_vittm_class_table_unref (table);
  gst_task_cleanup_all ();

  fail_unless_equals_int (ptu_print_live_objects (tracer), 0);
  gst_object_unref (tracer);

  g_unlink (report);
  g_rmdir (dir);
  g_free (report);
  g_free (dir);
}

GST_END_TEST;

/* The same cycles through vittmsegment (device, model, segmenter and the
 * class-map pool are made and freed in every cycle). The model comes in
 * VITTM_LEAKS_SEGMENT_MODEL; meson runs this as its own test. */
#define SEGMENT_CYCLES 20
#define SEGMENT_LAUNCH_LINE                                                    \
  "videotestsrc num-buffers=6 ! "                                              \
  "video/x-raw,format=I420,width=160,height=121 ! "                            \
  "vittmsegment model=\"%s\" inference-interval=2 ! "                          \
  "vittmoverlay show-legend=true ! "                                           \
  "vittmfpsmeter silent=true interval=1 ! fakesink"

GST_START_TEST (test_vittmsegment_null_to_playing_cycles_leak_nothing)
{
  GstTracer *tracer = find_leaks_tracer ();
  gchar *launch = g_strdup_printf (
      SEGMENT_LAUNCH_LINE, g_getenv ("VITTM_LEAKS_SEGMENT_MODEL"));
  GstElement *pipeline;
  GstBus *bus;
  GError *err = NULL;

  fail_unless (tracer != NULL,
      "the leaks tracer is not active: run with "
      "GST_TRACERS=leaks");
  pipeline = gst_parse_launch (launch, &err);
  fail_unless (pipeline != NULL && err == NULL, "%s", err ? err->message : "");
  bus = gst_element_get_bus (pipeline);

  for (guint i = 0; i < SEGMENT_CYCLES; i++) {
    GstMessage *msg;

    fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
        GST_STATE_CHANGE_FAILURE);
    if (i % 2 == 0) {
      /* Cycle 0 compiles every kernel (minutes under the sanitizers with an
       * empty shader cache): it waits as long as meson's timeout lets it. */
      msg = gst_bus_timed_pop_filtered (bus,
          i == 0 ? GST_CLOCK_TIME_NONE : ptu_time_bound (60 * GST_SECOND),
          GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
      fail_unless (msg != NULL, "no EOS in cycle %u", i);
      fail_unless (
          GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS, "error in cycle %u", i);
      gst_message_unref (msg);
    } else {
      fail_unless (ptu_wait_state (pipeline) == GST_STATE_CHANGE_SUCCESS);
    }
    fail_unless (gst_element_set_state (pipeline, GST_STATE_NULL) ==
        GST_STATE_CHANGE_SUCCESS);
    fail_on_error (bus);
    gst_bus_set_flushing (bus, TRUE);
    gst_bus_set_flushing (bus, FALSE);
  }

  gst_object_unref (bus);
  gst_object_unref (pipeline);
  gst_task_cleanup_all ();

  fail_unless_equals_int (ptu_print_live_objects (tracer), 0);
  gst_object_unref (tracer);
  g_free (launch);
}

GST_END_TEST;

GST_START_TEST (test_gst_launch_under_leaks_tracer_reports_nothing)
{
  const gchar *launch = g_getenv ("VITTM_GST_LAUNCH");
  gchar *path =
      launch ? g_strdup (launch) : g_find_program_in_path ("gst-launch-1.0");
  gchar **env = g_get_environ ();
  gchar *out = NULL, *err = NULL;
  gint status = -1;
  GError *error = NULL;
  gchar *argv[] = {path, (gchar *) "videotestsrc", (gchar *) "num-buffers=30",
      (gchar *) "!", (gchar *) "vittmoverlay", (gchar *) "show-legend=true",
      (gchar *) "!", (gchar *) "vittmfpsmeter", (gchar *) "interval=1",
      (gchar *) "print=true", (gchar *) "!", (gchar *) "fakesink", NULL};

  fail_unless (path != NULL, "gst-launch-1.0 not found");
  env = g_environ_setenv (env, "GST_TRACERS", "leaks", TRUE);
  /* The leaks tracer logs what is still alive at exit under this category. */
  env = g_environ_setenv (env, "GST_DEBUG", "GST_TRACER:7", TRUE);
  env = g_environ_setenv (env, "GST_DEBUG_NO_COLOR", "1", TRUE);

  fail_unless (g_spawn_sync (NULL, argv, env, G_SPAWN_DEFAULT, NULL, NULL, &out,
                   &err, &status, &error),
      "%s", error ? error->message : "");
  fail_unless (g_spawn_check_wait_status (status, NULL),
      "gst-launch-1.0 failed: %s", err);
  /* the meter ran (its last line at EOS) */
  fail_unless (
      strstr (out, "vittmfpsmeter0: 30 frames") != NULL, "stdout: %s", out);
  /* the tracer was loaded (it registers its record) … */
  fail_unless (strstr (err, "object-alive.class") != NULL,
      "the leaks tracer did not load: %s", err);
  /* … and logged no live object at exit */
  fail_if (strstr (err, ":: object-alive,") != NULL, "leaks: %s", err);
  fail_if (strstr (err, "Leaks detected") != NULL, "leaks: %s", err);

  g_free (out);
  g_free (err);
  g_strfreev (env);
  g_free (path);
}

GST_END_TEST;

static Suite *
vittmleaks_suite (void)
{
  Suite *s = suite_create ("vittmleaks");
  TCase *tc = tcase_create ("general");

  ptu_check_vittm_log_domain ();

  tcase_set_timeout (tc, 300);
  suite_add_tcase (s, tc);
  if (g_getenv ("VITTM_LEAKS_SEGMENT_MODEL")) {
    tcase_add_test (tc, test_vittmsegment_null_to_playing_cycles_leak_nothing);
    return s;
  }
  tcase_add_test (tc, test_pipeline_null_to_playing_cycles_leak_nothing);
  tcase_add_test (tc, test_gst_launch_under_leaks_tracer_reports_nothing);
  return s;
}

int
main (int argc, char **argv)
{
  /* The tracer is loaded by gst_init, so it must be asked for before. */
  if (!g_getenv ("GST_TRACERS"))
    g_setenv ("GST_TRACERS", "leaks", TRUE);
  gst_check_init (&argc, &argv);
  return gst_check_run_suite (vittmleaks_suite (), "vittmleaks", __FILE__);
}

/* vittm — vittmsegment behind live sources, asynchronous, restarted and
 * shared (GstCheck, real pipelines)
 *
 * SPDX-License-Identifier: MIT
 *
 * The model is the small random-weight segmentation model that meson writes
 * with tools/reference/make_golden.py; its path comes in
 * VITTM_SEGMENT_TEST_MODEL. Without it the test fails, saying so.
 */

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <string.h>
#include <vittm/vittm.h>

#include "gstvittmsegmeta.h"
#include "plugin_test_util.h"

#define MODEL_ENV "VITTM_SEGMENT_TEST_MODEL"

static const gchar *model_path;

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */

/* What a pipeline run to its end reports. */
typedef struct
{
  guint64 seg_dropped;          /* frames vittmsegment dropped as late (QoS) */
  guint64 seg_processed;
  guint n_seg_qos;              /* QoS messages of vittmsegment */
} RunStats;

static GstElement *
pipeline_new (const gchar * fmt, ...) G_GNUC_PRINTF (1, 2);

static GstElement *
pipeline_new (const gchar * fmt, ...)
{
  GError *error = NULL;
  GstElement *pipeline;
  gchar *desc;
  va_list args;

  va_start (args, fmt);
  desc = g_strdup_vprintf (fmt, args);
  va_end (args);
  pipeline = gst_parse_launch (desc, &error);
  fail_unless (pipeline != NULL && error == NULL, "%s: %s", desc,
      error ? error->message : "no pipeline");
  g_free (desc);
  return pipeline;
}

/* Plays @pipeline to EOS (failing on an error or after @timeout_s), as
 * gst-launch does: a LATENCY message recomputes the pipeline's latency. */
static void
run_to_eos (GstElement * pipeline, guint timeout_s, RunStats * stats)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;
  gboolean done = FALSE;

  if (stats)
    memset (stats, 0, sizeof *stats);
  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  while (!done) {
    gint64 left = deadline - g_get_monotonic_time ();
    GstMessage *msg;

    fail_unless (left > 0, "the pipeline did not reach EOS in %u s",
        timeout_s);
    msg = gst_bus_timed_pop_filtered (bus, left * GST_USECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_LATENCY |
        GST_MESSAGE_QOS);
    if (!msg)
      continue;
    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_ERROR:{
        GError *error = NULL;
        gchar *dbg = NULL;

        gst_message_parse_error (msg, &error, &dbg);
        fail ("error from %s: %s (%s)", GST_OBJECT_NAME (msg->src),
            error->message, dbg ? dbg : "");
        break;
      }
      case GST_MESSAGE_EOS:
        done = TRUE;
        break;
      case GST_MESSAGE_LATENCY:
        gst_bin_recalculate_latency (GST_BIN (pipeline));
        break;
      case GST_MESSAGE_QOS:
        if (stats && g_str_has_prefix (GST_OBJECT_NAME (msg->src), "seg")) {
          GstFormat format;

          gst_message_parse_qos_stats (msg, &format, &stats->seg_processed,
              &stats->seg_dropped);
          stats->n_seg_qos++;
        }
        break;
      default:
        break;
    }
    gst_message_unref (msg);
  }
  gst_object_unref (bus);
}

static guint64
sink_stat (GstElement * pipeline, const gchar * sink_name, const gchar * field)
{
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), sink_name);
  GstStructure *s = NULL;
  guint64 v = 0;

  fail_unless (sink != NULL);
  g_object_get (sink, "stats", &s, NULL);
  fail_unless (gst_structure_get_uint64 (s, field, &v), "no %s", field);
  gst_structure_free (s);
  gst_object_unref (sink);
  return v;
}

/* ------------------------------------------------------------------------ */
/* live sources                                                             */

/* A live 320×240 source at 120 fps is faster than the small model on
 * lavapipe: with QoS (on by default) vittmsegment drops the frames that would
 * be late before it segments them, so that the segmented ones reach a
 * synchronised sink in time, instead of the sink dropping nearly all. */
GST_START_TEST (test_live_source_faster_than_inference_delivers_frames)
{
  GstElement *pipeline = pipeline_new ("videotestsrc is-live=true "
      "num-buffers=240 ! video/x-raw,width=320,height=240,framerate=120/1 ! "
      "vittmsegment name=seg model=\"%s\" ! fakesink name=sink sync=true "
      "qos=true max-lateness=20000000", model_path);
  GstElement *seg = gst_bin_get_by_name (GST_BIN (pipeline), "seg");
  guint64 rendered, late;
  gboolean qos;
  RunStats stats;

  g_object_get (seg, "qos", &qos, NULL);
  fail_unless (qos, "qos is off by default");

  run_to_eos (pipeline, 60, &stats);
  rendered = sink_stat (pipeline, "sink", "rendered");
  late = sink_stat (pipeline, "sink", "dropped");
  GST_INFO ("vittmsegment dropped %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
      ", the sink rendered %" G_GUINT64_FORMAT " and dropped %"
      G_GUINT64_FORMAT, stats.seg_dropped,
      stats.seg_processed + stats.seg_dropped, rendered, late);
  fail_unless (stats.seg_dropped > 0, "vittmsegment dropped no frame: the "
      "pipeline is not slower than real time, the test needs a higher rate");
  fail_unless (rendered >= 10, "the sink rendered only %" G_GUINT64_FORMAT
      " frames of 240", rendered);
  fail_unless (late < rendered, "the sink dropped %" G_GUINT64_FORMAT
      " late frames and rendered %" G_GUINT64_FORMAT, late, rendered);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (seg);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* In a live pipeline the element's latency adds to the source's, both
 * bounds: the pipeline is live, its minimum latency one frame of the source
 * plus the inference latency. */
GST_START_TEST (test_live_latency_adds_the_inference_latency)
{
  GstElement *pipeline = pipeline_new ("videotestsrc is-live=true "
      "num-buffers=10 ! video/x-raw,width=160,height=120,framerate=10/1 ! "
      "vittmsegment name=seg model=\"%s\" ! fakesink name=sink sync=true",
      model_path);
  GstElement *seg = gst_bin_get_by_name (GST_BIN (pipeline), "seg");
  GstPad *src = gst_element_get_static_pad (seg, "src");
  GstQuery *q = gst_query_new_latency ();
  GstClockTime min, max;
  guint64 ours;
  gboolean live;

  run_to_eos (pipeline, 60, NULL);
  g_object_get (seg, "latency", &ours, NULL);
  fail_unless (ours > 0 && ours < GST_SECOND);
  fail_unless (gst_pad_query (src, q));
  gst_query_parse_latency (q, &live, &min, &max);
  fail_unless (live);
  fail_unless_equals_uint64 (min, GST_SECOND / 10 + ours);
  fail_unless (!GST_CLOCK_TIME_IS_VALID (max) || max >= min);

  gst_query_unref (q);
  gst_object_unref (src);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (seg);
  gst_object_unref (pipeline);
}

GST_END_TEST;

static Suite *
vittmsegment_live_suite (void)
{
  Suite *s = suite_create ("vittmsegment-live");
  TCase *tc = tcase_create ("general");

  ptu_check_vittm_log_domain ();

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_live_source_faster_than_inference_delivers_frames);
  tcase_add_test (tc, test_live_latency_adds_the_inference_latency);
  return s;
}

int
main (int argc, char **argv)
{
  model_path = g_getenv (MODEL_ENV);
  if (!model_path || !g_file_test (model_path, G_FILE_TEST_IS_REGULAR)) {
    g_printerr ("no segmentation model: set " MODEL_ENV " to one made by "
        "tools/reference/make_golden.py --task segmentation (meson test does)\n");
    return 1;
  }
  gst_check_init (&argc, &argv);
  return gst_check_run_suite (vittmsegment_live_suite (), "vittmsegment-live",
      __FILE__);
}

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
  guint64 seg_dropped; /* frames vittmsegment dropped as late (QoS) */
  guint64 seg_processed;
  guint n_seg_qos; /* QoS messages of vittmsegment */
} RunStats;

static GstElement *pipeline_new (const gchar *fmt, ...) G_GNUC_PRINTF (1, 2);

static GstElement *
pipeline_new (const gchar *fmt, ...)
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
run_to_eos (GstElement *pipeline, guint timeout_s, RunStats *stats)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  gint64 deadline = g_get_monotonic_time () +
      ptu_time_bound (timeout_s * GST_SECOND) / GST_USECOND;
  gboolean done = FALSE;

  if (stats)
    memset (stats, 0, sizeof *stats);
  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  while (!done) {
    gint64 left = deadline - g_get_monotonic_time ();
    GstMessage *msg;

    fail_unless (left > 0, "the pipeline did not reach EOS in %u s", timeout_s);
    msg = gst_bus_timed_pop_filtered (bus, left * GST_USECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_LATENCY |
            GST_MESSAGE_QOS);
    if (!msg)
      continue;
    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_ERROR: {
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

          gst_message_parse_qos_stats (
              msg, &format, &stats->seg_processed, &stats->seg_dropped);
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
sink_stat (GstElement *pipeline, const gchar *sink_name, const gchar *field)
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
  GstElement *pipeline = pipeline_new (
      "videotestsrc is-live=true "
      "num-buffers=240 ! video/x-raw,width=320,height=240,framerate=120/1 ! "
      "vittmsegment name=seg model=\"%s\" ! fakesink name=sink sync=true "
      "qos=true max-lateness=20000000",
      model_path);
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
            ", the sink rendered %" G_GUINT64_FORMAT
            " and dropped %" G_GUINT64_FORMAT,
      stats.seg_dropped, stats.seg_processed + stats.seg_dropped, rendered,
      late);
  fail_unless (stats.seg_dropped > 0,
      "vittmsegment dropped no frame: the "
      "pipeline is not slower than real time, the test needs a higher rate");
  /* Without QoS nearly all 240 frames are segmented and then dropped late
   * by the sink (about 237 on lavapipe). With it, few are, even on a busy
   * machine where inference times jitter and fewer frames get through. */
  fail_unless (rendered > 0, "the sink rendered no frame");
  fail_unless (late < 240 / 4,
      "the sink dropped %" G_GUINT64_FORMAT
      " late frames (rendered %" G_GUINT64_FORMAT ")",
      late, rendered);

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
  GstElement *pipeline = pipeline_new (
      "videotestsrc is-live=true "
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
  fail_unless (ours > 0 && ours < ptu_time_bound (GST_SECOND));
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

/* ------------------------------------------------------------------------ */
/* asynchronous inference                                                   */

static GstHarness *
segment_harness (const gchar *props, guint w, guint h, GstVideoInfo *info)
{
  gchar *desc = g_strdup_printf (
      "vittmsegment model=\"%s\" %s", model_path, props ? props : "");
  GstHarness *hs = gst_harness_new_parse (desc);
  GstCaps *caps = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING,
      "RGBx", "width", G_TYPE_INT, (gint) w, "height", G_TYPE_INT, (gint) h,
      "framerate", GST_TYPE_FRACTION, 30, 1, NULL);

  fail_unless (gst_video_info_from_caps (info, caps));
  gst_harness_set_src_caps (hs, caps);
  g_free (desc);
  return hs;
}

static GstBuffer *
numbered_frame (const GstVideoInfo *info, guint i)
{
  GstBuffer *buf = ptu_frame_new (info, 1000 + i);

  GST_BUFFER_PTS (buf) = i * GST_SECOND / 30;
  GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
  return buf;
}

static void
assert_same_maps (
    const GstVittmSegMeta *a, const GstVittmSegMeta *b, guint frame)
{
  GstMapInfo ma, mb;

  fail_unless_equals_int (a->width, b->width);
  fail_unless_equals_int (a->height, b->height);
  fail_unless (gst_buffer_map (a->map, &ma, GST_MAP_READ));
  fail_unless (gst_buffer_map (b->map, &mb, GST_MAP_READ));
  for (guint y = 0; y < a->height; y++)
    fail_unless (memcmp (ma.data + (gsize) y * a->stride,
                     mb.data + (gsize) y * b->stride, a->width) == 0,
        "frame %u: row %u differs from the synchronous map", frame, y);
  gst_buffer_unmap (a->map, &ma);
  gst_buffer_unmap (b->map, &mb);
}

/* Frames handed over faster than they are segmented come out in order, each
 * with the map the synchronous element gives it, none dropped. */
static const gchar *async_props[] = {
    "async-depth=2",
    "async-depth=3 async-workers=2",
};

GST_START_TEST (test_async_frames_leave_in_order_with_their_own_maps)
{
  const guint n = 6;
  GstVideoInfo info;
  GstHarness *as = segment_harness (async_props[__i__], 96, 64, &info);
  GstHarness *sy = segment_harness (NULL, 96, 64, &info);

  for (guint i = 0; i < n; i++)
    fail_unless_equals_int (
        gst_harness_push (as, numbered_frame (&info, i)), GST_FLOW_OK);
  for (guint i = 0; i < n; i++) {
    GstBuffer *a = gst_harness_pull (as);
    GstBuffer *b = gst_harness_push_and_pull (sy, numbered_frame (&info, i));
    GstVittmSegMeta *ma, *mb;

    fail_unless (a != NULL, "frame %u did not come out", i);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (a), GST_BUFFER_PTS (b));
    ma = gst_buffer_get_vittm_seg_meta (a);
    mb = gst_buffer_get_vittm_seg_meta (b);
    fail_unless (ma != NULL && mb != NULL, "frame %u has no meta", i);
    fail_unless_equals_uint64 (ma->frame_index, i);
    fail_if (ma->reused);
    assert_same_maps (ma, mb, i);
    gst_buffer_unref (a);
    gst_buffer_unref (b);
  }
  fail_unless_equals_int (gst_harness_buffers_received (as), n);

  gst_harness_teardown (as);
  gst_harness_teardown (sy);
}

GST_END_TEST;

/* inference-interval works as synchronous: every 2nd frame reuses the map. */
GST_START_TEST (test_async_inference_interval_reuses_as_synchronous)
{
  GstVideoInfo info;
  gchar *props =
      g_strdup_printf ("%s inference-interval=2", async_props[__i__]);
  GstHarness *hs = segment_harness (props, 96, 64, &info);

  g_free (props);

  for (guint i = 0; i < 5; i++)
    fail_unless_equals_int (
        gst_harness_push (hs, numbered_frame (&info, i)), GST_FLOW_OK);
  for (guint i = 0; i < 5; i++) {
    GstBuffer *out = gst_harness_pull (hs);
    GstVittmSegMeta *m = gst_buffer_get_vittm_seg_meta (out);

    fail_unless (m != NULL);
    fail_unless_equals_int (m->reused, i % 2 == 1);
    fail_unless_equals_uint64 (m->frame_index, i - i % 2);
    gst_buffer_unref (out);
  }
  gst_harness_teardown (hs);
}

GST_END_TEST;

/* EOS (as every serialized event) leaves after the frames before it. */
GST_START_TEST (test_async_eos_follows_every_frame)
{
  GstVideoInfo info;
  GstHarness *hs = segment_harness ("async-depth=4", 96, 64, &info);
  gboolean eos = FALSE;
  GstEvent *ev;

  for (guint i = 0; i < 4; i++)
    fail_unless_equals_int (
        gst_harness_push (hs, numbered_frame (&info, i)), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (hs, gst_event_new_eos ()));
  /* pushed returns once the frames have left */
  fail_unless_equals_int (gst_harness_buffers_in_queue (hs), 4);
  while ((ev = gst_harness_try_pull_event (hs))) {
    eos = GST_EVENT_TYPE (ev) == GST_EVENT_EOS;
    gst_event_unref (ev);
    if (eos)
      break;
  }
  fail_unless (eos, "no EOS came out");
  gst_harness_teardown (hs);
}

GST_END_TEST;

/* A flush discards the frames in flight; the next frame is segmented afresh
 * and comes out. */
GST_START_TEST (test_async_flush_discards_frames_in_flight)
{
  GstVideoInfo info;
  GstHarness *hs = segment_harness ("async-depth=3 async-workers=2 "
                                    "inference-interval=4",
      96, 64, &info);
  GstBuffer *out;
  GstVittmSegMeta *m;
  GstSegment segment;
  guint pulled = 0;

  for (guint i = 0; i < 3; i++)
    fail_unless_equals_int (
        gst_harness_push (hs, numbered_frame (&info, i)), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (hs, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (hs, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (hs, gst_event_new_segment (&segment)));
  fail_unless_equals_int (
      gst_harness_push (hs, numbered_frame (&info, 10)), GST_FLOW_OK);
  do {
    out = gst_harness_pull (hs);
    fail_unless (out != NULL);
    fail_unless (++pulled <= 4, "more frames out than went in");
    m = gst_buffer_get_vittm_seg_meta (out);
    fail_unless (m != NULL);
    if (GST_BUFFER_PTS (out) != 10 * GST_SECOND / 30)
      gst_buffer_unref (out);
  } while (GST_BUFFER_PTS (out) != 10 * GST_SECOND / 30);
  /* after the flush, no map of the frames before is carried */
  fail_if (m->reused);
  gst_buffer_unref (out);
  gst_harness_teardown (hs);
}

GST_END_TEST;

/* Before any frame the reported latency is the estimate for each frame in
 * flight. */
GST_START_TEST (test_async_latency_counts_each_frame_in_flight)
{
  GstVideoInfo info;
  GstHarness *hs = segment_harness ("async-depth=3", 96, 64, &info);
  GstElement *seg = gst_harness_find_element (hs, "vittmsegment");
  guint64 ours;

  gst_harness_set_upstream_latency (hs, 10 * GST_MSECOND);
  g_object_get (seg, "latency", &ours, NULL);
  fail_unless_equals_uint64 (ours, 3 * GST_SECOND);
  fail_unless_equals_uint64 (
      gst_harness_query_latency (hs), 10 * GST_MSECOND + 3 * GST_SECOND);
  gst_buffer_unref (gst_harness_push_and_pull (hs, numbered_frame (&info, 0)));
  g_object_get (seg, "latency", &ours, NULL);
  fail_unless (ours > 0 && ours < 3 * GST_SECOND);
  fail_unless_equals_uint64 (
      gst_harness_query_latency (hs), 10 * GST_MSECOND + ours);

  gst_object_unref (seg);
  gst_harness_teardown (hs);
}

GST_END_TEST;

/* State changes with frames in flight, and a sink that blocks the worker
 * (prerolling), neither hang nor leak. */
GST_START_TEST (test_async_state_changes_with_frames_in_flight)
{
  GstElement *pipeline = pipeline_new (
      "videotestsrc ! "
      "video/x-raw,width=160,height=120,framerate=30/1 ! "
      "vittmsegment name=seg model=\"%s\" async-depth=3 async-workers=2 ! "
      "fakesink sync=true",
      model_path);
  GstVideoInfo info;
  GstHarness *hs;

  for (guint i = 0; i < 3; i++) {
    fail_if (gst_element_set_state (
                 pipeline, i == 1 ? GST_STATE_PAUSED : GST_STATE_PLAYING) ==
        GST_STATE_CHANGE_FAILURE);
    fail_unless (ptu_wait_state (pipeline) == GST_STATE_CHANGE_SUCCESS);
    g_usleep (200 * 1000);
    fail_unless (gst_element_set_state (
                     pipeline, i == 2 ? GST_STATE_READY : GST_STATE_NULL) ==
        GST_STATE_CHANGE_SUCCESS);
  }
  fail_unless (gst_element_set_state (pipeline, GST_STATE_NULL) ==
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (pipeline);

  /* torn down with frames queued */
  hs = segment_harness ("async-depth=4", 96, 64, &info);
  for (guint i = 0; i < 4; i++)
    fail_unless_equals_int (
        gst_harness_push (hs, numbered_frame (&info, i)), GST_FLOW_OK);
  gst_harness_teardown (hs);
}

GST_END_TEST;

/* async-policy=latest: every frame leaves at once, in order, with the
 * newest map finished; the first waits for its own; later ones carry the
 * map of an earlier frame, the map the synchronous element gives it. */
GST_START_TEST (test_async_latest_passes_frames_at_once_with_the_newest_map)
{
  const guint n = 40;
  GstVideoInfo info;
  GstHarness *hs =
      segment_harness ("async-depth=1 async-policy=latest", 96, 64, &info);
  GstHarness *sy = segment_harness (NULL, 96, 64, &info);
  GstElement *seg = gst_harness_find_element (hs, "vittmsegment");
  GstBuffer *first = NULL;
  guint64 newest = 0, ours;
  gboolean newer = FALSE;

  for (guint i = 0; i < n; i++) {
    GstBuffer *out;
    GstVittmSegMeta *m;

    fail_unless_equals_int (
        gst_harness_push (hs, numbered_frame (&info, i)), GST_FLOW_OK);
    /* out before the next one goes in */
    fail_unless_equals_int (gst_harness_buffers_in_queue (hs), 1);
    out = gst_harness_pull (hs);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (out), i * GST_SECOND / 30);
    m = gst_buffer_get_vittm_seg_meta (out);
    fail_unless (m != NULL, "frame %u has no map", i);
    fail_unless (m->frame_index <= i && m->frame_index >= newest);
    fail_unless_equals_int (m->reused, m->frame_index != i);
    if (i == 0) {
      fail_unless_equals_uint64 (m->frame_index, 0);
    } else if (m->frame_index > 0 && !newer) {
      /* the first newer map: the synchronous element's for its frame */
      GstBuffer *ref = gst_harness_push_and_pull (
          sy, numbered_frame (&info, m->frame_index));

      assert_same_maps (
          m, gst_buffer_get_vittm_seg_meta (ref), (guint) m->frame_index);
      gst_buffer_unref (ref);
      newer = TRUE;
    }
    newest = m->frame_index;
    if (i == 0)
      first = gst_buffer_ref (out);
    gst_buffer_unref (out);
    /* give the worker time now and then */
    if (i % 8 == 7)
      g_usleep (200 * 1000);
  }
  fail_unless (newer, "no frame carried a map newer than the first");
  /* frames do not wait: the latency is one inference's */
  g_object_get (seg, "latency", &ours, NULL);
  fail_unless (ours < 2 * GST_SECOND);

  gst_buffer_unref (first);
  gst_object_unref (seg);
  gst_harness_teardown (hs);
  gst_harness_teardown (sy);
}

GST_END_TEST;

/* Asynchronous elements, cycled through EOS, stops with frames in flight
 * and a flush, leave nothing alive (GStreamer's leaks tracer). */
GST_START_TEST (test_async_cycles_leak_nothing)
{
  GstTracer *tracer = NULL;
  GList *tracers = gst_tracing_get_active_tracers ();
  GstElement *pipeline;

  for (GList *l = tracers; l; l = l->next)
    if (!tracer && g_str_equal (G_OBJECT_TYPE_NAME (l->data), "GstLeaksTracer"))
      tracer = gst_object_ref (l->data);
  g_list_free_full (tracers, gst_object_unref);
  fail_unless (tracer != NULL,
      "the leaks tracer is not active: run with "
      "GST_TRACERS=leaks");

  pipeline = pipeline_new (
      "videotestsrc num-buffers=6 ! "
      "video/x-raw,width=160,height=120 ! vittmsegment model=\"%s\" "
      "async-depth=3 async-workers=2 inference-interval=2 ! fakesink "
      "videotestsrc num-buffers=6 ! video/x-raw,width=160,height=120 ! "
      "vittmsegment model=\"%s\" async-depth=2 async-workers=2 "
      "async-policy=latest ! fakesink",
      model_path, model_path);
  for (guint i = 0; i < 4; i++) {
    if (i % 2 == 0) {
      run_to_eos (pipeline, 60, NULL);
    } else {
      gst_element_set_state (pipeline, GST_STATE_PLAYING);
      fail_unless (ptu_wait_state (pipeline) == GST_STATE_CHANGE_SUCCESS);
      fail_unless (gst_element_seek_simple (
          pipeline, GST_FORMAT_TIME, GST_SEEK_FLAG_FLUSH, 0));
    }
    fail_unless (gst_element_set_state (pipeline, GST_STATE_NULL) ==
        GST_STATE_CHANGE_SUCCESS);
  }
  gst_object_unref (pipeline);
  gst_task_cleanup_all ();

  fail_unless_equals_int (ptu_print_live_objects (tracer), 0);
  gst_object_unref (tracer);
}

GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* restarts                                                                 */

static gint segmenters_built;

/* Counts the element's "built a segmenter" debug lines. */
static void
count_builds (G_GNUC_UNUSED GstDebugCategory *category,
    G_GNUC_UNUSED GstDebugLevel level, G_GNUC_UNUSED const gchar *file,
    G_GNUC_UNUSED const gchar *function, G_GNUC_UNUSED gint line,
    G_GNUC_UNUSED GObject *object, GstDebugMessage *message,
    G_GNUC_UNUSED gpointer user_data)
{
  const gchar *text = gst_debug_message_get (message);

  if (text && g_str_has_prefix (text, "built a segmenter"))
    g_atomic_int_inc (&segmenters_built);
}

static void
count_builds_start (void)
{
  g_atomic_int_set (&segmenters_built, 0);
  gst_debug_set_threshold_for_name ("vittmsegment", GST_LEVEL_DEBUG);
  gst_debug_add_log_function (count_builds, NULL, NULL);
}

static void
count_builds_stop (void)
{
  gst_debug_remove_log_function (count_builds);
}

/* NULL ↔ PLAYING and READY ↔ PAUSED cycles of one element with the same
 * model and frames build the segmenter once; another mask size builds a new
 * one, whose maps have the model's size. */
GST_START_TEST (test_restart_keeps_the_segmenter)
{
  GstElement *pipeline =
      pipeline_new ("videotestsrc num-buffers=2 ! "
                    "video/x-raw,width=160,height=120 ! vittmsegment name=seg "
                    "model=\"%s\" ! fakesink name=sink enable-last-sample=true",
          model_path);
  GstElement *seg = gst_bin_get_by_name (GST_BIN (pipeline), "seg");
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstSample *sample;
  GstVittmSegMeta *meta;
  gint64 t0;

  count_builds_start ();
  for (guint i = 0; i < 3; i++) {
    t0 = g_get_monotonic_time ();
    run_to_eos (pipeline, 60, NULL);
    GST_INFO ("run %u: %" G_GINT64_FORMAT " ms", i,
        (g_get_monotonic_time () - t0) / 1000);
    fail_unless (gst_element_set_state (
                     pipeline, i == 1 ? GST_STATE_READY : GST_STATE_NULL) ==
        GST_STATE_CHANGE_SUCCESS);
  }
  for (guint i = 0; i < 2; i++) {
    fail_if (gst_element_set_state (pipeline, GST_STATE_PAUSED) ==
        GST_STATE_CHANGE_FAILURE);
    fail_unless (ptu_wait_state (pipeline) == GST_STATE_CHANGE_SUCCESS);
    fail_unless (gst_element_set_state (pipeline, GST_STATE_READY) ==
        GST_STATE_CHANGE_SUCCESS);
  }
  fail_unless_equals_int (g_atomic_int_get (&segmenters_built), 1);

  g_object_set (seg, "mask-size", 1 /* model */, NULL);
  run_to_eos (pipeline, 60, NULL);
  fail_unless_equals_int (g_atomic_int_get (&segmenters_built), 2);
  g_object_get (sink, "last-sample", &sample, NULL);
  fail_unless (sample != NULL);
  meta = gst_buffer_get_vittm_seg_meta (gst_sample_get_buffer (sample));
  fail_unless (meta != NULL);
  fail_unless (meta->width != 160, "the map has the frame's size");
  gst_sample_unref (sample);
  count_builds_stop ();

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (seg);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* Another model file after a stop is loaded, not the kept one used. */
GST_START_TEST (test_restart_with_another_model_loads_it)
{
  GstElement *pipeline =
      pipeline_new ("videotestsrc num-buffers=1 ! "
                    "video/x-raw,width=160,height=120 ! vittmsegment name=seg "
                    "model=\"%s\" ! fakesink",
          model_path);
  GstElement *seg = gst_bin_get_by_name (GST_BIN (pipeline), "seg");
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;

  run_to_eos (pipeline, 60, NULL);
  fail_unless (gst_element_set_state (pipeline, GST_STATE_NULL) ==
      GST_STATE_CHANGE_SUCCESS);
  g_object_set (seg, "model", "/nonexistent/model.safetensors", NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, ptu_time_bound (60 * GST_SECOND),
      GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  fail_unless (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR,
      "the element kept the old model");
  gst_message_unref (msg);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (seg);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* ------------------------------------------------------------------------ */
/* many streams, one model                                                  */

#define STREAM_CAPS "video/x-raw,format=RGBx,width=160,height=120"

static guint64
device_memory (vittm_device *dev)
{
  guint64 current, peak;

  vittm_device_memory (dev, &current, &peak);
  return current;
}

/* Device memory that @desc's elements hold once it has prerolled (their
 * segmenters are built and have run), above @base. */
static guint64
memory_of_pipeline (vittm_device *dev, guint64 base, const gchar *desc)
{
  GstElement *pipeline = pipeline_new ("%s", desc);
  guint64 used;

  fail_if (gst_element_set_state (pipeline, GST_STATE_PAUSED) ==
      GST_STATE_CHANGE_FAILURE);
  fail_unless (ptu_wait_state (pipeline) == GST_STATE_CHANGE_SUCCESS,
      "%s did not preroll", desc);
  used = device_memory (dev) - base;
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  /* disposed, the elements free what they held */
  fail_unless_equals_uint64 (device_memory (dev), base);
  return used;
}

/* Two vittmsegment elements on the branches of a tee, or in two pipelines
 * of the process, hold the model's weights once: the second adds only its
 * segmenter's frame buffers. Elements with different model-instance-ids
 * hold a copy each; the same id shares. */
GST_START_TEST (test_elements_of_a_process_share_one_model)
{
  vittm_device *dev = NULL;
  vittm_model *model = NULL;
  vittm_segmenter *seg = NULL;
  vittm_memory_use use;
  vittm_error err = {0};
  guint64 base, one, tee, two_pipelines, ids_differ, ids_same;
  gchar *desc;

  fail_unless (
      vittm_device_open (NULL, &dev, &err) == VITTM_OK, "%s", err.message);
  base = device_memory (dev);

  desc = g_strdup_printf ("videotestsrc num-buffers=1 ! " STREAM_CAPS " ! "
                          "vittmsegment model=\"%s\" ! fakesink",
      model_path);
  one = memory_of_pipeline (dev, base, desc);
  g_free (desc);

#define TEE_LINE                                                               \
  "videotestsrc num-buffers=1 ! " STREAM_CAPS " ! tee name=t "                 \
  "t. ! queue ! vittmsegment model=\"%s\" %s ! fakesink "                      \
  "t. ! queue ! vittmsegment model=\"%s\" %s ! fakesink"
  desc = g_strdup_printf (TEE_LINE, model_path, "", model_path, "");
  tee = memory_of_pipeline (dev, base, desc);
  g_free (desc);
  desc = g_strdup_printf (TEE_LINE, model_path, "model-instance-id=a",
      model_path, "model-instance-id=b");
  ids_differ = memory_of_pipeline (dev, base, desc);
  g_free (desc);
  desc = g_strdup_printf (TEE_LINE, model_path, "model-instance-id=a",
      model_path, "model-instance-id=a");
  ids_same = memory_of_pipeline (dev, base, desc);
  g_free (desc);

  {
    gchar *d = g_strdup_printf ("videotestsrc num-buffers=1 ! " STREAM_CAPS
                                " ! vittmsegment model=\"%s\" ! fakesink",
        model_path);
    GstElement *p1 = pipeline_new ("%s", d), *p2 = pipeline_new ("%s", d);

    gst_element_set_state (p1, GST_STATE_PAUSED);
    gst_element_set_state (p2, GST_STATE_PAUSED);
    fail_unless (ptu_wait_state (p1) == GST_STATE_CHANGE_SUCCESS);
    fail_unless (ptu_wait_state (p2) == GST_STATE_CHANGE_SUCCESS);
    two_pipelines = device_memory (dev) - base;
    gst_element_set_state (p1, GST_STATE_NULL);
    gst_element_set_state (p2, GST_STATE_NULL);
    gst_object_unref (p1);
    gst_object_unref (p2);
    g_free (d);
  }

  /* what the weights and one segmenter's frames take */
  fail_unless (
      vittm_model_load (dev, model_path, NULL, &model, &err) == VITTM_OK, "%s",
      err.message);
  fail_unless (vittm_segmenter_create (model, VITTM_FORMAT_RGBX, 160, 120, NULL,
                   &seg, &err) == VITTM_OK,
      "%s", err.message);
  vittm_segmenter_memory_use (seg, &use);
  GST_INFO (
      "weights %" G_GUINT64_FORMAT ", frame %" G_GUINT64_FORMAT
      "; one element %" G_GUINT64_FORMAT ", two on a tee %" G_GUINT64_FORMAT
      ", in two pipelines %" G_GUINT64_FORMAT
      ", with two ids %" G_GUINT64_FORMAT ", with one id %" G_GUINT64_FORMAT,
      use.weights, use.frame, one, tee, two_pipelines, ids_differ, ids_same);

  fail_unless (use.weights > use.frame);
  fail_unless (one >= use.weights);
  fail_unless (tee > one && tee - one <= use.frame,
      "the second element "
      "added %" G_GUINT64_FORMAT
      " bytes, its frame buffers take %" G_GUINT64_FORMAT,
      tee - one, use.frame);
  fail_unless_equals_uint64 (two_pipelines, tee);
  fail_unless_equals_uint64 (ids_same, tee);
  fail_unless (ids_differ >= tee + use.weights,
      "two model-instance-ids "
      "hold %" G_GUINT64_FORMAT " bytes, one model %" G_GUINT64_FORMAT,
      ids_differ, tee);

  vittm_segmenter_free (seg);
  vittm_model_free (model);
  vittm_device_free (dev);
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
  tcase_add_loop_test (tc, test_async_frames_leave_in_order_with_their_own_maps,
      0, G_N_ELEMENTS (async_props));
  tcase_add_loop_test (tc, test_async_inference_interval_reuses_as_synchronous,
      0, G_N_ELEMENTS (async_props));
  tcase_add_test (tc, test_async_eos_follows_every_frame);
  tcase_add_test (tc, test_async_flush_discards_frames_in_flight);
  tcase_add_test (tc, test_async_latency_counts_each_frame_in_flight);
  tcase_add_test (tc, test_async_state_changes_with_frames_in_flight);
  tcase_add_test (
      tc, test_async_latest_passes_frames_at_once_with_the_newest_map);
  tcase_add_test (tc, test_async_cycles_leak_nothing);
  tcase_add_test (tc, test_restart_keeps_the_segmenter);
  tcase_add_test (tc, test_restart_with_another_model_loads_it);
  tcase_add_test (tc, test_elements_of_a_process_share_one_model);
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
  /* For the leaks test; the tracer is loaded by gst_init. */
  if (!g_getenv ("GST_TRACERS"))
    g_setenv ("GST_TRACERS", "leaks", TRUE);
  gst_check_init (&argc, &argv);
  return gst_check_run_suite (
      vittmsegment_live_suite (), "vittmsegment-live", __FILE__);
}

/* vittm — vittmfpsmeter: frame rate and inference latency of a pipeline
 *
 * SPDX-License-Identifier: MIT
 */

/**
 * SECTION:element-vittmfpsmeter
 * @title: vittmfpsmeter
 * @see_also: vittmsegment, vittmoverlay, fpsdisplaysink
 *
 * Passes buffers through untouched and measures the pipeline's throughput:
 * frames per second over a sliding #GstVittmFpsMeter:window of frames and
 * over the whole run, and — from the #GstVittmSegMeta on each buffer —
 * the inference latency (median and 95th percentile of the wall-clock and
 * GPU time; maps carried over from an earlier frame are not counted).
 *
 * Times are those at which buffers arrive here, read from the pipeline clock
 * as the current running time (a real-time clock from which paused periods
 * are excluded); before the pipeline has a clock, the monotonic system clock.
 * Buffer timestamps are not used: a pipeline that does not sync to the clock
 * runs faster or slower than its timestamps, and it is that real rate that
 * the meter reports.
 *
 * As fpsdisplaysink, it reports without printing: every
 * #GstVittmFpsMeter:interval milliseconds it posts an element message named
 * `vittm-fps` with the fields `label` (string), `frames` (guint64), `fps`,
 * `fps-overall`, `latency-p50-ms`, `latency-p95-ms`, `gpu-p50-ms`,
 * `gpu-p95-ms` (doubles) and `inferences` (guint64), and, unless
 * #GstVittmFpsMeter:silent, sets #GstVittmFpsMeter:last-message to the same
 * figures on one line (`gst-launch-1.0 -v` shows its notifications;
 * #GstVittmFpsMeter:print also prints it on standard output). Latency
 * percentiles in messages are over the last `window` inferences; a value
 * that is unknown (no inference yet, no GPU timings) is -1. At EOS it posts a
 * last message.
 *
 * If #GstVittmFpsMeter:report is set, it writes a JSON file with the same
 * fields (latencies over the whole run; unknown values are null), a summary
 * of all per-frame latencies and `eos` (boolean): at EOS, or, when the
 * pipeline stops without one (an error, an interrupted gst-launch-1.0), as it
 * goes from PAUSED to READY, with the figures up to then.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=street.mp4 ! decodebin ! videoconvert ! \
 *     vittmsegment ! vittmoverlay ! vittmfpsmeter label=vittm-b \
 *     report=vittm-b.json print=true ! fakesink
 * ]| Segments a video as fast as it can, prints the frame rate every second
 * and writes a JSON report at the end (or when interrupted).
 */

#include "gstvittmfpsmeter.h"
#include "gstvittmelements.h"
#include "gstvittmsegmeta.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_vittm_fps_meter_debug);
#define GST_CAT_DEFAULT gst_vittm_fps_meter_debug

#define PROP_WINDOW_DEFAULT 30
#define PROP_WINDOW_MIN 2
#define PROP_WINDOW_MAX 100000
#define PROP_LABEL_DEFAULT NULL
#define PROP_INTERVAL_DEFAULT 1000
#define PROP_SILENT_DEFAULT FALSE
#define PROP_REPORT_DEFAULT NULL
#define PROP_PRINT_DEFAULT FALSE

enum
{
  PROP_0,
  PROP_WINDOW,
  PROP_LABEL,
  PROP_INTERVAL,
  PROP_SILENT,
  PROP_REPORT,
  PROP_PRINT,
  PROP_LAST_MESSAGE,
  N_PROPERTIES
};

static GParamSpec *properties[N_PROPERTIES];

/* Per-frame latencies kept for the end-of-stream summary; beyond this many,
 * a fixed-size uniform sample (reservoir) of them is kept instead, so that a
 * pipeline running for days does not grow without bound (percentiles then
 * become estimates; count, min, mean and max stay exact). */
#define MAX_SAMPLES (1u << 20)

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE (
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE (
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

/* A fixed-capacity ring of the most recent values. */
typedef struct
{
  GstClockTime *values;
  guint capacity, count, next;
} Ring;

/* Everything known about one latency (wall or GPU), in ns. */
typedef struct
{
  Ring window;
  GArray *samples; /* guint64, all (or a uniform sample) */
  guint64 count, sum, min, max;
} LatencyStats;

struct _GstVittmFpsMeter
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  guint window;
  gchar *label;
  guint interval;
  gboolean silent;
  gchar *report;
  gboolean print;
  gchar *last_message;

  /* streaming state */
  guint64 frames;
  guint64 timed_frames;     /* frames since `first` (same time source) */
  gboolean have_clock_time; /* `first` came from the pipeline clock */
  GstClockTime first, last, last_report;
  Ring arrivals;
  LatencyStats wall, gpu;
  GRand *rand;             /* reservoir sampling; fixed seed */
  gboolean report_pending; /* started, or frames since the report */
};

#define gst_vittm_fps_meter_parent_class parent_class
G_DEFINE_TYPE (GstVittmFpsMeter, gst_vittm_fps_meter, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (
    vittmfpsmeter, "vittmfpsmeter", GST_RANK_NONE, GST_TYPE_VITTM_FPS_METER);

/* ------------------------------------------------------------------------ */
/* statistics                                                               */

static void
ring_reset (Ring *ring, guint capacity)
{
  if (ring->capacity != capacity) {
    g_free (ring->values);
    ring->values = g_new (GstClockTime, capacity);
    ring->capacity = capacity;
  }
  ring->count = ring->next = 0;
}

static void
ring_push (Ring *ring, GstClockTime v)
{
  ring->values[ring->next] = v;
  ring->next = (ring->next + 1) % ring->capacity;
  if (ring->count < ring->capacity)
    ring->count++;
}

/* The i-th value, oldest first. */
static GstClockTime
ring_get (const Ring *ring, guint i)
{
  guint start = (ring->next + ring->capacity - ring->count) % ring->capacity;

  return ring->values[(start + i) % ring->capacity];
}

static gint
compare_u64 (gconstpointer a, gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;

  return x < y ? -1 : x > y;
}

/* The @p-th percentile (0..100) of @n sorted values, interpolated linearly
 * between closest ranks (as numpy's default), in ms; -1 when @n is 0. */
static gdouble
percentile_ms (const guint64 *sorted, guint n, gdouble p)
{
  gdouble pos, frac;
  guint lo;

  if (n == 0)
    return -1.0;
  pos = p / 100.0 * (n - 1);
  lo = (guint) pos;
  frac = pos - lo;
  if (lo + 1 >= n)
    return sorted[n - 1] / 1e6;
  return (sorted[lo] + frac * ((gdouble) sorted[lo + 1] - sorted[lo])) / 1e6;
}

static void
ring_percentiles_ms (const Ring *ring, gdouble *p50, gdouble *p95)
{
  guint64 *sorted = g_new (guint64, MAX (ring->count, 1));

  for (guint i = 0; i < ring->count; i++)
    sorted[i] = ring_get (ring, i);
  qsort (sorted, ring->count, sizeof (guint64), compare_u64);
  *p50 = percentile_ms (sorted, ring->count, 50.0);
  *p95 = percentile_ms (sorted, ring->count, 95.0);
  g_free (sorted);
}

static void
latency_reset (LatencyStats *stats, guint window)
{
  ring_reset (&stats->window, window);
  if (!stats->samples)
    stats->samples = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_array_set_size (stats->samples, 0);
  stats->count = stats->sum = stats->max = 0;
  stats->min = G_MAXUINT64;
}

static void
latency_clear (LatencyStats *stats)
{
  g_clear_pointer (&stats->window.values, g_free);
  stats->window.capacity = 0;
  g_clear_pointer (&stats->samples, g_array_unref);
}

static void
latency_add (LatencyStats *stats, guint64 ns, GRand *rand)
{
  ring_push (&stats->window, ns);
  stats->count++;
  stats->sum += ns;
  stats->min = MIN (stats->min, ns);
  stats->max = MAX (stats->max, ns);

  if (stats->samples->len < MAX_SAMPLES) {
    g_array_append_val (stats->samples, ns);
  } else {
    /* Algorithm R: keep each of the `count` values with equal probability. */
    guint64 j = (guint64) (g_rand_double (rand) * stats->count);
    if (j < MAX_SAMPLES)
      g_array_index (stats->samples, guint64, j) = ns;
  }
}

/* Frames per second over the arrival times in @ring (n frames span n - 1
 * intervals); 0 until two frames are in. */
static gdouble
ring_fps (const Ring *ring)
{
  GstClockTime span;

  if (ring->count < 2)
    return 0.0;
  span = ring_get (ring, ring->count - 1) - ring_get (ring, 0);
  return span ? (ring->count - 1) * (gdouble) GST_SECOND / span : 0.0;
}

static gdouble
overall_fps (GstVittmFpsMeter *self)
{
  if (self->timed_frames < 2 || self->last <= self->first)
    return 0.0;
  return (self->timed_frames - 1) * (gdouble) GST_SECOND /
      (self->last - self->first);
}

/* ------------------------------------------------------------------------ */
/* reports                                                                  */

typedef struct
{
  gchar *label;
  guint64 frames, inferences;
  gdouble fps, fps_overall;
  gdouble lat_p50, lat_p95, gpu_p50, gpu_p95;
} Figures;

static gchar *
current_label (GstVittmFpsMeter *self)
{
  gchar *label;

  GST_OBJECT_LOCK (self);
  label =
      self->label ? g_strdup (self->label) : g_strdup (GST_OBJECT_NAME (self));
  GST_OBJECT_UNLOCK (self);
  return label;
}

/* Figures of the last window (messages and lines during the run). */
static void
figures_window (GstVittmFpsMeter *self, Figures *f)
{
  f->label = current_label (self);
  f->frames = self->frames;
  f->inferences = self->wall.count;
  f->fps = ring_fps (&self->arrivals);
  f->fps_overall = overall_fps (self);
  ring_percentiles_ms (&self->wall.window, &f->lat_p50, &f->lat_p95);
  ring_percentiles_ms (&self->gpu.window, &f->gpu_p50, &f->gpu_p95);
}

/* Posts the figures as an element message and, unless `silent`, makes them
 * the last message (notified) and, with `print`, prints it. */
static void
post_figures (GstVittmFpsMeter *self, const Figures *f)
{
  GstStructure *s;
  gboolean silent, print;

  s = gst_structure_new ("vittm-fps", "label", G_TYPE_STRING, f->label,
      "frames", G_TYPE_UINT64, f->frames, "fps", G_TYPE_DOUBLE, f->fps,
      "fps-overall", G_TYPE_DOUBLE, f->fps_overall, "latency-p50-ms",
      G_TYPE_DOUBLE, f->lat_p50, "latency-p95-ms", G_TYPE_DOUBLE, f->lat_p95,
      "gpu-p50-ms", G_TYPE_DOUBLE, f->gpu_p50, "gpu-p95-ms", G_TYPE_DOUBLE,
      f->gpu_p95, "inferences", G_TYPE_UINT64, f->inferences, NULL);
  gst_element_post_message (
      GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));

  GST_OBJECT_LOCK (self);
  silent = self->silent;
  print = self->print;
  GST_OBJECT_UNLOCK (self);

  if (!silent) {
    gchar lat[96] = "latency n/a", gpu[96] = "gpu n/a";
    gchar *line;

    if (f->lat_p50 >= 0)
      g_snprintf (lat, sizeof (lat), "latency p50 %.1f ms p95 %.1f ms",
          f->lat_p50, f->lat_p95);
    if (f->gpu_p50 >= 0)
      g_snprintf (gpu, sizeof (gpu), "gpu p50 %.1f ms p95 %.1f ms", f->gpu_p50,
          f->gpu_p95);
    line = g_strdup_printf ("%s: %" G_GUINT64_FORMAT " frames, %.2f fps "
                            "(overall %.2f), %s, %s",
        f->label, f->frames, f->fps, f->fps_overall, lat, gpu);
    if (print)
      g_print ("%s\n", line);

    GST_OBJECT_LOCK (self);
    g_free (self->last_message);
    self->last_message = line;
    GST_OBJECT_UNLOCK (self);
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_MESSAGE]);
  }
}

static void
json_string (GString *out, const gchar *s)
{
  g_string_append_c (out, '"');
  for (; *s; s++) {
    guchar c = (guchar) *s;

    if (c == '"' || c == '\\')
      g_string_append_printf (out, "\\%c", c);
    else if (c < 0x20)
      g_string_append_printf (out, "\\u%04x", c);
    else
      g_string_append_c (out, c);
  }
  g_string_append_c (out, '"');
}

/* Appends "key": value with a locale-independent number, or null when the
 * value is unknown (negative). */
static void
json_number (GString *out, const gchar *indent, const gchar *key, gdouble v,
    gboolean last)
{
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append_printf (out, "%s\"%s\": %s%s\n", indent, key,
      v < 0 ? "null" : g_ascii_formatd (buf, sizeof (buf), "%.4f", v),
      last ? "" : ",");
}

static void
json_latency_summary (
    GString *out, const gchar *key, const LatencyStats *stats, gboolean last)
{
  guint n = stats->samples->len;
  guint64 *sorted =
      g_memdup2 (stats->samples->data, MAX (n, 1) * sizeof (guint64));
  gboolean any = stats->count > 0;

  if (n > 1) /* sorted is NULL with no samples */
    qsort (sorted, n, sizeof (guint64), compare_u64);
  g_string_append_printf (out, "    \"%s\": {\n", key);
  g_string_append_printf (
      out, "      \"count\": %" G_GUINT64_FORMAT ",\n", stats->count);
  json_number (out, "      ", "min-ms", any ? stats->min / 1e6 : -1, FALSE);
  json_number (out, "      ", "mean-ms",
      any ? (gdouble) stats->sum / stats->count / 1e6 : -1, FALSE);
  json_number (out, "      ", "p50-ms", percentile_ms (sorted, n, 50), FALSE);
  json_number (out, "      ", "p90-ms", percentile_ms (sorted, n, 90), FALSE);
  json_number (out, "      ", "p95-ms", percentile_ms (sorted, n, 95), FALSE);
  json_number (out, "      ", "p99-ms", percentile_ms (sorted, n, 99), FALSE);
  json_number (out, "      ", "max-ms", any ? stats->max / 1e6 : -1, TRUE);
  g_string_append_printf (out, "    }%s\n", last ? "" : ",");
  g_free (sorted);
}

/* Figures over the whole run and the JSON text of the report. */
static gchar *
report_json (GstVittmFpsMeter *self, const Figures *f, gboolean eos)
{
  GString *out = g_string_new ("{\n");
  guint64 *wall = g_memdup2 (self->wall.samples->data,
      MAX (self->wall.samples->len, 1) * sizeof (guint64));
  guint64 *gpu = g_memdup2 (self->gpu.samples->data,
      MAX (self->gpu.samples->len, 1) * sizeof (guint64));
  guint nw = self->wall.samples->len, ng = self->gpu.samples->len;
  gdouble duration = self->last > self->first && self->timed_frames > 1 ?
      (gdouble) (self->last - self->first) / GST_SECOND :
      0.0;

  /* With no samples g_memdup2 returns NULL, and qsort's base must not be NULL even for
   * zero elements. */
  if (nw > 1)
    qsort (wall, nw, sizeof (guint64), compare_u64);
  if (ng > 1)
    qsort (gpu, ng, sizeof (guint64), compare_u64);

  g_string_append (out, "  \"label\": ");
  json_string (out, f->label);
  g_string_append (out, ",\n");
  g_string_append_printf (
      out, "  \"frames\": %" G_GUINT64_FORMAT ",\n", f->frames);
  g_string_append_printf (
      out, "  \"inferences\": %" G_GUINT64_FORMAT ",\n", f->inferences);
  g_string_append_printf (out, "  \"eos\": %s,\n", eos ? "true" : "false");
  json_number (out, "  ", "duration-s", duration, FALSE);
  json_number (out, "  ", "fps", f->fps, FALSE);
  json_number (out, "  ", "fps-overall", f->fps_overall, FALSE);
  json_number (
      out, "  ", "latency-p50-ms", percentile_ms (wall, nw, 50), FALSE);
  json_number (
      out, "  ", "latency-p95-ms", percentile_ms (wall, nw, 95), FALSE);
  json_number (out, "  ", "gpu-p50-ms", percentile_ms (gpu, ng, 50), FALSE);
  json_number (out, "  ", "gpu-p95-ms", percentile_ms (gpu, ng, 95), FALSE);
  g_string_append (out, "  \"latency\": {\n");
  json_latency_summary (out, "wall", &self->wall, FALSE);
  json_latency_summary (out, "gpu", &self->gpu, TRUE);
  g_string_append (out, "  }\n}\n");

  g_free (wall);
  g_free (gpu);
  return g_string_free (out, FALSE);
}

/* Writes the report atomically: a temporary file beside it, then a rename,
 * so that a reader never sees half a report. */
static gboolean
write_report (
    GstVittmFpsMeter *self, const gchar *path, const Figures *f, gboolean eos)
{
  gchar *json = report_json (self, f, eos);
  GError *err = NULL;
  gboolean ok;

  ok = g_file_set_contents_full (
      path, json, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0666, &err);
  g_free (json);
  if (!ok) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
        ("Could not write the frame-rate report to \"%s\".", path),
        ("%s. Set 'report' to a path in a writable directory.", err->message));
    g_error_free (err);
    return FALSE;
  }
  GST_INFO_OBJECT (self, "wrote report %s", path);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* GstBaseTransform                                                         */

/* Arrival time of a buffer: the running time of the pipeline clock when the
 * element is PLAYING (real time, paused periods excluded); otherwise the
 * monotonic system clock. @from_clock tells which. */
static GstClockTime
arrival_time (GstVittmFpsMeter *self, gboolean *from_clock)
{
  GstElement *element = GST_ELEMENT (self);
  GstClock *clock = NULL;
  GstClockTime base = 0;

  GST_OBJECT_LOCK (self);
  if (GST_STATE (element) == GST_STATE_PLAYING && element->clock) {
    clock = gst_object_ref (element->clock);
    base = element->base_time;
  }
  GST_OBJECT_UNLOCK (self);

  if (clock) {
    GstClockTime now = gst_clock_get_time (clock);

    gst_object_unref (clock);
    *from_clock = TRUE;
    return now >= base ? now - base : 0;
  }
  *from_clock = FALSE;
  return g_get_monotonic_time () * GST_USECOND;
}

static void
reset_stats (GstVittmFpsMeter *self, guint window)
{
  self->frames = 0;
  self->timed_frames = 0;
  self->first = self->last = self->last_report = GST_CLOCK_TIME_NONE;
  ring_reset (&self->arrivals, window);
  latency_reset (&self->wall, window);
  latency_reset (&self->gpu, window);
  if (self->rand)
    g_rand_free (self->rand);
  self->rand = g_rand_new_with_seed (0x76697474);
}

static void
resize_windows (GstVittmFpsMeter *self, guint window)
{
  /* The windows restart empty; overall figures are kept. */
  ring_reset (&self->arrivals, window);
  ring_reset (&self->wall.window, window);
  ring_reset (&self->gpu.window, window);
}

static GstFlowReturn
gst_vittm_fps_meter_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstVittmFpsMeter *self = GST_VITTM_FPS_METER (trans);
  GstVittmSegMeta *meta;
  gboolean from_clock;
  guint window, interval;
  GstClockTime now;

  GST_OBJECT_LOCK (self);
  window = self->window;
  interval = self->interval;
  GST_OBJECT_UNLOCK (self);

  if (window != self->arrivals.capacity)
    resize_windows (self, window);

  now = arrival_time (self, &from_clock);
  self->frames++;
  self->report_pending = TRUE;
  if (self->timed_frames == 0 || from_clock != self->have_clock_time ||
      now < self->last) {
    /* First frame, or the time source changed (the pipeline clock arrives
     * with PLAYING): restart the time base, keep the frame count. */
    if (self->timed_frames > 0)
      GST_DEBUG_OBJECT (self, "time source changed, restarting time base");
    self->have_clock_time = from_clock;
    self->first = self->last_report = now;
    self->timed_frames = 0;
    ring_reset (&self->arrivals, window);
  }
  self->timed_frames++;
  self->last = now;
  ring_push (&self->arrivals, now);

  meta = gst_buffer_get_vittm_seg_meta (buf);
  if (meta && !meta->reused) {
    if (GST_CLOCK_TIME_IS_VALID (meta->wall_time))
      latency_add (&self->wall, meta->wall_time, self->rand);
    if (GST_CLOCK_TIME_IS_VALID (meta->gpu_time) && meta->gpu_time > 0)
      latency_add (&self->gpu, meta->gpu_time, self->rand);
  }

  if (interval > 0 && now - self->last_report >= interval * GST_MSECOND) {
    Figures f;

    figures_window (self, &f);
    post_figures (self, &f);
    g_free (f.label);
    self->last_report = now;
  }

  return GST_FLOW_OK;
}

static gboolean
gst_vittm_fps_meter_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstVittmFpsMeter *self = GST_VITTM_FPS_METER (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    guint interval;
    gchar *report;
    Figures f;

    GST_OBJECT_LOCK (self);
    interval = self->interval;
    report = g_strdup (self->report);
    GST_OBJECT_UNLOCK (self);

    figures_window (self, &f);
    if (interval > 0)
      post_figures (self, &f);
    if (report)
      write_report (self, report, &f, TRUE);
    self->report_pending = FALSE;
    g_free (report);
    g_free (f.label);
  }

  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static gboolean
gst_vittm_fps_meter_start (GstBaseTransform *trans)
{
  GstVittmFpsMeter *self = GST_VITTM_FPS_METER (trans);
  gchar *report, *dir = NULL;
  guint window;
  gboolean ok = TRUE;

  GST_OBJECT_LOCK (self);
  window = self->window;
  report = g_strdup (self->report);
  GST_OBJECT_UNLOCK (self);

  /* Refuse a report that cannot be written now rather than after the run. */
  if (report) {
    dir = g_path_get_dirname (report);
    if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
          ("Cannot write the frame-rate report \"%s\": directory \"%s\" does "
           "not exist.",
              report, dir),
          ("Create the directory or set 'report' to a path in an existing "
           "one."));
      ok = FALSE;
    }
  }
  g_free (dir);
  g_free (report);

  reset_stats (self, window);
  self->report_pending = ok;
  return ok;
}

static void
release_stats (GstVittmFpsMeter *self)
{
  g_clear_pointer (&self->arrivals.values, g_free);
  self->arrivals.capacity = 0;
  latency_clear (&self->wall);
  latency_clear (&self->gpu);
  g_clear_pointer (&self->rand, g_rand_free);
}

/* A run that ends without EOS (an error upstream or downstream, a pipeline
 * set to NULL on Ctrl-C) still leaves its figures behind. */
static gboolean
gst_vittm_fps_meter_stop (GstBaseTransform *trans)
{
  GstVittmFpsMeter *self = GST_VITTM_FPS_METER (trans);
  gchar *report;

  GST_OBJECT_LOCK (self);
  report = g_strdup (self->report);
  GST_OBJECT_UNLOCK (self);

  if (report && self->report_pending && self->rand) {
    Figures f;

    GST_INFO_OBJECT (self, "stopped without EOS: writing the report now");
    figures_window (self, &f);
    write_report (self, report, &f, FALSE);
    g_free (f.label);
  }
  self->report_pending = FALSE;
  g_free (report);
  release_stats (self);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* GObject                                                                  */

static void
gst_vittm_fps_meter_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstVittmFpsMeter *self = GST_VITTM_FPS_METER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_WINDOW:
      self->window = g_value_get_uint (value);
      break;
    case PROP_LABEL:
      g_free (self->label);
      self->label = g_value_dup_string (value);
      break;
    case PROP_INTERVAL:
      self->interval = g_value_get_uint (value);
      break;
    case PROP_SILENT:
      self->silent = g_value_get_boolean (value);
      break;
    case PROP_REPORT:
      g_free (self->report);
      self->report = g_value_dup_string (value);
      break;
    case PROP_PRINT:
      self->print = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_vittm_fps_meter_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstVittmFpsMeter *self = GST_VITTM_FPS_METER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_WINDOW:
      g_value_set_uint (value, self->window);
      break;
    case PROP_LABEL:
      g_value_set_string (value, self->label);
      break;
    case PROP_INTERVAL:
      g_value_set_uint (value, self->interval);
      break;
    case PROP_SILENT:
      g_value_set_boolean (value, self->silent);
      break;
    case PROP_REPORT:
      g_value_set_string (value, self->report);
      break;
    case PROP_PRINT:
      g_value_set_boolean (value, self->print);
      break;
    case PROP_LAST_MESSAGE:
      g_value_set_string (value, self->last_message);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_vittm_fps_meter_finalize (GObject *object)
{
  GstVittmFpsMeter *self = GST_VITTM_FPS_METER (object);

  release_stats (self);
  g_free (self->label);
  g_free (self->report);
  g_free (self->last_message);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_vittm_fps_meter_class_init (GstVittmFpsMeterClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_vittm_fps_meter_debug, "vittmfpsmeter", 0,
      "vittm frame-rate and latency meter");

  gobject_class->set_property = gst_vittm_fps_meter_set_property;
  gobject_class->get_property = gst_vittm_fps_meter_get_property;
  gobject_class->finalize = gst_vittm_fps_meter_finalize;

  properties[PROP_WINDOW] = g_param_spec_uint ("window", "Window",
      "Number of most recent frames (and inferences) the sliding frame "
      "rate and latency percentiles are computed over",
      PROP_WINDOW_MIN, PROP_WINDOW_MAX, PROP_WINDOW_DEFAULT,
      G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING | G_PARAM_STATIC_STRINGS);
  properties[PROP_LABEL] = g_param_spec_string ("label", "Label",
      "Name of this measurement in messages, the last message and the "
      "report (default: the element's name)",
      PROP_LABEL_DEFAULT,
      G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING | G_PARAM_STATIC_STRINGS);
  properties[PROP_INTERVAL] = g_param_spec_uint ("interval", "Interval",
      "Milliseconds between two 'vittm-fps' element messages and updates "
      "of last-message (0 = none)",
      0, G_MAXUINT, PROP_INTERVAL_DEFAULT,
      G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING | G_PARAM_STATIC_STRINGS);
  properties[PROP_SILENT] = g_param_spec_boolean ("silent", "Silent",
      "Do not update last-message (nor print it); element messages and "
      "the report are still produced",
      PROP_SILENT_DEFAULT,
      G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING | G_PARAM_STATIC_STRINGS);
  properties[PROP_REPORT] = g_param_spec_string ("report", "Report",
      "Path of a JSON report written (atomically) at EOS, or when the "
      "element stops without EOS: the message fields over the whole run "
      "plus a latency summary (unset = none)",
      PROP_REPORT_DEFAULT,
      G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PRINT] = g_param_spec_boolean ("print", "Print",
      "Also print last-message on standard output each time it is updated "
      "(unless silent)",
      PROP_PRINT_DEFAULT,
      G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING | G_PARAM_STATIC_STRINGS);
  properties[PROP_LAST_MESSAGE] =
      g_param_spec_string ("last-message", "Last message",
          "The figures of the last interval on one line, as "
          "fpsdisplaysink's last-message (notified; NULL until the first)",
          NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (gobject_class, N_PROPERTIES, properties);

  gst_element_class_set_static_metadata (element_class,
      "vittm frame-rate meter", "Filter/Analyzer/Video",
      "Measures frames per second and, from GstVittmSegMeta, inference "
      "latency; posts them as element messages and writes a JSON report",
      "vittm developers");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  trans_class->passthrough_on_same_caps = TRUE;
  trans_class->transform_ip_on_passthrough = TRUE;
  trans_class->transform_ip =
      GST_DEBUG_FUNCPTR (gst_vittm_fps_meter_transform_ip);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_vittm_fps_meter_sink_event);
  trans_class->start = GST_DEBUG_FUNCPTR (gst_vittm_fps_meter_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_vittm_fps_meter_stop);
}

static void
gst_vittm_fps_meter_init (GstVittmFpsMeter *self)
{
  self->window = PROP_WINDOW_DEFAULT;
  self->label = g_strdup (PROP_LABEL_DEFAULT);
  self->interval = PROP_INTERVAL_DEFAULT;
  self->silent = PROP_SILENT_DEFAULT;
  self->report = g_strdup (PROP_REPORT_DEFAULT);
  self->print = PROP_PRINT_DEFAULT;
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
}

/* read-meta: how an application reads vittm's class maps from a pipeline.
 *
 *   read-meta MODEL [VIDEO]
 *
 * Runs `filesrc ! decodebin ! videoconvert` (or videotestsrc without VIDEO) into vittmsegment
 * and an appsink, and for each frame prints the three most frequent classes of its
 * GstVittmSegMeta. Build: part of the meson build (samples/read-meta); link gstvittm-1.0. */
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
/* Installed: #include <gst/vittm/gstvittmsegmeta.h>, pkg-config gstreamer-vittm-1.0. */
#include "gstvittmsegmeta.h"

static void print_top_classes(const GstVittmSegMeta *meta, guint64 frame)
{
  guint64 counts[256] = {0};
  for (guint y = 0; y < meta->height; y++)
    for (guint x = 0; x < meta->width; x++)
      counts[meta->class_ids[(gsize)y * meta->stride + x]]++;
  g_print("frame %3" G_GUINT64_FORMAT " (%ux%u map%s, %.1f ms):", frame, meta->width, meta->height,
          meta->reused ? ", reused" : "",
          GST_CLOCK_TIME_IS_VALID(meta->wall_time) ? meta->wall_time / 1e6 : -1.0);
  for (int rank = 0; rank < 3; rank++) {
    guint best = 0;
    for (guint c = 1; c < 256; c++)
      if (counts[c] > counts[best])
        best = c;
    if (!counts[best])
      break;
    const gchar *name = best < meta->classes->n_classes ? meta->classes->names[best] : "?";
    g_print("  %s %.0f%%", name, 100.0 * counts[best] / ((gdouble)meta->width * meta->height));
    counts[best] = 0;
  }
  g_print("\n");
}

int main(int argc, char **argv)
{
  gst_init(&argc, &argv);
  if (argc < 2) {
    g_printerr("usage: %s MODEL [VIDEO]\n", argv[0]);
    return 2;
  }
  gchar *source =
      argc > 2 ? g_strdup_printf("filesrc location=\"%s\" ! decodebin ! videoconvert", argv[2])
               : g_strdup("videotestsrc num-buffers=10 ! video/x-raw,width=320,height=240");
  gchar *desc = g_strdup_printf("%s ! vittmsegment model=\"%s\" ! appsink name=sink sync=false",
                                source, argv[1]);
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch(desc, &error);
  g_free(source);
  g_free(desc);
  if (!pipeline) {
    g_printerr("%s\n", error->message);
    g_clear_error(&error);
    return 1;
  }
  GstAppSink *sink = GST_APP_SINK(gst_bin_get_by_name(GST_BIN(pipeline), "sink"));
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  guint64 frame = 0;
  GstSample *sample;
  while ((sample = gst_app_sink_pull_sample(sink))) {
    GstVittmSegMeta *meta = gst_buffer_get_vittm_seg_meta(gst_sample_get_buffer(sample));
    if (meta)
      print_top_classes(meta, frame);
    frame++;
    gst_sample_unref(sample);
  }
  /* The sink stops at EOS or on an error: say which. */
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  int rc = 0;
  if (msg) {
    gst_message_parse_error(msg, &error, NULL);
    g_printerr("error: %s\n", error->message);
    g_clear_error(&error);
    gst_message_unref(msg);
    rc = 1;
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return rc;
}

/* vittm — vittmmask: a GstVittmSegMeta class map as a GRAY8 video
 *
 * SPDX-License-Identifier: MIT
 */

/**
 * SECTION:element-vittmmask
 * @title: vittmmask
 * @see_also: vittmsegment, vittmoverlay
 *
 * Turns the class map of the #GstVittmSegMeta on each buffer into a GRAY8
 * frame: each pixel is the class id (0..149 with ADE20K's classes), 255 where
 * a pixel has no class. Lossless encoders (ffv1, PNG) then record the masks
 * exactly. Timestamps, durations and the meta itself pass on; other metas
 * that describe the picture (regions of interest, overlays) do not. QoS is
 * off by default (#GstBaseTransform:qos), so that a late pipeline drops no
 * mask from a recording.
 *
 * The mask size is fixed at negotiation, before any meta is seen: the
 * #GstVittmMask:width × #GstVittmMask:height properties, each 0 (the default)
 * for the input frame's own. The class map is scaled nearest-neighbour to it
 * (as vittmoverlay does), so with vittmsegment's default mask-size=frame and
 * the default size the mask holds the map's ids exactly; to record a map of
 * the model's input size as it is, set both (e.g. vittmsegment
 * mask-size=model with width=512 height=512).
 *
 * 255 (unlabeled) is written for every pixel of a buffer without a meta (the
 * first of each stream makes the element post a warning message) and for ids
 * the meta's class table does not have. A model of 256 classes has a class
 * 255 of its own, which the mask cannot tell from unlabeled.
 *
 * Keep the mask GRAY8 up to the encoder: a videoconvert to another format
 * may rescale the ids.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=street.webm ! decodebin ! videoconvert ! \
 *     vittmsegment ! vittmmask ! avenc_ffv1 ! matroskamux ! \
 *     filesink location=masks.mkv
 * ]| Records the class maps of a video losslessly (FFV1 in Matroska).
 * |[
 * gst-launch-1.0 filesrc location=street.webm ! decodebin ! videoconvert ! \
 *     vittmsegment mask-size=model ! vittmmask width=512 height=512 ! \
 *     pngenc ! multifilesink location=mask-%05d.png
 * ]| Writes one 512×512 PNG of class ids per frame.
 */

#include "gstvittmmask.h"
#include "gstvittmelements.h"
#include "gstvittmsegmeta.h"

#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_vittm_mask_debug);
#define GST_CAT_DEFAULT gst_vittm_mask_debug

#define PROP_WIDTH_DEFAULT 0
#define PROP_HEIGHT_DEFAULT 0

enum
{
  PROP_0,
  PROP_WIDTH,
  PROP_HEIGHT,
};

/* The pixels are never read: any raw video in system memory. */
static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (GST_VIDEO_FORMATS_ALL)));

static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE ("GRAY8")));

struct _GstVittmMask
{
  GstVideoFilter parent;

  /* properties, under the object lock */
  guint width, height;

  /* streaming state */
  GstVittmClassTable *table; /* the table the lut was built for */
  guint8 lut[256];           /* class id → mask value */
  gboolean warned_no_meta;

  /* nearest-neighbour index tables mask → map, for one pair of sizes */
  guint *xmap, *ymap;
  guint idx_mask_w, idx_mask_h, idx_map_w, idx_map_h;
};

#define gst_vittm_mask_parent_class parent_class
G_DEFINE_TYPE (GstVittmMask, gst_vittm_mask, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (
    vittmmask, "vittmmask", GST_RANK_NONE, GST_TYPE_VITTM_MASK);

/* ------------------------------------------------------------------------ */
/* caps                                                                     */

/* Sets the size @field of @out to @in's value, or to any size when @in is
 * NULL or has none. */
static void
copy_size_field (GstStructure *out, const gchar *field, const GstStructure *in)
{
  const GValue *v = in ? gst_structure_get_value (in, field) : NULL;

  if (v)
    gst_structure_set_value (out, field, v);
  else
    gst_structure_set (out, field, GST_TYPE_INT_RANGE, 1, G_MAXINT, NULL);
}

/* Downstream: GRAY8 at the mask size, the input's frame rate. Upstream: any
 * format, at the mask's size unless the properties fix the mask size. */
static GstCaps *
gst_vittm_mask_transform_caps (GstBaseTransform *trans,
    GstPadDirection direction, GstCaps *caps, GstCaps *filter)
{
  GstVittmMask *self = GST_VITTM_MASK (trans);
  GstCaps *ret = gst_caps_new_empty ();
  guint width, height;

  GST_OBJECT_LOCK (self);
  width = self->width;
  height = self->height;
  GST_OBJECT_UNLOCK (self);

  /* Nothing known of the other side (e.g. a caps-less appsrc; ANY caps have
   * no structures to transform): anything the pad can take. */
  if (gst_caps_is_any (caps)) {
    gst_caps_unref (ret);
    ret = gst_pad_get_pad_template_caps (direction == GST_PAD_SINK ?
            GST_BASE_TRANSFORM_SRC_PAD (trans) :
            GST_BASE_TRANSFORM_SINK_PAD (trans));
  }
  for (guint i = 0; i < gst_caps_get_size (caps); i++) {
    const GstStructure *in = gst_caps_get_structure (caps, i);
    const GValue *v;
    GstStructure *out;

    if (direction == GST_PAD_SINK) {
      out = gst_structure_new (
          "video/x-raw", "format", G_TYPE_STRING, "GRAY8", NULL);
      if (width > 0)
        gst_structure_set (out, "width", G_TYPE_INT, (gint) width, NULL);
      else
        copy_size_field (out, "width", in);
      if (height > 0)
        gst_structure_set (out, "height", G_TYPE_INT, (gint) height, NULL);
      else
        copy_size_field (out, "height", in);
    } else {
      /* A fixed mask size says nothing of the frame's. */
      out = gst_structure_new_empty ("video/x-raw");
      copy_size_field (out, "width", width > 0 ? NULL : in);
      copy_size_field (out, "height", height > 0 ? NULL : in);
    }
    if ((v = gst_structure_get_value (in, "framerate")))
      gst_structure_set_value (out, "framerate", v);
    else
      gst_structure_set (
          out, "framerate", GST_TYPE_FRACTION_RANGE, 0, 1, G_MAXINT, 1, NULL);
    /* Mask pixels are frame pixels only when the mask has the frame's size. */
    if (width == 0 && height == 0 &&
        (v = gst_structure_get_value (in, "pixel-aspect-ratio")))
      gst_structure_set_value (out, "pixel-aspect-ratio", v);
    ret = gst_caps_merge_structure (ret, out);
  }

  if (filter) {
    GstCaps *tmp =
        gst_caps_intersect_full (filter, ret, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (ret);
    ret = tmp;
  }
  GST_DEBUG_OBJECT (self, "%s caps %" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT,
      direction == GST_PAD_SINK ? "sink" : "src", caps, ret);
  return ret;
}

static gboolean
gst_vittm_mask_set_info (GstVideoFilter *filter, G_GNUC_UNUSED GstCaps *incaps,
    GstVideoInfo *in_info, G_GNUC_UNUSED GstCaps *outcaps,
    GstVideoInfo *out_info)
{
  GstVittmMask *self = GST_VITTM_MASK (filter);

  GST_DEBUG_OBJECT (self, "%s %dx%d -> GRAY8 mask %dx%d",
      GST_VIDEO_INFO_NAME (in_info), GST_VIDEO_INFO_WIDTH (in_info),
      GST_VIDEO_INFO_HEIGHT (in_info), GST_VIDEO_INFO_WIDTH (out_info),
      GST_VIDEO_INFO_HEIGHT (out_info));
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* the mask                                                                 */

/* Ids the table does not have become GST_VITTM_MASK_UNLABELED. */
static void
update_lut (GstVittmMask *self, GstVittmClassTable *table)
{
  if (self->table == table)
    return;
  for (guint i = 0; i < 256; i++)
    self->lut[i] = i < table->n_classes ? i : GST_VITTM_MASK_UNLABELED;
  if (self->table)
    gst_vittm_class_table_unref (self->table);
  self->table = gst_vittm_class_table_ref (table);
}

/* Mask pixel x samples map column (2x + 1) × map_w / (2 × mask_w): the map
 * pixel under its centre, as vittmoverlay samples it. */
static void
update_index_tables (
    GstVittmMask *self, guint mask_w, guint mask_h, guint map_w, guint map_h)
{
  if (self->xmap && self->idx_mask_w == mask_w && self->idx_mask_h == mask_h &&
      self->idx_map_w == map_w && self->idx_map_h == map_h)
    return;
  self->xmap = g_renew (guint, self->xmap, mask_w);
  self->ymap = g_renew (guint, self->ymap, mask_h);
  for (guint x = 0; x < mask_w; x++)
    self->xmap[x] = (guint) (((guint64) 2 * x + 1) * map_w / (2ull * mask_w));
  for (guint y = 0; y < mask_h; y++)
    self->ymap[y] = (guint) (((guint64) 2 * y + 1) * map_h / (2ull * mask_h));
  self->idx_mask_w = mask_w;
  self->idx_mask_h = mask_h;
  self->idx_map_w = map_w;
  self->idx_map_h = map_h;
}

static GstFlowReturn
gst_vittm_mask_transform_frame (
    GstVideoFilter *filter, GstVideoFrame *in_frame, GstVideoFrame *out_frame)
{
  GstVittmMask *self = GST_VITTM_MASK (filter);
  guint w = GST_VIDEO_FRAME_WIDTH (out_frame);
  guint h = GST_VIDEO_FRAME_HEIGHT (out_frame);
  gint out_stride = GST_VIDEO_FRAME_PLANE_STRIDE (out_frame, 0);
  guint8 *out = GST_VIDEO_FRAME_PLANE_DATA (out_frame, 0);
  GstVittmSegMeta *meta;

  meta = gst_buffer_get_vittm_seg_meta (in_frame->buffer);
  if (!meta) {
    /* An unsegmented frame is a mask of unlabeled pixels, not an error (a
     * pipeline may segment some frames only); but a whole stream of them
     * most likely lacks vittmsegment, so say it once per stream. */
    if (!self->warned_no_meta) {
      GST_ELEMENT_WARNING (self, STREAM, FORMAT,
          ("vittmmask received video without a class map; its masks are "
           "unlabeled (255)."),
          ("Buffer %" GST_PTR_FORMAT " has no GstVittmSegMeta. Put "
           "vittmsegment upstream of vittmmask. Warned once per stream.",
              in_frame->buffer));
      self->warned_no_meta = TRUE;
    }
    for (guint y = 0; y < h; y++)
      memset (out + (gsize) y * out_stride, GST_VITTM_MASK_UNLABELED, w);
    return GST_FLOW_OK;
  }

  update_lut (self, meta->classes);
  update_index_tables (self, w, h, meta->width, meta->height);
  for (guint y = 0; y < h; y++) {
    const guint8 *row = meta->class_ids + (gsize) self->ymap[y] * meta->stride;
    guint8 *dst = out + (gsize) y * out_stride;

    for (guint x = 0; x < w; x++)
      dst[x] = self->lut[row[self->xmap[x]]];
  }
  return GST_FLOW_OK;
}

/* The class map is in its own coordinates: it describes the mask as well as
 * the frame, so it passes on (for a probe or an appsink after vittmmask).
 * Other metas that describe the picture (regions, overlays: tagged "video")
 * mean nothing on a mask, maybe of another size: GstBaseTransform's own rule
 * (untagged metas only), asked for explicitly, drops them. */
static gboolean
gst_vittm_mask_transform_meta (
    GstBaseTransform *trans, GstBuffer *outbuf, GstMeta *meta, GstBuffer *inbuf)
{
  GstBaseTransformClass *base_class;

  if (meta->info->api == GST_VITTM_SEG_META_API_TYPE)
    return TRUE;
  base_class = g_type_class_peek (GST_TYPE_BASE_TRANSFORM);
  return base_class->transform_meta (trans, outbuf, meta, inbuf);
}

/* ------------------------------------------------------------------------ */
/* state                                                                    */

static gboolean
gst_vittm_mask_start (GstBaseTransform *trans)
{
  GST_VITTM_MASK (trans)->warned_no_meta = FALSE;
  return TRUE;
}

static gboolean
gst_vittm_mask_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstVittmMask *self = GST_VITTM_MASK (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_STREAM_START)
    self->warned_no_meta = FALSE;
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static void
release_streaming_state (GstVittmMask *self)
{
  if (self->table) {
    gst_vittm_class_table_unref (self->table);
    self->table = NULL;
  }
  g_clear_pointer (&self->xmap, g_free);
  g_clear_pointer (&self->ymap, g_free);
}

static gboolean
gst_vittm_mask_stop (GstBaseTransform *trans)
{
  release_streaming_state (GST_VITTM_MASK (trans));
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* GObject                                                                  */

static void
gst_vittm_mask_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstVittmMask *self = GST_VITTM_MASK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_WIDTH:
      self->width = g_value_get_uint (value);
      break;
    case PROP_HEIGHT:
      self->height = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_vittm_mask_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstVittmMask *self = GST_VITTM_MASK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_WIDTH:
      g_value_set_uint (value, self->width);
      break;
    case PROP_HEIGHT:
      g_value_set_uint (value, self->height);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_vittm_mask_finalize (GObject *object)
{
  release_streaming_state (GST_VITTM_MASK (object));

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_vittm_mask_class_init (GstVittmMaskClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (
      gst_vittm_mask_debug, "vittmmask", 0, "vittm class map as GRAY8 video");

  gobject_class->set_property = gst_vittm_mask_set_property;
  gobject_class->get_property = gst_vittm_mask_get_property;
  gobject_class->finalize = gst_vittm_mask_finalize;

  g_object_class_install_property (gobject_class, PROP_WIDTH,
      g_param_spec_uint ("width", "Width",
          "Width of the mask in pixels; 0: the input frame's width. The "
          "class map is scaled nearest-neighbour to the mask size",
          0, G_MAXINT, PROP_WIDTH_DEFAULT,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY |
              G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_HEIGHT,
      g_param_spec_uint ("height", "Height",
          "Height of the mask in pixels; 0: the input frame's height", 0,
          G_MAXINT, PROP_HEIGHT_DEFAULT,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY |
              G_PARAM_STATIC_STRINGS));

  gst_element_class_set_static_metadata (element_class,
      "vittm segmentation mask", "Filter/Converter/Video",
      "Writes the class map of each frame's GstVittmSegMeta as a GRAY8 "
      "frame: one class id per pixel, 255 where unlabeled",
      "vittm developers");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  trans_class->transform_caps =
      GST_DEBUG_FUNCPTR (gst_vittm_mask_transform_caps);
  trans_class->transform_meta =
      GST_DEBUG_FUNCPTR (gst_vittm_mask_transform_meta);
  trans_class->start = GST_DEBUG_FUNCPTR (gst_vittm_mask_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_vittm_mask_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_vittm_mask_sink_event);
  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_vittm_mask_set_info);
  filter_class->transform_frame =
      GST_DEBUG_FUNCPTR (gst_vittm_mask_transform_frame);
}

static void
gst_vittm_mask_init (GstVittmMask *self)
{
  self->width = PROP_WIDTH_DEFAULT;
  self->height = PROP_HEIGHT_DEFAULT;
  /* A mask is a record of its frame: QoS would drop masks from a recording
   * whenever the pipeline runs late (the qos property turns it back on). */
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), FALSE);
}

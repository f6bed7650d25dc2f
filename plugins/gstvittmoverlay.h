/* vittm — vittmoverlay: draws a GstVittmSegMeta class map onto the video
 *
 * SPDX-License-Identifier: MIT
 */

#ifndef __GST_VITTM_OVERLAY_H__
#define __GST_VITTM_OVERLAY_H__

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_VITTM_OVERLAY (gst_vittm_overlay_get_type ())
G_DECLARE_FINAL_TYPE (
    GstVittmOverlay, gst_vittm_overlay, GST, VITTM_OVERLAY, GstVideoFilter);

/**
 * GstVittmOverlayLegendPosition:
 * @GST_VITTM_OVERLAY_LEGEND_TOP_LEFT: the frame's top-left corner
 * @GST_VITTM_OVERLAY_LEGEND_TOP_RIGHT: the top-right corner
 * @GST_VITTM_OVERLAY_LEGEND_BOTTOM_LEFT: the bottom-left corner
 * @GST_VITTM_OVERLAY_LEGEND_BOTTOM_RIGHT: the bottom-right corner
 *
 * The corner of the frame where vittmoverlay draws its legend.
 */
typedef enum
{
  GST_VITTM_OVERLAY_LEGEND_TOP_LEFT,
  GST_VITTM_OVERLAY_LEGEND_TOP_RIGHT,
  GST_VITTM_OVERLAY_LEGEND_BOTTOM_LEFT,
  GST_VITTM_OVERLAY_LEGEND_BOTTOM_RIGHT,
} GstVittmOverlayLegendPosition;

#define GST_TYPE_VITTM_OVERLAY_LEGEND_POSITION                                 \
  (gst_vittm_overlay_legend_position_get_type ())
GType gst_vittm_overlay_legend_position_get_type (void);

/**
 * GstVittmOverlayMode:
 * @GST_VITTM_OVERLAY_MODE_FILL: every pixel of a drawn class is blended
 * @GST_VITTM_OVERLAY_MODE_OUTLINE: only the pixels on a class boundary
 *
 * What vittmoverlay paints of each drawn class.
 */
typedef enum
{
  GST_VITTM_OVERLAY_MODE_FILL,
  GST_VITTM_OVERLAY_MODE_OUTLINE,
} GstVittmOverlayMode;

#define GST_TYPE_VITTM_OVERLAY_MODE (gst_vittm_overlay_mode_get_type ())
GType gst_vittm_overlay_mode_get_type (void);

G_END_DECLS

#endif /* __GST_VITTM_OVERLAY_H__ */

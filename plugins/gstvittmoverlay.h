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
G_DECLARE_FINAL_TYPE (GstVittmOverlay, gst_vittm_overlay, GST, VITTM_OVERLAY,
    GstVideoFilter);

G_END_DECLS

#endif /* __GST_VITTM_OVERLAY_H__ */

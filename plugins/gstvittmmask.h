/* vittm — vittmmask: a GstVittmSegMeta class map as a GRAY8 video
 *
 * SPDX-License-Identifier: MIT
 */

#ifndef __GST_VITTM_MASK_H__
#define __GST_VITTM_MASK_H__

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_VITTM_MASK (gst_vittm_mask_get_type ())
G_DECLARE_FINAL_TYPE (
    GstVittmMask, gst_vittm_mask, GST, VITTM_MASK, GstVideoFilter);

/* The value vittmmask writes where a pixel has no class: no meta on the
 * buffer, or an id the model's class table does not have. */
#define GST_VITTM_MASK_UNLABELED 255

G_END_DECLS

#endif /* __GST_VITTM_MASK_H__ */

/* vittm — vittmfpsmeter: frame rate and inference latency of a pipeline
 *
 * SPDX-License-Identifier: MIT
 */

#ifndef __GST_VITTM_FPS_METER_H__
#define __GST_VITTM_FPS_METER_H__

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_VITTM_FPS_METER (gst_vittm_fps_meter_get_type ())
G_DECLARE_FINAL_TYPE (GstVittmFpsMeter, gst_vittm_fps_meter, GST,
    VITTM_FPS_METER, GstBaseTransform);

G_END_DECLS

#endif /* __GST_VITTM_FPS_METER_H__ */

/* vittm — vittmsegment: semantic segmentation of video frames
 *
 * SPDX-License-Identifier: MIT
 */

#ifndef __GST_VITTM_SEGMENT_H__
#define __GST_VITTM_SEGMENT_H__

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

/**
 * GstVittmSegmentPrecision:
 * @GST_VITTM_SEGMENT_PRECISION_AUTO: fp16 where the device has 16-bit
 *   storage and arithmetic, fp32 elsewhere
 * @GST_VITTM_SEGMENT_PRECISION_FP32: fp32 weights and activations
 * @GST_VITTM_SEGMENT_PRECISION_FP16: fp16 storage, fp32 accumulation
 *
 * Values match vittm_precision.
 */
typedef enum
{
  GST_VITTM_SEGMENT_PRECISION_AUTO = 0,
  GST_VITTM_SEGMENT_PRECISION_FP32,
  GST_VITTM_SEGMENT_PRECISION_FP16,
} GstVittmSegmentPrecision;

/**
 * GstVittmSegmentMaskSize:
 * @GST_VITTM_SEGMENT_MASK_SIZE_FRAME: the class map has the frame's size
 * @GST_VITTM_SEGMENT_MASK_SIZE_MODEL: the class map has the model's input
 *   size (cheaper; consumers scale it)
 */
typedef enum
{
  GST_VITTM_SEGMENT_MASK_SIZE_FRAME = 0,
  GST_VITTM_SEGMENT_MASK_SIZE_MODEL,
} GstVittmSegmentMaskSize;

/**
 * GstVittmSegmentInferenceMode:
 * @GST_VITTM_SEGMENT_INFERENCE_AUTO: the model's own mode (its file's
 *   "inference" section; whole when it has none)
 * @GST_VITTM_SEGMENT_INFERENCE_WHOLE: the frame resized to the model's input
 * @GST_VITTM_SEGMENT_INFERENCE_SLIDE: the frame resized on its short side,
 *   aspect kept, and covered by overlapping crops whose logits are averaged
 *   (mmsegmentation's mode='slide')
 */
typedef enum
{
  GST_VITTM_SEGMENT_INFERENCE_AUTO = 0,
  GST_VITTM_SEGMENT_INFERENCE_WHOLE,
  GST_VITTM_SEGMENT_INFERENCE_SLIDE,
} GstVittmSegmentInferenceMode;

/**
 * GstVittmSegmentAsyncPolicy:
 * @GST_VITTM_SEGMENT_ASYNC_POLICY_ORDERED: each frame waits for its own map
 *   and the frames leave in order
 * @GST_VITTM_SEGMENT_ASYNC_POLICY_LATEST: each frame leaves at once with
 *   the newest map finished (of an earlier frame); the workers segment the
 *   newest frame each time one is free
 */
typedef enum
{
  GST_VITTM_SEGMENT_ASYNC_POLICY_ORDERED = 0,
  GST_VITTM_SEGMENT_ASYNC_POLICY_LATEST,
} GstVittmSegmentAsyncPolicy;

#define GST_TYPE_VITTM_SEGMENT_ASYNC_POLICY                                    \
  (gst_vittm_segment_async_policy_get_type ())
GType gst_vittm_segment_async_policy_get_type (void);

#define GST_TYPE_VITTM_SEGMENT_PRECISION                                       \
  (gst_vittm_segment_precision_get_type ())
GType gst_vittm_segment_precision_get_type (void);

#define GST_TYPE_VITTM_SEGMENT_MASK_SIZE                                       \
  (gst_vittm_segment_mask_size_get_type ())
GType gst_vittm_segment_mask_size_get_type (void);

#define GST_TYPE_VITTM_SEGMENT_INFERENCE_MODE                                  \
  (gst_vittm_segment_inference_mode_get_type ())
GType gst_vittm_segment_inference_mode_get_type (void);

#define GST_TYPE_VITTM_SEGMENT (gst_vittm_segment_get_type ())
G_DECLARE_FINAL_TYPE (
    GstVittmSegment, gst_vittm_segment, GST, VITTM_SEGMENT, GstBaseTransform);

G_END_DECLS

#endif /* __GST_VITTM_SEGMENT_H__ */

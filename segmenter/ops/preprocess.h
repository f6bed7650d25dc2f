/* Pre-processing: a video frame's bytes on the device → the model's normalised input.
 *
 * A frame is copied plane by plane into one device byte buffer in a fixed layout (plane
 * offsets and row strides that depend only on format, width and height), so that a command
 * buffer recorded once for that layout is replayed for every frame: each frame only rewrites
 * the buffer's contents. The shader reads the bytes through uint words (no 8-bit storage
 * extension needed). */
#ifndef VITTM_OPS_PREPROCESS_H
#define VITTM_OPS_PREPROCESS_H

#include "ops/dispatch.h"
#include "vittm/frame.h"

/* Where the planes of a frame lie in the device buffer. Offsets and strides are multiples of
 * 4 bytes. The colorimetry fields matter for YUV formats only; vittm_frame_layout_compute
 * sets BT.601 limited range, and a caller that knows better (GstVideoColorimetry) overrides
 * them before recording. */
typedef struct vittm_frame_layout {
  vittm_pixel_format format;
  uint32_t width, height;
  uint32_t n_planes;
  uint32_t offset[3];    /* byte offset of each plane in the buffer */
  uint32_t stride[3];    /* bytes between rows of each plane in the buffer */
  uint32_t row_bytes[3]; /* bytes of one row of each plane (without padding) */
  uint32_t rows[3];      /* rows of each plane */
  uint64_t size;         /* bytes the buffer must hold */
  vittm_yuv_matrix matrix;
  vittm_yuv_range range;
} vittm_frame_layout;

/* Fills layout for width × height frames of format (both sizes ≥ 1). */
vittm_status vittm_frame_layout_compute(vittm_pixel_format format, uint32_t width, uint32_t height,
                                        vittm_frame_layout *layout, vittm_error *err);

/* Copies frame's planes (honouring its strides) into buf in the layout of its format and
 * size, which it writes to layout_out (may be NULL; its colorimetry is the default: what
 * counts is the layout given to vittm_preprocess_record). buf must hold layout.size bytes. On
 * devices whose memory the host maps (lavapipe, integrated GPUs) the rows go straight into
 * the buffer; otherwise through one packed host copy and a staging transfer. */
vittm_status vittm_frame_upload(vittm_device *dev, const vittm_frame *frame, vittm_buffer *buf,
                                vittm_frame_layout *layout_out, vittm_error *err);

/* Records out ((out_h·out_w) × 3, row y·out_w + x, RGB) = (pixel − mean) / std, the pixel
 * being the whole frame in `frame` (laid out as `layout`) resized to out_h × out_w by bilinear
 * interpolation with half-pixel centres and edge clamping (PyTorch F.interpolate,
 * align_corners=False; cv2.INTER_LINEAR), on values 0…255. YUV is converted to RGB per source
 * pixel (nearest chroma sample, clamped to 0…255) before interpolating. mean and std are per
 * RGB channel in 0…255 units; out is fp32 or fp16 (split by rows if it must be); the frame
 * buffer is one binding. */
vittm_status vittm_preprocess_record(vittm_cmd *cmd, vittm_buffer *frame,
                                     const vittm_frame_layout *layout, const float mean[3],
                                     const float std[3], vittm_tensor *out, uint32_t out_h,
                                     uint32_t out_w, vittm_error *err);

/* A window of an image resized to height × width: `rows` rows from row y and `cols` columns
 * from column x. */
typedef struct vittm_window {
  uint32_t height, width;
  uint32_t y, x, rows, cols;
} vittm_window;

/* vittm_preprocess_record for one window of the resized frame (a crop of slide inference):
 * out ((rows·cols) × 3) holds exactly the pixels the whole resized image holds there. */
vittm_status vittm_preprocess_window_record(vittm_cmd *cmd, vittm_buffer *frame,
                                            const vittm_frame_layout *layout, const float mean[3],
                                            const float std[3], const vittm_window *win,
                                            vittm_tensor *out, vittm_error *err);

/* The YUV → RGB conversion the shader applies, on 0…255 values: rgb = clamp(y_scale·(Y −
 * y_offset) + coefficients · (U − 128, V − 128)); cr_r multiplies V for R, cb_g and cr_g
 * (negative) U and V for G, cb_b U for B (chroma range scaling folded in). Exposed for tests
 * and CPU fallbacks. */
typedef struct vittm_yuv_coefficients {
  float y_offset, y_scale;
  float cr_r, cb_g, cr_g, cb_b;
} vittm_yuv_coefficients;

void vittm_yuv_coefficients_get(vittm_yuv_matrix matrix, vittm_yuv_range range,
                                vittm_yuv_coefficients *out);

#endif

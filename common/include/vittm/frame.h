/* vittm — video frames as the segmenter takes them: a pixel format, a size and up to three
 * planes of bytes, each with its own row stride (what GstVideoFrame and AVFrame hold).
 *
 * YUV formats (NV12, I420) are 8-bit, 4:2:0: chroma is subsampled 2×2, and at odd sizes the
 * chroma planes are ceil(width/2) × ceil(height/2). Unless told otherwise the segmenter reads
 * them as BT.601 limited range ("studio swing", Y 16…235, U/V 16…240), which is what
 * GStreamer's videotestsrc and videoconvert produce for SD video by default; BT.709 and full
 * range are chosen in vittm_segmenter_options. */
#ifndef VITTM_FRAME_H
#define VITTM_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vittm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Byte order in memory, as GStreamer names them (RGBx: R, G, B, ignored byte). */
typedef enum vittm_pixel_format {
  VITTM_FORMAT_RGB,  /* packed, 3 bytes per pixel */
  VITTM_FORMAT_RGBA, /* packed, 4 bytes per pixel; alpha is ignored */
  VITTM_FORMAT_BGRA,
  VITTM_FORMAT_BGRX,
  VITTM_FORMAT_RGBX,
  VITTM_FORMAT_NV12, /* Y plane, then one plane of interleaved U, V */
  VITTM_FORMAT_I420, /* Y plane, U plane, V plane */
} vittm_pixel_format;

#define VITTM_FORMAT_COUNT 7

/* The matrix and the range of YUV frames (ignored for RGB formats). */
typedef enum vittm_yuv_matrix {
  VITTM_YUV_BT601 = 0, /* Kr 0.299, Kb 0.114: SD video, videotestsrc's default */
  VITTM_YUV_BT709 = 1, /* Kr 0.2126, Kb 0.0722: HD video */
} vittm_yuv_matrix;

typedef enum vittm_yuv_range {
  VITTM_YUV_LIMITED = 0, /* Y 16…235, U/V 16…240 */
  VITTM_YUV_FULL = 1,    /* Y, U, V 0…255 (JPEG) */
} vittm_yuv_range;

typedef struct vittm_frame {
  vittm_pixel_format format;
  uint32_t width, height;
  const uint8_t *planes[3]; /* planes[i] for i < vittm_pixel_format_planes(format) */
  uint32_t strides[3];      /* bytes per row of each plane (≥ the row's bytes) */
} vittm_frame;

/* Number of planes of the format: 1 for RGB formats, 2 for NV12, 3 for I420; 0 if unknown. */
VITTM_API uint32_t vittm_pixel_format_planes(vittm_pixel_format format);
/* Bytes per row and number of rows of plane `plane` of a width × height frame, without
 * padding; false if the format or plane is unknown. */
VITTM_API bool vittm_pixel_format_plane_size(vittm_pixel_format format, uint32_t width,
                                             uint32_t height, uint32_t plane, size_t *row_bytes,
                                             uint32_t *rows);
/* Bytes of a tightly packed copy of a width × height frame (planes one after another, rows
 * without padding); 0 if the format is unknown. */
VITTM_API size_t vittm_frame_packed_size(vittm_pixel_format format, uint32_t width,
                                         uint32_t height);
/* Points frame at a tightly packed copy of the given format and size (the layout that
 * vittm_frame_packed_size counts). */
VITTM_API void vittm_frame_init_packed(vittm_frame *frame, vittm_pixel_format format,
                                       uint32_t width, uint32_t height, const uint8_t *data);
/* The GStreamer name of the format ("RGB", "BGRx", "NV12", …); "unknown" if not a format. */
VITTM_API const char *vittm_pixel_format_name(vittm_pixel_format format);
/* The format of a name (case-insensitive, as vittm_pixel_format_name spells it); false if
 * there is none. */
VITTM_API bool vittm_pixel_format_from_name(const char *name, vittm_pixel_format *format);

#ifdef __cplusplus
}
#endif
#endif

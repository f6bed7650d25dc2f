#include "vittm/frame.h"

#include <string.h>
#include <strings.h>

static const char *const names[VITTM_FORMAT_COUNT] = {
    [VITTM_FORMAT_RGB] = "RGB",   [VITTM_FORMAT_RGBA] = "RGBA", [VITTM_FORMAT_BGRA] = "BGRA",
    [VITTM_FORMAT_BGRX] = "BGRx", [VITTM_FORMAT_RGBX] = "RGBx", [VITTM_FORMAT_NV12] = "NV12",
    [VITTM_FORMAT_I420] = "I420",
};

static bool known(vittm_pixel_format format)
{
  return (unsigned)format < VITTM_FORMAT_COUNT;
}

uint32_t vittm_pixel_format_planes(vittm_pixel_format format)
{
  if (!known(format))
    return 0;
  return format == VITTM_FORMAT_NV12 ? 2 : format == VITTM_FORMAT_I420 ? 3 : 1;
}

bool vittm_pixel_format_plane_size(vittm_pixel_format format, uint32_t width, uint32_t height,
                                   uint32_t plane, size_t *row_bytes, uint32_t *rows)
{
  if (plane >= vittm_pixel_format_planes(format))
    return false;
  /* 4:2:0 chroma rounds up: the last chroma sample of an odd row or column covers one pixel. */
  size_t cw = ((size_t)width + 1) / 2;
  uint32_t ch = (uint32_t)(((uint64_t)height + 1) / 2);
  switch (format) {
  case VITTM_FORMAT_RGB: *row_bytes = 3 * (size_t)width, *rows = height; break;
  case VITTM_FORMAT_NV12:
    *row_bytes = plane == 0 ? width : 2 * cw;
    *rows = plane == 0 ? height : ch;
    break;
  case VITTM_FORMAT_I420:
    *row_bytes = plane == 0 ? width : cw;
    *rows = plane == 0 ? height : ch;
    break;
  default: *row_bytes = 4 * (size_t)width, *rows = height; break;
  }
  return true;
}

size_t vittm_frame_packed_size(vittm_pixel_format format, uint32_t width, uint32_t height)
{
  size_t total = 0, row_bytes;
  uint32_t rows;
  for (uint32_t i = 0; i < vittm_pixel_format_planes(format); i++) {
    vittm_pixel_format_plane_size(format, width, height, i, &row_bytes, &rows);
    total += row_bytes * rows;
  }
  return total;
}

void vittm_frame_init_packed(vittm_frame *frame, vittm_pixel_format format, uint32_t width,
                             uint32_t height, const uint8_t *data)
{
  if (!frame)
    return;
  memset(frame, 0, sizeof *frame);
  frame->format = format;
  frame->width = width;
  frame->height = height;
  size_t row_bytes;
  uint32_t rows;
  for (uint32_t i = 0; i < vittm_pixel_format_planes(format); i++) {
    vittm_pixel_format_plane_size(format, width, height, i, &row_bytes, &rows);
    frame->planes[i] = data;
    frame->strides[i] = (uint32_t)row_bytes;
    data += row_bytes * rows;
  }
}

const char *vittm_pixel_format_name(vittm_pixel_format format)
{
  return known(format) ? names[format] : "unknown";
}

bool vittm_pixel_format_from_name(const char *name, vittm_pixel_format *format)
{
  for (int i = 0; name && format && i < VITTM_FORMAT_COUNT; i++)
    if (strcasecmp(name, names[i]) == 0) {
      *format = (vittm_pixel_format)i;
      return true;
    }
  return false;
}

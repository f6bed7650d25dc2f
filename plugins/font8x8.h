/* vittm — a tiny built-in bitmap font for vittmoverlay's legend
 *
 * SPDX-License-Identifier: MIT
 */

#ifndef __GST_VITTM_FONT8X8_H__
#define __GST_VITTM_FONT8X8_H__

#include <glib.h>

G_BEGIN_DECLS

#define GST_VITTM_FONT_FIRST 32
#define GST_VITTM_FONT_LAST 126
#define GST_VITTM_FONT_N_GLYPHS (GST_VITTM_FONT_LAST - GST_VITTM_FONT_FIRST + 1)
/* Cell height, glyph width, and the horizontal advance from one character to
 * the next (glyph plus one column of spacing), in font pixels. */
#define GST_VITTM_FONT_HEIGHT 8
#define GST_VITTM_FONT_WIDTH 5
#define GST_VITTM_FONT_ADVANCE 6

G_GNUC_INTERNAL
extern const guint8 gst_vittm_font8x8[GST_VITTM_FONT_N_GLYPHS][8];

/* Returns the 8 rows of @c's glyph; characters outside printable ASCII
 * (including UTF-8 bytes) are drawn as '?'. */
G_GNUC_INTERNAL
const guint8 *gst_vittm_font8x8_glyph (gchar c);

G_END_DECLS

#endif /* __GST_VITTM_FONT8X8_H__ */

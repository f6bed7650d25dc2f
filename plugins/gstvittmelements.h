/* vittm — the elements of the vittm plugin
 *
 * SPDX-License-Identifier: MIT
 */

#ifndef __GST_VITTM_ELEMENTS_H__
#define __GST_VITTM_ELEMENTS_H__

#include <gst/gst.h>

G_BEGIN_DECLS

GST_ELEMENT_REGISTER_DECLARE (vittmoverlay);
GST_ELEMENT_REGISTER_DECLARE (vittmfpsmeter);
GST_ELEMENT_REGISTER_DECLARE (vittmmask);
GST_ELEMENT_REGISTER_DECLARE (vittmsegment);

G_END_DECLS

#endif /* __GST_VITTM_ELEMENTS_H__ */

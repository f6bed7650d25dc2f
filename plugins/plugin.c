/* vittm — the GStreamer plugin `vittm`
 *
 * SPDX-License-Identifier: MIT
 */

#include <gst/gst.h>

#include "gstvittmelements.h"
#include "gstvittmsegmeta.h"

static gboolean
plugin_init (GstPlugin *plugin)
{
  gboolean ret = FALSE;

  /* Register the meta API up front, so that applications that only look
   * the type up by name find it once the plugin is loaded. */
  gst_vittm_seg_meta_get_info ();

  /* one line per element */
  ret |= GST_ELEMENT_REGISTER (vittmsegment, plugin);
  ret |= GST_ELEMENT_REGISTER (vittmoverlay, plugin);
  ret |= GST_ELEMENT_REGISTER (vittmfpsmeter, plugin);
  ret |= GST_ELEMENT_REGISTER (vittmmask, plugin);

  return ret;
}

/* GST_PLUGIN_DEFINE needs PACKAGE and leaves GstPluginDesc's padding to the
 * compiler. */
#ifndef PACKAGE
#define PACKAGE GST_VITTM_PACKAGE_NAME
#endif
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, vittm,
    "Semantic segmentation of video with vision transformers on Vulkan "
    "compute: segmenter, class-map overlay, class-map mask and frame-rate "
    "meter",
    plugin_init, GST_VITTM_VERSION, "MIT/X11", GST_VITTM_PACKAGE_NAME,
    GST_VITTM_PACKAGE_ORIGIN)

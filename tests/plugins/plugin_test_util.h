/* vittm — helpers shared by the plugin tests
 *
 * SPDX-License-Identifier: MIT
 */

#ifndef __PLUGIN_TEST_UTIL_H__
#define __PLUGIN_TEST_UTIL_H__

#include <gst/gst.h>
#include <gst/video/video.h>

#include "gstvittmsegmeta.h"

G_BEGIN_DECLS

/* Returns a table of @n classes named "class0", "class1", … whose colours
 * are ptu_class_colour(). */
GstVittmClassTable *ptu_class_table_new (guint n);

/* The colour ptu_class_table_new() gives class @id. */
void ptu_class_colour (guint id, guint8 rgb[3]);

/* Returns a @w × @h map (row stride @w) whose ids are @fn(x, y). */
guint8 *ptu_map_new (guint w, guint h, guint8 (*fn) (guint x, guint y));

/* Attaches a copy of @ids (@w × @h, stride @w) to @buf as a GstVittmSegMeta. */
GstVittmSegMeta *ptu_attach_map (GstBuffer *buf, const guint8 *ids, guint w,
    guint h, GstVittmClassTable *table);

/* Returns a frame of @info whose bytes follow a fixed pseudo-random pattern
 * seeded by @seed (padding included). */
GstBuffer *ptu_frame_new (const GstVideoInfo *info, guint32 seed);

/* BT.601 limited-range Y, U, V of an RGB colour, rounded (the reference
 * vittmoverlay is checked against; written independently of it). */
void ptu_rgb_to_yuv601 (const guint8 rgb[3], guint8 yuv[3]);

/* Routes criticals and warnings of the vittm libraries' log domain to
 * GstCheck's handlers, so that they fail tests and ASSERT_CRITICAL sees them
 * (GstCheck only watches GStreamer's own domains). Call from the suite
 * function, after gst_check_init(). */
void ptu_check_vittm_log_domain (void);

/* Prints each object the leaks tracer @tracer still sees alive and returns
 * their number. */
guint ptu_print_live_objects (GstTracer *tracer);

/* @t stretched as GstCheck stretches its test timeouts (CK_TIMEOUT_MULTIPLIER,
 * which `tools/run-tests.sh --sanitize` sets): for the time bounds a test
 * keeps inside it, such as a wait for EOS or a latency that includes the
 * first frame's kernel compilation. */
GstClockTime ptu_time_bound (GstClockTime t);

/* Waits for @element's pending state change, at most a minute stretched by
 * ptu_time_bound(), and returns how it ended. */
GstStateChangeReturn ptu_wait_state (GstElement *element);

G_END_DECLS

#endif /* __PLUGIN_TEST_UTIL_H__ */

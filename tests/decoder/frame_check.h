/* Assertions on decoded frames shared by the decoder tests. */
#ifndef VITTM_TEST_DECODER_FRAME_CHECK_H
#define VITTM_TEST_DECODER_FRAME_CHECK_H

#include "vittm/decoder.h"

/* How far (in 8-bit levels, per channel) a decoded flat colour may be from its source:
 * lossy coding plus one YUV round trip. Written once for every codec. */
#define COLOUR_TOLERANCE 16

/* Fails unless pixel (x, y) of frame is within COLOUR_TOLERANCE of (r, g, b). */
void assert_colour_near(const vittm_video_frame *frame, int x, int y, int r, int g, int b);

/* Fails unless frame shows videos.h's quadrant pattern, the far corner included. */
void assert_quadrants(const vittm_video_frame *frame);

/* What decode_all saw. */
typedef struct decoded {
  int frames;
  int width, height, stride;
  int sar_num, sar_den;
  double first_pts, last_pts;
  unsigned long long hash; /* FNV-1a over every frame's visible bytes */
  vittm_decoder_info info; /* at the end of the stream */
} decoded;

/* Opens path with opts, decodes every frame (checking the quadrants when check_pattern,
 * consistent sizes, sequential indices, strictly increasing pts) until EOS. */
decoded decode_all(const char *path, const vittm_decoder_options *opts, int check_pattern);

#endif

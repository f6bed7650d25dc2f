/* The decoder tests' videos: lavfi sources encoded by Debian's ffmpeg (see media.h). */
#ifndef VITTM_TEST_DECODER_VIDEOS_H
#define VITTM_TEST_DECODER_VIDEOS_H

/* All test videos run at this rate and have this many frames unless said otherwise. */
#define VIDEO_RATE 10
#define VIDEO_FRAMES 12

/* The quadrant pattern: red top-left, green top-right, blue bottom-left, white bottom-right.
 * Encodings: "h264" (yuv420p, B-frames, .mp4), "h264-444" (yuv444p, .mkv: odd sizes),
 * "vp8" and "vp9" (.webm), "mpeg4" (.avi), "mjpeg" (full-range yuvj420p, .avi). */
const char *video_quadrants(const char *encoding, int width, int height);

/* 320x240 H.264 quadrants whose pixels are 4:3 wide (setsar), in Matroska. */
const char *video_wide_pixels(void);

/* A Matroska file with an audio stream first and the quadrants (H.264) second. */
const char *video_audio_then_video(void);

/* One second of a sine tone in a WAV file: no video stream. */
const char *video_audio_only(void);

/* An MP3 with a cover picture (a video stream marked as attached picture). */
const char *video_audio_with_cover_art(void);

/* 30 frames of testsrc as a raw H.264 elementary stream (Annex B). */
const char *video_raw_h264(void);

#endif

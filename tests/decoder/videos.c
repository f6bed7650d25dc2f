#include "videos.h"

#include "media.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#define STR_(x) #x
#define STR(x) STR_(x)

/* Quadrants drawn in RGB, so every encoder gets the same picture through the same
 * RGB-to-YUV conversion (BT.601, as decoders assume for SD video that does not say). */
static void quadrants_source(char *out, size_t size, int width, int height)
{
  snprintf(out, size,
           "color=c=white:s=%dx%d:r=" STR(
               VIDEO_RATE) ",format=rgb24,"
                           "drawbox=x=0:y=0:w=iw/2:h=ih/2:c=0xFF0000:t=fill,"
                           "drawbox=x=iw/2:y=0:w=iw/2:h=ih/2:c=0x00FF00:t=fill,"
                           "drawbox=x=0:y=ih/2:w=iw/2:h=ih/2:c=0x0000FF:t=fill",
           width, height);
}

typedef struct encoding {
  const char *name;
  const char *extension;
  const char *args[10];
} encoding;

static const encoding encodings[] = {
    {"h264", "mp4", {"-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "18"}},
    {"h264-444", "mkv", {"-c:v", "libx264", "-pix_fmt", "yuv444p", "-crf", "18"}},
    {"vp8", "webm", {"-c:v", "libvpx", "-b:v", "2M"}},
    {"vp9",
     "webm",
     {"-c:v", "libvpx-vp9", "-b:v", "2M", "-deadline", "realtime", "-cpu-used", "8"}},
    {"mpeg4", "avi", {"-c:v", "mpeg4", "-q:v", "2"}},
    {"mjpeg", "avi", {"-c:v", "mjpeg", "-q:v", "2", "-pix_fmt", "yuvj420p"}},
};

const char *video_quadrants(const char *name, int width, int height)
{
  const encoding *e = NULL;
  for (size_t i = 0; i < sizeof encodings / sizeof encodings[0]; i++)
    if (strcmp(encodings[i].name, name) == 0)
      e = &encodings[i];
  assert_non_null(e);
  char source[512], file[128];
  quadrants_source(source, sizeof source, width, height);
  snprintf(file, sizeof file, "quadrants-%s-%dx%d.%s", name, width, height, e->extension);
  const char *args[24] = {"-f", "lavfi", "-i", source, "-frames:v", STR(VIDEO_FRAMES)};
  int n = 6;
  for (const char *const *a = e->args; *a; a++)
    args[n++] = *a;
  args[n] = NULL;
  return media_make(file, args);
}

const char *video_wide_pixels(void)
{
  char source[512];
  quadrants_source(source, sizeof source, 320, 240);
  strncat(source, ",setsar=4/3", sizeof source - strlen(source) - 1);
  const char *args[] = {"-f",   "lavfi",   "-i",       source,    "-frames:v", STR(VIDEO_FRAMES),
                        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf",      "18",
                        NULL};
  return media_make("wide-pixels-h264.mkv", args);
}

const char *video_audio_then_video(void)
{
  char source[512];
  quadrants_source(source, sizeof source, 320, 240);
  const char *args[] = {"-f",        "lavfi",
                        "-i",        "sine=frequency=440:duration=1.2",
                        "-f",        "lavfi",
                        "-i",        source,
                        "-map",      "0:a",
                        "-map",      "1:v",
                        "-frames:v", STR(VIDEO_FRAMES),
                        "-t",        "1.2",
                        "-c:a",      "flac",
                        "-c:v",      "libx264",
                        "-pix_fmt",  "yuv420p",
                        NULL};
  return media_make("audio-then-video.mkv", args);
}

const char *video_audio_only(void)
{
  const char *args[] = {"-f", "lavfi", "-i", "sine=frequency=440:duration=1", NULL};
  return media_make("audio-only.wav", args);
}

const char *video_audio_with_cover_art(void)
{
  const char *args[] = {"-f",
                        "lavfi",
                        "-i",
                        "sine=frequency=440:duration=1",
                        "-f",
                        "lavfi",
                        "-i",
                        "color=c=red:s=64x64:d=0.1",
                        "-map",
                        "0:a",
                        "-map",
                        "1:v",
                        "-frames:v",
                        "1",
                        "-c:a",
                        "libmp3lame",
                        "-c:v",
                        "png",
                        "-disposition:v:0",
                        "attached_pic",
                        NULL};
  return media_make("audio-with-cover.mp3", args);
}

const char *video_raw_h264(void)
{
  const char *args[] = {
      "-f",        "lavfi",   "-i",   "testsrc=size=320x240:rate=" STR(VIDEO_RATE),
      "-frames:v", "30",      "-c:v", "libx264",
      "-pix_fmt",  "yuv420p", NULL};
  return media_make("testsrc-30.h264", args);
}

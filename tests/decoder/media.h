/* Test videos for the decoder tests, made at test time with the ffmpeg command-line tool.
 * Nothing is checked in: every file is rebuilt from lavfi sources into a scratch directory. */
#ifndef VITTM_TEST_DECODER_MEDIA_H
#define VITTM_TEST_DECODER_MEDIA_H

#include <stddef.h>

/* Chooses (and creates) the scratch directory; argv[1] of the test programs. */
void media_init(const char *dir);

/* Writes the path of name inside the scratch directory into out; returns out. */
const char *media_path(char *out, size_t size, const char *name);

/* Runs `ffmpeg <args> <dir>/<name>` (NULL-terminated args) once per program run and returns
 * the path; fails the calling test, saying what to install, when ffmpeg is missing or cannot
 * make the file, and when it runs for more than a minute. $VITTM_TEST_FFMPEG names another
 * ffmpeg. */
const char *media_make(const char *name, const char *const *args);

/* Writes text to name; returns the path. */
const char *media_write_text(const char *name, const char *text);

/* Copies src to dst keeping only the first `keep` parts in `of` of its bytes. */
const char *media_truncate(const char *src, const char *dst, long keep, long of);

/* Copies src to dst, overwriting bytes [from, to) (fractions of the size, in 1/100) with
 * a fixed garbage pattern. */
const char *media_damage(const char *src, const char *dst, int from_percent, int to_percent);

/* Copies src to dst, wrecking the headers (the 200 bytes after the start-of-image marker)
 * of JPEG pictures first .. first + count - 1: those packets cannot be decoded, while the
 * container around them stays intact. */
const char *media_wreck_jpegs(const char *src, const char *dst, int first, int count);

/* Copies src to dst, replacing every occurrence of the 4-byte tag `from` in its first 4 KiB
 * with `to` (how a codec tag is made unknown). */
const char *media_retag(const char *src, const char *dst, const char *from, const char *to);

#endif

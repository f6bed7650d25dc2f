/* vittm — status codes and the error record every fallible call fills. */
#ifndef VITTM_ERROR_H
#define VITTM_ERROR_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(VITTM_BUILDING) && defined(__GNUC__)
#define VITTM_API __attribute__((visibility("default")))
#else
#define VITTM_API
#endif

typedef enum vittm_status {
  VITTM_OK = 0,
  VITTM_ERROR_INVALID_ARGUMENT, /* a caller passed something malformed */
  VITTM_ERROR_IO,               /* a file could not be opened, read or written */
  VITTM_ERROR_FORMAT,           /* a model or media file is malformed */
  VITTM_ERROR_UNSUPPORTED,      /* valid, but not something this build/device can do */
  VITTM_ERROR_NO_DEVICE,        /* no usable Vulkan device */
  VITTM_ERROR_VULKAN,           /* a Vulkan call failed */
  VITTM_ERROR_VALIDATION,       /* the validation layer reported an error */
  VITTM_ERROR_OUT_OF_MEMORY,    /* host or device memory exhausted */
} vittm_status;

/* The error record: a code and a message that names the thing at fault. */
typedef struct vittm_error {
  vittm_status code;
  char message[512];
} vittm_error;

/* Fills err (when not NULL) with code and a printf-style message; returns code. */
VITTM_API vittm_status vittm_error_set(vittm_error *err, vittm_status code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prepends "context: " to err's message (keeps its code); returns the code. */
VITTM_API vittm_status vittm_error_prefix(vittm_error *err, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A short constant name for a status ("invalid argument", "format", ...). */
VITTM_API const char *vittm_status_name(vittm_status code);

#ifdef __cplusplus
}
#endif
#endif

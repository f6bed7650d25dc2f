/* vittm — status codes and the error record every fallible call fills. */
#ifndef VITTM_ERROR_H
#define VITTM_ERROR_H

#include <stdarg.h>

#include "vittm/export.h"

#ifdef __cplusplus
extern "C" {
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

/* Why an error happened, where the status alone cannot tell causes apart that call for
 * different remedies. VITTM_CAUSE_NONE for every error that has no finer cause. */
typedef enum vittm_error_cause {
  VITTM_CAUSE_NONE = 0,
  VITTM_CAUSE_NO_DRIVER,           /* no Vulkan driver is installed, or it reports no device */
  VITTM_CAUSE_NO_MATCHING_DEVICE,  /* devices exist, none matches the requested selector */
  VITTM_CAUSE_NO_CAPABLE_DEVICE,   /* devices exist, none has Vulkan 1.1 and a compute queue */
  VITTM_CAUSE_NO_VALIDATION_LAYER, /* validation was requested, its layer is not installed */
} vittm_error_cause;

/* The error record: a code, a cause and a message that names the thing at fault.
 *
 * The contract of every fallible vittm call: the status it returns is the same whether err
 * is a record or NULL; a record only adds the message and cause. After a failure, err->code
 * equals the returned status. */
typedef struct vittm_error {
  vittm_status code;
  vittm_error_cause cause;
  char message[512];
} vittm_error;

/* Fills err (when not NULL) with code, no cause and a printf-style message; returns code. */
VITTM_API vittm_status vittm_error_set(vittm_error *err, vittm_status code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* As vittm_error_set, with a cause; returns code. */
VITTM_API vittm_status vittm_error_set_cause(vittm_error *err, vittm_status code,
                                             vittm_error_cause cause, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Adds context to a failure and passes its status on: returns code, whatever err is. When
 * code is not VITTM_OK and err is not NULL, prepends "context: " to err's message and sets
 * err->code to code (the cause stays). VITTM_OK leaves err alone, so
 * `return vittm_error_prefix(err, st, "...")` is right after a call that may have succeeded.
 * The status comes from the caller, never from the record, so it cannot depend on whether
 * the record exists. */
VITTM_API vittm_status vittm_error_prefix(vittm_error *err, vittm_status code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* A short constant name for a status ("invalid argument", "format", ...). */
VITTM_API const char *vittm_status_name(vittm_status code);

#ifdef __cplusplus
}
#endif
#endif

#include "vittm/error.h"

#include <stdio.h>
#include <string.h>

static vittm_status set(vittm_error *err, vittm_status code, vittm_error_cause cause,
                        const char *fmt, va_list ap)
{
  if (!err)
    return code;
  err->code = code;
  err->cause = cause;
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  return code;
}

vittm_status vittm_error_set(vittm_error *err, vittm_status code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  set(err, code, VITTM_CAUSE_NONE, fmt, ap);
  va_end(ap);
  return code;
}

vittm_status vittm_error_set_cause(vittm_error *err, vittm_status code, vittm_error_cause cause,
                                   const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  set(err, code, cause, fmt, ap);
  va_end(ap);
  return code;
}

vittm_status vittm_error_prefix(vittm_error *err, vittm_status code, const char *fmt, ...)
{
  if (!err || code == VITTM_OK)
    return code;
  err->code = code;
  char old[sizeof err->message];
  memcpy(old, err->message, sizeof old);
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  /* Append ": old" by hand: the result is cut at the buffer's end, on purpose. */
  size_t used = n < 0 ? 0 : (size_t)n, cap = sizeof err->message - 1;
  const char *tail[2] = {": ", old};
  for (int t = 0; t < 2; t++)
    for (const char *p = tail[t]; *p && used < cap; p++)
      err->message[used++] = *p;
  if (used <= cap)
    err->message[used] = '\0';
  return code;
}

const char *vittm_status_name(vittm_status code)
{
  switch (code) {
  case VITTM_OK: return "ok";
  case VITTM_ERROR_INVALID_ARGUMENT: return "invalid argument";
  case VITTM_ERROR_IO: return "i/o error";
  case VITTM_ERROR_FORMAT: return "malformed file";
  case VITTM_ERROR_UNSUPPORTED: return "unsupported";
  case VITTM_ERROR_NO_DEVICE: return "no Vulkan device";
  case VITTM_ERROR_VULKAN: return "Vulkan error";
  case VITTM_ERROR_VALIDATION: return "Vulkan validation error";
  case VITTM_ERROR_OUT_OF_MEMORY: return "out of memory";
  }
  return "unknown status";
}

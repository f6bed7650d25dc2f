/* vittm — VITTM_API marks what a vittm shared library exports; everything else is hidden
 * (each library is compiled with -fvisibility=hidden and VITTM_BUILDING). */
#ifndef VITTM_EXPORT_H
#define VITTM_EXPORT_H

#if defined(VITTM_BUILDING) && defined(__GNUC__)
#define VITTM_API __attribute__((visibility("default")))
#else
#define VITTM_API
#endif

#endif

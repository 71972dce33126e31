/* Error reporting: every fallible function takes a dots_error* (may be NULL)
 * and returns a dots_status. */
#ifndef DOTS_ERROR_H
#define DOTS_ERROR_H
#include "dotsocr.h"

#if defined(__GNUC__)
#define DOTS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DOTS_PRINTF(a, b)
#endif

/* Set the error (code + formatted message) and return code. */
dots_status dots_fail(dots_error *e, dots_status code, const char *fmt, ...) DOTS_PRINTF(3, 4);
/* Prepend context ("while loading X: ") to an error already set; returns its code. */
dots_status dots_context(dots_error *e, const char *fmt, ...) DOTS_PRINTF(2, 3);
/* Clear to DOTS_OK. */
void dots_error_clear(dots_error *e);

#endif

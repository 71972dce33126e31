/* The one growable byte buffer: append bytes, strings or printf output; an
 * allocation failure is sticky (oom), so callers check once at the end. */
#ifndef DOTS_BUF_H
#define DOTS_BUF_H
#include <stddef.h>

typedef struct dots_buf {
    char *p;       /* [cap], NUL-terminated after n bytes once anything was added */
    size_t n, cap;
    int oom;       /* an append failed: p holds what came before it */
} dots_buf;

/* Room for `extra` more bytes plus the NUL; 0 on overflow or out of memory (sets oom). */
int dots_buf_reserve(dots_buf *b, size_t extra);
void dots_buf_addn(dots_buf *b, const void *p, size_t n);
void dots_buf_add(dots_buf *b, const char *s);
void dots_buf_addf(dots_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The NUL-terminated buffer (an empty string if nothing was added), owned by the caller;
 * NULL (and the buffer freed) after an out-of-memory. The buffer is left empty. */
char *dots_buf_take(dots_buf *b);
void dots_buf_free(dots_buf *b);

#endif

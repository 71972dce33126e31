#include "base/buf.h"
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dots_buf_reserve(dots_buf *b, size_t extra) {
    if (b->oom) return 0;
    if (extra > SIZE_MAX / 2 - b->n) { b->oom = 1; return 0; }
    size_t need = b->n + extra + 1;
    if (need <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) { b->oom = 1; return 0; }
    b->p = p;
    b->cap = cap;
    return 1;
}

void dots_buf_addn(dots_buf *b, const void *p, size_t n) {
    if (!dots_buf_reserve(b, n)) return;
    if (n) memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = 0;
}

void dots_buf_add(dots_buf *b, const char *s) { dots_buf_addn(b, s, strlen(s)); }

void dots_buf_addf(dots_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0) { b->oom = 1; return; }
    if (!dots_buf_reserve(b, (size_t)k)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

char *dots_buf_take(dots_buf *b) {
    if (!b->oom && !b->p && dots_buf_reserve(b, 0)) b->p[0] = 0;
    char *r = b->oom ? NULL : b->p;
    if (b->oom) free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
    b->oom = 0;
    return r;
}

void dots_buf_free(dots_buf *b) {
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
    b->oom = 0;
}

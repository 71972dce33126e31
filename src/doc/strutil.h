/* Small string helpers for the document pipeline: a growable buffer and
 * Python's notion of whitespace (str.isspace / re \s) on UTF-8. */
#ifndef DOTS_DOC_STRUTIL_H
#define DOTS_DOC_STRUTIL_H
#include <stddef.h>

typedef struct dstr { char *p; size_t n, cap; int oom; } dstr;

void dstr_addn(dstr *s, const char *p, size_t n);
void dstr_add(dstr *s, const char *p);
void dstr_addf(dstr *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Returns the NUL-terminated buffer (never NULL unless oom) and gives up ownership. */
char *dstr_take(dstr *s);
void dstr_free(dstr *s);

/* Byte length of the whitespace character starting at s (n bytes left), 0 if none. */
int doc_ws_at(const char *s, size_t n);
/* Byte length of the whitespace character ending at s+n, 0 if none. */
int doc_ws_before(const char *s, size_t n);
/* Python str.strip(): sets *b and *len to the stripped part of s[0..n). */
void doc_strip(const char *s, size_t n, const char **b, size_t *len);
/* Number of code points in UTF-8 s[0..n). */
size_t doc_utf8_len(const char *s, size_t n);

#endif

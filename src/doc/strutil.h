/* Small string helpers for the document pipeline: a growable buffer and
 * Python's notion of whitespace (str.isspace / re \s) on UTF-8. */
#ifndef DOTS_DOC_STRUTIL_H
#define DOTS_DOC_STRUTIL_H
#include <stddef.h>
#include "base/buf.h"

/* The document code's name for the one growable buffer (base/buf.h). */
typedef dots_buf dstr;
#define dstr_addn dots_buf_addn
#define dstr_add dots_buf_add
#define dstr_addf dots_buf_addf
#define dstr_take dots_buf_take /* NUL-terminated, owned by the caller; NULL after an out-of-memory */
#define dstr_free dots_buf_free

/* Byte length of the whitespace character starting at s (n bytes left), 0 if none. */
int doc_ws_at(const char *s, size_t n);
/* Byte length of the whitespace character ending at s+n, 0 if none. */
int doc_ws_before(const char *s, size_t n);
/* Python str.strip(): sets *b and *len to the stripped part of s[0..n). */
void doc_strip(const char *s, size_t n, const char **b, size_t *len);
/* Number of code points in UTF-8 s[0..n). */
size_t doc_utf8_len(const char *s, size_t n);

#endif

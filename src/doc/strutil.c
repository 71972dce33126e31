#include "doc/strutil.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(dstr *s, size_t extra) {
    if (s->oom) return 0;
    if (s->n + extra + 1 <= s->cap) return 1;
    size_t cap = s->cap ? s->cap : 256;
    while (cap < s->n + extra + 1) cap *= 2;
    char *p = realloc(s->p, cap);
    if (!p) { s->oom = 1; return 0; }
    s->p = p; s->cap = cap;
    return 1;
}

void dstr_addn(dstr *s, const char *p, size_t n) {
    if (!grow(s, n)) return;
    memcpy(s->p + s->n, p, n);
    s->n += n;
    s->p[s->n] = 0;
}
void dstr_add(dstr *s, const char *p) { dstr_addn(s, p, strlen(p)); }
void dstr_addf(dstr *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0 || !grow(s, (size_t)k)) return;
    va_start(ap, fmt);
    vsnprintf(s->p + s->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    s->n += (size_t)k;
}
char *dstr_take(dstr *s) {
    if (s->oom) { free(s->p); s->p = NULL; s->n = s->cap = 0; return NULL; }
    if (!s->p && !grow(s, 0)) return NULL;
    if (!s->p) return NULL;
    s->p[s->n] = 0;
    char *r = s->p;
    s->p = NULL; s->n = s->cap = 0;
    return r;
}
void dstr_free(dstr *s) { free(s->p); s->p = NULL; s->n = s->cap = 0; s->oom = 0; }

/* Decodes one code point; returns its byte length (1 for an invalid byte). */
static int decode(const unsigned char *s, size_t n, unsigned *cp) {
    unsigned c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (len == 1 || (size_t)len > n) { *cp = 0xFFFD; return 1; }
    unsigned v = c & (0x3F >> (len - 1));
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) { *cp = 0xFFFD; return 1; }
        v = v << 6 | (s[i] & 0x3F);
    }
    *cp = v;
    return len;
}

/* The characters for which Python's str.isspace() is true. */
static int is_space(unsigned c) {
    if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) return 1;
    if (c < 0x85) return 0;
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

int doc_ws_at(const char *s, size_t n) {
    if (!n) return 0;
    unsigned cp;
    int k = decode((const unsigned char *)s, n, &cp);
    return is_space(cp) ? k : 0;
}

int doc_ws_before(const char *s, size_t n) {
    if (!n) return 0;
    size_t i = n - 1;
    while (i > 0 && n - i < 4 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
    unsigned cp;
    int k = decode((const unsigned char *)s + i, n - i, &cp);
    if ((size_t)k != n - i) return 0;
    return is_space(cp) ? k : 0;
}

void doc_strip(const char *s, size_t n, const char **b, size_t *len) {
    size_t a = 0, z = n;
    int k;
    while (a < z && (k = doc_ws_at(s + a, z - a)) > 0) a += (size_t)k;
    while (z > a && (k = doc_ws_before(s + a, z - a)) > 0) z -= (size_t)k;
    *b = s + a;
    *len = z - a;
}

size_t doc_utf8_len(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

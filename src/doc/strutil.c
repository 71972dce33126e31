#include "doc/strutil.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

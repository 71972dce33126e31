#include "text/utf8.h"

size_t utf8_seq_len(const unsigned char *s, size_t n, int *incomplete) {
    *incomplete = 0;
    if (n == 0) return 0;
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t need;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0) lo = 0xA0;        /* no overlongs */
        else if (c == 0xED) hi = 0x9F;   /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0) lo = 0x90;
        else if (c == 0xF4) hi = 0x8F;   /* <= U+10FFFF */
    } else return 0;
    for (size_t i = 1; i < need; i++) {
        if (i >= n) { *incomplete = 1; return 0; }
        unsigned b = s[i];
        unsigned l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
        if (b < l || b > h) return 0;
    }
    return need;
}

size_t utf8_first_invalid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) { i++; continue; }
        int inc;
        size_t k = utf8_seq_len(s + i, n - i, &inc);
        if (!k) return i;
        i += k;
    }
    return n;
}

/* Length of the maximal subpart (a prefix of a valid sequence) at s: at least 1. */
static size_t maximal_subpart(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c >= 0xE0 && c <= 0xEF) { need = 3; if (c == 0xE0) lo = 0xA0; else if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 4; if (c == 0xF0) lo = 0x90; else if (c == 0xF4) hi = 0x8F; }
    else return 1;
    size_t i = 1;
    for (; i < need && i < n; i++) {
        unsigned l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
        if (s[i] < l || s[i] > h) break;
    }
    return i;
}

size_t utf8_lossy(const unsigned char *s, size_t n, char *out, int keep_tail, size_t *consumed) {
    size_t i = 0, o = 0;
    while (i < n) {
        if (s[i] < 0x80) { out[o++] = (char)s[i++]; continue; }
        int inc;
        size_t k = utf8_seq_len(s + i, n - i, &inc);
        if (k) {
            for (size_t j = 0; j < k; j++) out[o++] = (char)s[i + j];
            i += k;
            continue;
        }
        if (inc && keep_tail) break;
        i += maximal_subpart(s + i, n - i);
        out[o++] = (char)0xEF; out[o++] = (char)0xBF; out[o++] = (char)0xBD;
    }
    if (consumed) *consumed = i;
    return o;
}

#include "server/base64.h"
#include <stdlib.h>

/* 0..63 for an alphabet byte, 64 for '=', 65 for whitespace, 66 for anything else. */
static int sextet(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    if (c == '=') return 64;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return 65;
    return 66;
}

dots_status srv_base64_decode(const char *in, size_t n, const char *what, unsigned char **out, size_t *out_n,
                              dots_error *e) {
    *out = NULL;
    *out_n = 0;
    unsigned char *buf = malloc(n / 4 * 3 + 3);
    if (!buf) return dots_fail(e, DOTS_E_NOMEM, "out of memory decoding %zu bytes of base64 in %s", n, what);
    size_t k = 0, pad_at = 0;
    unsigned acc = 0;
    int in_group = 0, pads = 0;
    for (size_t i = 0; i < n; i++) {
        int v = sextet((unsigned char)in[i]);
        if (v == 65) continue;
        if (v == 66 || (v < 64 && pads)) {
            free(buf);
            return dots_fail(e, DOTS_E_FORMAT, "%s: byte %zu (0x%02x) is not base64%s; send the image bytes base64-encoded "
                             "(standard alphabet)", what, i, (unsigned char)in[i], pads ? " (data after the '=' padding)" : "");
        }
        if (v == 64) {
            if (in_group < 2 || in_group + pads >= 4) {
                free(buf);
                return dots_fail(e, DOTS_E_FORMAT, "%s: misplaced '=' padding at byte %zu", what, i);
            }
            if (!pads) pad_at = i;
            pads++;
            continue;
        }
        acc = acc << 6 | (unsigned)v;
        if (++in_group == 4) {
            buf[k++] = (unsigned char)(acc >> 16);
            buf[k++] = (unsigned char)(acc >> 8);
            buf[k++] = (unsigned char)acc;
            acc = 0;
            in_group = 0;
        }
    }
    if (in_group == 1) {
        free(buf);
        return dots_fail(e, DOTS_E_FORMAT, "%s: the base64 data ends with a lone character (truncated?)", what);
    }
    if (pads && in_group + pads != 4) {
        free(buf);
        return dots_fail(e, DOTS_E_FORMAT, "%s: wrong '=' padding at byte %zu", what, pad_at);
    }
    if (in_group == 2) buf[k++] = (unsigned char)(acc >> 4);
    if (in_group == 3) {
        buf[k++] = (unsigned char)(acc >> 10);
        buf[k++] = (unsigned char)(acc >> 2);
    }
    *out = buf;
    *out_n = k;
    return DOTS_OK;
}

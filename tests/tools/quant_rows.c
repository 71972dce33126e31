/* Exposes the reference quantizer to the Python oracle tests (tests/py/test_quant_gguf.py):
 *   quant_rows quant   q8_0|q4_k|q6_k  < f32 values   > blocks
 *   quant_rows dequant q8_0|q4_k|q6_k  < blocks       > f32 values
 * stdin/stdout carry raw little-endian data; the element count must be a whole
 * number of blocks. Exits non-zero with a message on any error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/quant.h"

static unsigned char *read_all(size_t *n) {
    size_t cap = 1 << 20, len = 0;
    unsigned char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + len, 1, cap - len, stdin)) > 0;) {
        len += got;
        if (len == cap) {
            unsigned char *nb = realloc(buf, cap *= 2);
            if (!nb) { free(buf); buf = NULL; }
            else buf = nb;
        }
    }
    *n = len;
    return buf;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: quant_rows quant|dequant q8_0|q4_k|q6_k\n"); return 2; }
    dots_dtype t = strcmp(argv[2], "q8_0") == 0 ? DT_Q8_0 : strcmp(argv[2], "q4_k") == 0 ? DT_Q4_K
                 : strcmp(argv[2], "q6_k") == 0 ? DT_Q6_K : DT_COUNT;
    int quant = strcmp(argv[1], "quant") == 0;
    if (t == DT_COUNT || (!quant && strcmp(argv[1], "dequant") != 0)) { fprintf(stderr, "quant_rows: bad arguments\n"); return 2; }
    size_t len;
    unsigned char *in = read_all(&len);
    if (!in) { fprintf(stderr, "quant_rows: out of memory\n"); return 1; }
    size_t bb = dtype_block_bytes(t), be = (size_t)dtype_block_elems(t);
    size_t nblk = quant ? len / 4 / be : len / bb;
    if (quant ? len != nblk * be * 4 : len != nblk * bb) { fprintf(stderr, "quant_rows: %zu bytes is not whole blocks\n", len); return 1; }
    size_t n = nblk * be, out_bytes = quant ? nblk * bb : n * 4;
    void *out = malloc(out_bytes ? out_bytes : 1);
    if (!out) { fprintf(stderr, "quant_rows: out of memory\n"); return 1; }
    int rc = quant ? quant_row(t, (const float *)in, out, (int64_t)n) : dequant_row(t, in, out, (int64_t)n);
    if (rc != 0 || fwrite(out, 1, out_bytes, stdout) != out_bytes) { fprintf(stderr, "quant_rows: failed\n"); return 1; }
    free(in);
    free(out);
    return 0;
}

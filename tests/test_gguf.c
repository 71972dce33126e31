/* GGUF reader and writer: a file written by our writer reads back with its
 * metadata and tensors; each kind of malformed file is an error naming the
 * field; every truncation and 20000 random mutations fail cleanly or parse.
 * (test_gguf_pypi.py checks files written by PyPI gguf, the independent oracle.) */
#include <stdlib.h>
#include <string.h>
#include "io/gguf.h"
#include "testutil.h"

static float ta[2][64];
static uint16_t tb[3];

static dots_status fill(void *ctx, int i, void *dst, size_t n, dots_error *e) {
    (void)ctx; (void)e;
    memcpy(dst, i == 0 ? (const void *)ta : (const void *)tb, n);
    return DOTS_OK;
}

static unsigned char *read_all(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    if (b && fread(b, 1, *n, fp) != *n) { free(b); b = NULL; }
    fclose(fp);
    return b;
}

static void put64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static void put32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }

static size_t find(const unsigned char *b, size_t n, const char *s) {
    size_t l = strlen(s);
    for (size_t i = 0; i + l <= n; i++) if (!memcmp(b + i, s, l)) return i;
    return (size_t)-1;
}

/* Applies edit to a copy of base and expects an error containing needle. */
static void expect(const unsigned char *base, size_t n, size_t len, size_t at, int width, uint64_t v, const char *needle) {
    unsigned char *m = malloc(n);
    memcpy(m, base, n);
    if (width == 8) put64(m + at, v); else if (width == 4) put32(m + at, (uint32_t)v); else if (width == 1) m[at] = (unsigned char)v;
    gguf_file *f = NULL;
    dots_error e = {0};
    dots_status st = gguf_parse(m, len, "x.gguf", &f, &e);
    CHECK(st != DOTS_OK && f == NULL, "edit at %zu should fail (%s)", at, needle);
    CHECK(strstr(e.msg, needle) && strstr(e.msg, "x.gguf"), "message lacks '%s': %s", needle, e.msg);
    if (f) gguf_close(f);
    free(m);
}

static void write_base(void) {
    for (int r = 0; r < 2; r++) for (int i = 0; i < 64; i++) ta[r][i] = (float)(r * 64 + i) * 0.5f;
    tb[0] = 0x3c00; tb[1] = 0x4000; tb[2] = 0xc000;
    dots_error e = {0};
    gguf_writer *w = gguf_writer_new(&e);
    const char *toks[3] = {"a", "bc", "<|x|>"};
    int32_t types[3] = {1, 1, 3};
    CHECK(gguf_add_str(w, "general.architecture", "qwen2", &e) == DOTS_OK, "%s", e.msg);
    CHECK(gguf_add_u32(w, "qwen2.block_count", 7, &e) == DOTS_OK, "%s", e.msg);
    CHECK(gguf_add_f32(w, "qwen2.attention.layer_norm_rms_epsilon", 1e-6f, &e) == DOTS_OK, "%s", e.msg);
    CHECK(gguf_add_bool(w, "clip.use_silu", 1, &e) == DOTS_OK, "%s", e.msg);
    CHECK(gguf_add_arr_str(w, "tokenizer.ggml.tokens", toks, NULL, 3, &e) == DOTS_OK, "%s", e.msg);
    CHECK(gguf_add_arr(w, "tokenizer.ggml.token_type", GGUF_I32, types, 3, &e) == DOTS_OK, "%s", e.msg);
    CHECK(gguf_add_tensor(w, "blk.0.attn_q.weight", 0, 2, (int64_t[]){2, 64}, &e) == DOTS_OK, "%s", e.msg);
    CHECK(gguf_add_tensor(w, "output_norm.weight", 1, 1, (int64_t[]){3}, &e) == DOTS_OK, "%s", e.msg);
    CHECK(gguf_add_tensor(w, "bad", 0, 2, (int64_t[]){1, 3}, &e) == DOTS_OK, "f32 rows need no blocks");
    CHECK(gguf_add_tensor(w, "bad2", 8, 2, (int64_t[]){1, 3}, &e) != DOTS_OK, "Q8_0 rows of 3 refused");
    gguf_writer_free(w);
}

int main(void) {
    write_base(); /* exercises argument checks; the real file follows */
    dots_error e = {0};
    gguf_writer *w = gguf_writer_new(&e);
    const char *toks[3] = {"a", "bc", "<|x|>"};
    int32_t types[3] = {1, 1, 3};
    gguf_add_str(w, "general.architecture", "qwen2", &e);
    gguf_add_u32(w, "qwen2.block_count", 7, &e);
    gguf_add_f32(w, "qwen2.attention.layer_norm_rms_epsilon", 1e-6f, &e);
    gguf_add_bool(w, "clip.use_silu", 1, &e);
    gguf_add_arr_str(w, "tokenizer.ggml.tokens", toks, NULL, 3, &e);
    gguf_add_arr(w, "tokenizer.ggml.token_type", GGUF_I32, types, 3, &e);
    gguf_add_tensor(w, "blk.0.attn_q.weight", 0, 2, (int64_t[]){2, 64}, &e);
    gguf_add_tensor(w, "output_norm.weight", 1, 1, (int64_t[]){3}, &e);
    CHECK(gguf_writer_write(w, "rt.gguf", fill, NULL, &e) == DOTS_OK, "%s", e.msg);
    gguf_writer_free(w);

    gguf_file *f = NULL;
    CHECK(gguf_open("rt.gguf", &f, &e) == DOTS_OK, "%s", e.msg);
    if (f) {
        int64_t v = 0;
        double d = 0;
        const char *s;
        uint64_t l;
        CHECK(f->version == 3 && f->n == 2 && f->n_kv == 6, "counts %u %d %lld", f->version, f->n, (long long)f->n_kv);
        CHECK(gguf_get_int(f, "qwen2.block_count", &v, &e) == DOTS_OK && v == 7, "block_count");
        CHECK(gguf_get_float(f, "qwen2.attention.layer_norm_rms_epsilon", &d, &e) == DOTS_OK && (float)d == 1e-6f, "eps");
        CHECK(gguf_get_str(f, "general.architecture", &s, &l, &e) == DOTS_OK && l == 5 && !memcmp(s, "qwen2", 5), "arch");
        CHECK(gguf_get_int(f, "general.architecture", &v, &e) != DOTS_OK && strstr(e.msg, "not an integer"), "%s", e.msg);
        CHECK(gguf_get_int(f, "nope", &v, &e) != DOTS_OK && strstr(e.msg, "'nope' is missing"), "%s", e.msg);
        const gguf_kv *kv = gguf_find_kv(f, "tokenizer.ggml.tokens");
        CHECK(kv && kv->n == 3 && (s = gguf_arr_str(kv, 2, &l)) && l == 5 && !memcmp(s, "<|x|>", 5), "tokens");
        kv = gguf_find_kv(f, "tokenizer.ggml.token_type");
        CHECK(kv && kv->n == 3 && gguf_arr_int(kv, 2) == 3, "token types");
        const st_tensor *t = gguf_find_tensor(f, "blk.0.attn_q.weight");
        CHECK(t && t->dtype == DT_F32 && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 64 &&
              !memcmp(t->data, ta, sizeof ta) && t->offset % 32 == 0, "tensor a");
        t = gguf_find_tensor(f, "output_norm.weight");
        CHECK(t && t->dtype == DT_F16 && t->ndim == 1 && !memcmp(t->data, tb, sizeof tb), "tensor b");
        gguf_close(f);
    }

    size_t n = 0;
    unsigned char *base = read_all("rt.gguf", &n);
    CHECK(base != NULL, "read back");
    if (!base) return test_finish("gguf");
    size_t data_end = 0;
    {
        gguf_file *ff = NULL;
        if (gguf_parse(base, n, "rt.gguf", &ff, &e) == DOTS_OK) {
            for (int i = 0; i < ff->n; i++)
                if (ff->tensors[i].offset + ff->tensors[i].nbytes > data_end) data_end = ff->tensors[i].offset + ff->tensors[i].nbytes;
            gguf_close(ff);
        }
        CHECK(data_end > 0 && data_end <= n, "data end %zu", data_end);
    }
    size_t k0 = 24;                                   /* first key's length field */
    size_t tn = find(base, n, "blk.0.attn_q.weight"); /* first tensor's name */
    size_t tk = find(base, n, "tokenizer.ggml.tokens");
    size_t nd_at = tn + 19, ne0_at = nd_at + 4, ty_at = ne0_at + 16, off_at = ty_at + 4;
    size_t t2 = find(base, n, "output_norm.weight"), off2_at = t2 + 18 + 4 + 8 + 4;
    expect(base, n, n, 0, 1, 'X', "not a GGUF file");
    expect(base, n, n, 4, 4, 1, "version 1");
    expect(base, n, n, 4, 4, 0x03000000u, "big-endian");
    expect(base, n, n, 8, 8, (uint64_t)1 << 40, "tensor count");
    expect(base, n, n, 16, 8, 1u << 30, "metadata count");
    expect(base, n, n, k0, 8, (uint64_t)1 << 50, "past the end of the file");
    expect(base, n, n, k0, 8, 0, "empty key");
    expect(base, n, n, k0 + 8 + 20, 4, 77, "unknown value type");
    expect(base, n, n, tk + 21 + 4, 4, GGUF_ARRAY, "nested-array");
    expect(base, n, n, tk + 21 + 4 + 4, 8, (uint64_t)1 << 60, "claims");
    expect(base, n, n, tk + 21 + 4 + 4 + 8, 8, (uint64_t)1 << 61, "string 0 of array 'tokenizer.ggml.tokens'");
    expect(base, n, n, nd_at, 4, 5, "dimensions (1..4");
    expect(base, n, n, ne0_at, 8, (uint64_t)1 << 63, "absurdly large");
    expect(base, n, n, ne0_at + 8, 8, (uint64_t)1 << 60, "absurd element count");
    expect(base, n, n, ty_at, 4, 99, "unknown ggml type 99");
    expect(base, n, n, ty_at, 4, 12, "not a multiple of its block size"); /* Q4_K needs rows of 256 */
    expect(base, n, n, ty_at, 4, 14, "not a multiple of its block size"); /* Q6_K too */
    expect(base, n, n, off_at, 8, 4, "not a multiple of the alignment");
    expect(base, n, n, off2_at, 8, 1u << 20, "runs past the end");
    expect(base, n, n, off2_at, 8, 0, "overlap");
    expect(base, n, data_end - 1, 0, 0, 0, "truncated");
    expect(base, n, n, tn - 8, 8, 0, "empty name");
    /* every prefix that cuts into the data is rejected with a message (trailing padding is optional) */
    for (size_t len = 0; len < data_end; len++) {
        gguf_file *ff = NULL;
        dots_error ee = {0};
        dots_status st = gguf_parse(base, len, "cut.gguf", &ff, &ee);
        if (st == DOTS_OK) { CHECK(0, "prefix of %zu bytes accepted", len); gguf_close(ff); }
        else if (!ee.msg[0]) CHECK(0, "prefix %zu: no message", len);
    }
    /* random mutations never crash (the ASan/UBSan build checks reads); errors always have a message */
    unsigned s = 7;
    int ok_count = 0;
    unsigned char *m = malloc(n);
    for (int it = 0; it < 20000; it++) {
        memcpy(m, base, n);
        for (int k = 0; k < 1 + it % 4; k++) {
            s = s * 1103515245u + 12345u;
            size_t pos = (s >> 8) % n;
            s = s * 1103515245u + 12345u;
            m[pos] = (unsigned char)(s >> 16);
        }
        gguf_file *ff = NULL;
        dots_error ee = {0};
        if (gguf_parse(m, n, "fuzz.gguf", &ff, &ee) == DOTS_OK) {
            ok_count++;
            for (int i = 0; i < ff->n; i++) /* every accepted tensor lies inside the buffer */
                CHECK(ff->tensors[i].offset + ff->tensors[i].nbytes <= n, "tensor %d out of bounds", i);
            gguf_close(ff);
        } else if (!ee.msg[0]) {
            CHECK(0, "error without a message at iteration %d", it);
        }
    }
    free(m);
    CHECK(ok_count > 0, "some mutations leave the file valid");
    free(base);
    return test_finish("gguf");
}

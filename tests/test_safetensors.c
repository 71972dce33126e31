/* safetensors reader: valid files round-trip through the writer; every kind of
 * malformed header is an error naming the problem, never a crash. */
#include <stdlib.h>
#include <string.h>
#include "io/safetensors.h"
#include "testutil.h"

static unsigned char *make(const char *hdr, size_t data_bytes, size_t *size) {
    size_t hl = strlen(hdr);
    *size = 8 + hl + data_bytes;
    unsigned char *b = calloc(1, *size);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, hdr, hl);
    return b;
}

static void expect_error(const char *hdr, size_t data, const char *needle) {
    size_t n;
    unsigned char *b = make(hdr, data, &n);
    st_file *f = NULL;
    dots_error e = {0};
    dots_status st = st_parse(b, n, "x.safetensors", &f, &e);
    CHECK(st != DOTS_OK && f == NULL, "header %s should fail", hdr);
    CHECK(strstr(e.msg, needle) != NULL, "message for %s lacks '%s': %s", hdr, needle, e.msg);
    free(b);
}

int main(void) {
    /* round trip through the writer */
    float a[6] = {1, 2, 3, 4, 5, 6};
    int32_t g[3] = {1, 2, 3};
    dots_error e = {0};
    st_writer *w = st_writer_new(&e);
    CHECK(st_writer_add(w, "b.ints", DT_I32, 1, (int64_t[]){3}, g, &e) == DOTS_OK, "%s", e.msg);
    CHECK(st_writer_add(w, "a.floats", DT_F32, 2, (int64_t[]){2, 3}, a, &e) == DOTS_OK, "%s", e.msg);
    CHECK(st_writer_write(w, "rt.safetensors", &e) == DOTS_OK, "%s", e.msg);
    st_writer_free(w);
    st_file *f = NULL;
    CHECK(st_open("rt.safetensors", &f, &e) == DOTS_OK, "%s", e.msg);
    if (f) {
        const st_tensor *t = st_find(f, "a.floats");
        CHECK(t && t->dtype == DT_F32 && t->ndim == 2 && t->shape[1] == 3 && !memcmp(t->data, a, sizeof a), "a.floats");
        t = st_find(f, "b.ints");
        CHECK(t && t->dtype == DT_I32 && !memcmp(t->data, g, sizeof g), "b.ints");
        CHECK(st_find(f, "zzz") == NULL, "absent name");
        st_close(f);
    }
    /* malformed inputs */
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "truncated");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "needs 12 bytes");
    expect_error("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unsupported dtype");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                 "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]", 8, "malformed JSON");
    expect_error("[1,2]", 0, "not a JSON object");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "non-negative");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "end before");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "data_offsets");
    {
        size_t n;
        unsigned char *b = make("{}", 0, &n);
        b[0] = 0xff; b[5] = 0x10; /* absurd length */
        st_file *ff = NULL;
        dots_error ee = {0};
        CHECK(st_parse(b, n, "x", &ff, &ee) != DOTS_OK && strstr(ee.msg, "exceeds"), "%s", ee.msg);
        CHECK(st_parse(b, 5, "x", &ff, &ee) != DOTS_OK && strstr(ee.msg, "too short"), "%s", ee.msg);
        free(b);
    }
    /* random mutations of a valid file never crash (ASan build catches overreads) */
    size_t n;
    unsigned char *base = make("{\"w\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
                               "\"__metadata__\":{\"format\":\"pt\"}}", 8, &n);
    unsigned s = 1;
    int ok_count = 0;
    for (int it = 0; it < 20000; it++) {
        unsigned char *m = malloc(n);
        memcpy(m, base, n);
        int flips = 1 + it % 4;
        for (int k = 0; k < flips; k++) {
            s = s * 1103515245u + 12345u;
            size_t pos = (s >> 8) % n;
            s = s * 1103515245u + 12345u;
            m[pos] = (unsigned char)(s >> 16);
        }
        s = s * 1103515245u + 12345u;
        size_t len = (it % 7 == 0) ? (s >> 8) % (n + 1) : n;
        st_file *ff = NULL;
        dots_error ee = {0};
        if (st_parse(m, len, "fuzz", &ff, &ee) == DOTS_OK) { ok_count++; st_close(ff); }
        else if (ee.msg[0] == 0) { CHECK(0, "error without a message at iteration %d", it); }
        free(m);
    }
    CHECK(ok_count > 0, "some mutations leave the file valid");
    free(base);
    return test_finish("safetensors");
}

/* GGUF writer (v3): metadata is serialized as it is added; tensor infos are
 * staged and the data streamed from a fill callback, so a quantized model is
 * never held in memory whole. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "io/gguf.h"

typedef struct { char *name; uint32_t type; int ndim; int64_t shape[GGUF_MAX_DIMS]; uint64_t nbytes, offset; } w_tensor;

struct gguf_writer {
    unsigned char *kv;          /* serialized key/values */
    size_t kv_len, kv_cap;
    uint64_t n_kv;
    w_tensor *t;
    int n, cap;
};

gguf_writer *gguf_writer_new(dots_error *e) {
    gguf_writer *w = calloc(1, sizeof *w);
    if (!w) dots_fail(e, DOTS_E_NOMEM, "out of memory");
    return w;
}

void gguf_writer_free(gguf_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) free(w->t[i].name);
    free(w->t);
    free(w->kv);
    free(w);
}

static int put(gguf_writer *w, const void *p, size_t n) {
    if (w->kv_len + n > w->kv_cap) {
        size_t nc = w->kv_cap ? w->kv_cap : 4096;
        while (nc < w->kv_len + n) nc *= 2;
        unsigned char *nb = realloc(w->kv, nc);
        if (!nb) return -1;
        w->kv = nb;
        w->kv_cap = nc;
    }
    memcpy(w->kv + w->kv_len, p, n);
    w->kv_len += n;
    return 0;
}

static int put_le(gguf_writer *w, uint64_t v, int n) {
    unsigned char b[8];
    for (int i = 0; i < n; i++) b[i] = (unsigned char)(v >> (8 * i));
    return put(w, b, (size_t)n);
}

static int put_str(gguf_writer *w, const char *s, uint64_t len) { return put_le(w, len, 8) || put(w, s, len); }

static dots_status key_head(gguf_writer *w, const char *key, int type, dots_error *e) {
    if (put_str(w, key, strlen(key)) || put_le(w, (uint64_t)type, 4)) return dots_fail(e, DOTS_E_NOMEM, "out of memory");
    w->n_kv++;
    return DOTS_OK;
}

#define ADD_SCALAR(fn, ctype, vt, bits)                                                   \
    dots_status fn(gguf_writer *w, const char *key, ctype v, dots_error *e) {             \
        dots_status st = key_head(w, key, vt, e);                                         \
        uint64_t u = 0;                                                                   \
        memcpy(&u, &v, sizeof v);                                                         \
        if (!st && put_le(w, u, bits / 8)) st = dots_fail(e, DOTS_E_NOMEM, "out of memory"); \
        return st;                                                                        \
    }
ADD_SCALAR(gguf_add_u32, uint32_t, GGUF_U32, 32)
ADD_SCALAR(gguf_add_i32, int32_t, GGUF_I32, 32)
ADD_SCALAR(gguf_add_f32, float, GGUF_F32, 32)

dots_status gguf_add_bool(gguf_writer *w, const char *key, int v, dots_error *e) {
    dots_status st = key_head(w, key, GGUF_BOOL, e);
    if (!st && put_le(w, v ? 1 : 0, 1)) st = dots_fail(e, DOTS_E_NOMEM, "out of memory");
    return st;
}

dots_status gguf_add_str(gguf_writer *w, const char *key, const char *v, dots_error *e) {
    dots_status st = key_head(w, key, GGUF_STRING, e);
    if (!st && put_str(w, v, strlen(v))) st = dots_fail(e, DOTS_E_NOMEM, "out of memory");
    return st;
}

static const uint64_t elem_size[GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

dots_status gguf_add_arr(gguf_writer *w, const char *key, int elem_type, const void *data, uint64_t n, dots_error *e) {
    if (elem_type < 0 || elem_type >= GGUF_VTYPE_COUNT || elem_type == GGUF_STRING || elem_type == GGUF_ARRAY)
        return dots_fail(e, DOTS_E_ARG, "gguf_add_arr: '%s': element type %d", key, elem_type);
    dots_status st = key_head(w, key, GGUF_ARRAY, e);
    /* little-endian host assumed for the element bytes, as the reader's mapping is */
    if (!st && (put_le(w, (uint64_t)elem_type, 4) || put_le(w, n, 8) || put(w, data, n * elem_size[elem_type])))
        st = dots_fail(e, DOTS_E_NOMEM, "out of memory");
    return st;
}

dots_status gguf_add_arr_str(gguf_writer *w, const char *key, const char *const *strs, const uint64_t *lens,
                             uint64_t n, dots_error *e) {
    dots_status st = key_head(w, key, GGUF_ARRAY, e);
    if (!st && (put_le(w, GGUF_STRING, 4) || put_le(w, n, 8))) st = dots_fail(e, DOTS_E_NOMEM, "out of memory");
    for (uint64_t i = 0; !st && i < n; i++)
        if (put_str(w, strs[i], lens ? lens[i] : strlen(strs[i]))) st = dots_fail(e, DOTS_E_NOMEM, "out of memory");
    return st;
}

dots_status gguf_add_kv_from(gguf_writer *w, const gguf_kv *kv, dots_error *e) {
    dots_status st = key_head(w, kv->key, kv->type, e);
    if (st) return st;
    const unsigned char *p = kv->data;
    uint64_t len;
    if (kv->type == GGUF_ARRAY) {
        if (put_le(w, (uint64_t)kv->elem_type, 4) || put_le(w, kv->n, 8)) return dots_fail(e, DOTS_E_NOMEM, "out of memory");
        if (kv->elem_type == GGUF_STRING) {
            if (kv->n == 0) return DOTS_OK;
            const char *last = gguf_arr_str(kv, kv->n - 1, &len);
            len = (uint64_t)(last + len - (const char *)p);
        } else {
            len = kv->n * elem_size[kv->elem_type];
        }
    } else if (kv->type == GGUF_STRING) {
        memcpy(&len, p, 8);
        len += 8;
    } else {
        len = elem_size[kv->type];
    }
    if (put(w, p, len)) return dots_fail(e, DOTS_E_NOMEM, "out of memory");
    return DOTS_OK;
}

dots_status gguf_add_tensor(gguf_writer *w, const char *name, uint32_t type, int ndim, const int64_t *shape,
                            dots_error *e) {
    if (ndim < 1 || ndim > GGUF_MAX_DIMS) return dots_fail(e, DOTS_E_ARG, "tensor '%s': %d dimensions", name, ndim);
    int dt = -1;
    for (int d = 0; d < DT_COUNT; d++)
        if (gguf_type_of_dtype((dots_dtype)d) == (int)type) dt = d;
    if (dt < 0) return dots_fail(e, DOTS_E_ARG, "tensor '%s': cannot write ggml type %s", name, gguf_type_name(type));
    uint64_t numel = 1;
    for (int d = 0; d < ndim; d++) numel *= (uint64_t)shape[d];
    uint64_t row = dtype_row_bytes((dots_dtype)dt, (uint64_t)shape[ndim - 1]);
    if (shape[ndim - 1] > 0 && row == 0)
        return dots_fail(e, DOTS_E_ARG, "tensor '%s': rows of %lld elements are not whole %s blocks", name,
                         (long long)shape[ndim - 1], gguf_type_name(type));
    if (w->n == w->cap) {
        int nc = w->cap ? 2 * w->cap : 64;
        w_tensor *nt = realloc(w->t, (size_t)nc * sizeof *nt);
        if (!nt) return dots_fail(e, DOTS_E_NOMEM, "out of memory");
        w->t = nt;
        w->cap = nc;
    }
    w_tensor *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name))) return dots_fail(e, DOTS_E_NOMEM, "out of memory");
    t->type = type;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->nbytes = shape[ndim - 1] > 0 ? numel / (uint64_t)shape[ndim - 1] * row : 0;
    w->n++;
    return DOTS_OK;
}

static int pad_to(FILE *fp, uint64_t pos, uint64_t align) {
    static const unsigned char zeros[64];
    uint64_t pad = (align - pos % align) % align;
    return pad == 0 || fwrite(zeros, 1, (size_t)pad, fp) == pad;
}

static int write_header(FILE *fp, gguf_writer *w, uint64_t *pos) {
    gguf_writer h = {0}; /* reuse the serializer for the fixed header and tensor infos */
    int bad = put(&h, "GGUF", 4) || put_le(&h, 3, 4) || put_le(&h, (uint64_t)w->n, 8) || put_le(&h, w->n_kv, 8);
    bad = bad || put(&h, w->kv, w->kv_len);
    uint64_t off = 0;
    for (int i = 0; i < w->n && !bad; i++) {
        w_tensor *t = &w->t[i];
        t->offset = off;
        bad = put_str(&h, t->name, strlen(t->name)) || put_le(&h, (uint64_t)t->ndim, 4);
        for (int d = t->ndim - 1; d >= 0 && !bad; d--) bad = put_le(&h, (uint64_t)t->shape[d], 8);
        bad = bad || put_le(&h, t->type, 4) || put_le(&h, t->offset, 8);
        off += (t->nbytes + GGUF_DEFAULT_ALIGNMENT - 1) / GGUF_DEFAULT_ALIGNMENT * GGUF_DEFAULT_ALIGNMENT;
    }
    bad = bad || fwrite(h.kv, 1, h.kv_len, fp) != h.kv_len || !pad_to(fp, h.kv_len, GGUF_DEFAULT_ALIGNMENT);
    *pos = h.kv_len;
    free(h.kv);
    return !bad;
}

dots_status gguf_writer_write(gguf_writer *w, const char *path, gguf_fill_fn fill, void *ctx, dots_error *e) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
    FILE *fp = fopen(tmp, "wb");
    if (!fp) return dots_fail(e, DOTS_E_IO, "%s: cannot create: %s", path, strerror(errno));
    uint64_t hpos;
    int ok = write_header(fp, w, &hpos);
    dots_status st = DOTS_OK;
    void *buf = NULL;
    size_t cap = 0;
    for (int i = 0; ok && !st && i < w->n; i++) {
        w_tensor *t = &w->t[i];
        if (t->nbytes > cap) {
            free(buf);
            cap = (size_t)t->nbytes;
            if (!(buf = malloc(cap))) { st = dots_fail(e, DOTS_E_NOMEM, "out of memory for tensor '%s'", t->name); break; }
        }
        if ((st = fill(ctx, i, buf, (size_t)t->nbytes, e))) break;
        ok = fwrite(buf, 1, (size_t)t->nbytes, fp) == t->nbytes && pad_to(fp, t->nbytes, GGUF_DEFAULT_ALIGNMENT);
    }
    free(buf);
    ok = (fclose(fp) == 0) && ok;
    if (st || !ok || rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return st ? st : dots_fail(e, DOTS_E_IO, "%s: write failed: %s", path, strerror(err));
    }
    return DOTS_OK;
}

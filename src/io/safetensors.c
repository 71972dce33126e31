#define _GNU_SOURCE
#include "io/safetensors.h"
#include "base/fileio.h"
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io/json.h"

static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp(((const st_tensor *)a)->name, ((const st_tensor *)b)->name);
}
static int cmp_tensor_offset(const void *a, const void *b) {
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

const char *st_shape_str(const int64_t *shape, int ndim, char *buf, size_t cap) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, cap - k, "[");
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
    return buf;
}

int64_t st_numel(const st_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

void st_close(st_file *f) {
    if (!f) return;
    if (f->map) munmap(f->map, f->size);
    free(f->tensors);
    free(f->names);
    free(f->path);
    free(f);
}

const st_tensor *st_find(const st_file *f, const char *name) {
    st_tensor key = {.name = name};
    return f ? bsearch(&key, f->tensors, (size_t)f->n, sizeof key, cmp_tensor_name) : NULL;
}

#define FAIL(...) do { st = dots_fail(e, DOTS_E_FORMAT, __VA_ARGS__); goto fail; } while (0)

dots_status st_parse(const void *buf, size_t size, const char *label, st_file **out, dots_error *e) {
    dots_status st = DOTS_OK;
    *out = NULL;
    const unsigned char *b = buf;
    json_object *root = NULL;
    st_tensor **by_off = NULL;
    st_file *f = calloc(1, sizeof *f);
    if (!f) return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory", label);
    f->path = strdup(label);
    if (!f->path) { free(f); return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory", label); }
    if (size < 8) FAIL("%s: not a safetensors file: %zu bytes, too short for the 8-byte header length", label, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | b[i];
    if (hlen > ST_MAX_HEADER)
        FAIL("%s: header length %llu at byte 0 exceeds the %u-byte limit (corrupt or not a safetensors file)",
             label, (unsigned long long)hlen, ST_MAX_HEADER);
    if (hlen > size - 8)
        FAIL("%s: header length %llu runs past the end of the file (%zu bytes): the file is truncated",
             label, (unsigned long long)hlen, size);
    if (hlen < 2 || b[8] != '{')
        FAIL("%s: header at byte 8 is not a JSON object", label);
    size_t data_start = 8 + (size_t)hlen, data_size = size - data_start;
    /* the format pads the header with spaces (some writers with NULs) */
    if ((st = dots_json_parse((const char *)b + 8, (size_t)hlen, label, 8, DOTS_JSON_OBJECT | DOTS_JSON_NUL_PAD, &root, e)))
        goto fail;
    int count = 0;
    size_t name_bytes = 0;
    json_object_object_foreach(root, key0, val0) {
        (void)val0;
        if (strcmp(key0, "__metadata__") == 0) continue;
        count++;
        name_bytes += strlen(key0) + 1;
    }
    f->tensors = calloc(count ? (size_t)count : 1, sizeof *f->tensors);
    f->names = malloc(name_bytes ? name_bytes : 1);
    by_off = calloc(count ? (size_t)count : 1, sizeof *by_off);
    if (!f->tensors || !f->names || !by_off) FAIL("%s: out of memory for %d tensors", label, count);
    char *np = f->names;
    json_object_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            if (!json_object_is_type(val, json_type_object))
                FAIL("%s: \"__metadata__\" must be an object of strings", label);
            continue;
        }
        st_tensor *t = &f->tensors[f->n];
        size_t kl = strlen(key);
        if (kl == 0) FAIL("%s: a tensor has an empty name", label);
        memcpy(np, key, kl + 1);
        t->name = np;
        np += kl + 1;
        t->file = f->path;
        json_object *jd, *js, *jo;
        if (!json_object_is_type(val, json_type_object) || !json_object_object_get_ex(val, "dtype", &jd) ||
            !json_object_object_get_ex(val, "shape", &js) || !json_object_object_get_ex(val, "data_offsets", &jo))
            FAIL("%s: tensor '%s' must have \"dtype\", \"shape\" and \"data_offsets\"", label, key);
        if (!json_object_is_type(jd, json_type_string)) FAIL("%s: tensor '%s': dtype is not a string", label, key);
        int dt = dtype_from_name(json_object_get_string(jd));
        if (dt < 0 || dtype_is_quant((dots_dtype)dt))
            FAIL("%s: tensor '%s' has unsupported dtype \"%s\" (supported: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)",
                 label, key, json_object_get_string(jd));
        t->dtype = (dots_dtype)dt;
        if (!json_object_is_type(js, json_type_array)) FAIL("%s: tensor '%s': shape is not an array", label, key);
        size_t nd = json_object_array_length(js);
        if (nd > ST_MAX_DIMS) FAIL("%s: tensor '%s' has %zu dimensions (at most %d supported)", label, key, nd, ST_MAX_DIMS);
        t->ndim = (int)nd;
        unsigned __int128 numel = 1;
        for (size_t i = 0; i < nd; i++) {
            json_object *d = json_object_array_get_idx(js, i);
            if (!json_object_is_type(d, json_type_int) || json_object_get_int64(d) < 0)
                FAIL("%s: tensor '%s': shape[%zu] is not a non-negative integer", label, key, i);
            t->shape[i] = json_object_get_int64(d);
            numel *= (uint64_t)t->shape[i];
            if (numel > ((unsigned __int128)1 << 62)) FAIL("%s: tensor '%s': shape is absurdly large", label, key);
        }
        if (!json_object_is_type(jo, json_type_array) || json_object_array_length(jo) != 2)
            FAIL("%s: tensor '%s': data_offsets must be [begin, end]", label, key);
        int64_t o[2];
        for (int i = 0; i < 2; i++) {
            json_object *d = json_object_array_get_idx(jo, (size_t)i);
            if (!json_object_is_type(d, json_type_int) || (o[i] = json_object_get_int64(d)) < 0)
                FAIL("%s: tensor '%s': data_offsets[%d] is not a non-negative integer", label, key, i);
        }
        if (o[1] < o[0]) FAIL("%s: tensor '%s': data_offsets [%lld, %lld] end before they begin", label, key,
                              (long long)o[0], (long long)o[1]);
        if ((uint64_t)o[1] > data_size)
            FAIL("%s: tensor '%s': data_offsets end %lld is past the end of the data (%zu bytes after the header): "
                 "the file is truncated", label, key, (long long)o[1], data_size);
        unsigned __int128 want = numel * dtype_size(t->dtype);
        if (want != (unsigned __int128)(o[1] - o[0]))
            FAIL("%s: tensor '%s': %s %s needs %llu bytes but data_offsets span %lld", label, key,
                 dtype_name(t->dtype), st_shape_str(t->shape, t->ndim, (char[128]){0}, 128),
                 (unsigned long long)want, (long long)(o[1] - o[0]));
        t->offset = data_start + (size_t)o[0];
        t->nbytes = (size_t)(o[1] - o[0]);
        t->data = b + t->offset;
        by_off[f->n] = t;
        f->n++;
    }
    /* Ranges must not overlap (zero-sized tensors may sit anywhere). */
    qsort(by_off, (size_t)f->n, sizeof *by_off, cmp_tensor_offset);
    const st_tensor *prev = NULL;
    for (int i = 0; i < f->n; i++) {
        const st_tensor *t = by_off[i];
        if (t->nbytes == 0) continue;
        if (prev && t->offset < prev->offset + prev->nbytes)
            FAIL("%s: tensors '%s' and '%s' overlap at byte %zu", label, prev->name, t->name, t->offset);
        prev = t;
    }
    qsort(f->tensors, (size_t)f->n, sizeof *f->tensors, cmp_tensor_name);
    free(by_off);
    json_object_put(root);
    *out = f;
    return DOTS_OK;
fail:
    free(by_off);
    if (root) json_object_put(root);
    st_close(f);
    return st;
}

dots_status st_open(const char *path, st_file **out, dots_error *e) {
    *out = NULL;
    void *map;
    size_t size;
    dots_status ms = map_file(path, 8, "safetensors", "too short for the 8-byte header length", &map, &size, e);
    if (ms) return ms;
    dots_status st = st_parse(map, size, path, out, e);
    if (st != DOTS_OK) { munmap(map, size); return st; }
    (*out)->map = map;
    (*out)->size = size;
    return DOTS_OK;
}

/* ---- writer ---- */
typedef struct { char *name; dots_dtype dt; int ndim; int64_t shape[ST_MAX_DIMS]; const void *data; size_t nbytes; } w_item;
struct st_writer { w_item *items; int n, cap; };

st_writer *st_writer_new(dots_error *e) {
    st_writer *w = calloc(1, sizeof *w);
    if (!w) dots_fail(e, DOTS_E_NOMEM, "out of memory");
    return w;
}

void st_writer_free(st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) free(w->items[i].name);
    free(w->items);
    free(w);
}

dots_status st_writer_add(st_writer *w, const char *name, dots_dtype dt, int ndim, const int64_t *shape,
                          const void *data, dots_error *e) {
    if (ndim < 0 || ndim > ST_MAX_DIMS) return dots_fail(e, DOTS_E_ARG, "tensor '%s': %d dimensions", name, ndim);
    if (w->n == w->cap) {
        int nc = w->cap ? w->cap * 2 : 16;
        w_item *ni = realloc(w->items, (size_t)nc * sizeof *ni);
        if (!ni) return dots_fail(e, DOTS_E_NOMEM, "out of memory");
        w->items = ni;
        w->cap = nc;
    }
    w_item *it = &w->items[w->n];
    it->name = strdup(name);
    if (!it->name) return dots_fail(e, DOTS_E_NOMEM, "out of memory");
    it->dt = dt;
    it->ndim = ndim;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) { it->shape[i] = shape[i]; n *= (size_t)shape[i]; }
    it->data = data;
    it->nbytes = n * dtype_size(dt);
    w->n++;
    return DOTS_OK;
}

/* {"dtype": ..., "shape": [...], "data_offsets": [a, b]} of one item; NULL when out of memory. */
static json_object *item_json(const w_item *it, size_t off) {
    json_object *t = json_object_new_object(), *sh = json_object_new_array(), *of = json_object_new_array();
    int ok = t && sh && of;
    for (int d = 0; ok && d < it->ndim; d++) ok = json_object_array_add(sh, json_object_new_int64(it->shape[d])) == 0;
    ok = ok && json_object_array_add(of, json_object_new_int64((int64_t)off)) == 0 &&
         json_object_array_add(of, json_object_new_int64((int64_t)(off + it->nbytes))) == 0;
    ok = ok && json_object_object_add(t, "dtype", json_object_new_string(dtype_name(it->dt))) == 0;
    if (ok && json_object_object_add(t, "shape", sh) == 0) sh = NULL; else ok = 0;
    if (ok && json_object_object_add(t, "data_offsets", of) == 0) of = NULL; else ok = 0;
    json_object_put(sh);
    json_object_put(of);
    if (!ok) { json_object_put(t); return NULL; }
    return t;
}

dots_status st_writer_write(st_writer *w, const char *path, dots_error *e) {
    json_object *root = json_object_new_object();
    if (!root) return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory writing the header", path);
    size_t off = 0;
    for (int i = 0; i < w->n; i++) {
        json_object *t = item_json(&w->items[i], off);
        if (!t || json_object_object_add(root, w->items[i].name, t) != 0) {
            json_object_put(t);
            json_object_put(root);
            return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory writing the header", path);
        }
        off += w->items[i].nbytes;
    }
    const char *hdr = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
    if (!hdr) { json_object_put(root); return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory writing the header", path); }
    size_t hl = strlen(hdr), padded = (hl + 7) / 8 * 8;
    char tmp[4096];
    /* a truncated temp name would be some other file, renamed onto the target at the end */
    if (snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid()) >= (int)sizeof tmp) {
        json_object_put(root);
        return dots_fail(e, DOTS_E_ARG, "%s: path too long (%zu bytes) to write next to", path, strlen(path));
    }
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        json_object_put(root);
        return dots_fail(e, DOTS_E_IO, "%s: cannot create: %s", path, strerror(errno));
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    int ok = fwrite(len8, 1, 8, fp) == 8 && fwrite(hdr, 1, hl, fp) == hl;
    for (size_t i = hl; ok && i < padded; i++) ok = fputc(' ', fp) != EOF;
    for (int i = 0; ok && i < w->n; i++)
        ok = w->items[i].nbytes == 0 || fwrite(w->items[i].data, 1, w->items[i].nbytes, fp) == w->items[i].nbytes;
    ok = (fclose(fp) == 0) && ok;
    json_object_put(root);
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return dots_fail(e, DOTS_E_IO, "%s: write failed: %s", path, strerror(errno));
    }
    return DOTS_OK;
}

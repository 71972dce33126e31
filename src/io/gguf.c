/* GGUF reader: every read goes through a bounds-checked cursor, so a
 * malformed file is an error naming the field and its byte offset. */
#define _GNU_SOURCE
#include "io/gguf.h"
#include "base/fileio.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ggml type ids with their block geometry (ggml.h / gguf-py GGML_QUANT_SIZES). */
static const struct { uint32_t id; const char *name; uint32_t blk, bytes; dots_dtype dt; } ggml_types[] = {
    {0, "F32", 1, 4, DT_F32},       {1, "F16", 1, 2, DT_F16},        {2, "Q4_0", 32, 18, DT_COUNT},
    {3, "Q4_1", 32, 20, DT_COUNT},  {6, "Q5_0", 32, 22, DT_COUNT},   {7, "Q5_1", 32, 24, DT_COUNT},
    {8, "Q8_0", 32, 34, DT_Q8_0},   {9, "Q8_1", 32, 40, DT_COUNT},   {10, "Q2_K", 256, 84, DT_COUNT},
    {11, "Q3_K", 256, 110, DT_COUNT}, {12, "Q4_K", 256, 144, DT_Q4_K}, {13, "Q5_K", 256, 176, DT_COUNT},
    {14, "Q6_K", 256, 210, DT_Q6_K}, {15, "Q8_K", 256, 292, DT_COUNT}, {16, "IQ2_XXS", 256, 66, DT_COUNT},
    {17, "IQ2_XS", 256, 74, DT_COUNT}, {18, "IQ3_XXS", 256, 98, DT_COUNT}, {19, "IQ1_S", 256, 50, DT_COUNT},
    {20, "IQ4_NL", 32, 18, DT_COUNT}, {21, "IQ3_S", 256, 110, DT_COUNT}, {22, "IQ2_S", 256, 82, DT_COUNT},
    {23, "IQ4_XS", 256, 136, DT_COUNT}, {24, "I8", 1, 1, DT_COUNT},   {25, "I16", 1, 2, DT_COUNT},
    {26, "I32", 1, 4, DT_COUNT},    {27, "I64", 1, 8, DT_COUNT},     {28, "F64", 1, 8, DT_COUNT},
    {29, "IQ1_M", 256, 56, DT_COUNT}, {30, "BF16", 1, 2, DT_BF16},    {34, "TQ1_0", 256, 54, DT_COUNT},
    {35, "TQ2_0", 256, 66, DT_COUNT}, {39, "MXFP4", 32, 17, DT_COUNT},
};
#define N_GGML_TYPES (sizeof ggml_types / sizeof *ggml_types)

static int type_index(uint32_t id) {
    for (size_t i = 0; i < N_GGML_TYPES; i++)
        if (ggml_types[i].id == id) return (int)i;
    return -1;
}

const char *gguf_type_name(uint32_t id) {
    int i = type_index(id);
    return i < 0 ? "unknown" : ggml_types[i].name;
}

int gguf_type_of_dtype(dots_dtype t) {
    for (size_t i = 0; i < N_GGML_TYPES; i++)
        if (ggml_types[i].dt == t && t != DT_COUNT) return (int)ggml_types[i].id;
    return -1;
}

static const uint64_t vtype_size[GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
static const char *const vtype_name[GGUF_VTYPE_COUNT] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                                         "bool", "string", "array", "u64", "i64", "f64"};

/* ------------------------------------------------------------ cursor */
typedef struct {
    const unsigned char *b;
    uint64_t size, pos;
    const char *label;
    dots_error *e;
} cursor;

static uint64_t rd_le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Reads an n-byte little-endian integer; `what` names the field in the error. */
static dots_status rd(cursor *c, int n, uint64_t *v, const char *what) {
    *v = 0;
    if (c->size - c->pos < (uint64_t)n)
        return dots_fail(c->e, DOTS_E_FORMAT, "%s: %s at byte %llu runs past the end of the file (%llu bytes): "
                         "the file is truncated", c->label, what, (unsigned long long)c->pos, (unsigned long long)c->size);
    *v = rd_le(c->b + c->pos, n);
    c->pos += (uint64_t)n;
    return DOTS_OK;
}

/* A string: u64 length + bytes; *s points into the buffer. */
static dots_status rd_str(cursor *c, const unsigned char **s, uint64_t *len, uint64_t max_len, const char *what) {
    uint64_t at = c->pos;
    dots_status st = rd(c, 8, len, what);
    if (st) return st;
    if (*len > c->size - c->pos)
        return dots_fail(c->e, DOTS_E_FORMAT, "%s: %s at byte %llu has length %llu, past the end of the file "
                         "(%llu bytes): the file is truncated or corrupt", c->label, what, (unsigned long long)at,
                         (unsigned long long)*len, (unsigned long long)c->size);
    if (*len > max_len)
        return dots_fail(c->e, DOTS_E_FORMAT, "%s: %s at byte %llu has length %llu, above the limit of %llu",
                         c->label, what, (unsigned long long)at, (unsigned long long)*len, (unsigned long long)max_len);
    *s = c->b + c->pos;
    c->pos += *len;
    return DOTS_OK;
}

/* ------------------------------------------------------------ key/values */
void gguf_close(gguf_file *f) {
    if (!f) return;
    for (int64_t i = 0; i < f->n_kv; i++) {
        free(f->kv[i].key);
        free((void *)f->kv[i].str_off);
    }
    free(f->kv);
    free(f->tensors);
    free(f->ggml_type);
    free(f->names);
    if (f->map) munmap(f->map, f->size);
    free(f->path);
    free(f);
}

/* The value of kv (type already read): checks it fits, records where it lies. */
static dots_status rd_value(cursor *c, gguf_kv *kv, const char *key) {
    char what[GGUF_MAX_NAME + 64];
    uint64_t at = c->pos;
    if (kv->type == GGUF_ARRAY) {
        uint64_t et, n;
        snprintf(what, sizeof what, "the element type of array '%s'", key);
        dots_status st = rd(c, 4, &et, what);
        if (st) return st;
        if (et >= GGUF_VTYPE_COUNT || et == GGUF_ARRAY)
            return dots_fail(c->e, DOTS_E_FORMAT, "%s: array '%s' at byte %llu has %s element type %llu", c->label, key,
                             (unsigned long long)at, et == GGUF_ARRAY ? "a nested-array (unsupported)" : "unknown",
                             (unsigned long long)et);
        snprintf(what, sizeof what, "the length of array '%s'", key);
        if ((st = rd(c, 8, &n, what))) return st;
        kv->elem_type = (int)et;
        kv->n = n;
        kv->data = c->b + c->pos;
        if (et != GGUF_STRING) {
            if (n > (c->size - c->pos) / vtype_size[et])
                return dots_fail(c->e, DOTS_E_FORMAT, "%s: array '%s' at byte %llu claims %llu %s elements, more than "
                                 "the %llu bytes left in the file", c->label, key, (unsigned long long)at,
                                 (unsigned long long)n, vtype_name[et], (unsigned long long)(c->size - c->pos));
            c->pos += n * vtype_size[et];
            return DOTS_OK;
        }
        if (n > (c->size - c->pos) / 8) /* every string needs at least its 8-byte length */
            return dots_fail(c->e, DOTS_E_FORMAT, "%s: array '%s' at byte %llu claims %llu strings, more than fit in "
                             "the %llu bytes left in the file", c->label, key, (unsigned long long)at,
                             (unsigned long long)n, (unsigned long long)(c->size - c->pos));
        uint64_t *off = malloc((n ? n : 1) * sizeof *off);
        if (!off) return dots_fail(c->e, DOTS_E_NOMEM, "%s: out of memory for array '%s' (%llu strings)", c->label, key,
                                   (unsigned long long)n);
        kv->str_off = off;
        for (uint64_t i = 0; i < n; i++) {
            const unsigned char *s;
            uint64_t len;
            off[i] = c->pos - (uint64_t)(kv->data - c->b);
            snprintf(what, sizeof what, "string %llu of array '%s'", (unsigned long long)i, key);
            if ((st = rd_str(c, &s, &len, UINT64_MAX, what))) return st;
        }
        return DOTS_OK;
    }
    kv->n = 1;
    kv->data = c->b + c->pos;
    snprintf(what, sizeof what, "the value of '%s'", key);
    if (kv->type == GGUF_STRING) {
        const unsigned char *s;
        uint64_t len;
        return rd_str(c, &s, &len, UINT64_MAX, what);
    }
    uint64_t v;
    dots_status st = rd(c, (int)vtype_size[kv->type], &v, what);
    if (!st && kv->type == GGUF_BOOL && v > 1)
        return dots_fail(c->e, DOTS_E_FORMAT, "%s: bool '%s' at byte %llu holds %llu (must be 0 or 1)", c->label, key,
                         (unsigned long long)at, (unsigned long long)v);
    return st;
}

static dots_status rd_kvs(cursor *c, gguf_file *f) {
    for (int64_t i = 0; i < f->n_kv; i++) {
        gguf_kv *kv = &f->kv[i];
        char what[64];
        const unsigned char *ks;
        uint64_t kl, t;
        kv->offset = c->pos;
        snprintf(what, sizeof what, "the key of metadata entry %lld", (long long)i);
        dots_status st = rd_str(c, &ks, &kl, GGUF_MAX_NAME, what);
        if (st) return st;
        if (kl == 0 || memchr(ks, 0, kl))
            return dots_fail(c->e, DOTS_E_FORMAT, "%s: metadata entry %lld at byte %llu has an empty key or one with a NUL byte",
                             c->label, (long long)i, (unsigned long long)kv->offset);
        kv->key = strndup((const char *)ks, kl);
        if (!kv->key) return dots_fail(c->e, DOTS_E_NOMEM, "%s: out of memory", c->label);
        for (int64_t j = 0; j < i; j++)
            if (strcmp(f->kv[j].key, kv->key) == 0)
                return dots_fail(c->e, DOTS_E_FORMAT, "%s: metadata key '%s' at byte %llu appears twice", c->label,
                                 kv->key, (unsigned long long)kv->offset);
        snprintf(what, sizeof what, "the value type of metadata entry %lld", (long long)i);
        uint64_t tat = c->pos;
        if ((st = rd(c, 4, &t, what))) return st;
        if (t >= GGUF_VTYPE_COUNT)
            return dots_fail(c->e, DOTS_E_FORMAT, "%s: metadata '%s' has unknown value type %llu at byte %llu", c->label,
                             kv->key, (unsigned long long)t, (unsigned long long)tat);
        kv->type = (int)t;
        kv->elem_type = -1;
        if ((st = rd_value(c, kv, kv->key))) return st;
    }
    return DOTS_OK;
}

/* ------------------------------------------------------------ tensor infos */
static dots_status rd_tensor_info(cursor *c, gguf_file *f, int i, uint64_t *rel_off, char **np) {
    st_tensor *t = &f->tensors[i];
    uint64_t at = c->pos, nd, ty;
    const unsigned char *ns;
    uint64_t nl;
    char what[GGUF_MAX_NAME + 64];
    snprintf(what, sizeof what, "the name of tensor %d", i);
    dots_status st = rd_str(c, &ns, &nl, GGUF_MAX_NAME, what);
    if (st) return st;
    if (nl == 0 || memchr(ns, 0, nl))
        return dots_fail(c->e, DOTS_E_FORMAT, "%s: tensor %d at byte %llu has an empty name or one with a NUL byte",
                         c->label, i, (unsigned long long)at);
    memcpy(*np, ns, nl);
    (*np)[nl] = 0;
    t->name = *np;
    *np += nl + 1;
    t->file = f->path;
    snprintf(what, sizeof what, "the dimension count of tensor '%s'", t->name);
    if ((st = rd(c, 4, &nd, what))) return st;
    if (nd < 1 || nd > GGUF_MAX_DIMS)
        return dots_fail(c->e, DOTS_E_FORMAT, "%s: tensor '%s' at byte %llu has %llu dimensions (1..%d allowed)",
                         c->label, t->name, (unsigned long long)at, (unsigned long long)nd, GGUF_MAX_DIMS);
    t->ndim = (int)nd;
    unsigned __int128 numel = 1;
    for (int d = 0; d < (int)nd; d++) {
        uint64_t ne;
        snprintf(what, sizeof what, "dimension %d of tensor '%s'", d, t->name);
        uint64_t dat = c->pos;
        if ((st = rd(c, 8, &ne, what))) return st;
        if (ne > ((uint64_t)1 << 62))
            return dots_fail(c->e, DOTS_E_FORMAT, "%s: %s at byte %llu is %llu, absurdly large", c->label, what,
                             (unsigned long long)dat, (unsigned long long)ne);
        t->shape[nd - 1 - (uint64_t)d] = (int64_t)ne; /* ne[0] is the innermost: row-major shape is ne reversed */
        numel *= ne;
        if (numel > ((unsigned __int128)1 << 62))
            return dots_fail(c->e, DOTS_E_FORMAT, "%s: tensor '%s' at byte %llu has an absurd element count",
                             c->label, t->name, (unsigned long long)at);
    }
    snprintf(what, sizeof what, "the type of tensor '%s'", t->name);
    uint64_t tat = c->pos;
    if ((st = rd(c, 4, &ty, what))) return st;
    int ti = ty <= UINT32_MAX ? type_index((uint32_t)ty) : -1;
    if (ti < 0)
        return dots_fail(c->e, DOTS_E_FORMAT, "%s: tensor '%s' has unknown ggml type %llu at byte %llu", c->label,
                         t->name, (unsigned long long)ty, (unsigned long long)tat);
    f->ggml_type[i] = (uint32_t)ty;
    t->dtype = ggml_types[ti].dt;
    uint64_t inner = (uint64_t)t->shape[nd - 1];
    if (inner % ggml_types[ti].blk)
        return dots_fail(c->e, DOTS_E_FORMAT, "%s: tensor '%s' of type %s has rows of %llu elements, not a multiple "
                         "of its block size %u", c->label, t->name, ggml_types[ti].name, (unsigned long long)inner,
                         ggml_types[ti].blk);
    t->nbytes = (size_t)(numel / ggml_types[ti].blk * ggml_types[ti].bytes);
    snprintf(what, sizeof what, "the data offset of tensor '%s'", t->name);
    uint64_t oat = c->pos;
    if ((st = rd(c, 8, rel_off, what))) return st;
    if (*rel_off % f->alignment)
        return dots_fail(c->e, DOTS_E_FORMAT, "%s: tensor '%s' data offset %llu (field at byte %llu) is not a multiple "
                         "of the alignment %llu", c->label, t->name, (unsigned long long)*rel_off,
                         (unsigned long long)oat, (unsigned long long)f->alignment);
    return DOTS_OK;
}

static int cmp_off(const void *a, const void *b) {
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Data ranges within the file, and no two tensors overlapping or sharing a name. */
static dots_status check_ranges(gguf_file *f, const uint64_t *rel, dots_error *e) {
    uint64_t data_size = f->size - f->data_start;
    for (int i = 0; i < f->n; i++) {
        st_tensor *t = &f->tensors[i];
        if (rel[i] > data_size || t->nbytes > data_size - rel[i])
            return dots_fail(e, DOTS_E_FORMAT, "%s: tensor '%s' (%s, %zu bytes at data offset %llu) runs past the end "
                             "of the file (%llu data bytes from byte %llu): the file is truncated", f->path, t->name,
                             gguf_type_name(f->ggml_type[i]), t->nbytes, (unsigned long long)rel[i],
                             (unsigned long long)data_size, (unsigned long long)f->data_start);
        t->offset = (size_t)(f->data_start + rel[i]);
    }
    const st_tensor **by = malloc((f->n > 0 ? (size_t)f->n : 1u) * sizeof *by);
    if (!by) return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory", f->path);
    for (int i = 0; i < f->n; i++) by[i] = &f->tensors[i];
    qsort(by, (size_t)f->n, sizeof *by, cmp_off);
    dots_status st = DOTS_OK;
    for (int i = 1; i < f->n && !st; i++)
        if (by[i]->nbytes && by[i - 1]->nbytes && by[i]->offset < by[i - 1]->offset + by[i - 1]->nbytes)
            st = dots_fail(e, DOTS_E_FORMAT, "%s: tensors '%s' and '%s' overlap at byte %zu", f->path, by[i - 1]->name,
                           by[i]->name, by[i]->offset);
    free(by);
    for (int i = 0; i < f->n && !st; i++)
        for (int j = 0; j < i && !st; j++) /* n is a few hundred: quadratic is fine */
            if (strcmp(f->tensors[i].name, f->tensors[j].name) == 0)
                st = dots_fail(e, DOTS_E_FORMAT, "%s: tensor name '%s' appears twice", f->path, f->tensors[i].name);
    return st;
}

static dots_status rd_header(cursor *c, gguf_file *f, uint64_t *nt, uint64_t *nkv) {
    uint64_t magic = 0, ver = 0;
    dots_status st = rd(c, 4, &magic, "the magic");
    if (st) return st;
    if (magic != 0x46554747u) /* "GGUF" */
        return dots_fail(c->e, DOTS_E_FORMAT, "%s: not a GGUF file: bytes 0..3 are not \"GGUF\"", c->label);
    if ((st = rd(c, 4, &ver, "the version"))) return st;
    if (ver == 0x02000000u || ver == 0x03000000u)
        return dots_fail(c->e, DOTS_E_UNSUPPORTED, "%s: big-endian GGUF (version field at byte 4) is not supported; "
                         "use a little-endian file", c->label);
    if (ver != 2 && ver != 3)
        return dots_fail(c->e, DOTS_E_UNSUPPORTED, "%s: GGUF version %llu at byte 4 is not supported (2 or 3 are); "
                         "reconvert the model with a current llama.cpp", c->label, (unsigned long long)ver);
    f->version = (uint32_t)ver;
    if ((st = rd(c, 8, nt, "the tensor count"))) return st;
    if ((st = rd(c, 8, nkv, "the metadata count"))) return st;
    /* a tensor info needs >= 8+1+4+8+4+8 bytes and a key/value >= 8+1+4+1 */
    if (*nt > (c->size - c->pos) / 33 || *nt > (1u << 20))
        return dots_fail(c->e, DOTS_E_FORMAT, "%s: tensor count %llu at byte 8 is absurd for a %llu-byte file",
                         c->label, (unsigned long long)*nt, (unsigned long long)c->size);
    if (*nkv > (c->size - c->pos) / 14 || *nkv > (1u << 20))
        return dots_fail(c->e, DOTS_E_FORMAT, "%s: metadata count %llu at byte 16 is absurd for a %llu-byte file",
                         c->label, (unsigned long long)*nkv, (unsigned long long)c->size);
    return DOTS_OK;
}

static dots_status rd_alignment(gguf_file *f, dots_error *e) {
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    const gguf_kv *kv = gguf_find_kv(f, "general.alignment");
    if (!kv) return DOTS_OK;
    if (kv->type != GGUF_U32)
        return dots_fail(e, DOTS_E_FORMAT, "%s: general.alignment (byte %llu) must be a u32, not %s", f->path,
                         (unsigned long long)kv->offset, vtype_name[kv->type]);
    uint64_t a = rd_le(kv->data, 4);
    if (a == 0 || (a & (a - 1)) || a > (1u << 20))
        return dots_fail(e, DOTS_E_FORMAT, "%s: general.alignment %llu (byte %llu) is not a power of two up to 1 MiB",
                         f->path, (unsigned long long)a, (unsigned long long)kv->offset);
    f->alignment = a;
    return DOTS_OK;
}

dots_status gguf_parse(const void *buf, size_t size, const char *label, gguf_file **out, dots_error *e) {
    *out = NULL;
    gguf_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(label))) { free(f); return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory", label); }
    f->size = size;
    cursor c = {buf, size, 0, f->path, e};
    uint64_t nt = 0, nkv = 0, *rel = NULL;
    dots_status st = rd_header(&c, f, &nt, &nkv);
    if (st) goto fail;
    f->kv = calloc(nkv ? nkv : 1, sizeof *f->kv);
    if (!f->kv) { st = dots_fail(e, DOTS_E_NOMEM, "%s: out of memory", label); goto fail; }
    f->n_kv = (int64_t)nkv;
    if ((st = rd_kvs(&c, f)) || (st = rd_alignment(f, e))) goto fail;
    f->tensors = calloc(nt ? nt : 1, sizeof *f->tensors);
    f->ggml_type = calloc(nt ? nt : 1, sizeof *f->ggml_type);
    rel = calloc(nt ? nt : 1, sizeof *rel);
    /* names are at most the bytes left plus one NUL each */
    f->names = malloc((size_t)(size - c.pos) + (size_t)nt + 1);
    if (!f->tensors || !f->ggml_type || !rel || !f->names) { st = dots_fail(e, DOTS_E_NOMEM, "%s: out of memory", label); goto fail; }
    char *np = f->names;
    for (uint64_t i = 0; i < nt; i++) {
        if ((st = rd_tensor_info(&c, f, (int)i, &rel[i], &np))) goto fail;
        f->n++;
    }
    uint64_t ds = (c.pos + f->alignment - 1) / f->alignment * f->alignment;
    if (nt > 0 && ds > size) {
        st = dots_fail(e, DOTS_E_FORMAT, "%s: the data section (byte %llu after alignment to %llu) starts past the end "
                       "of the file (%zu bytes): the file is truncated", label, (unsigned long long)ds,
                       (unsigned long long)f->alignment, size);
        goto fail;
    }
    f->data_start = ds > size ? size : ds;
    if ((st = check_ranges(f, rel, e))) goto fail;
    for (int i = 0; i < f->n; i++) f->tensors[i].data = (const unsigned char *)buf + f->tensors[i].offset;
    free(rel);
    *out = f;
    return DOTS_OK;
fail:
    free(rel);
    gguf_close(f);
    return st;
}

dots_status gguf_open(const char *path, gguf_file **out, dots_error *e) {
    *out = NULL;
    void *map;
    size_t size;
    dots_status ms = map_file(path, 24, "GGUF", "shorter than the 24-byte header", &map, &size, e);
    if (ms) return ms;
    dots_status st = gguf_parse(map, size, path, out, e);
    if (st) { munmap(map, size); return st; }
    (*out)->map = map;
    return DOTS_OK;
}

int gguf_is_gguf_file(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    char m[4] = {0};
    size_t n = fread(m, 1, 4, fp);
    fclose(fp);
    return n == 4 && memcmp(m, "GGUF", 4) == 0;
}

/* ------------------------------------------------------------ lookups */
const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key) {
    for (int64_t i = 0; f && i < f->n_kv; i++)
        if (f->kv[i].key && strcmp(f->kv[i].key, key) == 0) return &f->kv[i];
    return NULL;
}

const st_tensor *gguf_find_tensor(const gguf_file *f, const char *name) {
    for (int i = 0; f && i < f->n; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}

static int is_int_type(int t) {
    return t == GGUF_U8 || t == GGUF_I8 || t == GGUF_U16 || t == GGUF_I16 || t == GGUF_U32 || t == GGUF_I32 ||
           t == GGUF_U64 || t == GGUF_I64 || t == GGUF_BOOL;
}

static int64_t int_at(int t, const unsigned char *p) {
    uint64_t v = rd_le(p, (int)vtype_size[t]);
    switch (t) {
    case GGUF_I8: return (int8_t)v;
    case GGUF_I16: return (int16_t)v;
    case GGUF_I32: return (int32_t)v;
    case GGUF_U64: return v > INT64_MAX ? INT64_MAX : (int64_t)v;
    default: return (int64_t)v;
    }
}

static double float_at(int t, const unsigned char *p) {
    if (t == GGUF_F32) { uint32_t u = (uint32_t)rd_le(p, 4); float x; memcpy(&x, &u, 4); return x; }
    if (t == GGUF_F64) { uint64_t u = rd_le(p, 8); double x; memcpy(&x, &u, 8); return x; }
    return (double)int_at(t, p);
}

static dots_status need(const gguf_file *f, const char *key, const gguf_kv **kv, dots_error *e) {
    *kv = gguf_find_kv(f, key);
    if (!*kv) return dots_fail(e, DOTS_E_MODEL, "%s: metadata key '%s' is missing", f->path, key);
    return DOTS_OK;
}

dots_status gguf_get_int(const gguf_file *f, const char *key, int64_t *out, dots_error *e) {
    const gguf_kv *kv;
    dots_status st = need(f, key, &kv, e);
    if (st) return st;
    if (!is_int_type(kv->type))
        return dots_fail(e, DOTS_E_MODEL, "%s: metadata '%s' (byte %llu) is a %s, not an integer", f->path, key,
                         (unsigned long long)kv->offset, vtype_name[kv->type]);
    *out = int_at(kv->type, kv->data);
    return DOTS_OK;
}

dots_status gguf_get_float(const gguf_file *f, const char *key, double *out, dots_error *e) {
    const gguf_kv *kv;
    dots_status st = need(f, key, &kv, e);
    if (st) return st;
    if (kv->type != GGUF_F32 && kv->type != GGUF_F64 && !is_int_type(kv->type))
        return dots_fail(e, DOTS_E_MODEL, "%s: metadata '%s' (byte %llu) is a %s, not a number", f->path, key,
                         (unsigned long long)kv->offset, vtype_name[kv->type]);
    *out = float_at(kv->type, kv->data);
    return DOTS_OK;
}

dots_status gguf_get_str(const gguf_file *f, const char *key, const char **s, uint64_t *len, dots_error *e) {
    const gguf_kv *kv;
    dots_status st = need(f, key, &kv, e);
    if (st) return st;
    if (kv->type != GGUF_STRING)
        return dots_fail(e, DOTS_E_MODEL, "%s: metadata '%s' (byte %llu) is a %s, not a string", f->path, key,
                         (unsigned long long)kv->offset, vtype_name[kv->type]);
    *len = rd_le(kv->data, 8);
    *s = (const char *)kv->data + 8;
    return DOTS_OK;
}

int64_t gguf_arr_int(const gguf_kv *kv, uint64_t i) {
    return is_int_type(kv->elem_type) ? int_at(kv->elem_type, kv->data + i * vtype_size[kv->elem_type]) : 0;
}

double gguf_arr_float(const gguf_kv *kv, uint64_t i) {
    if (kv->elem_type == GGUF_STRING || kv->elem_type < 0) return 0;
    return float_at(kv->elem_type, kv->data + i * vtype_size[kv->elem_type]);
}

const char *gguf_arr_str(const gguf_kv *kv, uint64_t i, uint64_t *len) {
    const unsigned char *p = kv->data + kv->str_off[i];
    *len = rd_le(p, 8);
    return (const char *)p + 8;
}

/* GGUF files (v2/v3, little-endian): a memory-mapped reader with strict
 * validation of every count, length and offset, and a writer.
 *
 * Layout: "GGUF", u32 version, u64 n_tensors, u64 n_kv; n_kv x (string key,
 * u32 value type, value); n_tensors x (string name, u32 n_dims, u64 ne[n_dims],
 * u32 ggml type, u64 offset); padding to general.alignment (default 32); data.
 * Strings are u64 length + bytes (no NUL). ne[0] is the fastest-varying
 * dimension, so a tensor's shape in row-major (Hugging Face) order is ne
 * reversed; that is how st_tensor.shape holds it here. */
#ifndef DOTS_GGUF_H
#define DOTS_GGUF_H
#include <stddef.h>
#include <stdint.h>
#include "base/error.h"
#include "io/safetensors.h"

enum gguf_vtype {
    GGUF_U8 = 0, GGUF_I8 = 1, GGUF_U16 = 2, GGUF_I16 = 3, GGUF_U32 = 4, GGUF_I32 = 5, GGUF_F32 = 6,
    GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_U64 = 10, GGUF_I64 = 11, GGUF_F64 = 12, GGUF_VTYPE_COUNT
};

#define GGUF_MAX_DIMS 4          /* as ggml */
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_NAME 256        /* longest accepted key or tensor name */

typedef struct gguf_kv {
    char *key;                   /* NUL-terminated copy */
    int type;                    /* enum gguf_vtype */
    int elem_type;               /* for arrays: the element type */
    uint64_t n;                  /* for arrays: element count; else 1 */
    const unsigned char *data;   /* value (or first element) in the mapping */
    const uint64_t *str_off;     /* arrays of strings: offset of element i's length field from data */
    uint64_t offset;             /* byte offset of the key in the file */
} gguf_kv;

typedef struct gguf_file {
    char *path;
    void *map;                   /* NULL when parsed from memory */
    size_t size;
    uint32_t version;
    uint64_t alignment;
    uint64_t data_start;         /* absolute offset of the tensor data section */
    gguf_kv *kv;                 /* file order */
    int64_t n_kv;
    st_tensor *tensors;          /* file order; dtype DT_COUNT for types we cannot compute with */
    uint32_t *ggml_type;         /* parallel to tensors: the stored ggml type id */
    int n;
    char *names;                 /* storage for tensor names */
} gguf_file;

/* Map and validate. On failure *out is NULL and e names the file, the field and its byte offset. */
dots_status gguf_open(const char *path, gguf_file **out, dots_error *e);
/* Validate a file image in memory (the fuzz entry point); buf must outlive the result. */
dots_status gguf_parse(const void *buf, size_t size, const char *label, gguf_file **out, dots_error *e);
void gguf_close(gguf_file *f);
/* 1 if the first bytes are the GGUF magic. */
int gguf_is_gguf_file(const char *path);

const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key);
const st_tensor *gguf_find_tensor(const gguf_file *f, const char *name);
/* ggml's name of a type id ("Q6_K"), "unknown" if none. */
const char *gguf_type_name(uint32_t ggml_type);
/* ggml type id of a dots dtype we can store (F32, F16, BF16, Q8_0, Q4_K, Q6_K); -1 otherwise. */
int gguf_type_of_dtype(dots_dtype t);

/* Typed reads of scalar values. Integers accept any integer type whose value fits;
 * these fail (naming the key) when the key is absent or of another type. */
dots_status gguf_get_int(const gguf_file *f, const char *key, int64_t *out, dots_error *e);
dots_status gguf_get_float(const gguf_file *f, const char *key, double *out, dots_error *e);
/* The string bytes (not NUL-terminated) in the mapping. */
dots_status gguf_get_str(const gguf_file *f, const char *key, const char **s, uint64_t *len, dots_error *e);
/* Element i of an array: integer/float/string. No bounds checks beyond i < n. */
int64_t gguf_arr_int(const gguf_kv *kv, uint64_t i);
double gguf_arr_float(const gguf_kv *kv, uint64_t i);
const char *gguf_arr_str(const gguf_kv *kv, uint64_t i, uint64_t *len);

/* ---- writer: metadata and tensors are staged, then written in one pass ---- */
typedef struct gguf_writer gguf_writer;
gguf_writer *gguf_writer_new(dots_error *e);
void gguf_writer_free(gguf_writer *w);
dots_status gguf_add_u32(gguf_writer *w, const char *key, uint32_t v, dots_error *e);
dots_status gguf_add_i32(gguf_writer *w, const char *key, int32_t v, dots_error *e);
dots_status gguf_add_f32(gguf_writer *w, const char *key, float v, dots_error *e);
dots_status gguf_add_bool(gguf_writer *w, const char *key, int v, dots_error *e);
dots_status gguf_add_str(gguf_writer *w, const char *key, const char *v, dots_error *e);
/* An array value of n elements of elem_type (not STRING) copied from data. */
dots_status gguf_add_arr(gguf_writer *w, const char *key, int elem_type, const void *data, uint64_t n, dots_error *e);
/* An array of n strings (lens may be NULL for NUL-terminated strings). */
dots_status gguf_add_arr_str(gguf_writer *w, const char *key, const char *const *strs, const uint64_t *lens,
                             uint64_t n, dots_error *e);
/* Copies a key/value from a file being read (for passing a tokenizer through). */
dots_status gguf_add_kv_from(gguf_writer *w, const gguf_kv *kv, dots_error *e);
/* A tensor of ggml type `type`, shape in row-major order (reversed into ne on
 * write); its bytes are produced later by fill(ctx, index, dst, nbytes). */
typedef dots_status (*gguf_fill_fn)(void *ctx, int index, void *dst, size_t nbytes, dots_error *e);
dots_status gguf_add_tensor(gguf_writer *w, const char *name, uint32_t type, int ndim, const int64_t *shape,
                            dots_error *e);
/* Writes atomically (temp file + rename); fill is called once per tensor in order. */
dots_status gguf_writer_write(gguf_writer *w, const char *path, gguf_fill_fn fill, void *ctx, dots_error *e);

#endif

/* safetensors files: a memory-mapped reader with strict header validation,
 * and a writer. Format: u64 LE header length, JSON header
 * {name: {dtype, shape, data_offsets:[begin,end]}, "__metadata__": {...}},
 * then the raw data; offsets are relative to the end of the header. */
#ifndef DOTS_SAFETENSORS_H
#define DOTS_SAFETENSORS_H
#include <stddef.h>
#include <stdint.h>
#include "base/dtype.h"
#include "base/error.h"

#define ST_MAX_DIMS 8
#define ST_MAX_HEADER (100u << 20) /* 100 MB, as the reference library */

typedef struct st_tensor {
    const char *name;
    dots_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;   /* into the mapping */
    size_t nbytes;
    size_t offset;      /* absolute byte offset in the file */
    const char *file;   /* path of the file holding it */
} st_tensor;

typedef struct st_file {
    char *path;
    void *map;          /* whole file, read-only; NULL when parsed from memory */
    size_t size;
    st_tensor *tensors; /* sorted by name */
    int n;
    char *names;        /* storage for tensor names */
} st_file;

/* Map and validate a file. On failure *out is NULL and e names the file and the problem. */
dots_status st_open(const char *path, st_file **out, dots_error *e);
/* Validate a whole file image held in memory (the fuzz entry point). The tensors'
 * data pointers point into buf, which must outlive the result. */
dots_status st_parse(const void *buf, size_t size, const char *label, st_file **out, dots_error *e);
void st_close(st_file *f);
/* Binary search by name; NULL if absent. */
const st_tensor *st_find(const st_file *f, const char *name);
/* Number of elements (product of the shape). */
int64_t st_numel(const st_tensor *t);
/* "[3, 4]" into buf. */
const char *st_shape_str(const int64_t *shape, int ndim, char *buf, size_t cap);

/* Writer: add tensors (data copied by pointer, must stay alive until st_write), then write. */
typedef struct st_writer st_writer;
st_writer *st_writer_new(dots_error *e);
dots_status st_writer_add(st_writer *w, const char *name, dots_dtype dt, int ndim, const int64_t *shape,
                          const void *data, dots_error *e);
/* Writes atomically (temp file + rename). */
dots_status st_writer_write(st_writer *w, const char *path, dots_error *e);
void st_writer_free(st_writer *w);

#endif

/* Output files of the document pipeline: one atomic writer (temp file in the same folder,
 * then rename, so a reader or a killed run never sees half a file), folder creation, and
 * the unique stable output names of a run's inputs (docs/PARSE.md, "Output names"). */
#ifndef DOTS_DOC_OUTFILE_H
#define DOTS_DOC_OUTFILE_H
#include <stddef.h>
#include "base/error.h"

/* Writes n bytes to path via path.tmp.PID + fsync + rename; on failure nothing is left. */
dots_status doc_write_atomic(const char *path, const void *data, size_t n, dots_error *e);
/* Creates path and its parents (mkdir -p). */
dots_status doc_mkdirs(const char *path, dots_error *e);
/* Formats into buf (size bytes); fails naming the text when it does not fit. */
dots_status doc_path(char *buf, size_t size, dots_error *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* names[i] (malloc'd) for each of n input paths: the file name without its extension, as
 * upstream; when two inputs share it, each of those gets its extension appended
 * ("x_pdf", "x_png"); when that still collides, "_" and 8 hex digits of a hash of the
 * input's absolute path. The same input list always gives the same names. */
dots_status doc_output_names(const char *const *inputs, int n, char **names, dots_error *e);

#endif

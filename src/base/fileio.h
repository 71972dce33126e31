/* The one read-whole-file helper. */
#ifndef DOTS_FILEIO_H
#define DOTS_FILEIO_H
#include <stddef.h>
#include "base/error.h"

/* Reads a whole file into a NUL-terminated buffer (free()); *len (if given) gets its size.
 * Fails with DOTS_E_LIMIT naming the file if it is larger than max_bytes. */
dots_status read_file(const char *path, size_t max_bytes, char **out, size_t *len, dots_error *e);

#endif

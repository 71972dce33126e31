/* The one read-whole-file helper. */
#ifndef DOTS_FILEIO_H
#define DOTS_FILEIO_H
#include <stddef.h>
#include "base/error.h"

/* Reads a whole file into a NUL-terminated buffer (free()); *len (if given) gets its size.
 * Fails with DOTS_E_LIMIT naming the file if it is larger than max_bytes. */
dots_status read_file(const char *path, size_t max_bytes, char **out, size_t *len, dots_error *e);

/* The one map-a-whole-file helper (safetensors, GGUF): a regular file of at least
 * min_size bytes mapped read-only; *map / *size get the mapping (munmap it). A shorter
 * file fails with DOTS_E_FORMAT "PATH: not a KIND file: N bytes, SHORT_WHY". */
dots_status map_file(const char *path, size_t min_size, const char *kind, const char *short_why, void **map,
                     size_t *size, dots_error *e);

#endif

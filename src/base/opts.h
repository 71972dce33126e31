/* Option structs of the public API: each starts with its struct_size (dotsocr.h). */
#ifndef DOTS_OPTS_H
#define DOTS_OPTS_H
#include <stddef.h>
#include "dotsocr.h"

/* Copies the caller's struct src (struct_size first) over dst, which holds the
 * defaults and is dst_size bytes: only the bytes src's struct_size covers, so an
 * older caller's shorter struct keeps the defaults of the fields added since.
 * dst's struct_size is then dst_size. A struct_size under sizeof(size_t) or over
 * dst_size is DOTS_E_ARG, naming the struct (name) and its _init function. */
dots_status opts_take(void *dst, size_t dst_size, const void *src, const char *name, dots_error *e);

#endif

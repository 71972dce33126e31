/* multipart/form-data (RFC 7578) over a body held in memory: the parts point into it. */
#ifndef DOTS_SERVER_MULTIPART_H
#define DOTS_SERVER_MULTIPART_H
#include <stddef.h>
#include "base/error.h"

#define SRV_MULTIPART_MAX_PARTS 64

typedef struct srv_part {
    char name[128];          /* Content-Disposition name="..." ("" if none) */
    char filename[256];      /* filename="..." ("" if none) */
    char content_type[128];  /* the part's Content-Type ("" if none) */
    const unsigned char *data;
    size_t size;
} srv_part;

/* Splits body[0..n) by the boundary of content_type ("multipart/form-data; boundary=...").
 * Fills parts[0..*n_parts) (at most SRV_MULTIPART_MAX_PARTS). A malformed body is a
 * DOTS_E_FORMAT error naming the byte offset. */
dots_status srv_multipart_parse(const char *content_type, const unsigned char *body, size_t n, srv_part *parts,
                                int *n_parts, dots_error *e);

/* The part called name, or NULL. */
const srv_part *srv_multipart_find(const srv_part *parts, int n_parts, const char *name);

#endif

/* Base64 (RFC 4648, standard alphabet) decoding for data: URLs. */
#ifndef DOTS_SERVER_BASE64_H
#define DOTS_SERVER_BASE64_H
#include <stddef.h>
#include "base/error.h"

/* Decodes in[0..n); ASCII whitespace is skipped, '=' padding is optional but may only
 * end the data. *out is malloc'd (at least 1 byte, *out_n may be 0). A bad character
 * or a truncated group is a DOTS_E_FORMAT error naming its byte offset; `what` names
 * the field in that message. */
dots_status srv_base64_decode(const char *in, size_t n, const char *what, unsigned char **out, size_t *out_n,
                              dots_error *e);

#endif

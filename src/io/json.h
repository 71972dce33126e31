/* The one parse-JSON helper: all of the text must be one JSON value, with only
 * whitespace after it (and NUL padding where a format allows it). */
#ifndef DOTS_JSON_H
#define DOTS_JSON_H
#include <stddef.h>
#include <json-c/json.h>
#include "base/error.h"

enum {
    DOTS_JSON_STRICT = 1,    /* json-c's strict mode (RFC 8259 only) */
    DOTS_JSON_OBJECT = 2,    /* the value must be an object */
    DOTS_JSON_NUL_PAD = 4,   /* NUL bytes may follow as well as whitespace */
};

/* Parses s[0..n). On failure returns DOTS_E_FORMAT with "label: malformed JSON near byte K: why"
 * (K counted from base_offset, the position of s in its file) and *out NULL. */
dots_status dots_json_parse(const char *s, size_t n, const char *label, size_t base_offset, int flags,
                            json_object **out, dots_error *e);

#endif

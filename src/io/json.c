#include "io/json.h"
#include <limits.h>

static int trailing_ok(char c, int flags) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || (c == 0 && (flags & DOTS_JSON_NUL_PAD));
}

dots_status dots_json_parse(const char *s, size_t n, const char *label, size_t base_offset, int flags,
                            json_object **out, dots_error *e) {
    *out = NULL;
    if (n > INT_MAX) return dots_fail(e, DOTS_E_LIMIT, "%s: %zu bytes of JSON is more than json-c reads (2 GiB)", label, n);
    json_tokener *tok = json_tokener_new_ex(256);
    if (!tok) return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory parsing JSON", label);
    if (flags & DOTS_JSON_STRICT) json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *o = json_tokener_parse_ex(tok, s, (int)n);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    const char *why = NULL;
    if (jerr == json_tokener_continue) why = "unexpected end of the text";
    else if (!o && jerr == json_tokener_success) why = "no JSON value"; /* "null", or nothing at all */
    else if (jerr != json_tokener_success) why = json_tokener_error_desc(jerr);
    if (!why) {
        while (end < n && trailing_ok(s[end], flags)) end++;
        if (end < n) why = "unexpected data after the JSON value";
        else if ((flags & DOTS_JSON_OBJECT) && !json_object_is_type(o, json_type_object)) { why = "the top level is not a JSON object"; end = 0; }
    }
    json_tokener_free(tok);
    if (why) {
        if (o) json_object_put(o);
        return dots_fail(e, DOTS_E_FORMAT, "%s: malformed JSON near byte %zu: %s", label, base_offset + end, why);
    }
    *out = o;
    return DOTS_OK;
}

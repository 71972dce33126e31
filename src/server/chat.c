#define _GNU_SOURCE /* memmem */
/* Chat request parsing. The engine frames one user turn (images first, then the
 * text) and an optional system prompt, so the request may hold system/developer
 * messages and one user message. dots.ocr's parser writes the image placeholder
 * "<|img|><|imgpad|><|endofimg|>" into its text part (vLLM needs it there); the
 * engine writes that frame itself, so the markers are taken out of the text. */
#include "server/chat.h"
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "doc/strutil.h"
#include "server/base64.h"

#define IMG_MARKER "<|img|><|imgpad|><|endofimg|>"

typedef struct {
    char *param;
    size_t cap;
    dots_error *e;
} pctx;

/* Names the field at fault and fails with DOTS_E_ARG. */
static dots_status bad(pctx *c, const char *param, const char *fmt, const char *detail) {
    snprintf(c->param, c->cap, "%s", param);
    return dots_fail(c->e, DOTS_E_ARG, fmt, param, detail ? detail : "");
}

static const char *type_name(json_object *v) {
    switch (json_object_get_type(v)) {
    case json_type_null: return "null";
    case json_type_boolean: return "a boolean";
    case json_type_double: return "a number";
    case json_type_int: return "an integer";
    case json_type_object: return "an object";
    case json_type_array: return "an array";
    case json_type_string: return "a string";
    }
    return "?";
}

/* A field of the expected type: 1 present, 0 absent (or null), -1 wrong type (error set). */
static int field(pctx *c, json_object *obj, const char *key, json_type want, const char *param, json_object **out) {
    *out = NULL;
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v) || json_object_get_type(v) == json_type_null) return 0;
    json_type t = json_object_get_type(v);
    int ok = t == want || (want == json_type_double && t == json_type_int);
    if (!ok) {
        const char *wn = want == json_type_string ? "a string" : want == json_type_int ? "an integer"
                         : want == json_type_double ? "a number" : want == json_type_boolean ? "a boolean"
                         : want == json_type_array ? "an array" : "an object";
        char detail[96];
        snprintf(detail, sizeof detail, "must be %s, not %s", wn, type_name(v));
        bad(c, param, "'%s' %s", detail);
        return -1;
    }
    *out = v;
    return 1;
}

static dots_status oom(pctx *c) { return dots_fail(c->e, DOTS_E_NOMEM, "out of memory reading the request"); }

/* ---------------------------------------------------------------- images */

static dots_status data_url_image(pctx *c, const char *url, size_t n, const char *param, const srv_chat_limits *lim,
                                  srv_chat_request *r) {
    if (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8))
        return bad(c, param, "'%s': remote image URLs are not fetched (the server never downloads); send the image "
                   "inline as a data URL: data:image/png;base64,...%s", NULL);
    if (strncmp(url, "data:", 5))
        return bad(c, param, "'%s' must be a data URL (data:image/png;base64,... or data:image/jpeg;base64,...)%s", NULL);
    const char *comma = memchr(url, ',', n);
    if (!comma) return bad(c, param, "'%s': the data URL has no ',' before its data%s", NULL);
    size_t meta_n = (size_t)(comma - url);
    if (meta_n < 12 || strncmp(comma - 7, ";base64", 7))
        return bad(c, param, "'%s': only base64 data URLs are supported (data:image/png;base64,...)%s", NULL);
    if (strncmp(url + 5, "image/", 6) && strncmp(url + 5, "application/octet-stream", 24))
        return bad(c, param, "'%s': the data URL's media type must be image/png or image/jpeg%s", NULL);
    if (r->n_images == SRV_MAX_IMAGES) {
        char d[64];
        snprintf(d, sizeof d, " (at most %d per request)", SRV_MAX_IMAGES);
        return bad(c, param, "'%s': too many images%s", d);
    }
    unsigned char *bytes;
    size_t nb;
    dots_status st = srv_base64_decode(comma + 1, n - meta_n - 1, param, &bytes, &nb, c->e);
    if (st) { snprintf(c->param, c->cap, "%s", param); return st; }
    long long used = 0;
    for (int i = 0; i < r->n_images; i++) used += (long long)r->images[i].width * r->images[i].height;
    dots_image_limits il = {lim->max_pixels - used > 0 ? lim->max_pixels - used : 1};
    st = dots_image_decode(bytes, nb, param, &il, &r->images[r->n_images], c->e);
    free(bytes);
    if (st) {
        snprintf(c->param, c->cap, "%s", param);
        if (st == DOTS_E_LIMIT && r->n_images)
            dots_context(c->e, "the request's images together may hold at most %lld pixels", lim->max_pixels);
        return st;
    }
    r->n_images++;
    return DOTS_OK;
}

/* --------------------------------------------------------------- content */

/* Appends text to dst with every image marker taken out; counts the markers. */
static void add_text(dstr *dst, const char *s, size_t n, int *markers) {
    size_t ml = strlen(IMG_MARKER);
    while (n) {
        const char *m = n >= ml ? memmem(s, n, IMG_MARKER, ml) : NULL;
        size_t k = m ? (size_t)(m - s) : n;
        dstr_addn(dst, s, k);
        if (!m) break;
        (*markers)++;
        s += k + ml;
        n -= k + ml;
    }
}

/* A message's content: a string, or parts (text everywhere; image_url only for a user). */
static dots_status content(pctx *c, json_object *msg, const char *mp, int user, const srv_chat_limits *lim,
                           srv_chat_request *r, dstr *text, int *markers) {
    char p[96], q[128];
    snprintf(p, sizeof p, "%s.content", mp);
    json_object *v;
    if (!json_object_object_get_ex(msg, "content", &v) || json_object_get_type(v) == json_type_null)
        return bad(c, p, "'%s' is missing%s", NULL);
    if (json_object_get_type(v) == json_type_string) {
        add_text(text, json_object_get_string(v), (size_t)json_object_get_string_len(v), markers);
        return DOTS_OK;
    }
    if (json_object_get_type(v) != json_type_array) {
        char d[64];
        snprintf(d, sizeof d, "must be a string or an array of parts, not %s", type_name(v));
        return bad(c, p, "'%s' %s", d);
    }
    size_t np = json_object_array_length(v);
    for (size_t j = 0; j < np; j++) {
        json_object *part = json_object_array_get_idx(v, j), *t, *x;
        snprintf(q, sizeof q, "%s[%zu]", p, j);
        if (json_object_get_type(part) != json_type_object) return bad(c, q, "'%s' must be an object%s", NULL);
        char qt[160];
        snprintf(qt, sizeof qt, "%s.type", q);
        int f = field(c, part, "type", json_type_string, qt, &t);
        if (f <= 0) return f < 0 ? DOTS_E_ARG : bad(c, qt, "'%s' is missing (\"text\" or \"image_url\")%s", NULL);
        const char *ty = json_object_get_string(t);
        if (!strcmp(ty, "text")) {
            snprintf(qt, sizeof qt, "%s.text", q);
            if ((f = field(c, part, "text", json_type_string, qt, &x)) <= 0)
                return f < 0 ? DOTS_E_ARG : bad(c, qt, "'%s' is missing%s", NULL);
            add_text(text, json_object_get_string(x), (size_t)json_object_get_string_len(x), markers);
        } else if (!strcmp(ty, "image_url") && user) {
            snprintf(qt, sizeof qt, "%s.image_url", q);
            if (!json_object_object_get_ex(part, "image_url", &x)) return bad(c, qt, "'%s' is missing%s", NULL);
            json_object *u = x;
            if (json_object_get_type(x) == json_type_object) {
                snprintf(qt, sizeof qt, "%s.image_url.url", q);
                if ((f = field(c, x, "url", json_type_string, qt, &u)) <= 0)
                    return f < 0 ? DOTS_E_ARG : bad(c, qt, "'%s' is missing%s", NULL);
            } else if (json_object_get_type(x) != json_type_string) {
                return bad(c, qt, "'%s' must be an object {\"url\": \"data:image/png;base64,...\"}%s", NULL);
            }
            dots_status st = data_url_image(c, json_object_get_string(u), (size_t)json_object_get_string_len(u), qt, lim, r);
            if (st) return st;
        } else {
            char d[160];
            snprintf(d, sizeof d, "'%.60s' is not supported here (use \"text\"%s)", ty, user ? " or \"image_url\"" : "");
            return bad(c, qt, "'%s': %s", d);
        }
    }
    return DOTS_OK;
}

static dots_status messages(pctx *c, json_object *root, const srv_chat_limits *lim, srv_chat_request *r) {
    json_object *msgs, *role;
    int f = field(c, root, "messages", json_type_array, "messages", &msgs);
    if (f < 0) return DOTS_E_ARG;
    if (!f || json_object_array_length(msgs) == 0)
        return bad(c, "messages", "'%s' is missing or empty: send at least one user message%s", NULL);
    dstr sys = {0}, user = {0};
    int n_user = 0, markers = 0;
    dots_status st = DOTS_OK;
    size_t n = json_object_array_length(msgs);
    for (size_t i = 0; i < n && !st; i++) {
        json_object *m = json_object_array_get_idx(msgs, i);
        char mp[48], rp[64];
        snprintf(mp, sizeof mp, "messages[%zu]", i);
        snprintf(rp, sizeof rp, "%s.role", mp);
        if (json_object_get_type(m) != json_type_object) { st = bad(c, mp, "'%s' must be an object%s", NULL); break; }
        if ((f = field(c, m, "role", json_type_string, rp, &role)) <= 0) {
            st = f < 0 ? DOTS_E_ARG : bad(c, rp, "'%s' is missing%s", NULL);
            break;
        }
        const char *rn = json_object_get_string(role);
        if (!strcmp(rn, "system") || !strcmp(rn, "developer")) {
            if (n_user) { st = bad(c, rp, "'%s': system messages must come before the user message%s", NULL); break; }
            int sys_markers = 0;
            if (sys.n) dstr_add(&sys, "\n");
            st = content(c, m, mp, 0, lim, r, &sys, &sys_markers);
        } else if (!strcmp(rn, "user")) {
            if (n_user++) {
                st = bad(c, rp, "'%s': only one user message is supported (the engine runs single-turn requests: "
                         "put the whole question in one user message)%s", NULL);
                break;
            }
            st = content(c, m, mp, 1, lim, r, &user, &markers);
        } else {
            char d[128];
            snprintf(d, sizeof d, "'%.40s' is not supported (single-turn: system messages, then one user message)", rn);
            st = bad(c, rp, "'%s': role %s", d);
        }
    }
    if (!st && !n_user) st = bad(c, "messages", "'%s' has no user message%s", NULL);
    if (!st && markers > r->n_images) {
        char d[128];
        snprintf(d, sizeof d, "%d <|img|><|imgpad|><|endofimg|> placeholders but %d image_url parts", markers, r->n_images);
        st = bad(c, "messages", "'%s': the text holds %s", d);
    }
    if (!st && (sys.oom || user.oom)) st = oom(c);
    if (!st) {
        r->system = sys.n ? dstr_take(&sys) : NULL;
        r->user_text = dstr_take(&user);
        if (!r->user_text) st = oom(c);
    }
    dstr_free(&sys);
    dstr_free(&user);
    return st;
}

/* -------------------------------------------------------------- sampling */

static dots_status sampling(pctx *c, json_object *root, const srv_chat_limits *lim, srv_chat_request *r) {
    json_object *v;
    int f;
    r->max_tokens = lim->max_tokens;
    static const char *const tok_keys[] = {"max_tokens", "max_completion_tokens"}; /* the second wins */
    for (int k = 0; k < 2; k++) {
        if ((f = field(c, root, tok_keys[k], json_type_int, tok_keys[k], &v)) < 0) return DOTS_E_ARG;
        if (!f) continue;
        int64_t m = json_object_get_int64(v);
        if (m < 1) return bad(c, tok_keys[k], "'%s' must be at least 1%s", NULL);
        r->max_tokens = m < lim->max_tokens ? (int)m : lim->max_tokens;
    }
    r->temperature = 0; /* greedy unless asked: an OCR model's answer should not vary */
    if ((f = field(c, root, "temperature", json_type_double, "temperature", &v)) < 0) return DOTS_E_ARG;
    if (f) {
        double t = json_object_get_double(v);
        if (!(t >= 0 && t <= 2)) return bad(c, "temperature", "'%s' must be between 0 and 2%s", NULL);
        r->temperature = (float)t;
    }
    r->top_p = 1;
    if ((f = field(c, root, "top_p", json_type_double, "top_p", &v)) < 0) return DOTS_E_ARG;
    if (f) {
        double p = json_object_get_double(v);
        if (!(p > 0 && p <= 1)) return bad(c, "top_p", "'%s' must be in (0, 1]%s", NULL);
        r->top_p = (float)p;
    }
    if ((f = field(c, root, "seed", json_type_int, "seed", &v)) < 0) return DOTS_E_ARG;
    if (f) {
        r->seed = (uint64_t)json_object_get_int64(v);
        r->has_seed = 1;
    }
    if ((f = field(c, root, "n", json_type_int, "n", &v)) < 0) return DOTS_E_ARG;
    if (f && json_object_get_int64(v) != 1) return bad(c, "n", "'%s': only n = 1 is supported%s", NULL);
    return DOTS_OK;
}

static dots_status stop_strings(pctx *c, json_object *root, srv_chat_request *r) {
    json_object *v;
    if (!json_object_object_get_ex(root, "stop", &v) || json_object_get_type(v) == json_type_null) return DOTS_OK;
    int is_str = json_object_get_type(v) == json_type_string;
    if (!is_str && json_object_get_type(v) != json_type_array)
        return bad(c, "stop", "'%s' must be a string or an array of up to 4 strings%s", NULL);
    size_t n = is_str ? 1 : json_object_array_length(v);
    if (n > SRV_MAX_STOP) return bad(c, "stop", "'%s' may hold at most 4 strings%s", NULL);
    for (size_t i = 0; i < n; i++) {
        json_object *s = is_str ? v : json_object_array_get_idx(v, i);
        if (json_object_get_type(s) != json_type_string) return bad(c, "stop", "'%s' must hold strings only%s", NULL);
        int len = json_object_get_string_len(s);
        if (len == 0) continue;
        if (len > 256) return bad(c, "stop", "'%s': a stop string may be at most 256 bytes%s", NULL);
        if (!(r->stop[r->n_stop] = strdup(json_object_get_string(s)))) return oom(c);
        r->n_stop++;
    }
    return DOTS_OK;
}

static dots_status streaming(pctx *c, json_object *root, srv_chat_request *r) {
    json_object *v, *u;
    int f = field(c, root, "stream", json_type_boolean, "stream", &v);
    if (f < 0) return DOTS_E_ARG;
    r->stream = f && json_object_get_boolean(v);
    if ((f = field(c, root, "stream_options", json_type_object, "stream_options", &v)) < 0) return DOTS_E_ARG;
    if (f) {
        if ((f = field(c, v, "include_usage", json_type_boolean, "stream_options.include_usage", &u)) < 0)
            return DOTS_E_ARG;
        r->include_usage = f && json_object_get_boolean(u);
    }
    return DOTS_OK;
}

/* ------------------------------------------------------------------ body */

static dots_status parse_json(pctx *c, const char *body, size_t n, json_object **out) {
    *out = NULL;
    if (n > 0x7fffffff) return bad(c, "body", "'%s': the JSON body is too large%s", NULL);
    json_tokener *tok = json_tokener_new_ex(64);
    if (!tok) return oom(c);
    json_object *root = json_tokener_parse_ex(tok, body, (int)n);
    enum json_tokener_error je = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    snprintf(c->param, c->cap, "body");
    if (!root || je != json_tokener_success) {
        json_object_put(root);
        if (je == json_tokener_continue || je == json_tokener_success)
            return dots_fail(c->e, DOTS_E_FORMAT, "the request body is not complete JSON (it ends after %zu bytes)", n);
        return dots_fail(c->e, DOTS_E_FORMAT, "the request body is not valid JSON: %s at byte %zu",
                         json_tokener_error_desc(je), end);
    }
    for (size_t i = end; i < n; i++)
        if (!strchr(" \t\r\n", body[i]) || !body[i]) {
            json_object_put(root);
            return dots_fail(c->e, DOTS_E_FORMAT, "the request body is not valid JSON: extra data at byte %zu", i);
        }
    if (json_object_get_type(root) != json_type_object) {
        json_object_put(root);
        return dots_fail(c->e, DOTS_E_FORMAT, "the request body must be a JSON object, not %s", type_name(root));
    }
    c->param[0] = 0;
    *out = root;
    return DOTS_OK;
}

dots_status srv_chat_parse(const char *body, size_t n, const srv_chat_limits *lim, srv_chat_request *r,
                           char *param_buf, size_t param_cap, dots_error *e) {
    memset(r, 0, sizeof *r);
    pctx c = {param_buf, param_cap, e};
    param_buf[0] = 0;
    json_object *root, *model;
    dots_status st = parse_json(&c, body, n, &root);
    if (st) return st;
    int f = field(&c, root, "model", json_type_string, "model", &model);
    if (f < 0) st = DOTS_E_ARG;
    else if (!(r->model = strdup(f ? json_object_get_string(model) : "model"))) st = oom(&c);
    if (!st) st = messages(&c, root, lim, r);
    if (!st) st = sampling(&c, root, lim, r);
    if (!st) st = stop_strings(&c, root, r);
    if (!st) st = streaming(&c, root, r);
    json_object_put(root);
    if (st) srv_chat_request_free(r);
    return st;
}

void srv_chat_request_free(srv_chat_request *r) {
    free(r->model);
    free(r->system);
    free(r->user_text);
    for (int i = 0; i < r->n_images; i++) dots_image_free(&r->images[i]);
    for (int i = 0; i < r->n_stop; i++) free(r->stop[i]);
    memset(r, 0, sizeof *r);
}

#define _GNU_SOURCE /* memmem */
#include "doc/layout.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/json.h"
#include "doc/strutil.h"

/* Out of memory inside json-c or our buffers during this thread's current
 * doc_layout_parse / doc_layout_repair: every constructor result goes through jnew/jpush/
 * jset, which set it, and the entry points report DOTS_E_NOMEM instead of a silently
 * shorter answer. */
static _Thread_local int t_oom;

static json_object *jnew(json_object *o) {
    if (!o) t_oom = 1;
    return o;
}
static void jpush(json_object *arr, json_object *v) {
    if (!arr || !v || json_object_array_add(arr, v)) {
        json_object_put(v);
        t_oom = 1;
    }
}
static void jset(json_object *obj, const char *key, json_object *v) {
    if (!obj || !v || json_object_object_add(obj, key, v)) {
        json_object_put(v);
        t_oom = 1;
    }
}

/* Parses all of s as JSON (trailing whitespace allowed); NULL if it is not valid. */
static json_object *parse_whole(const char *s, size_t n) {
    json_object *o = NULL;
    if (dots_json_parse(s, n, "the model answer", 0, DOTS_JSON_STRICT, &o, NULL) == DOTS_E_NOMEM) t_oom = 1;
    return o;
}

static int num_of(json_object *v, double *d) {
    json_type t = json_object_get_type(v);
    if (t != json_type_int && t != json_type_double) return 0;
    *d = json_object_get_double(v);
    return isfinite(*d);
}

/* A bbox that upstream can map: an array of at least 4 finite numbers. */
static int raw_bbox(json_object *cell, double b[4]) {
    json_object *bb;
    if (!json_object_is_type(cell, json_type_object) || !json_object_object_get_ex(cell, "bbox", &bb) ||
        !json_object_is_type(bb, json_type_array) || json_object_array_length(bb) < 4)
        return 0;
    for (int i = 0; i < 4; i++)
        if (!num_of(json_object_array_get_idx(bb, i), &b[i])) return 0;
    return 1;
}

int doc_cell_bbox(json_object *cell, int box[4]) {
    double b[4];
    if (!raw_bbox(cell, b)) return 0;
    for (int i = 0; i < 4; i++) {
        if (b[i] < -1e9 || b[i] > 1e9) return 0;
        box[i] = (int)b[i];
    }
    return 1;
}

const char *doc_cell_category(json_object *cell) {
    json_object *c;
    if (json_object_is_type(cell, json_type_object) && json_object_object_get_ex(cell, "category", &c) &&
        json_object_is_type(c, json_type_string))
        return json_object_get_string(c);
    return "";
}

const char *doc_cell_text(json_object *cell) {
    json_object *c;
    if (json_object_is_type(cell, json_type_object) && json_object_object_get_ex(cell, "text", &c) &&
        json_object_is_type(c, json_type_string))
        return json_object_get_string(c);
    return NULL;
}

char *doc_layout_to_json(json_object *cells) {
    const char *s = json_object_to_json_string_ext(cells, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    return s ? strdup(s) : NULL;
}

/* ------------------------------------------------------------- repair */

static void notef(char *note, size_t size, const char *fmt, const char *a, long v) {
    size_t k = strlen(note);
    if (k + 2 >= size) return;
    if (k) { note[k++] = ';'; note[k++] = ' '; note[k] = 0; }
    char tmp[256];
    snprintf(tmp, sizeof tmp, fmt, a ? a : "", v);
    snprintf(note + k, size - k, "%s", tmp);
}

/* Step 1: '}' followed (after whitespace) by '{' outside JSON strings gets a comma.
 * Upstream does this with a regex that also rewrites "}{" inside LaTeX text and
 * skips "}{\"" — string awareness keeps the text intact. */
static char *fix_delimiters(const char *s, size_t n, long *fixes) {
    dstr o = {0};
    int instr = 0;
    *fixes = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        dstr_addn(&o, &c, 1);
        if (instr) {
            if (c == '\\' && i + 1 < n) { dstr_addn(&o, &s[++i], 1); }
            else if (c == '"') instr = 0;
        } else if (c == '"') {
            instr = 1;
        } else if (c == '}') {
            size_t j = i + 1;
            while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r')) j++;
            if (j < n && s[j] == '{') { dstr_addn(&o, ",", 1); (*fixes)++; i = j - 1; }
        }
    }
    return dstr_take(&o);
}

typedef struct { size_t a, b; } span;

/* Complete top-level {...} objects (string-aware) that hold "bbox": [...]. */
static size_t find_dicts(const char *s, size_t n, span **out) {
    span *v = NULL;
    size_t cnt = 0, cap = 0, start = 0;
    int depth = 0, instr = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (instr) {
            if (c == '\\') i++;
            else if (c == '"') instr = 0;
            continue;
        }
        if (c == '"') instr = 1;
        else if (c == '{') { if (depth++ == 0) start = i; }
        else if (c == '}' && depth > 0 && --depth == 0) {
            /* must contain "bbox" : [ ... ] */
            const char *p = s + start, *end = s + i + 1, *k;
            int ok = 0;
            while (!ok && (k = memmem(p, (size_t)(end - p), "\"bbox\"", 6)) != NULL) {
                const char *q = k + 6;
                while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) q++;
                if (q < end && *q == ':') {
                    q++;
                    while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) q++;
                    if (q < end && *q == '[' && memchr(q, ']', (size_t)(end - q))) ok = 1;
                }
                p = k + 6;
            }
            if (!ok) continue;
            if (cnt == cap) {
                cap = cap ? cap * 2 : 16;
                span *nv = realloc(v, cap * sizeof *nv);
                if (!nv) { free(v); *out = NULL; t_oom = 1; return 0; }
                v = nv;
            }
            v[cnt].a = start; v[cnt].b = i + 1; cnt++;
        }
    }
    *out = v;
    return cnt;
}

/* Python rstrip() of whitespace, in place on a length. */
static size_t rstrip_len(const char *s, size_t n) {
    int k;
    while (n && (k = doc_ws_before(s, n)) > 0) n -= (size_t)k;
    return n;
}

/* Fallback 2 (upstream): one incomplete dict: take bbox, category and the start of the text. */
static json_object *single_incomplete(const char *s, int appended) {
    const char *b; size_t bl;
    doc_strip(s, strlen(s), &b, &bl);
    if (bl < 9 || strncmp(b, "[{\"bbox\":", 9)) return NULL;
    const char *k = strstr(s, "\"bbox\"");
    long coords[4]; int nc = 0;
    while (k) {   /* "bbox"\s*:\s*\[([^\]]+)\] */
        const char *q = k + 6;
        while (*q && doc_ws_at(q, strlen(q))) q += doc_ws_at(q, strlen(q));
        if (*q == ':') {
            q++;
            while (*q && doc_ws_at(q, strlen(q))) q += doc_ws_at(q, strlen(q));
            const char *close = *q == '[' ? strchr(q + 1, ']') : NULL;
            if (close && close > q + 1) {
                /* int(x.strip()) for each comma-separated part */
                const char *p = q + 1;
                nc = 0;
                while (p <= close) {
                    const char *c = memchr(p, ',', (size_t)(close - p));
                    if (!c) c = close;
                    const char *tb; size_t tl;
                    doc_strip(p, (size_t)(c - p), &tb, &tl);
                    char num[32];
                    if (tl == 0 || tl >= sizeof num || nc == 4) return NULL;
                    memcpy(num, tb, tl); num[tl] = 0;
                    char *end; long v = strtol(num, &end, 10);
                    if (*end || !(num[0] == '-' || num[0] == '+' || (num[0] >= '0' && num[0] <= '9'))) return NULL;
                    coords[nc++] = v;
                    p = c + 1;
                }
                break;
            }
        }
        k = strstr(k + 1, "\"bbox\"");
    }
    if (!k || nc != 4) return NULL;
    json_object *cell = jnew(json_object_new_object()), *bb = jnew(json_object_new_array());
    for (int i = 0; i < 4; i++) jpush(bb, json_object_new_int64(coords[i]));
    jset(cell, "bbox", bb);
    /* "category"\s*:\s*"([^"]+)" */
    const char *cat = "Text"; size_t catl = 4;
    for (const char *c = strstr(s, "\"category\""); c; c = strstr(c + 1, "\"category\"")) {
        const char *q = c + 10;
        while (*q && doc_ws_at(q, strlen(q))) q += doc_ws_at(q, strlen(q));
        if (*q != ':') continue;
        q++;
        while (*q && doc_ws_at(q, strlen(q))) q += doc_ws_at(q, strlen(q));
        if (*q != '"') continue;
        const char *z = strchr(q + 1, '"');
        if (!z || z == q + 1) continue;
        cat = q + 1; catl = (size_t)(z - q - 1);
        break;
    }
    jset(cell, "category", json_object_new_string_len(cat, (int)catl));
    /* "text"\s*:\s*"([^"]{0,10000}) — the raw characters, up to 10000 */
    for (const char *c = strstr(s, "\"text\""); c; c = strstr(c + 1, "\"text\"")) {
        const char *q = c + 6;
        while (*q && doc_ws_at(q, strlen(q))) q += doc_ws_at(q, strlen(q));
        if (*q != ':') continue;
        q++;
        while (*q && doc_ws_at(q, strlen(q))) q += doc_ws_at(q, strlen(q));
        if (*q != '"') continue;
        const char *t = q + 1, *z = t;
        size_t chars = 0;
        while (*z && *z != '"') {
            if (((unsigned char)*z & 0xC0) != 0x80) { if (chars == 10000) break; chars++; }
            z++;
        }
        while (z > t && ((unsigned char)*z & 0xC0) == 0x80) z--; /* never split a character */
        if (appended && !*z && z > t && z[-1] == ']') z--; /* the ']' step 4 added is not text (upstream keeps it) */
        if (z > t) jset(cell, "text", json_object_new_string_len(t, (int)(z - t)));
        break;
    }
    json_object *arr = jnew(json_object_new_array());
    jpush(arr, cell);
    return arr;
}

/* A key for comparing JSON values the way Python compares them (1 == 1.0). */
static char *value_key(json_object *v) {
    dstr d = {0};
    if (json_object_is_type(v, json_type_array)) {
        dstr_add(&d, "[");
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            char *k = value_key(json_object_array_get_idx(v, i));
            dstr_add(&d, k ? k : "");
            dstr_add(&d, ",");
            free(k);
        }
        dstr_add(&d, "]");
    } else if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
        dstr_addf(&d, "n%.17g", json_object_get_double(v));
    } else {
        dstr_add(&d, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
    }
    return dstr_take(&d);
}

/* Upstream: a (category, text) pair seen 5+ times and a bbox seen 2+ times keep
 * only their first occurrence. */
static json_object *dedup_pairs(json_object *arr, char *note, size_t ns) {
    size_t n = json_object_array_length(arr);
    if (n <= 1) return arr;
    char **pk = calloc(n, sizeof *pk), **bk = calloc(n, sizeof *bk);
    unsigned char *drop = calloc(n, 1);
    if (!pk || !bk || !drop) { free(pk); free(bk); free(drop); t_oom = 1; return arr; }
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(arr, i), *cat, *txt, *bb;
        if (!json_object_is_type(c, json_type_object)) continue;
        if (json_object_object_get_ex(c, "category", &cat) && json_object_object_get_ex(c, "text", &txt)) {
            char *a = value_key(cat), *b = value_key(txt);
            dstr d = {0};
            dstr_add(&d, a ? a : ""); dstr_addn(&d, "\x01", 1); dstr_add(&d, b ? b : "");
            if (!(pk[i] = dstr_take(&d)) || !a || !b) t_oom = 1;
            free(a); free(b);
        }
        if (json_object_object_get_ex(c, "bbox", &bb) && json_object_is_type(bb, json_type_array) &&
            json_object_array_length(bb) > 0)
            if (!(bk[i] = value_key(bb))) t_oom = 1;
    }
    long pairs = 0, boxes = 0;
    for (size_t i = 0; i < n; i++) {
        if (pk[i]) {
            size_t cnt = 0;
            for (size_t j = 0; j < n; j++) cnt += pk[j] && !strcmp(pk[i], pk[j]);
            if (cnt >= 5) {
                int first = 1;
                for (size_t j = 0; j < n; j++)
                    if (pk[j] && !strcmp(pk[i], pk[j])) {
                        if (first) first = 0; else if (!drop[j]) { drop[j] = 1; pairs++; }
                    }
            }
        }
        if (bk[i]) {
            for (size_t j = i + 1; j < n; j++)
                if (bk[j] && !strcmp(bk[i], bk[j]) && !drop[j]) { drop[j] = 1; boxes++; }
        }
    }
    json_object *out = arr;
    if (pairs || boxes) {
        out = jnew(json_object_new_array());
        for (size_t i = 0; i < n; i++)
            if (!drop[i]) jpush(out, json_object_get(json_object_array_get_idx(arr, i)));
        json_object_put(arr);
        if (pairs) notef(note, ns, "dropped %s%ld cells repeating a (category, text) pair 5+ times", "", pairs);
        if (boxes) notef(note, ns, "dropped %s%ld cells repeating an earlier bbox", "", boxes);
    }
    for (size_t i = 0; i < n; i++) { free(pk[i]); free(bk[i]); }
    free(pk); free(bk); free(drop);
    return out;
}

static json_object *repair(const char *response, char *note, size_t ns);

json_object *doc_layout_repair(const char *response, char *note, size_t ns) {
    t_oom = 0;
    json_object *arr = repair(response, note, ns);
    if (t_oom && arr) {  /* a partial answer would pass for the model's: report OOM instead */
        json_object_put(arr);
        arr = NULL;
    }
    return arr;
}

static json_object *repair(const char *response, char *note, size_t ns) {
    if (note && ns) note[0] = 0;
    char dummy[8];
    if (!note || !ns) { note = dummy; ns = sizeof dummy; note[0] = 0; }
    long fixes;
    char *s = fix_delimiters(response, strlen(response), &fixes);
    if (!s) return NULL;
    if (fixes) notef(note, ns, "inserted %s%ld missing '},{'", "", fixes);
    size_t n = strlen(s);

    /* Step 2: cut a truncated last element (not when it is the only one). */
    size_t rs = rstrip_len(s, n);
    if (doc_utf8_len(s, n) > 50000 || rs == 0 || s[rs - 1] != ']') {
        long count = 0;
        char *last = NULL;
        for (char *p = strstr(s, "{\"bbox\":"); p; p = strstr(p + 1, "{\"bbox\":")) { count++; last = p; }
        if (count > 1 && last > s) {
            n = rstrip_len(s, (size_t)(last - s));
            if (n && s[n - 1] == ',') n--;
            s[n] = 0;
            notef(note, ns, "cut the truncated last element%s", "", 0);
        }
    }
    /* Step 3: drop exact duplicate complete dicts, keeping order. */
    span *d = NULL;
    size_t nd = find_dicts(s, n, &d);
    if (nd) {
        unsigned char *dup = calloc(nd, 1);
        if (!dup) t_oom = 1;
        long ndup = 0;
        for (size_t i = 0; dup && i < nd; i++)
            for (size_t j = 0; j < i && !dup[i]; j++)
                if (!dup[j] && d[i].b - d[i].a == d[j].b - d[j].a && !memcmp(s + d[i].a, s + d[j].a, d[i].b - d[i].a)) {
                    dup[i] = 1; ndup++;
                }
        if (ndup) {
            dstr o = {0};
            dstr_add(&o, "[");
            int first = 1;
            for (size_t i = 0; i < nd; i++) {
                if (dup[i]) continue;
                if (!first) dstr_add(&o, ", ");
                first = 0;
                dstr_addn(&o, s + d[i].a, d[i].b - d[i].a);
            }
            dstr_add(&o, "]");
            char *t = dstr_take(&o);
            if (t) { free(s); s = t; n = strlen(s); }
            else t_oom = 1;
            notef(note, ns, "dropped %s%ld duplicate cells", "", ndup);
        }
        free(dup);
    }
    free(d);
    /* Step 4: make it an array. */
    const char *b; size_t bl;
    doc_strip(s, n, &b, &bl);
    dstr o = {0};
    int appended = 0;
    if (!(bl && b[0] == '[')) dstr_add(&o, "[");
    if (bl && b[bl - 1] == ']') dstr_addn(&o, b, bl);
    else {
        appended = 1;
        while (bl && b[bl - 1] == ',') bl--;
        bl = rstrip_len(b, bl);
        dstr_addn(&o, b, bl);
        dstr_add(&o, "]");
    }
    free(s);
    s = dstr_take(&o);
    if (!s) return NULL;
    n = strlen(s);
    /* Step 5: parse; else salvage each complete dict; else one incomplete dict. */
    json_object *arr = parse_whole(s, n);
    if (arr && !json_object_is_type(arr, json_type_array)) { json_object_put(arr); arr = NULL; }
    if (!arr) {
        nd = find_dicts(s, n, &d);
        json_object *v = jnew(json_object_new_array());
        if (!v) { free(d); free(s); return NULL; }
        for (size_t i = 0; i < nd; i++) {
            json_object *c = parse_whole(s + d[i].a, d[i].b - d[i].a);
            if (c) jpush(v, c);
        }
        free(d);
        if (json_object_array_length(v)) {
            arr = v;
            notef(note, ns, "salvaged %s%ld complete cells", "", (long)json_object_array_length(v));
        } else {
            json_object_put(v);
            arr = single_incomplete(s, appended);
            if (arr) notef(note, ns, "rebuilt the single incomplete cell%s", "", 0);
        }
    }
    free(s);
    if (!arr) {
        notef(note, ns, "nothing could be salvaged%s", "", 0);
        return jnew(json_object_new_array());
    }
    return dedup_pairs(arr, note, ns);
}

/* --------------------------------------------------------------- parse */

long long doc_map_coord(double v, double scale, long long lim, int *clamped) {
    double m = trunc(v / scale);   /* Python int(float(v) / scale) */
    if (m < 0) { m = 0; *clamped = 1; }
    if (m > (double)lim) { m = (double)lim; *clamped = 1; }
    return (long long)m;
}

static int map_cell(json_object *cell, double sx, double sy, int ow, int oh, int *clamped) {
    double b[4];
    if (!raw_bbox(cell, b)) return 0;
    long long m[4];
    int c = 0;
    for (int i = 0; i < 4; i++) m[i] = doc_map_coord(b[i], i % 2 ? sy : sx, i % 2 ? oh : ow, &c);
    json_object *bb = jnew(json_object_new_array());
    for (int i = 0; i < 4; i++) jpush(bb, json_object_new_int64(m[i]));
    jset(cell, "bbox", bb);
    *clamped = c;
    return 1;
}

/* Upstream's strict path: a non-empty array whose every cell is an object with a mappable bbox. */
static int strict_ok(json_object *arr) {
    if (!arr || !json_object_is_type(arr, json_type_array) || json_object_array_length(arr) == 0) return 0;
    double b[4];
    for (size_t i = 0; i < json_object_array_length(arr); i++)
        if (!raw_bbox(json_object_array_get_idx(arr, i), b)) return 0;
    return 1;
}

dots_status doc_layout_parse(const char *response, int input_w, int input_h, int orig_w, int orig_h,
                             doc_layout *out, dots_error *e) {
    memset(out, 0, sizeof *out);
    if (!response) response = "";
    if (input_w <= 0 || input_h <= 0 || orig_w <= 0 || orig_h <= 0)
        return dots_fail(e, DOTS_E_ARG, "layout: bad sizes (input %dx%d, original %dx%d)", input_w, input_h, orig_w,
                         orig_h);
    t_oom = 0;
    json_object *arr = parse_whole(response, strlen(response));
    if (t_oom) {
        json_object_put(arr);
        return dots_fail(e, DOTS_E_NOMEM, "out of memory parsing the model's layout JSON");
    }
    if (!strict_ok(arr)) {
        if (arr) json_object_put(arr);
        out->filtered = 1;
        arr = doc_layout_repair(response, out->note, sizeof out->note);
        if (!arr) return dots_fail(e, DOTS_E_NOMEM, "out of memory repairing the model's layout JSON");
        /* keep objects only: the rest cannot be drawn or written as cells */
        json_object *objs = jnew(json_object_new_array());
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            json_object *c = json_object_array_get_idx(arr, i);
            if (json_object_is_type(c, json_type_object)) jpush(objs, json_object_get(c));
        }
        json_object_put(arr);
        arr = objs;
        if (!arr) return dots_fail(e, DOTS_E_NOMEM, "out of memory repairing the model's layout JSON");
        /* upstream's Markdown for a filtered page: the cells' text joined by blank lines */
        dstr t = {0};
        int first = 1;
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            const char *tx = doc_cell_text(json_object_array_get_idx(arr, i));
            if (!tx) continue;
            if (!first) dstr_add(&t, "\n\n");
            first = 0;
            dstr_add(&t, tx);
        }
        out->text = dstr_take(&t);
        if (!out->text) { json_object_put(arr); return dots_fail(e, DOTS_E_NOMEM, "out of memory joining text"); }
    }
    double sx = (double)input_w / orig_w, sy = (double)input_h / orig_h;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        int c = 0;
        if (map_cell(json_object_array_get_idx(arr, i), sx, sy, orig_w, orig_h, &c)) out->n_clamped += c;
        else out->n_bad_bbox++;
    }
    if (t_oom) {  /* some cell could not be built or mapped */
        json_object_put(arr);
        doc_layout_free(out);
        return dots_fail(e, DOTS_E_NOMEM, "out of memory building the layout cells");
    }
    out->cells = arr;
    return DOTS_OK;
}

void doc_layout_free(doc_layout *l) {
    if (!l) return;
    if (l->cells) json_object_put(l->cells);
    free(l->text);
    memset(l, 0, sizeof *l);
}

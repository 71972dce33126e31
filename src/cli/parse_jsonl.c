/* The per-document JSONL record store (see parse_jsonl.h). */
#include "cli/parse_jsonl.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "base/error.h"
#include "doc/outfile.h"
#include "doc/strutil.h"
#include "io/config.h"

#define MAX_JSONL_BYTES (1ull << 31)

static int page_of(json_object *r) {
    json_object *v;
    return json_object_object_get_ex(r, "page_no", &v) ? json_object_get_int(v) : 0;
}

/* Inserts rec at its page_no place; returns 0 on OOM (rec not taken). */
static int insert(jsonl_store *s, json_object *rec) {
    int p = page_of(rec), i = 0;
    while (i < s->n && page_of(s->recs[i]) < p) i++;
    if (i < s->n && page_of(s->recs[i]) == p) {
        json_object_put(s->recs[i]);
        s->recs[i] = rec;
        return 1;
    }
    if (s->n == s->cap) {
        int nc = s->cap ? s->cap * 2 : 16;
        json_object **r = realloc(s->recs, (size_t)nc * sizeof *r);
        if (!r) return 0;
        s->recs = r;
        s->cap = nc;
    }
    memmove(s->recs + i + 1, s->recs + i, (size_t)(s->n - i) * sizeof *s->recs);
    s->recs[i] = rec;
    s->n++;
    return 1;
}

dots_status jsonl_open(jsonl_store *s, const char *path, dots_error *e) {
    memset(s, 0, sizeof *s);
    dots_status st = doc_path(s->path, sizeof s->path, e, "%s", path);
    if (st) return st;
    struct stat sb;
    if (stat(path, &sb) != 0) return errno == ENOENT ? DOTS_OK : dots_fail(e, DOTS_E_IO, "%s: %s", path, strerror(errno));
    char *text;
    size_t len;
    if ((st = read_file(path, MAX_JSONL_BYTES, &text, &len, e))) return st;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        const char *b;
        size_t bl;
        doc_strip(line, strlen(line), &b, &bl);
        if (bl) {
            json_object *r = json_tokener_parse(b);
            if (!r || !json_object_is_type(r, json_type_object)) {
                json_object_put(r);
                s->n_unreadable++;
            } else if (!insert(s, r)) {
                json_object_put(r);
                st = dots_fail(e, DOTS_E_NOMEM, "%s: out of memory loading its records", path);
                break;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    if (st) jsonl_close(s);
    return st;
}

json_object *jsonl_find(const jsonl_store *s, int page_no) {
    for (int i = 0; i < s->n; i++)
        if (page_of(s->recs[i]) == page_no) return s->recs[i];
    return NULL;
}

static dots_status save(const jsonl_store *s, dots_error *e) {
    dstr d = {0};
    for (int i = 0; i < s->n; i++) {
        dstr_add(&d, json_object_to_json_string_ext(s->recs[i], JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        dstr_add(&d, "\n");
    }
    if (d.oom) { dstr_free(&d); return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory writing the records", s->path); }
    dots_status st = doc_write_atomic(s->path, d.p ? d.p : "", d.n, e);
    dstr_free(&d);
    return st;
}

dots_status jsonl_put(jsonl_store *s, json_object *rec, dots_error *e) {
    if (!insert(s, rec)) {
        json_object_put(rec);
        return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory adding a record", s->path);
    }
    return save(s, e);
}

void jsonl_close(jsonl_store *s) {
    for (int i = 0; i < s->n; i++) json_object_put(s->recs[i]);
    free(s->recs);
    memset(s, 0, sizeof *s);
}

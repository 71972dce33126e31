/* Scene-spotting answer parser (see scene.h). */
#include "doc/scene.h"
#include <stdlib.h>
#include <string.h>
#include "doc/layout.h"
#include "doc/strutil.h"

static const char *skip_ws(const char *p, const char *end) {
    int k;
    while (p < end && (k = doc_ws_at(p, (size_t)(end - p))) > 0) p += k;
    return p;
}

/* A number (int or decimal, optional sign) at p; returns the end or NULL. */
static const char *number(const char *p, const char *end, double *v) {
    char buf[64];
    size_t n = 0;
    while (p + n < end && n < sizeof buf - 1 && strchr("+-.0123456789eE", p[n])) n++;
    if (!n) return NULL;
    memcpy(buf, p, n);
    buf[n] = 0;
    char *stop;
    *v = strtod(buf, &stop);
    return stop == buf ? NULL : p + (stop - buf);
}

/* "(x, y)" at p (after whitespace); returns the end or NULL. */
static const char *point(const char *p, const char *end, double xy[2]) {
    p = skip_ws(p, end);
    if (p >= end || *p != '(') return NULL;
    if (!(p = number(skip_ws(p + 1, end), end, &xy[0]))) return NULL;
    p = skip_ws(p, end);
    if (p >= end || *p != ',') return NULL;
    if (!(p = number(skip_ws(p + 1, end), end, &xy[1]))) return NULL;
    p = skip_ws(p, end);
    return p < end && *p == ')' ? p + 1 : NULL;
}

/* One line into pts (model-input pixels) and its text span; 0 if it is not a scene line. */
static int parse_line(const char *p, const char *end, double pts[8], const char **text, size_t *text_len) {
    for (int i = 0; i < 4; i++) {
        if (i) {
            p = skip_ws(p, end);
            if (p < end && *p == ',') p++;
        }
        if (!(p = point(p, end, pts + 2 * i))) return 0;
    }
    doc_strip(p, (size_t)(end - p), text, text_len);
    return 1;
}

static dots_status add_quad(doc_scene *s, int *cap, const double pts[8], const char *t, size_t tl, double sx, double sy,
                            int ow, int oh, dots_error *e) {
    if (s->n == *cap) {
        int nc = *cap ? *cap * 2 : 16;
        dots_quad *q = realloc(s->quads, (size_t)nc * sizeof *q);
        if (!q) return dots_fail(e, DOTS_E_NOMEM, "out of memory for %d scene text lines", nc);
        s->quads = q;
        *cap = nc;
    }
    dots_quad *q = &s->quads[s->n];
    char *text = malloc(tl + 1);
    if (!text) return dots_fail(e, DOTS_E_NOMEM, "out of memory for a scene text line");
    memcpy(text, t, tl);
    text[tl] = 0;
    int clamped = 0;
    for (int i = 0; i < 8; i++) q->pts[i] = (int)doc_map_coord(pts[i], i % 2 ? sy : sx, i % 2 ? oh : ow, &clamped);
    q->text = text;
    s->n++;
    s->n_clamped += clamped;
    return DOTS_OK;
}

dots_status doc_scene_parse(const char *response, int input_w, int input_h, int orig_w, int orig_h, doc_scene *out,
                            dots_error *e) {
    memset(out, 0, sizeof *out);
    if (input_w <= 0 || input_h <= 0 || orig_w <= 0 || orig_h <= 0)
        return dots_fail(e, DOTS_E_ARG, "scene: bad sizes (input %dx%d, original %dx%d)", input_w, input_h, orig_w, orig_h);
    double sx = (double)input_w / orig_w, sy = (double)input_h / orig_h;
    int cap = 0;
    for (const char *p = response ? response : ""; *p;) {
        const char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p);
        double pts[8];
        const char *t, *b;
        size_t tl, bl;
        doc_strip(p, (size_t)(end - p), &b, &bl);
        if (bl && parse_line(p, end, pts, &t, &tl)) {
            dots_status st = add_quad(out, &cap, pts, t, tl, sx, sy, orig_w, orig_h, e);
            if (st) { doc_scene_free(out); return st; }
        } else if (bl) {
            out->n_skipped++;
        }
        p = nl ? nl + 1 : end;
    }
    return DOTS_OK;
}

void doc_scene_free(doc_scene *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) free((char *)s->quads[i].text);
    free(s->quads);
    memset(s, 0, sizeof *s);
}

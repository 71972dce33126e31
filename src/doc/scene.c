/* Scene-spotting answer parser (see scene.h). */
#include "doc/scene.h"
#include <stdlib.h>
#include <string.h>
#include "doc/layout.h"
#include "doc/strutil.h"

/* Upstream's pattern (dots.mocr layout_utils.parse_scene_text_output), by hand:
 *   \(\s*(\d+)\s*,\s*(\d+)\s*\)\s*,\s*  x3, then  \(\s*(\d+)\s*,\s*(\d+)\s*\)\s*  (.*?)
 *   (?=\(\s*\d+\s*,\s*\d+\s*\)|\Z)   with DOTALL: the text runs to the next "(x, y)" or the end. */
static const char *skip_space(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v') p++;
    return p;
}

/* \d+ at p into *v (saturating; such numbers are not pixels anyway); NULL if none. */
static const char *digits(const char *p, double *v) {
    if (*p < '0' || *p > '9') return NULL;
    double x = 0;
    for (; *p >= '0' && *p <= '9'; p++) x = x < 1e15 ? x * 10 + (*p - '0') : x;
    *v = x;
    return p;
}

/* "(x, y)" exactly at p; returns its end or NULL. */
static const char *point(const char *p, double xy[2]) {
    if (*p != '(') return NULL;
    if (!(p = digits(skip_space(p + 1), &xy[0]))) return NULL;
    p = skip_space(p);
    if (*p != ',') return NULL;
    if (!(p = digits(skip_space(p + 1), &xy[1]))) return NULL;
    p = skip_space(p);
    return *p == ')' ? p + 1 : NULL;
}

/* Four points at p, the first three followed by a comma; returns the end or NULL. */
static const char *four_points(const char *p, double pts[8]) {
    for (int i = 0; i < 4; i++) {
        if (!(p = point(p, pts + 2 * i))) return NULL;
        p = skip_space(p);
        if (i < 3) {
            if (*p != ',') return NULL;
            p = skip_space(p + 1);
        }
    }
    return p;
}

/* The next position at or after p where a single "(x, y)" starts, or the end. */
static const char *next_point(const char *p) {
    double xy[2];
    for (; *p; p++)
        if (*p == '(' && point(p, xy)) return p;
    return p;
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
    const char *p = response ? response : "";
    while (*p) {  /* finditer: the leftmost match from p, then on from its end */
        double pts[8];
        const char *start = p, *end = NULL;
        for (; *start && !(*start == '(' && (end = four_points(start, pts))); start++) {}
        if (!*start) break;
        const char *stop = next_point(end), *t;
        size_t tl;
        doc_strip(end, (size_t)(stop - end), &t, &tl);
        if (tl) {
            dots_status st = add_quad(out, &cap, pts, t, tl, sx, sy, orig_w, orig_h, e);
            if (st) { doc_scene_free(out); return st; }
        } else {
            out->n_skipped++;  /* upstream keeps only instances with text */
        }
        p = stop;
    }
    return DOTS_OK;
}

void doc_scene_free(doc_scene *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) free((char *)s->quads[i].text);
    free(s->quads);
    memset(s, 0, sizeof *s);
}

#define _GNU_SOURCE /* memmem */
#include "doc/markdown.h"
#include <stdlib.h>
#include <string.h>
#include "doc/layout.h"
#include "doc/png.h"
#include "doc/strutil.h"

static char *dupn(const char *s, size_t n) {
    char *r = malloc(n + 1);
    if (!r) return NULL;
    memcpy(r, s, n);
    r[n] = 0;
    return r;
}

char *doc_clean_text(const char *text) {
    const char *b; size_t n;
    doc_strip(text, strlen(text), &b, &n);
    dstr o = {0};
    size_t i = 0;
    while (i < n) {
        int k = doc_ws_at(b + i, n - i);
        if (k) {
            while (i < n && (k = doc_ws_at(b + i, n - i)) > 0) i += (size_t)k;
            dstr_addn(&o, " ", 1);
        } else {
            dstr_addn(&o, b + i, 1);
            i++;
        }
    }
    char *r = dstr_take(&o);
    return r ? r : NULL;
}

static int starts(const char *s, size_t n, const char *p) { size_t k = strlen(p); return n >= k && !memcmp(s, p, k); }
static int ends(const char *s, size_t n, const char *p) { size_t k = strlen(p); return n >= k && !memcmp(s + n - k, p, k); }

/* Python s[2:-2] */
static void mid(const char *s, size_t n, const char **b, size_t *len) {
    if (n <= 4) { *b = s; *len = 0; return; }
    *b = s + 2; *len = n - 4;
}

static char *block(const char *s, size_t n) {
    dstr o = {0};
    dstr_add(&o, "$$\n"); dstr_addn(&o, s, n); dstr_add(&o, "\n$$");
    return dstr_take(&o);
}

static const char *find(const char *s, size_t n, const char *p) {
    size_t k = strlen(p);
    return k <= n ? memmem(s, n, p, k) : NULL;
}

/* re.search(r'.*\\\[.*\\\].*') : "\[" then "\]" later on the same line. */
static int bracket_on_one_line(const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - s) : n;
        const char *o = find(s + i, end - i, "\\[");
        if (o && find(o + 2, (size_t)(s + end - (o + 2)), "\\]")) return 1;
        i = end + 1;
    }
    return 0;
}

/* re.findall(r'\$([^$]+)\$') non-empty: two '$' with at least one other character between. */
static int inline_dollar(const char *s, size_t n) {
    const char *p = memchr(s, '$', n);
    while (p) {
        const char *q = memchr(p + 1, '$', (size_t)(s + n - p - 1));
        if (!q) return 0;
        if (q > p + 1) return 1;
        p = q;
    }
    return 0;
}

/* has_latex_markdown, for text that already failed the inline-$ test. */
static int has_latex(const char *s, size_t n) {
    const char *a = find(s, n, "$$");
    if (a && find(a + 2, (size_t)(s + n - a - 2), "$$")) return 1;
    for (size_t i = 0; i + 1 < n; i++) {
        char c = s[i + 1];
        if (s[i] == '\\' && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return 1;
    }
    const char *o = find(s, n, "\\[");
    if (o && find(o + 2, (size_t)(s + n - o - 2), "\\]")) return 1;
    o = find(s, n, "\\(");
    if (o && find(o + 2, (size_t)(s + n - o - 2), "\\)")) return 1;
    return 0;
}

static int ieq(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x += 32;
        if (y >= 'A' && y <= 'Z') y += 32;
        if (x != y) return 0;
    }
    return 1;
}

/* Length of a preamble command starting at s (case-insensitive), 0 if none:
 * \documentclass{..} \usepackage{..} \usepackage[..]{..} \begin{document} \end{document} */
static size_t preamble_at(const char *s, size_t n) {
    static const char *fixed[] = {"\\begin{document}", "\\end{document}"};
    for (int k = 0; k < 2; k++) {
        size_t l = strlen(fixed[k]);
        if (n >= l && ieq(s, fixed[k], l)) return l;
    }
    static const char *cmds[] = {"\\documentclass", "\\usepackage"};
    for (int k = 0; k < 2; k++) {
        size_t l = strlen(cmds[k]), i = l;
        if (n < l || !ieq(s, cmds[k], l)) continue;
        if (k == 1 && i < n && s[i] == '[') {
            const char *c = memchr(s + i, ']', n - i);
            if (!c) continue;
            i = (size_t)(c - s) + 1;
        }
        if (i < n && s[i] == '{' && i + 1 < n && s[i + 1] != '}') {
            const char *c = memchr(s + i + 1, '}', n - i - 1);
            if (c) return (size_t)(c - s) + 1;
        }
    }
    return 0;
}

/* clean_latex_preamble: upstream applies the patterns one after another; the
 * commands cannot overlap, so one left-to-right pass removes the same text. */
static char *strip_preamble(const char *s, size_t n) {
    dstr o = {0};
    for (size_t i = 0; i < n;) {
        size_t k = s[i] == '\\' ? preamble_at(s + i, n - i) : 0;
        if (k) i += k;
        else dstr_addn(&o, &s[i++], 1);
    }
    return dstr_take(&o);
}

char *doc_formula_markdown(const char *text) {
    const char *t; size_t n;
    doc_strip(text, strlen(text), &t, &n);
    const char *in; size_t inl;
    if (starts(t, n, "$$") && ends(t, n, "$$")) {
        mid(t, n, &in, &inl);
        doc_strip(in, inl, &in, &inl);
        if (!memchr(in, '$', inl)) return block(in, inl);
        return dupn(t, n);
    }
    if (starts(t, n, "\\[") && ends(t, n, "\\]")) {
        mid(t, n, &in, &inl);
        doc_strip(in, inl, &in, &inl);
        return block(in, inl);
    }
    if (bracket_on_one_line(t, n)) return dupn(t, n);
    if (inline_dollar(t, n)) return dupn(t, n);
    if (!has_latex(t, n)) return dupn(t, n);
    char *owned = NULL;
    if (find(t, n, "usepackage")) {
        owned = strip_preamble(t, n);
        if (!owned) return NULL;
        t = owned; n = strlen(owned);
    }
    if (n >= 1 && t[0] == '`' && t[n - 1] == '`') { t = n >= 2 ? t + 1 : t; n = n >= 2 ? n - 2 : 0; }
    char *r = block(t, n);
    free(owned);
    return r;
}

static int is_hf(const char *cat) { return !strcmp(cat, "Page-header") || !strcmp(cat, "Page-footer"); }

dots_status doc_markdown(const dots_image *img, json_object *cells, int no_page_hf, char **out, dots_error *e) {
    *out = NULL;
    dstr o = {0};
    int first = 1;
    size_t n = cells && json_object_is_type(cells, json_type_array) ? json_object_array_length(cells) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(cells, i);
        const char *cat = doc_cell_category(c);
        const char *text = doc_cell_text(c);
        if (!text) text = "";
        if (no_page_hf && is_hf(cat)) continue;
        char *item = NULL;
        if (!strcmp(cat, "Picture")) {
            int b[4];
            dots_image crop = {0};
            dots_error ce;
            if (img && doc_cell_bbox(c, b) && doc_image_crop(img, b[0], b[1], b[2], b[3], &crop, &ce) == DOTS_OK) {
                unsigned char *png; size_t len;
                dots_status st = doc_png_encode(&crop, &png, &len, e);
                free(crop.rgb);
                if (st) { dstr_free(&o); return st; }
                char *b64 = doc_base64(png, len);
                free(png);
                if (!b64) { dstr_free(&o); return dots_fail(e, DOTS_E_NOMEM, "out of memory encoding a Picture"); }
                dstr d = {0};
                dstr_add(&d, "![](data:image/png;base64,"); dstr_add(&d, b64); dstr_add(&d, ")");
                free(b64);
                item = dstr_take(&d);
            } else {
                item = strdup("![]()"); /* no usable box: an empty image rather than a crash */
            }
        } else if (!strcmp(cat, "Formula")) {
            item = doc_formula_markdown(text);
        } else if (!strcmp(cat, "List-item")) {
            const char *b; size_t l;
            doc_strip(text, strlen(text), &b, &l);
            item = dupn(b, l);
        } else {
            item = doc_clean_text(text);
        }
        if (!item) { dstr_free(&o); return dots_fail(e, DOTS_E_NOMEM, "out of memory writing Markdown"); }
        if (!first) dstr_add(&o, "\n\n");
        first = 0;
        dstr_add(&o, item);
        free(item);
    }
    char *r = dstr_take(&o);
    if (!r) return dots_fail(e, DOTS_E_NOMEM, "out of memory writing Markdown");
    *out = r;
    return DOTS_OK;
}

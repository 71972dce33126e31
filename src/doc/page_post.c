/* Post-processing of one page's answer by prompt mode (upstream parser semantics,
 * docs/PARSE.md): layout modes -> repaired cells, Markdown, layout picture; scene ->
 * quadrilaterals drawn on the page; svg -> the SVG code; others -> the text as Markdown
 * and the page itself as the picture. */
#include <stdlib.h>
#include <string.h>
#include "doc/draw.h"
#include "doc/layout.h"
#include "doc/markdown.h"
#include "doc/page_result.h"
#include "doc/png.h"
#include "doc/scene.h"
#include "doc/strutil.h"
#include "doc/svg.h"

static dots_status oom(dots_error *e, const char *what) { return dots_fail(e, DOTS_E_NOMEM, "out of memory for %s", what); }

static dots_status set_picture(dots_page_result *r, const dots_image *pic, dots_error *e) {
    return doc_png_encode(pic, &r->picture_png, &r->picture_png_size, e);
}

/* The cells of L as public dots_cell entries (strings copied). */
static dots_status copy_cells(dots_page_result *r, json_object *cells, dots_error *e) {
    size_t n = json_object_array_length(cells);
    if (!n) return DOTS_OK;
    if (!(r->cells = calloc(n, sizeof *r->cells))) return oom(e, "the cells");
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(cells, i);
        dots_cell *d = &r->cells[r->n_cells++];
        d->has_bbox = doc_cell_bbox(c, d->bbox);
        const char *t = doc_cell_text(c);
        d->category = strdup(doc_cell_category(c));
        d->text = t ? strdup(t) : NULL;
        if (!d->category || (t && !d->text)) return oom(e, "the cells");
    }
    return DOTS_OK;
}

/* Upstream's Markdown of a filtered page: the salvaged cells' text (without header and
 * footer for the _nohf variant). */
static char *filtered_nohf(json_object *cells) {
    dstr d = {0};
    int first = 1;
    for (size_t i = 0; i < json_object_array_length(cells); i++) {
        json_object *c = json_object_array_get_idx(cells, i);
        const char *cat = doc_cell_category(c), *t = doc_cell_text(c);
        if (!t || !strcmp(cat, "Page-header") || !strcmp(cat, "Page-footer")) continue;
        if (!first) dstr_add(&d, "\n\n");
        first = 0;
        dstr_add(&d, t);
    }
    if (!d.p && !d.oom) dstr_add(&d, "");
    return dstr_take(&d);
}

static dots_status layout_markdown(dots_page_result *r, const doc_layout *L, const dots_image *origin, dots_error *e) {
    if (L->filtered) {
        r->markdown = strdup(L->text ? L->text : "");
        r->markdown_nohf = filtered_nohf(L->cells);
        return r->markdown && r->markdown_nohf ? DOTS_OK : oom(e, "the Markdown");
    }
    dots_status st = doc_markdown(origin, L->cells, 0, &r->markdown, e);
    return st ? st : doc_markdown(origin, L->cells, 1, &r->markdown_nohf, e);
}

static dots_status post_layout(dots_page_result *r, const dots_image *origin, const dots_parse_opts *o, dots_error *e) {
    doc_layout L;
    dots_status st = doc_layout_parse(r->raw_text, r->input_width, r->input_height, origin->width, origin->height, &L, e);
    if (st) return st;
    r->filtered = L.filtered;
    r->n_clamped = L.n_clamped;
    r->n_bad_bbox = L.n_bad_bbox;
    if (L.filtered && L.note[0] && !(r->repair_note = strdup(L.note))) st = oom(e, "the repair note");
    if (!st && !(r->cells_json = doc_layout_to_json(L.cells))) st = oom(e, "the cells' JSON");
    if (!st) st = copy_cells(r, L.cells, e);
    if (!st && !o->no_picture) {
        dots_image pic = {0};
        if (!(st = doc_draw_layout(origin, L.cells, &pic, e))) st = set_picture(r, &pic, e);
        dots_image_free(&pic);
    }
    if (!st && r->mode != DOTS_PROMPT_LAYOUT_ONLY) st = layout_markdown(r, &L, origin, e);
    doc_layout_free(&L);
    return st;
}

/* Upstream format_scene_text_to_markdown: a title, then "(x1, y1), ... (x4, y4) text\n" per
 * instance joined by "\n". */
static char *scene_markdown(const dots_page_result *r) {
    dstr d = {0};
    dstr_add(&d, "# Scene Text Results\n\n");
    for (int i = 0; i < r->n_quads; i++) {
        const int *p = r->quads[i].pts;
        if (i) dstr_add(&d, "\n");
        dstr_addf(&d, "(%d, %d), (%d, %d), (%d, %d), (%d, %d) ", p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]);
        dstr_add(&d, r->quads[i].text);
        dstr_add(&d, "\n");
    }
    return dstr_take(&d);
}

static dots_status post_scene(dots_page_result *r, const dots_image *origin, const dots_parse_opts *o, dots_error *e) {
    doc_scene S;
    dots_status st = doc_scene_parse(r->raw_text, r->input_width, r->input_height, origin->width, origin->height, &S, e);
    if (st) return st;
    r->quads = S.quads;  /* the result owns them now */
    r->n_quads = S.n;
    r->n_clamped = S.n_clamped;
    r->filtered = S.n == 0;  /* upstream: no instance parsed -> the raw answer stands */
    r->markdown = r->filtered ? strdup(r->raw_text) : scene_markdown(r);
    if (!r->markdown) return oom(e, "the Markdown");
    if (o->no_picture) return DOTS_OK;
    if (r->filtered) return set_picture(r, origin, e);
    dots_image pic = {0};
    if (!(st = doc_draw_quads(origin, r->quads, r->n_quads, &pic, e))) st = set_picture(r, &pic, e);
    dots_image_free(&pic);
    return st;
}

/* Upstream's Markdown of an SVG answer: the whole answer in an xml code block. */
static char *svg_markdown(const char *answer) {
    dstr d = {0};
    dstr_add(&d, "# Generated SVG Code\n\n```xml\n");
    dstr_add(&d, answer);
    dstr_add(&d, "\n```");
    return dstr_take(&d);
}

dots_status page_postprocess(dots_page_result *r, const dots_image *origin, const dots_parse_opts *o, dots_error *e) {
    if (!r->raw_text && !(r->raw_text = strdup(""))) return oom(e, "the answer");
    if (doc_mode_is_layout(r->mode)) return post_layout(r, origin, o, e);
    if (r->mode == DOTS_PROMPT_SCENE) return post_scene(r, origin, o, e);
    /* the text modes: their answer as Markdown (upstream), plus what the mode extracts */
    if (r->mode == DOTS_PROMPT_SVG) r->svg = doc_svg_extract(r->raw_text); /* NULL: no complete <svg> */
    r->markdown = r->mode == DOTS_PROMPT_SVG ? svg_markdown(r->raw_text) : strdup(r->raw_text);
    if (!r->markdown) return oom(e, "the Markdown");
    return o->no_picture ? DOTS_OK : set_picture(r, origin, e);
}

/* dots_page_result: freeing, and its JSON (the server's /v1/parse answer). */
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "base/mem.h"
#include "doc/png.h"

void dots_page_result_free(dots_page_result *r) {
    if (!r) return;
    for (int i = 0; i < r->n_cells; i++) {
        free((char *)r->cells[i].category);
        free((char *)r->cells[i].text);
    }
    free(r->cells);
    for (int i = 0; i < r->n_quads; i++) free((char *)r->quads[i].text);
    free(r->quads);
    free(r->markdown);
    free(r->markdown_nohf);
    free(r->raw_text);
    free(r->svg);
    free(r->cells_json);
    free(r->picture_png);
    free(r->repair_note);
    dots_free(r);
}

/* json-c constructors return NULL on OOM: every value goes through add(), which counts
 * a failure so the caller reports it once. */
typedef struct jb { int oom; } jb;

static void add(jb *b, json_object *o, const char *key, json_object *v) {
    if (!o || !v || json_object_object_add(o, key, v)) {
        json_object_put(v);
        b->oom = 1;
    }
}
static void push(jb *b, json_object *a, json_object *v) {
    if (!a || !v || json_object_array_add(a, v)) {
        json_object_put(v);
        b->oom = 1;
    }
}
static void add_str(jb *b, json_object *o, const char *key, const char *s) {
    if (s) add(b, o, key, json_object_new_string(s));
}

static json_object *int_array(jb *b, const int *v, int n) {
    json_object *a = json_object_new_array();
    for (int i = 0; i < n; i++) push(b, a, json_object_new_int(v[i]));
    return a;
}

static json_object *cells_json(jb *b, const dots_page_result *r) {
    json_object *a = json_object_new_array();
    for (int i = 0; i < r->n_cells; i++) {
        const dots_cell *c = &r->cells[i];
        json_object *o = json_object_new_object();
        if (c->has_bbox) add(b, o, "bbox", int_array(b, c->bbox, 4));
        add_str(b, o, "category", c->category);
        add_str(b, o, "text", c->text);
        push(b, a, o);
    }
    return a;
}

static json_object *quads_json(jb *b, const dots_page_result *r) {
    json_object *a = json_object_new_array();
    for (int i = 0; i < r->n_quads; i++) {
        json_object *o = json_object_new_object();
        add(b, o, "points", int_array(b, r->quads[i].pts, 8));
        add_str(b, o, "text", r->quads[i].text);
        push(b, a, o);
    }
    return a;
}

static json_object *timings_json(jb *b, const dots_page_result *r) {
    json_object *t = json_object_new_object();
    add(b, t, "render", json_object_new_double(r->seconds_render));
    add(b, t, "preprocess", json_object_new_double(r->seconds_preprocess));
    add(b, t, "vision", json_object_new_double(r->seconds_vision));
    add(b, t, "prefill", json_object_new_double(r->seconds_prefill));
    add(b, t, "decode", json_object_new_double(r->seconds_decode));
    add(b, t, "postprocess", json_object_new_double(r->seconds_postprocess));
    return t;
}

static void add_picture(jb *b, json_object *o, const dots_page_result *r) {
    if (!r->picture_png) return;
    char *s = doc_base64(r->picture_png, r->picture_png_size);
    if (!s) { b->oom = 1; return; }
    add_str(b, o, "picture_png_base64", s);
    free(s);
}

dots_status dots_page_result_to_json(const dots_page_result *r, int flags, char **out, dots_error *e) {
    if (!out || !r) return dots_fail(e, DOTS_E_ARG, "dots_page_result_to_json: needs a result and an output");
    *out = NULL;
    jb b = {0};
    json_object *o = json_object_new_object();
    if (!o) return dots_fail(e, DOTS_E_NOMEM, "out of memory for a page's JSON");
    add(&b, o, "page_no", json_object_new_int(r->page_index));
    add_str(&b, o, "prompt_mode", dots_prompt_mode_name(r->mode));
    add(&b, o, "width", json_object_new_int(r->width));
    add(&b, o, "height", json_object_new_int(r->height));
    if (r->dpi) add(&b, o, "dpi", json_object_new_int(r->dpi));
    add(&b, o, "input_width", json_object_new_int(r->input_width));
    add(&b, o, "input_height", json_object_new_int(r->input_height));
    if (r->cells || r->cells_json) add(&b, o, "cells", cells_json(&b, r));
    if (r->mode == DOTS_PROMPT_SCENE) add(&b, o, "quads", quads_json(&b, r));
    add_str(&b, o, "markdown", r->markdown);
    add_str(&b, o, "markdown_nohf", r->markdown_nohf);
    add_str(&b, o, "raw_text", r->raw_text);
    add_str(&b, o, "svg", r->svg);
    add_str(&b, o, "stop_reason", dots_stop_reason_name(r->stop));
    add(&b, o, "runaway", json_object_new_boolean(r->runaway));
    add(&b, o, "prompt_tokens", json_object_new_int(r->prompt_tokens));
    add(&b, o, "generated_tokens", json_object_new_int(r->generated_tokens));
    add(&b, o, "timings", timings_json(&b, r));
    add(&b, o, "filtered", json_object_new_boolean(r->filtered));
    add_str(&b, o, "repair", r->repair_note);
    add(&b, o, "clamped_cells", json_object_new_int(r->n_clamped));
    add(&b, o, "bad_bbox_cells", json_object_new_int(r->n_bad_bbox));
    if (flags & DOTS_JSON_PICTURE) add_picture(&b, o, r);
    const char *s = b.oom ? NULL : json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (s) *out = strdup(s);
    json_object_put(o);
    return *out ? DOTS_OK : dots_fail(e, DOTS_E_NOMEM, "out of memory for a page's JSON");
}

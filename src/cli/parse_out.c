/* Page outputs and records of `dotsocr parse` (see parse_out.h). */
#include "cli/parse_out.h"
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "base/error.h"
#include "doc/outfile.h"

/* json-c constructors return NULL on OOM; rec_add drops the value and remembers it
 * (parse_write_page then fails with DOTS_E_NOMEM). One parse runs on one thread. */
static int g_rec_oom;
static void rec_add(json_object *rec, const char *key, json_object *v) {
    if (!rec || !v || json_object_object_add(rec, key, v)) {
        json_object_put(v);
        g_rec_oom = 1;
    }
}

int parse_record_add_string(json_object *rec, const char *key, const char *value) {
    g_rec_oom = 0;
    rec_add(rec, key, json_object_new_string(value));
    return g_rec_oom ? -1 : 0;
}

json_object *parse_record_new(int page_no) {
    json_object *rec = json_object_new_object();
    if (rec) rec_add(rec, "page_no", json_object_new_int(page_no));
    return rec;
}

void parse_record_error(json_object *rec, const dots_error *e) {
    rec_add(rec, "error", json_object_new_string(e->msg));
    rec_add(rec, "error_kind", json_object_new_string(dots_status_name(e->code)));
}

/* Writes SAVE<suffix> and records its path under key. */
static dots_status put_file(const char *dir, const char *name, const char *suffix, const void *data, size_t n,
                            json_object *rec, const char *key, dots_error *e) {
    char path[4096];
    dots_status st = doc_path(path, sizeof path, e, "%s/%s%s", dir, name, suffix);
    if (!st) st = doc_write_atomic(path, data, n, e);
    if (!st) rec_add(rec, key, json_object_new_string(path));
    return st;
}
static dots_status put_text(const char *dir, const char *name, const char *suffix, const char *text, json_object *rec,
                            const char *key, dots_error *e) {
    return put_file(dir, name, suffix, text, strlen(text), rec, key, e);
}

static void rec_push(json_object *arr, json_object *v) {
    if (!arr || !v || json_object_array_add(arr, v)) {
        json_object_put(v);
        g_rec_oom = 1;
    }
}

/* The scene instances as upstream writes them: [{"points": [x1, y1, ... x4, y4], "text"}],
 * or {"raw": answer} when none parsed; NULL on OOM. */
static char *quads_json(const dots_page_result *r) {
    json_object *a = r->n_quads ? json_object_new_array() : json_object_new_object();
    if (!a) return NULL;
    if (!r->n_quads) rec_add(a, "raw", json_object_new_string(r->raw_text));
    for (int i = 0; i < r->n_quads; i++) {
        json_object *q = json_object_new_object(), *pts = json_object_new_array();
        for (int k = 0; k < 8; k++) rec_push(pts, json_object_new_int(r->quads[i].pts[k]));
        rec_add(q, "points", pts);
        rec_add(q, "text", json_object_new_string(r->quads[i].text));
        rec_push(a, q);
    }
    const char *s = g_rec_oom ? NULL : json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *out = s ? strdup(s) : NULL;
    json_object_put(a);
    return out;
}

static dots_status write_files(const char *dir, const char *name, const dots_page_result *r, json_object *rec,
                               dots_error *e) {
    dots_status st = DOTS_OK;
    if (r->cells_json) st = put_text(dir, name, ".json", r->cells_json, rec, "layout_info_path", e);
    if (!st && r->mode == DOTS_PROMPT_SCENE) {
        char *js = quads_json(r);
        st = js ? put_text(dir, name, ".json", js, rec, "layout_info_path", e)
                : dots_fail(e, DOTS_E_NOMEM, "out of memory writing the scene lines of %s", name);
        free(js);
    }
    if (!st && r->picture_png)
        st = put_file(dir, name, ".png", r->picture_png, r->picture_png_size, rec, "layout_image_path", e);
    if (!st && r->filtered && r->cells_json) /* keep the model's own words next to the repaired cells */
        st = put_text(dir, name, "_raw.txt", r->raw_text, rec, "raw_output_path", e);
    if (!st && r->markdown) st = put_text(dir, name, ".md", r->markdown, rec, "md_content_path", e);
    if (!st && r->markdown_nohf) st = put_text(dir, name, "_nohf.md", r->markdown_nohf, rec, "md_content_nohf_path", e);
    if (!st && r->svg) st = put_text(dir, name, ".svg", r->svg, rec, "svg_path", e);
    return st;
}

dots_status parse_write_page(const char *dir, const char *name, const char *input, const dots_page_result *r,
                             json_object *rec, dots_error *e) {
    g_rec_oom = 0;
    rec_add(rec, "width", json_object_new_int(r->width));
    rec_add(rec, "height", json_object_new_int(r->height));
    if (r->dpi) rec_add(rec, "dpi", json_object_new_int(r->dpi));
    rec_add(rec, "prompt_mode", json_object_new_string(dots_prompt_mode_name(r->mode)));
    rec_add(rec, "input_height", json_object_new_int(r->input_height));
    rec_add(rec, "input_width", json_object_new_int(r->input_width));
    if (r->cells_json) rec_add(rec, "clamped_cells", json_object_new_int(r->n_clamped));
    if (r->repair_note) rec_add(rec, "repair", json_object_new_string(r->repair_note));
    dots_status st = write_files(dir, name, r, rec, e);
    rec_add(rec, "filtered", json_object_new_boolean(r->filtered));
    rec_add(rec, "stop_reason", json_object_new_string(dots_stop_reason_name(r->stop)));
    rec_add(rec, "prompt_tokens", json_object_new_int(r->prompt_tokens));
    rec_add(rec, "generated_tokens", json_object_new_int(r->generated_tokens));
    json_object *t = json_object_new_object();
    rec_add(t, "preprocess", json_object_new_double(r->seconds_preprocess));
    rec_add(t, "vision", json_object_new_double(r->seconds_vision));
    rec_add(t, "prefill", json_object_new_double(r->seconds_prefill));
    rec_add(t, "decode", json_object_new_double(r->seconds_decode));
    rec_add(rec, "timings", t);
    rec_add(rec, "file_path", json_object_new_string(input));
    if (!st && g_rec_oom) st = dots_fail(e, DOTS_E_NOMEM, "out of memory building the record of %s", name);
    if (!st && r->runaway)
        st = dots_fail(e, DOTS_E_LIMIT, "runaway generation: stopped by %s after %d tokens (outputs saved, %s)",
                       dots_stop_reason_name(r->stop), r->generated_tokens, r->filtered ? "repaired" : "as generated");
    return st;
}

static int file_exists(json_object *rec, const char *key) {
    json_object *v;
    struct stat sb;
    if (!json_object_object_get_ex(rec, key, &v)) return 0;
    const char *p = json_object_get_string(v);
    return p && stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

int parse_record_complete(json_object *rec, dots_prompt_mode mode) {
    json_object *v;
    if (!rec || json_object_object_get_ex(rec, "error", &v)) return 0;
    if (!json_object_object_get_ex(rec, "prompt_mode", &v) || strcmp(json_object_get_string(v), dots_prompt_mode_name(mode)))
        return 0;
    static const char *const keys[] = {"layout_info_path", "layout_image_path", "raw_output_path", "md_content_path",
                                       "md_content_nohf_path", "svg_path"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)  /* every file it lists is there */
        if (json_object_object_get_ex(rec, keys[i], &v) && !file_exists(rec, keys[i])) return 0;
    int layout = mode == DOTS_PROMPT_LAYOUT_ALL || mode == DOTS_PROMPT_LAYOUT_ONLY || mode == DOTS_PROMPT_WEB;
    int has_md = mode != DOTS_PROMPT_LAYOUT_ONLY;
    return file_exists(rec, "layout_image_path") && (!layout || file_exists(rec, "layout_info_path")) &&
           (!has_md || file_exists(rec, "md_content_path")) &&
           (!(layout && has_md) || file_exists(rec, "md_content_nohf_path"));
}

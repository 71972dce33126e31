/* dots_parse_page: one page through the model and the upstream parser's
 * post-processing for its prompt mode (docs/PARSE.md): render, prompt, generate,
 * then layout repair + Markdown + picture (layout modes), quadrilaterals (scene),
 * SVG extraction (svg), or the answer as Markdown (text modes). */
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "doc/document.h"
#include "doc/draw.h"
#include "doc/layout.h"
#include "doc/markdown.h"
#include "doc/page_result.h"
#include "doc/png.h"
#include "doc/scene.h"
#include "doc/strutil.h"
#include "doc/svg.h"

#define DEFAULT_MAX_TOKENS 16384 /* upstream parser's max_completion_tokens */
#define GENERAL_SYSTEM "You are a helpful assistant."
#define GENERAL_QUESTION "Please describe the content of this image."

void dots_parse_opts_init(dots_parse_opts *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->mode = DOTS_PROMPT_LAYOUT_ALL;
}

static dots_status take_opts(const dots_parse_opts *in, dots_parse_opts *o, dots_error *e) {
    dots_parse_opts_init(o);
    if (!in) return DOTS_OK;
    if (in->struct_size < sizeof(size_t) || in->struct_size > sizeof *o)
        return dots_fail(e, DOTS_E_ARG, "dots_parse_opts: struct_size %zu is not that of any version (this one is %zu); "
                         "fill it with dots_parse_opts_init", in->struct_size, sizeof *o);
    memcpy(o, in, in->struct_size);
    o->struct_size = sizeof *o;
    if ((unsigned)o->mode >= DOTS_PROMPT_COUNT) return dots_fail(e, DOTS_E_ARG, "dots_parse_opts: unknown mode %d", (int)o->mode);
    if (o->mode == DOTS_PROMPT_GROUNDING && !o->has_bbox)
        return dots_fail(e, DOTS_E_ARG, "prompt mode grounding needs a bbox (x1, y1, x2, y2 in page pixels)");
    return DOTS_OK;
}

int doc_mode_is_layout(dots_prompt_mode m) {
    return m == DOTS_PROMPT_LAYOUT_ALL || m == DOTS_PROMPT_LAYOUT_ONLY || m == DOTS_PROMPT_WEB;
}

/* State of one call shared with the callbacks. */
typedef struct page_call {
    const dots_parse_opts *o;
    double t0;
    int cancelled;
} page_call;

static int call_progress(page_call *c, dots_phase phase, long done, long total) {
    if (c->o->on_progress && !c->cancelled) {
        dots_progress p = {phase, done, total, dots_now() - c->t0};
        if (c->o->on_progress(c->o->user, &p)) c->cancelled = 1;
    }
    return c->cancelled;
}
static int fwd_progress(void *user, const dots_progress *p) {
    page_call *c = user;
    return call_progress(c, p->phase, p->done, p->total);
}
static int fwd_text(void *user, const char *s, size_t n) {
    page_call *c = user;
    if (c->o->on_text && c->o->on_text(c->o->user, s, n)) c->cancelled = 1;
    return c->cancelled;
}

/* The user text of the mode; bbox mapped to model-input pixels for grounding (upstream
 * pre_process_bboxes: int(v / (orig/input))). */
static dots_status build_prompt(const dots_parse_opts *o, const dots_image *origin, int in_w, int in_h, char **out,
                                dots_error *e) {
    if (o->mode == DOTS_PROMPT_GENERAL) {
        *out = strdup(o->question ? o->question : GENERAL_QUESTION);
        return *out ? DOTS_OK : dots_fail(e, DOTS_E_NOMEM, "out of memory for the prompt");
    }
    int bbox[4] = {0, 0, 0, 0};
    if (o->mode == DOTS_PROMPT_GROUNDING) {
        double sx = (double)origin->width / in_w, sy = (double)origin->height / in_h;
        for (int i = 0; i < 4; i++) bbox[i] = (int)(o->bbox[i] / (i % 2 ? sy : sx));
    }
    /* svg: upstream dots.mocr fills the viewBox with the original image's size */
    return dots_prompt_text(o->mode, bbox, origin->width, origin->height, out, e);
}

static dots_status run_model(dots_engine *eng, page_call *c, const dots_image *origin, const dots_image *model_img,
                             dots_gen_result *res, dots_error *e) {
    const dots_parse_opts *o = c->o;
    int in_w = 0, in_h = 0;
    dots_status st = dots_engine_input_size(eng, model_img->width, model_img->height, o->min_pixels, o->max_pixels,
                                            &in_w, &in_h, NULL, e);
    char *prompt = NULL;
    if (!st) st = build_prompt(o, origin, in_w, in_h, &prompt, e);
    if (st) return st;
    dots_gen_opts g;
    memset(&g, 0, sizeof g);
    g.min_pixels = o->min_pixels;
    g.max_pixels = o->max_pixels;
    g.max_new_tokens = o->max_new_tokens > 0 ? o->max_new_tokens : DEFAULT_MAX_TOKENS;
    g.temperature = o->temperature;
    g.top_p = o->top_p;
    g.seed = o->seed;
    g.no_repetition_guard = o->no_repetition_guard;
    g.on_text = fwd_text;
    g.on_progress = fwd_progress;
    g.user = c;
    g.system_prompt = o->mode == DOTS_PROMPT_GENERAL ? GENERAL_SYSTEM : NULL;
    st = dots_generate(eng, model_img, 1, prompt, &g, res, e);
    free(prompt);
    return st;
}

dots_status dots_parse_page(dots_engine *eng, dots_document *doc, int page_index, const dots_parse_opts *opts_in,
                            dots_page_result **out, dots_error *e) {
    if (!out) return dots_fail(e, DOTS_E_ARG, "dots_parse_page: no result pointer");
    *out = NULL;
    if (!eng || !doc) return dots_fail(e, DOTS_E_ARG, "dots_parse_page: needs an engine and a document");
    dots_parse_opts o;
    dots_status st = take_opts(opts_in, &o, e);
    if (st) return st;
    page_call c = {&o, dots_now(), 0};
    dots_image origin = {0}, fitzed = {0};
    dots_gen_result gen;
    memset(&gen, 0, sizeof gen);
    dots_page_result *r = NULL;
    int dpi = 0;
    if (call_progress(&c, DOTS_PHASE_RENDER, 0, 1)) goto cancelled;
    if ((st = doc_render_for_model(doc, page_index, &origin, &fitzed, &dpi, e))) goto done;
    const dots_image *model_img = fitzed.rgb ? &fitzed : &origin;
    double t_render = dots_now() - c.t0;
    if ((st = run_model(eng, &c, &origin, model_img, &gen, e))) goto done;
    if (c.cancelled) goto cancelled;
    if (!(r = dots_calloc(sizeof *r, "the page result", e))) { st = DOTS_E_NOMEM; goto done; }
    r->page_index = page_index;
    r->mode = o.mode;
    r->width = origin.width;
    r->height = origin.height;
    r->dpi = dpi;
    page_result_take_gen(r, &gen, &o, t_render);
    double t_post = dots_now();
    call_progress(&c, DOTS_PHASE_POSTPROCESS, 0, 1);
    if ((st = page_postprocess(r, &origin, &o, e))) goto done;
    r->seconds_postprocess = dots_now() - t_post;
    *out = r;
    r = NULL;
    goto done;
cancelled:
    st = dots_fail(e, DOTS_E_INTERRUPTED, "%s page %d: cancelled", dots_doc_label(doc), page_index + 1);
done:
    dots_page_result_free(r);
    dots_gen_result_free(&gen);
    dots_image_free(&origin);
    dots_image_free(&fitzed);
    return st;
}

void page_result_take_gen(dots_page_result *r, dots_gen_result *g, const dots_parse_opts *o, double t_render) {
    r->input_width = g->input_width;
    r->input_height = g->input_height;
    r->raw_text = g->text;
    g->text = NULL;
    r->stop = g->stop;
    r->prompt_tokens = g->prompt_tokens;
    r->generated_tokens = g->generated_tokens;
    r->seconds_render = t_render;
    r->seconds_preprocess = g->seconds_preprocess;
    r->seconds_vision = g->seconds_vision;
    r->seconds_prefill = g->seconds_prefill;
    r->seconds_decode = g->seconds_decode;
    /* a runaway generation is a failed page for the CLI even though its output is kept */
    r->runaway = g->stop == DOTS_STOP_REPETITION || g->stop == DOTS_STOP_CONTEXT ||
                 (g->stop == DOTS_STOP_MAX_TOKENS && !o->max_new_tokens_given);
}

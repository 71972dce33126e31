/* dots_parse_page: one page through the model and the upstream parser's
 * post-processing for its prompt mode (docs/PARSE.md): render, prompt, generate,
 * then layout repair + Markdown + picture (layout modes), quadrilaterals (scene),
 * SVG extraction (svg), or the answer as Markdown (text modes). */
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "base/opts.h"
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
    dots_status st = opts_take(o, sizeof *o, in, "dots_parse_opts", e);
    if (st) return st;
    if ((unsigned)o->mode >= DOTS_PROMPT_COUNT) return dots_fail(e, DOTS_E_ARG, "dots_parse_opts: unknown mode %d", (int)o->mode);
    if (o->mode == DOTS_PROMPT_GROUNDING && !o->has_bbox)
        return dots_fail(e, DOTS_E_ARG, "prompt mode grounding needs a bbox (x1, y1, x2, y2 in page pixels)");
    return DOTS_OK;
}

int doc_mode_is_layout(dots_prompt_mode m) {
    return m == DOTS_PROMPT_LAYOUT_ALL || m == DOTS_PROMPT_LAYOUT_ONLY || m == DOTS_PROMPT_WEB;
}

static int call_progress(page_job *j, dots_phase phase, long done, long total) {
    if (j->o.on_progress && !j->cancelled) {
        dots_progress p = {phase, done, total, dots_now() - j->t0, j->item};
        if (j->o.on_progress(j->o.user, &p)) j->cancelled = 1;
    }
    return j->cancelled;
}
static int fwd_progress(void *user, const dots_progress *p) {
    page_job *j = user;
    return call_progress(j, p->phase, p->done, p->total);
}
static int fwd_text(void *user, const char *s, size_t n) {
    page_job *j = user;
    if (j->o.on_text && j->o.on_text(j->o.user, s, n)) j->cancelled = 1;
    return j->cancelled;
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

/* The generation options of the page (the job is their callbacks' user). */
static void gen_opts(page_job *j) {
    const dots_parse_opts *o = &j->o;
    dots_gen_opts *g = &j->g;
    dots_gen_opts_init(g);
    g->min_pixels = o->min_pixels;
    g->max_pixels = o->max_pixels;
    g->max_new_tokens = o->max_new_tokens > 0 ? o->max_new_tokens : DEFAULT_MAX_TOKENS;
    g->temperature = o->temperature;
    g->top_p = o->top_p;
    g->seed = o->seed;
    g->no_repetition_guard = o->no_repetition_guard;
    g->rep_min_cycles = o->rep_min_cycles;
    g->rep_min_tokens = o->rep_min_tokens;
    g->rep_max_period = o->rep_max_period;
    g->on_text = o->on_text ? fwd_text : NULL;
    g->on_progress = fwd_progress;
    g->user = j;
    g->system_prompt = o->mode == DOTS_PROMPT_GENERAL ? GENERAL_SYSTEM : NULL;
}

dots_status page_job_init(page_job *j, dots_document *doc, int page_index, int item, const dots_parse_opts *opts_in,
                          dots_error *e) {
    memset(j, 0, sizeof *j);
    j->doc = doc;
    j->page_index = page_index;
    j->item = item;
    j->t0 = dots_now();
    return take_opts(opts_in, &j->o, e);
}

const dots_image *page_model_image(const page_job *j) { return j->fitzed.rgb ? &j->fitzed : &j->origin; }

static dots_status cancelled(page_job *j, dots_error *e) {
    return dots_fail(e, DOTS_E_INTERRUPTED, "%s page %d: cancelled", dots_doc_label(j->doc), j->page_index + 1);
}

dots_status page_prepare(dots_engine *eng, page_job *j, dots_error *e) {
    if (call_progress(j, DOTS_PHASE_RENDER, 0, 1)) return cancelled(j, e);
    dots_status st = doc_render_for_model(j->doc, j->page_index, &j->origin, &j->fitzed, &j->dpi, e);
    if (st) return st;
    j->t_render = dots_now() - j->t0;
    const dots_image *model_img = page_model_image(j);
    int in_w = 0, in_h = 0;
    st = dots_engine_input_size(eng, model_img->width, model_img->height, j->o.min_pixels, j->o.max_pixels, &in_w,
                                &in_h, NULL, e);
    if (!st) st = build_prompt(&j->o, &j->origin, in_w, in_h, &j->prompt, e);
    if (!st) gen_opts(j);
    return st;
}

dots_status page_finish(page_job *j, dots_status st, dots_gen_result *gen, dots_page_result **out, dots_error *e) {
    *out = NULL;
    dots_page_result *r = NULL;
    if (st) goto done;
    if (j->cancelled) { st = cancelled(j, e); goto done; }
    if (!(r = dots_calloc(sizeof *r, "the page result", e))) { st = DOTS_E_NOMEM; goto done; }
    r->page_index = j->page_index;
    r->mode = j->o.mode;
    r->width = j->origin.width;
    r->height = j->origin.height;
    r->dpi = j->dpi;
    page_result_take_gen(r, gen, &j->o, j->t_render);
    double t_post = dots_now();
    call_progress(j, DOTS_PHASE_POSTPROCESS, 0, 1);
    if ((st = page_postprocess(r, &j->origin, &j->o, e))) goto done;
    r->seconds_postprocess = dots_now() - t_post;
    *out = r;
    r = NULL;
done:
    dots_page_result_free(r);
    dots_gen_result_free(gen);
    dots_image_free(&j->origin);
    dots_image_free(&j->fitzed);
    free(j->prompt);
    j->prompt = NULL;
    return st;
}

dots_status dots_parse_page(dots_engine *eng, dots_document *doc, int page_index, const dots_parse_opts *opts_in,
                            dots_page_result **out, dots_error *e) {
    if (!out) return dots_fail(e, DOTS_E_ARG, "dots_parse_page: no result pointer");
    *out = NULL;
    if (!eng || !doc) return dots_fail(e, DOTS_E_ARG, "dots_parse_page: needs an engine and a document");
    page_job j;
    dots_status st = page_job_init(&j, doc, page_index, 0, opts_in, e);
    if (st) return st;
    dots_gen_result gen;
    memset(&gen, 0, sizeof gen);
    st = page_prepare(eng, &j, e);
    if (!st) st = dots_generate(eng, page_model_image(&j), 1, j.prompt, &j.g, &gen, e);
    return page_finish(&j, st, &gen, out, e);
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

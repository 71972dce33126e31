/* The engine: checkpoint + vision tower + language model + tokenizer, and
 * dots_generate (MODEL_SPEC sections 3 and 5): prompt ids, context check before
 * any compute, vision tokens (packed; smaller micro-batches when memory runs
 * out), splicing into the <|imgpad|> positions, chunked prefill, then
 * token-by-token decoding with streaming, stop reasons and timings. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "base/opts.h"
#include "base/threadpool.h"
#include "dotsocr.h"
#include "image/image.h"
#include "io/checkpoint.h"
#include "kernels/kernels.h"
#include "model/lm.h"
#include "io/gguf.h"
#include "text/tok_gguf.h"
#include "model/sampler.h"
#include "model/vision.h"
#include "text/tokenizer.h"
#include "model/engine_internal.h"


const char *dots_stop_reason_name(dots_stop_reason r) {
    switch (r) {
    case DOTS_STOP_EOS: return "eos";
    case DOTS_STOP_MAX_TOKENS: return "max-tokens";
    case DOTS_STOP_REPETITION: return "repetition";
    case DOTS_STOP_CONTEXT: return "context";
    case DOTS_STOP_CALLBACK: return "callback";
    case DOTS_STOP_ERROR: return "error";
    }
    return "?";
}

void dots_engine_close(dots_engine *eng) {
    if (!eng) return;
    pthread_mutex_destroy(&eng->generate_lock);
    pool_destroy(eng->pool);
    tok_free(eng->tok);
    lm_free(eng->lm);
    vision_free(eng->vis);
    ckpt_close(eng->ck);
    dots_free(eng);
}

void dots_engine_opts_init(dots_engine_opts *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
}

void dots_gen_opts_init(dots_gen_opts *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
}

void dots_batch_opts_init(dots_batch_opts *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
}

dots_status dots_engine_open(const dots_engine_opts *opts_in, dots_engine **out, dots_error *e) {
    if (out) *out = NULL;
    if (!opts_in || !out) return dots_fail(e, DOTS_E_ARG, "dots_engine_open: no options or no place for the engine");
    dots_engine_opts opts_copy, *opts = &opts_copy;
    dots_engine_opts_init(opts);
    dots_status st = opts_take(opts, sizeof *opts, opts_in, "dots_engine_opts", e);
    if (st) return st;
    if (!opts->model_dir) return dots_fail(e, DOTS_E_ARG, "dots_engine_open: no model folder given");
    dots_engine *g = dots_calloc(sizeof *g, "the engine", e);
    if (!g) return DOTS_E_NOMEM;
    pthread_mutex_init(&g->generate_lock, NULL);
    char path[4096];
    if ((st = opts->mmproj ? ckpt_open_gguf(opts->model_dir, opts->mmproj, &g->ck, e) : ckpt_open(opts->model_dir, &g->ck, e)))
        goto fail;
    if ((st = vision_load(g->ck, &g->vis, e))) goto fail;
    if ((st = lm_load(g->ck, &g->lm, e))) goto fail;
    if ((st = ckpt_check_unclaimed(g->ck, "", e))) goto fail;
    snprintf(path, sizeof path, "%s/tokenizer.json", opts->model_dir);
    if (g->ck->lm_gguf) snprintf(path, sizeof path, "%s", g->ck->lm_gguf->path); /* tokenizer from its metadata */
    if ((st = g->ck->lm_gguf ? tok_load_gguf(g->ck->lm_gguf, &g->tok, e) : tok_load(path, &g->tok, e))) goto fail;
    const dots_text_config *tc = &g->ck->config.text;
    g->imgpad_id = tok_token_id(g->tok, "<|imgpad|>");
    if (g->imgpad_id < 0 || g->imgpad_id != tc->image_token_id) {
        st = dots_fail(e, DOTS_E_MODEL, "%s: the tokenizer's <|imgpad|> id is %d but config.json's image_token_id is %d; "
                       "tokenizer.json and config.json do not belong together", path, g->imgpad_id, tc->image_token_id);
        goto fail;
    }
    if (tok_vocab_size(g->tok) > tc->vocab_size) {
        st = dots_fail(e, DOTS_E_MODEL, "%s: the tokenizer has %d tokens but the model's vocab_size is %d; "
                       "tokenizer.json does not belong to this checkpoint", path, tok_vocab_size(g->tok), tc->vocab_size);
        goto fail;
    }
    g->max_context = opts->max_context > 0 ? opts->max_context
                     : g->ck->config.max_length > 0 ? g->ck->config.max_length : 32768;
    g->prefill_chunk = opts->prefill_chunk > 0 ? opts->prefill_chunk : 512;
    g->vision_batch = opts->vision_batch_patches;
    if (!(g->pool = pool_create(opts->threads, e))) { st = e ? e->code : DOTS_E_NOMEM; goto fail; }
    const st_tensor *w = ckpt_find(g->ck, "model.embed_tokens.weight");
    g->lm_dtype = w ? dtype_name(w->dtype) : "?";
    *out = g;
    return DOTS_OK;
fail:
    dots_engine_close(g);
    return st;
}

void dots_gen_result_free(dots_gen_result *res) {
    if (!res) return;
    free(res->text);
    res->text = NULL;
}

/* ------------------------------------------------------------- progress */

int engine_report(progress_hook *h, dots_phase phase, long done, long total) {
    if (h->o->on_progress && !h->cancelled) {
        dots_progress p = {phase, done, total, dots_now() - h->t0, 0};
        if (h->o->on_progress(h->o->user, &p)) h->cancelled = 1;
    }
    return h->cancelled;
}

/* vision_forward's stage hook: one report per finished block (a cancel is honoured after
 * the micro-batch, as vision_forward cannot stop half way). */
static void on_vision_stage(void *user, const char *name, const float *data, int rows, int cols) {
    (void)data; (void)rows; (void)cols;
    progress_hook *h = user;
    if (strncmp(name, "block", 5) || !strstr(name, ".out")) return;
    engine_report(h, DOTS_PHASE_VISION, ++h->vis_done, h->vis_total);
}

/* ---------------------------------------------------------- vision step */

/* Runs images [i0, i1) of the packed batch; pix_off/tok_off: their first patch/token. */
static dots_status vision_range(dots_engine *g, const dots_patches *p, int i0, int i1, size_t pix_off, size_t tok_off,
                                float *vt, progress_hook *h, dots_error *e) {
    int D = vision_out_dim(g->vis);
    return vision_forward(g->vis, g->pool, p->pixels + pix_off * DOTS_PATCH_DIM, (const int (*)[3])(p->grid + i0),
                          i1 - i0, vt + tok_off * D, h->o->on_progress ? on_vision_stage : NULL, h, e);
}

/* The images in micro-batches of at most `budget` patches (consecutive images; one
 * image larger than that gets a call of its own). */
static dots_status run_batches(dots_engine *g, const dots_patches *p, const int *ppi, int *batch_of, int budget,
                               float *vt, progress_hook *h, dots_error *e) {
    int n = p->n_images;
    image_plan_batches(ppi, n, budget, batch_of);
    long n_batches = 0;
    for (int i = 0; i < n; i++) n_batches += i == 0 || batch_of[i] != batch_of[i - 1];
    h->vis_done = 0;
    h->vis_total = n_batches * g->ck->config.vision.num_hidden_layers;
    size_t pix = 0, tok = 0;
    for (int i0 = 0; i0 < n;) {
        if (h->cancelled) return DOTS_OK;  /* the caller sees h->cancelled */
        int i1 = i0;
        size_t np = 0;
        while (i1 < n && batch_of[i1] == batch_of[i0]) np += (size_t)ppi[i1++];
        dots_status st = vision_range(g, p, i0, i1, pix, tok, vt, h, e);
        if (st) return st;
        pix += np;
        tok += np / 4;
        i0 = i1;
    }
    return DOTS_OK;
}

/* All images packed in one call (or in micro-batches of budget0 patches if > 0); on
 * DOTS_E_NOMEM, again in micro-batches of half as many patches, and so on, down to one
 * image per call. */
dots_status engine_run_vision(dots_engine *g, const dots_patches *p, int budget0, float *vt, progress_hook *h,
                             dots_error *e) {
    int n = p->n_images, *ppi = malloc(sizeof(int) * (size_t)n * 2);
    if (!ppi) return dots_fail(e, DOTS_E_NOMEM, "out of memory planning vision micro-batches");
    int *batch_of = ppi + n, biggest = 0;
    for (int i = 0; i < n; i++) {
        ppi[i] = p->grid[i][1] * p->grid[i][2];
        if (ppi[i] > biggest) biggest = ppi[i];
    }
    int budget = budget0 > 0 && budget0 < p->n_patches ? budget0 : p->n_patches;
    dots_status st;
    for (;;) {
        if (budget < biggest) budget = biggest;
        st = run_batches(g, p, ppi, batch_of, budget, vt, h, e);
        if (st != DOTS_E_NOMEM || budget == biggest) break;
        budget /= 2;
        if (budget < biggest) budget = biggest; /* retried smaller, silently: the library never prints */
    }
    free(ppi);
    if (st == DOTS_E_NOMEM)
        dots_context(e, "the vision tower does not fit in memory even one image at a time; lower dots_gen_opts.max_pixels");
    return st;
}

/* ------------------------------------------------------------- generate */

dots_status engine_context_error(dots_engine *g, int n_ids, long vis_tokens, int n_images, long max_pixels,
                                 dots_error *e) {
    long text = n_ids - vis_tokens, room = (long)g->max_context - text - 1;
    char advice[512];
    /* one vision token per 28x28 pixels */
    long px = n_images > 0 && room > 0 ? room * 784 / n_images : 0;
    if (px >= g->ck->config.preproc.min_pixels)
        snprintf(advice, sizeof advice, "lower dots_gen_opts.max_pixels to at most about %ld per image (now %ld; less "
                 "still leaves room for a longer answer) or raise dots_engine_opts.max_context", px, max_pixels);
    else
        snprintf(advice, sizeof advice, "%s raise dots_engine_opts.max_context", n_images > 0 ?
                 "even the smallest images do not fit;" : "shorten the prompt text or");
    return dots_fail(e, DOTS_E_LIMIT, "the prompt needs %d tokens (%ld of them for %d image%s) but the context limit is "
                     "%d tokens, with at least one more needed for the answer: %s", n_ids, vis_tokens, n_images,
                     n_images == 1 ? "" : "s", g->max_context, advice);
}

size_t dots_engine_kv_bytes_per_token(const dots_engine *g) { return g ? lm_kv_bytes_per_token(g->lm) : 0; }

/* One request alone: the batch scheduler with one sequence, so a request gives
 * the same tokens whichever way it is run. */
dots_status dots_generate(dots_engine *g, const dots_image *images, int n_images, const char *prompt_text,
                          const dots_gen_opts *opts, dots_gen_result *res, dots_error *e) {
    if (!res) return dots_fail(e, DOTS_E_ARG, "dots_generate: no result given");
    memset(res, 0, sizeof *res);
    dots_batch_request rq;
    memset(&rq, 0, sizeof rq);
    rq.images = images;
    rq.n_images = n_images;
    rq.prompt_text = prompt_text;
    rq.opts = opts;
    dots_batch_opts bo;
    dots_batch_opts_init(&bo);
    bo.max_batch = 1;
    dots_status st = dots_generate_batch(g, &rq, 1, &bo, e);
    if (st) return st;
    *res = rq.result;
    if (rq.status && e) *e = rq.error;
    return rq.status;
}

/* ----------------------------------------------------------------- info */

dots_status dots_engine_get_info(const dots_engine *g, dots_engine_info *info, dots_error *e) {
    if (!g || !info || info->struct_size < sizeof(size_t))
        return dots_fail(e, DOTS_E_ARG, "dots_engine_get_info: needs an engine and an info with struct_size set");
    dots_engine_info v;
    memset(&v, 0, sizeof v);
    v.struct_size = info->struct_size < sizeof v ? info->struct_size : sizeof v;
    v.model_dir = g->ck->dir;
    v.max_context = g->max_context;
    v.min_pixels = g->ck->config.preproc.min_pixels;
    v.max_pixels = g->ck->config.preproc.max_pixels;
    v.patch_size = g->ck->config.preproc.patch_size;
    v.merge_size = g->ck->config.preproc.merge_size;
    v.dtype = g->lm_dtype;
    v.isa = isa_name(isa_active());
    v.threads = pool_threads(g->pool);
    v.vocab_size = g->ck->config.text.vocab_size;
    v.hidden_size = g->ck->config.text.hidden_size;
    memcpy(info, &v, v.struct_size); /* an older caller's shorter struct gets its fields only */
    return DOTS_OK;
}

dots_status dots_engine_input_size(const dots_engine *g, int width, int height, long min_pixels, long max_pixels,
                                   int *input_width, int *input_height, int *vision_tokens, dots_error *e) {
    if (!g) return dots_fail(e, DOTS_E_ARG, "dots_engine_input_size: no engine");
    long minp = min_pixels > 0 ? min_pixels : g->ck->config.preproc.min_pixels;
    long maxp = max_pixels > 0 ? max_pixels : g->ck->config.preproc.max_pixels;
    int h = 0, w = 0, np = 0;
    dots_status st = image_smart_resize(height, width, minp, maxp, &h, &w, e);
    if (!st) st = image_patch_count(width, height, minp, maxp, &np, e);
    if (st) return st;
    if (input_width) *input_width = w;
    if (input_height) *input_height = h;
    if (vision_tokens) *vision_tokens = np / 4;
    return DOTS_OK;
}

const char *dots_phase_name(dots_phase p) {
    switch (p) {
    case DOTS_PHASE_RENDER: return "render";
    case DOTS_PHASE_PREPROCESS: return "preprocess";
    case DOTS_PHASE_VISION: return "vision";
    case DOTS_PHASE_PREFILL: return "prefill";
    case DOTS_PHASE_DECODE: return "decode";
    case DOTS_PHASE_POSTPROCESS: return "postprocess";
    }
    return "?";
}

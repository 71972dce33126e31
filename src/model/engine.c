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
#include "base/threadpool.h"
#include "dotsocr.h"
#include "image/image.h"
#include "io/checkpoint.h"
#include "model/lm.h"
#include "model/sampler.h"
#include "model/vision.h"
#include "text/tokenizer.h"

struct dots_engine {
    dots_ckpt *ck;
    dots_vision *vis;
    dots_lm *lm;
    dots_tokenizer *tok;
    dots_pool *pool;
    int max_context, prefill_chunk, imgpad_id, vision_batch;
    pthread_mutex_t generate_lock; /* concurrent dots_generate calls on one engine take turns */
};

const char *dots_stop_reason_name(dots_stop_reason r) {
    switch (r) {
    case DOTS_STOP_EOS: return "eos";
    case DOTS_STOP_MAX_TOKENS: return "max-tokens";
    case DOTS_STOP_REPETITION: return "repetition";
    case DOTS_STOP_CONTEXT: return "context";
    case DOTS_STOP_CALLBACK: return "callback";
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

dots_status dots_engine_open(const dots_engine_opts *opts, dots_engine **out, dots_error *e) {
    if (out) *out = NULL;
    if (!opts || !opts->model_dir || !out) return dots_fail(e, DOTS_E_ARG, "dots_engine_open: no model folder given");
    dots_engine *g = dots_calloc(sizeof *g, "the engine", e);
    if (!g) return DOTS_E_NOMEM;
    pthread_mutex_init(&g->generate_lock, NULL);
    dots_status st;
    char path[4096];
    if ((st = ckpt_open(opts->model_dir, &g->ck, e))) goto fail;
    if ((st = vision_load(g->ck, &g->vis, e))) goto fail;
    if ((st = lm_load(g->ck, &g->lm, e))) goto fail;
    if ((st = ckpt_check_unclaimed(g->ck, "", e))) goto fail;
    snprintf(path, sizeof path, "%s/tokenizer.json", opts->model_dir);
    if ((st = tok_load(path, &g->tok, e))) goto fail;
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

/* ---------------------------------------------------------- vision step */

/* Runs images [i0, i1) of the packed batch; pix_off/tok_off: their first patch/token. */
static dots_status vision_range(dots_engine *g, const dots_patches *p, int i0, int i1, size_t pix_off, size_t tok_off,
                                float *vt, dots_error *e) {
    int D = vision_out_dim(g->vis);
    return vision_forward(g->vis, g->pool, p->pixels + pix_off * DOTS_PATCH_DIM, (const int (*)[3])(p->grid + i0),
                          i1 - i0, vt + tok_off * D, NULL, NULL, e);
}

/* The images in micro-batches of at most `budget` patches (consecutive images; one
 * image larger than that gets a call of its own). */
static dots_status run_batches(dots_engine *g, const dots_patches *p, const int *ppi, int *batch_of, int budget,
                               float *vt, dots_error *e) {
    int n = p->n_images;
    image_plan_batches(ppi, n, budget, batch_of);
    size_t pix = 0, tok = 0;
    for (int i0 = 0; i0 < n;) {
        int i1 = i0;
        size_t np = 0;
        while (i1 < n && batch_of[i1] == batch_of[i0]) np += (size_t)ppi[i1++];
        dots_status st = vision_range(g, p, i0, i1, pix, tok, vt, e);
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
static dots_status run_vision(dots_engine *g, const dots_patches *p, int budget0, float *vt, dots_error *e) {
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
        st = run_batches(g, p, ppi, batch_of, budget, vt, e);
        if (st != DOTS_E_NOMEM || budget == biggest) break;
        budget /= 2;
        if (budget < biggest) budget = biggest;
        fprintf(stderr, "dotsocr: the vision tower ran out of memory; retrying in micro-batches of up to %d patches\n",
                budget);
    }
    free(ppi);
    if (st == DOTS_E_NOMEM)
        dots_context(e, "the vision tower does not fit in memory even one image at a time; lower max-pixels");
    return st;
}

/* --------------------------------------------------------------- output */

typedef struct {
    char *buf;
    size_t len, cap;
} strbuf;

static int sb_add(strbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        while (nc < b->len + n + 1) nc *= 2;
        char *nb = realloc(b->buf, nc);
        if (!nb) return -1;
        b->buf = nb;
        b->cap = nc;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = 0;
    return 0;
}

/* Appends a streamed piece and hands it to the callback; returns 1 if the callback asks to stop. */
static dots_status emit(strbuf *b, char *piece, size_t n, const dots_gen_opts *o, int *stop, dots_error *e) {
    if (!piece || n == 0) { free(piece); return DOTS_OK; }
    int r = sb_add(b, piece, n);
    if (r == 0 && o->on_text && o->on_text(o->user, piece, n)) *stop = 1;
    free(piece);
    return r ? dots_fail(e, DOTS_E_NOMEM, "out of memory collecting the generated text") : DOTS_OK;
}

/* ------------------------------------------------------------- generate */

static dots_status context_error(dots_engine *g, int n_ids, long vis_tokens, int n_images, long max_pixels,
                                 dots_error *e) {
    long text = n_ids - vis_tokens, room = (long)g->max_context - text - 1;
    char advice[512];
    /* one vision token per 28x28 pixels */
    long px = n_images > 0 && room > 0 ? room * 784 / n_images : 0;
    if (px >= g->ck->config.preproc.min_pixels)
        snprintf(advice, sizeof advice, "lower max-pixels to at most about %ld per image (now %ld; less still leaves "
                 "room for a longer answer) or raise the context limit", px, max_pixels);
    else
        snprintf(advice, sizeof advice, "%s raise the context limit", n_images > 0 ? "even the smallest images do not fit;"
                 : "shorten the prompt text or");
    return dots_fail(e, DOTS_E_LIMIT, "the prompt needs %d tokens (%ld of them for %d image%s) but the context limit is "
                     "%d tokens, with at least one more needed for the answer: %s", n_ids, vis_tokens, n_images,
                     n_images == 1 ? "" : "s", g->max_context, advice);
}

dots_status dots_generate(dots_engine *g, const dots_image *images, int n_images, const char *prompt_text,
                          const dots_gen_opts *opts_in, dots_gen_result *res, dots_error *e) {
    if (!res) return dots_fail(e, DOTS_E_ARG, "dots_generate: no result given");
    memset(res, 0, sizeof *res);
    if (!g || n_images < 0 || (n_images > 0 && !images) || !prompt_text)
        return dots_fail(e, DOTS_E_ARG, "dots_generate: needs an engine, the images and a prompt text");
    dots_gen_opts o = {0};
    if (opts_in) o = *opts_in;
    pthread_mutex_lock(&g->generate_lock);
    const dots_config *cfg = &g->ck->config;
    long minp = o.min_pixels > 0 ? o.min_pixels : cfg->preproc.min_pixels;
    long maxp = o.max_pixels > 0 ? o.max_pixels : cfg->preproc.max_pixels;
    int V = cfg->text.vocab_size, D = cfg->text.hidden_size;

    dots_status st = DOTS_OK;
    int *pad = NULL, *ids = NULL;
    size_t n_ids = 0;
    dots_patches p = {0};
    float *vt = NULL, *x = NULL, *logits = NULL;
    dots_lm_state *s = NULL;
    dots_sampler smp = {0};
    dots_repguard guard = {0};
    tok_stream *ts = NULL;
    strbuf text = {0};
    double t0 = dots_now(), t1, t2, t3;

    /* 1. prompt ids and the context check, before any compute */
    long vis_tokens = 0;
    pad = malloc(sizeof(int) * (size_t)(n_images > 0 ? n_images : 1));
    if (!pad) { st = dots_fail(e, DOTS_E_NOMEM, "out of memory"); goto done; }
    for (int i = 0; i < n_images; i++) {
        int np = 0;
        if ((st = image_patch_count(images[i].width, images[i].height, minp, maxp, &np, e))) {
            dots_context(e, "image %d", i + 1);
            goto done;
        }
        pad[i] = np / 4;
        vis_tokens += pad[i];
    }
    if ((st = prompt_build_ids(g->tok, prompt_text, pad, n_images, &ids, &n_ids, e))) goto done;
    long n_pad = 0;
    for (size_t i = 0; i < n_ids; i++) n_pad += ids[i] == g->imgpad_id;
    if (n_pad != vis_tokens) {
        st = dots_fail(e, DOTS_E_ARG, "the prompt holds %ld <|imgpad|> tokens but the images give %ld vision tokens; "
                       "do not write <|imgpad|> in the prompt text", n_pad, vis_tokens);
        goto done;
    }
    if ((long long)n_ids + 1 > g->max_context) { st = context_error(g, (int)n_ids, vis_tokens, n_images, maxp, e); goto done; }
    res->prompt_tokens = (int)n_ids;

    /* 2. pixels */
    if (n_images > 0) {
        if ((st = image_to_patches(images, n_images, minp, maxp, cfg->preproc.mean, cfg->preproc.std, &p, e))) goto done;
        res->input_width = p.resized[0][0];
        res->input_height = p.resized[0][1];
        if ((long)p.n_patches != vis_tokens * 4) {
            st = dots_fail(e, DOTS_E_INTERNAL, "preprocessing gave %d patches where %ld were planned", p.n_patches,
                           vis_tokens * 4);
            goto done;
        }
    }
    t1 = dots_now();
    res->seconds_preprocess = t1 - t0;

    /* 3. vision tokens */
    if (vis_tokens > 0) {
        if (vision_out_dim(g->vis) != D) {
            st = dots_fail(e, DOTS_E_MODEL, "vision output width %d differs from the text hidden size %d",
                           vision_out_dim(g->vis), D);
            goto done;
        }
        if (!(vt = dots_alloc(sizeof(float) * (size_t)vis_tokens * D, "the vision tokens", e))) { st = DOTS_E_NOMEM; goto done; }
        if ((st = run_vision(g, &p, g->vision_batch, vt, e))) goto done;
    }
    dots_patches_free(&p);
    t2 = dots_now();
    res->seconds_vision = t2 - t1;

    /* 4. splice: the k-th <|imgpad|> takes the k-th vision token */
    if (!(x = dots_alloc(sizeof(float) * n_ids * D, "the prompt embeddings", e))) { st = DOTS_E_NOMEM; goto done; }
    if ((st = lm_embed(g->lm, ids, (int)n_ids, x, e))) goto done;
    for (size_t i = 0, k = 0; i < n_ids; i++)
        if (ids[i] == g->imgpad_id) memcpy(x + i * D, vt + (k++) * D, sizeof(float) * D);
    dots_free(vt);
    vt = NULL;

    /* 5. prefill */
    if (!(logits = dots_alloc(sizeof(float) * (size_t)V, "the logits", e))) { st = DOTS_E_NOMEM; goto done; }
    if ((st = lm_state_new(g->lm, g->max_context, g->prefill_chunk, &s, e))) goto done;
    if ((st = lm_forward(g->lm, s, g->pool, x, (int)n_ids, logits, 0, e))) goto done;
    dots_free(x);
    x = NULL;
    t3 = dots_now();
    res->seconds_prefill = t3 - t2;

    /* 6. decode */
    if ((st = sampler_init(&smp, V, o.temperature, o.top_p, o.seed, e))) goto done;
    if (!o.no_repetition_guard && (st = repguard_init(&guard, 0, 0, 0, e))) goto done;
    if (!(ts = tok_stream_new(g->tok, 1))) { st = dots_fail(e, DOTS_E_NOMEM, "out of memory for the text stream"); goto done; }
    for (int step = 0;; step++) {
        int t = sampler_pick(&smp, logits);
        if (o.on_step) o.on_step(o.user, step, logits, V, t);
        int eos = 0;
        for (int k = 0; k < cfg->n_eos; k++) eos |= t == cfg->eos_ids[k];
        if (eos) { res->stop = DOTS_STOP_EOS; break; }
        res->generated_tokens++;
        char *piece = NULL;
        size_t len = 0;
        int stop = 0;
        if ((st = tok_stream_push(ts, t, &piece, &len, e))) goto done;
        if ((st = emit(&text, piece, len, &o, &stop, e))) goto done;
        if (stop) { res->stop = DOTS_STOP_CALLBACK; break; }
        if (guard.hist && repguard_push(&guard, t)) { res->stop = DOTS_STOP_REPETITION; break; }
        if (o.max_new_tokens > 0 && res->generated_tokens >= o.max_new_tokens) { res->stop = DOTS_STOP_MAX_TOKENS; break; }
        /* as max_length upstream: prompt + answer never exceed the context limit */
        if ((long long)n_ids + res->generated_tokens >= g->max_context) { res->stop = DOTS_STOP_CONTEXT; break; }
        if ((st = lm_decode(g->lm, s, g->pool, t, logits, e))) goto done;
    }
    {
        char *piece = NULL;
        size_t len = 0;
        int stop = 0;
        if ((st = tok_stream_finish(ts, &piece, &len, e))) goto done;
        if ((st = emit(&text, piece, len, &o, &stop, e))) goto done;
    }
    res->seconds_decode = dots_now() - t3;
    if (!text.buf && sb_add(&text, "", 0)) { st = dots_fail(e, DOTS_E_NOMEM, "out of memory"); goto done; }
    res->text = text.buf;
    text.buf = NULL;
done:
    free(text.buf);
    if (ts) tok_stream_free(ts);
    repguard_free(&guard);
    sampler_free(&smp);
    lm_state_free(s);
    dots_free(logits);
    dots_free(x);
    dots_free(vt);
    dots_patches_free(&p);
    free(ids);
    free(pad);
    pthread_mutex_unlock(&g->generate_lock);
    return st;
}

/* One request's lifecycle (see gen_request.h). */
#include "model/gen_request.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "base/opts.h"

static int text_add(gen_text *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n + 1) {
            if (nc > SIZE_MAX / 2) return -1;
            nc *= 2;
        }
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

dots_status req_begin(dots_engine *g, gen_req *r, dots_batch_request *out, dots_error *e) {
    r->out = out;
    r->t0 = dots_now();
    dots_gen_opts_init(&r->o);
    if (out->opts) {
        dots_status st = opts_take(&r->o, sizeof r->o, out->opts, "dots_gen_opts", e);
        if (st) return st;
    }
    r->hook.o = &r->o;
    r->hook.t0 = r->t0;
    if (out->n_images < 0 || (out->n_images > 0 && !out->images) || !out->prompt_text)
        return dots_fail(e, DOTS_E_ARG, "the request needs its images (n_images >= 0) and a prompt text");
    const dots_config *cfg = &g->ck->config;
    r->minp = r->o.min_pixels > 0 ? r->o.min_pixels : cfg->preproc.min_pixels;
    r->maxp = r->o.max_pixels > 0 ? r->o.max_pixels : cfg->preproc.max_pixels;
    int n_images = out->n_images;
    r->pad = malloc(sizeof(int) * (size_t)(n_images > 0 ? n_images : 1));
    if (!r->pad) return dots_fail(e, DOTS_E_NOMEM, "out of memory for %d images", n_images);
    dots_status st;
    for (int i = 0; i < n_images; i++) {
        int np = 0;
        if ((st = image_patch_count(out->images[i].width, out->images[i].height, r->minp, r->maxp, &np, e)))
            return dots_context(e, "image %d", i + 1);
        r->pad[i] = np / 4;
        r->vis_tokens += r->pad[i];
    }
    if ((st = prompt_build_ids_sys(g->tok, r->o.system_prompt, out->prompt_text, r->pad, n_images, &r->ids, &r->n_ids, e))) return st;
    long n_pad = 0;
    for (size_t i = 0; i < r->n_ids; i++) n_pad += r->ids[i] == g->imgpad_id;
    if (n_pad != r->vis_tokens)
        return dots_fail(e, DOTS_E_ARG, "the prompt holds %ld <|imgpad|> tokens but the images give %ld vision tokens; "
                         "do not write <|imgpad|> in the prompt text", n_pad, r->vis_tokens);
    if ((long long)r->n_ids + 1 > g->max_context)
        return engine_context_error(g, (int)r->n_ids, r->vis_tokens, n_images, r->maxp, e);
    out->result.prompt_tokens = (int)r->n_ids;
    /* the answer never passes the context limit (as max_length upstream) */
    long long room = (long long)g->max_context - (long long)r->n_ids;
    long long answer = r->o.max_new_tokens > 0 && r->o.max_new_tokens < room ? r->o.max_new_tokens : room;
    r->positions = (long long)r->n_ids + answer;
    r->kv_bytes = lm_kv_bytes(g->lm, r->positions);
    r->tok_end = malloc(sizeof(size_t) * (size_t)(answer + 1));
    if (!r->tok_end) return dots_fail(e, DOTS_E_NOMEM, "out of memory for the answer's %lld token offsets", answer);
    int V = cfg->text.vocab_size;
    if ((st = sampler_init(&r->smp, V, r->o.temperature, r->o.top_p, r->o.seed, e))) return st;
    if (!r->o.no_repetition_guard) {
        if ((st = repguard_init(&r->guard, r->o.rep_max_period, r->o.rep_min_cycles, r->o.rep_min_tokens, e))) return st;
        if (!(r->tguard = malloc(sizeof *r->tguard)))
            return dots_fail(e, DOTS_E_NOMEM, "out of memory for the repetition guard");
        textguard_init(r->tguard, r->o.rep_min_cycles, r->o.rep_min_tokens);
    }
    if (!(r->ts = tok_stream_new(g->tok, 1))) return dots_fail(e, DOTS_E_NOMEM, "out of memory for the text stream");
    return DOTS_OK;
}

dots_status req_reserve(dots_engine *g, gen_req *r, dots_error *e) {
    dots_status st = lm_state_new_kv(g->lm, g->max_context, &r->s, e);
    if (!st) st = lm_state_reserve(r->s, r->positions, e);
    return st;
}

dots_status req_encode(dots_engine *g, gen_req *r, dots_error *e) {
    const dots_config *cfg = &g->ck->config;
    int D = cfg->text.hidden_size;
    dots_patches p = {0};
    float *vt = NULL;
    dots_status st = DOTS_OK;
    double t = dots_now();
    if (engine_report(&r->hook, DOTS_PHASE_PREPROCESS, 0, r->out->n_images)) goto done;
    if (r->out->n_images > 0) {
        if ((st = image_to_patches(r->out->images, r->out->n_images, r->minp, r->maxp, cfg->preproc.mean,
                                   cfg->preproc.std, &p, e)))
            goto done;
        r->out->result.input_width = p.resized[0][0];
        r->out->result.input_height = p.resized[0][1];
        if ((long)p.n_patches != r->vis_tokens * 4) {
            st = dots_fail(e, DOTS_E_INTERNAL, "preprocessing gave %d patches where %ld were planned", p.n_patches,
                           r->vis_tokens * 4);
            goto done;
        }
    }
    r->out->result.seconds_preprocess = dots_now() - t;
    t = dots_now();
    if (r->vis_tokens > 0) {
        if (vision_out_dim(g->vis) != D) {
            st = dots_fail(e, DOTS_E_MODEL, "vision output width %d differs from the text hidden size %d",
                           vision_out_dim(g->vis), D);
            goto done;
        }
        if (!(vt = dots_alloc(sizeof(float) * (size_t)r->vis_tokens * D, "the vision tokens", e))) { st = DOTS_E_NOMEM; goto done; }
        if ((st = engine_run_vision(g, &p, g->vision_batch, vt, &r->hook, e)) || r->hook.cancelled) goto done;
    }
    /* splice: the k-th <|imgpad|> takes the k-th vision token */
    if (!(r->x = dots_alloc(sizeof(float) * r->n_ids * D, "the prompt embeddings", e))) { st = DOTS_E_NOMEM; goto done; }
    if ((st = lm_embed(g->lm, r->ids, (int)r->n_ids, r->x, e))) goto done;
    for (size_t i = 0, k = 0; i < r->n_ids; i++)
        if (r->ids[i] == g->imgpad_id) memcpy(r->x + i * D, vt + (k++) * D, sizeof(float) * D);
    r->out->result.seconds_vision = dots_now() - t;
done:
    dots_free(vt);
    dots_patches_free(&p);
    r->t_vision = dots_now();
    return st;
}

/* Appends a streamed piece and hands it to the callback (*stop = 1 if it asks to stop). */
static dots_status emit(gen_req *r, char *piece, size_t n, int *stop, dots_error *e) {
    if (!piece || n == 0) { free(piece); return DOTS_OK; }
    int bad = text_add(&r->text, piece, n);
    if (!bad && r->o.on_text && r->o.on_text(r->o.user, piece, n)) *stop = 1;
    free(piece);
    return bad ? dots_fail(e, DOTS_E_NOMEM, "out of memory collecting the generated text") : DOTS_OK;
}

/* A loop was found: cut the text after its first cycle. */
static void trim_loop(gen_req *r, size_t cut, int period, int units) {
    dots_gen_result *res = &r->out->result;
    if (cut < r->text.len) {
        res->trimmed_bytes = r->text.len - cut;
        r->text.len = cut;
        r->text.buf[cut] = 0;
    }
    res->repetition_period = period;
    res->repetition_units = units;
    res->stop = DOTS_STOP_REPETITION;
}

/* The repetition guards on the token just added (number k of the answer); 1 if a loop. */
static int check_loop(gen_req *r, int t, long k, const char *piece, size_t len) {
    if (r->tguard && textguard_push(r->tguard, piece, len, k)) {
        const dots_textguard *tg = r->tguard;
        trim_loop(r, (size_t)tg->cut_byte, (int)(tg->tail_tokens / (tg->cycles > 0 ? tg->cycles : 1)), tg->period_units);
        return 1;
    }
    if (r->guard.hist && repguard_push(&r->guard, t)) {
        long keep = k + 1 - r->guard.tail + r->guard.period; /* tokens up to the end of the first cycle */
        trim_loop(r, keep > 0 ? r->tok_end[keep - 1] : 0, r->guard.period, 0);
        return 1;
    }
    return 0;
}

dots_status req_take(dots_engine *g, gen_req *r, const float *logits, int *done, dots_error *e) {
    const dots_config *cfg = &g->ck->config;
    dots_gen_result *res = &r->out->result;
    *done = 1;
    if (engine_report(&r->hook, DOTS_PHASE_DECODE, res->generated_tokens, r->o.max_new_tokens > 0 ? r->o.max_new_tokens : 0)) {
        res->stop = DOTS_STOP_CALLBACK;
        return DOTS_OK;
    }
    int t = sampler_pick(&r->smp, logits);
    if (r->o.on_step) r->o.on_step(r->o.user, r->step, logits, cfg->text.vocab_size, t);
    r->step++;
    int eos = 0;
    for (int k = 0; k < cfg->n_eos; k++) eos |= t == cfg->eos_ids[k];
    if (eos) { res->stop = DOTS_STOP_EOS; return DOTS_OK; }
    long k = res->generated_tokens++;
    char *piece = NULL;
    size_t len = 0;
    int stop = 0;
    size_t before = r->text.len;
    dots_status st = tok_stream_push(r->ts, t, &piece, &len, e);
    if (!st) st = emit(r, piece, len, &stop, e);
    if (st) return st;
    r->tok_end[k] = r->text.len;
    if (stop) { res->stop = DOTS_STOP_CALLBACK; return DOTS_OK; }
    if (check_loop(r, t, k, r->text.buf ? r->text.buf + before : "", r->text.len - before)) return DOTS_OK;
    if (r->o.max_new_tokens > 0 && res->generated_tokens >= r->o.max_new_tokens) { res->stop = DOTS_STOP_MAX_TOKENS; return DOTS_OK; }
    if ((long long)r->n_ids + res->generated_tokens >= g->max_context) { res->stop = DOTS_STOP_CONTEXT; return DOTS_OK; }
    r->next_token = t;
    *done = 0;
    return DOTS_OK;
}

void req_finish(gen_req *r, dots_status st, const dots_error *e) {
    dots_batch_request *out = r->out;
    dots_gen_result *res = &out->result;
    double now = dots_now();
    if (r->phase == REQ_DECODE) {
        /* the stream's held-back bytes, unless a loop's tail was cut */
        if (!st && res->stop != DOTS_STOP_REPETITION && r->ts) {
            char *piece = NULL;
            size_t len = 0;
            int stop = 0;
            st = tok_stream_finish(r->ts, &piece, &len, &out->error);
            if (!st) st = emit(r, piece, len, &stop, &out->error);
            e = &out->error;
        }
        res->seconds_prefill = r->t_decode - r->t_vision;
        res->seconds_decode = now - r->t_decode;
    }
    if (st) {
        if (e && e != &out->error) out->error = *e;
        out->error.code = st;
        if (r->phase == REQ_DECODE) res->stop = DOTS_STOP_ERROR; /* the text so far is kept */
    }
    if (st && r->phase != REQ_DECODE) {
        free(r->text.buf);
        r->text.buf = NULL;
    } else if (!r->text.buf && text_add(&r->text, "", 0)) {
        st = DOTS_E_NOMEM;
        snprintf(out->error.msg, sizeof out->error.msg, "out of memory for the answer text");
        out->error.code = st;
    }
    res->text = r->text.buf;
    r->text.buf = NULL;
    out->status = st;
    if (r->ts) tok_stream_free(r->ts);
    repguard_free(&r->guard);
    free(r->tguard);
    sampler_free(&r->smp);
    lm_state_free(r->s);
    dots_free(r->x);
    free(r->tok_end);
    free(r->ids);
    free(r->pad);
    if (!st && r->hook.cancelled && r->phase != REQ_DECODE) res->stop = DOTS_STOP_CALLBACK; /* an empty answer */
    memset(r, 0, sizeof *r);
    r->phase = REQ_DONE;
    r->out = out;
}

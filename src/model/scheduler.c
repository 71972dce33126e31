/* Continuous batching (dots_generate_batch): requests join and leave at token
 * boundaries. Each step runs one forward over every decoding sequence's next
 * row plus prefill chunks of new ones, up to step_tokens rows; a new request's
 * vision encode runs between steps; a KV budget admits requests in submission
 * order (a request that cannot fit now waits, one that never can is refused).
 * Prefill goes in chunks of the same size and at the same positions as a request
 * run alone, so every row meets the same kernels as it would alone. */
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "base/opts.h"
#include "model/gen_request.h"

typedef struct {
    dots_engine *g;
    gen_req *r;
    dots_batch_request *reqs;
    int n;
    const dots_batch_opts *bo;
    int max_batch, step_tokens, chunk;
    long long budget, kv_used;
    int active;               /* requests admitted and not finished */
    dots_lm_work *w;
    float *x;                 /* [step_tokens][hidden] the step's input rows */
    float *logits;            /* [max_batch][vocab] */
    dots_lm_state **segs;     /* [max_batch] */
    int *rows, *who;          /* [max_batch] rows per segment, its request */
} sched;

static void finish(sched *S, int i, dots_status st, const dots_error *e) {
    gen_req *r = &S->r[i];
    if (r->phase != REQ_WAITING) {
        S->active--;
        S->kv_used -= (long long)r->kv_bytes;
    }
    req_finish(r, st, e);
    if (S->bo && S->bo->on_done) S->bo->on_done(S->bo->user, i, r->out);
}

/* A request left empty for dots_batch_opts.on_start gets its content and begins now
 * (r->out is NULL until then). Returns non-zero if it failed (and is finished). */
static int start(sched *S, int i) {
    gen_req *r = &S->r[i];
    dots_batch_request *q = &S->reqs[i];
    dots_status st = S->bo->on_start(S->bo->user, i, q);
    if (!st) st = req_begin(S->g, r, q, &q->error);
    r->out = q;
    if (st) finish(S, i, st, &q->error);
    return st != DOTS_OK;
}

/* Admits waiting requests in order while slots and KV budget allow. */
static void admit(sched *S) {
    for (int i = 0; i < S->n && S->active < S->max_batch; i++) {
        gen_req *r = &S->r[i];
        if (r->phase != REQ_WAITING) continue;
        if (!r->out && start(S, i)) continue;
        dots_error *e = &r->out->error;
        if (S->budget > 0 && (long long)r->kv_bytes > S->budget) {
            dots_fail(e, DOTS_E_LIMIT, "request %d needs %zu bytes of KV cache (%lld positions: prompt %zu + answer) "
                      "but dots_batch_opts.kv_budget_bytes is %lld: it can never run; lower its "
                      "dots_gen_opts.max_new_tokens or max_pixels, or raise the budget", i, r->kv_bytes,
                      r->positions, r->n_ids, S->budget);
            finish(S, i, DOTS_E_LIMIT, e);
            continue;
        }
        if (S->budget > 0 && S->kv_used + (long long)r->kv_bytes > S->budget) return; /* waits its turn */
        dots_status st = req_reserve(S->g, r, e);
        r->phase = REQ_ENCODE;
        S->active++;
        S->kv_used += (long long)r->kv_bytes;
        if (st) finish(S, i, st, e);
    }
}

/* Vision encodes between steps: all admitted ones when nothing is decoding, else
 * one request's images per step (the slice a running decode may wait). */
static void encode(sched *S) {
    int running = 0;
    for (int i = 0; i < S->n; i++) running += S->r[i].phase == REQ_PREFILL || S->r[i].phase == REQ_DECODE;
    for (int i = 0; i < S->n; i++) {
        gen_req *r = &S->r[i];
        if (r->phase != REQ_ENCODE) continue;
        dots_status st = req_encode(S->g, r, &r->out->error);
        if (st || r->hook.cancelled) { finish(S, i, st, &r->out->error); continue; }
        r->phase = REQ_PREFILL;
        if (running) return;
    }
}

/* Fills the step: every decoding sequence's next row, then prefill chunks in
 * order while rows remain. Returns the number of segments. */
static int plan_step(sched *S, int *n_rows) {
    int D = S->g->ck->config.text.hidden_size, nseg = 0, R = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < S->n && nseg < S->max_batch; i++) {
            gen_req *r = &S->r[i];
            if (pass == 0 && r->phase == REQ_DECODE) {
                if (lm_embed(S->g->lm, &r->next_token, 1, S->x + (size_t)R * D, &r->out->error)) {
                    finish(S, i, r->out->error.code, &r->out->error);
                    continue;
                }
                S->rows[nseg] = 1;
            } else if (pass == 1 && r->phase == REQ_PREFILL) {
                int m = (int)r->n_ids - r->prefilled;
                if (m > S->chunk) m = S->chunk;
                if (R + m > S->step_tokens) return *n_rows = R, nseg;
                if (engine_report(&r->hook, DOTS_PHASE_PREFILL, r->prefilled, (long)r->n_ids)) {
                    finish(S, i, DOTS_OK, NULL);
                    continue;
                }
                memcpy(S->x + (size_t)R * D, r->x + (size_t)r->prefilled * D, sizeof(float) * (size_t)m * D);
                S->rows[nseg] = m;
            } else {
                continue;
            }
            S->segs[nseg] = r->s;
            S->who[nseg] = i;
            R += S->rows[nseg++];
        }
    *n_rows = R;
    return nseg;
}

/* Runs one planned step and hands each sequence its logits. */
static void run_step(sched *S, int nseg) {
    dots_engine *g = S->g;
    int V = g->ck->config.text.vocab_size;
    dots_error e = {0};
    dots_status st = lm_forward_batch(g->lm, S->w, g->pool, S->segs, S->rows, nseg, S->x, S->logits, &e);
    for (int q = 0; q < nseg; q++) {
        int i = S->who[q];
        gen_req *r = &S->r[i];
        if (st) { finish(S, i, st, &e); continue; }
        if (r->phase == REQ_PREFILL) {
            r->prefilled += S->rows[q];
            if (r->prefilled < (int)r->n_ids) continue;
            dots_free(r->x);
            r->x = NULL;
            r->phase = REQ_DECODE;
            r->t_decode = dots_now();
        }
        int done = 0;
        dots_status ts = req_take(g, r, S->logits + (size_t)q * V, &done, &r->out->error);
        if (ts || done) finish(S, i, ts, &r->out->error);
    }
}

static void sched_free(sched *S) {
    lm_work_free(S->w);
    dots_free(S->x);
    dots_free(S->logits);
    free(S->segs);
    free(S->rows);
    free(S->who);
    free(S->r);
}

static dots_status sched_init(sched *S, dots_engine *g, dots_batch_request *reqs, int n, const dots_batch_opts *bo,
                              dots_error *e) {
    memset(S, 0, sizeof *S);
    S->g = g; S->n = n; S->bo = bo; S->reqs = reqs;
    S->max_batch = bo && bo->max_batch > 0 ? bo->max_batch : 8;
    if (S->max_batch > 1024) S->max_batch = 1024;
    S->step_tokens = bo && bo->step_tokens > 0 ? bo->step_tokens : g->prefill_chunk + S->max_batch;
    if (S->step_tokens < S->max_batch) S->max_batch = S->step_tokens;
    S->chunk = g->prefill_chunk < S->step_tokens ? g->prefill_chunk : S->step_tokens;
    S->budget = bo ? bo->kv_budget_bytes : 0;
    int D = g->ck->config.text.hidden_size, V = g->ck->config.text.vocab_size;
    dots_status st = lm_work_new(g->lm, S->step_tokens, &S->w, e);
    if (st) return st;
    S->r = calloc((size_t)n, sizeof *S->r);
    S->segs = calloc((size_t)S->max_batch, sizeof *S->segs);
    S->rows = calloc((size_t)S->max_batch, sizeof *S->rows);
    S->who = calloc((size_t)S->max_batch, sizeof *S->who);
    S->x = dots_alloc(sizeof(float) * (size_t)S->step_tokens * D, "the batch step input", e);
    S->logits = S->x ? dots_alloc(sizeof(float) * (size_t)S->max_batch * V, "the batch logits", e) : NULL;
    if (!S->r || !S->segs || !S->rows || !S->who || !S->logits)
        return dots_fail(e, DOTS_E_NOMEM, "out of memory for the scheduler of %d requests (batch %d, %d rows a step)",
                         n, S->max_batch, S->step_tokens);
    return DOTS_OK;
}

static dots_status generate_batch_locked(dots_engine *g, dots_batch_request *reqs, int n, const dots_batch_opts *bo,
                                         dots_error *e) {
    if (n < 0 || (n > 0 && !reqs))
        return dots_fail(e, DOTS_E_ARG, "dots_generate_batch: needs an engine and n >= 0 requests");
    for (int i = 0; i < n; i++) {
        memset(&reqs[i].result, 0, sizeof reqs[i].result);
        memset(&reqs[i].error, 0, sizeof reqs[i].error);
        reqs[i].status = DOTS_OK;
    }
    if (n == 0) return DOTS_OK;
    sched S;
    dots_status st = sched_init(&S, g, reqs, n, bo, e);
    if (st) {
        for (int i = 0; i < n; i++) {
            reqs[i].status = st;
            if (e) reqs[i].error = *e;
        }
        sched_free(&S);
        return st;
    }
    for (int i = 0; i < n; i++) {
        S.r[i].phase = REQ_WAITING;
        if (bo && bo->on_start) continue; /* begins when admitted */
        dots_status rs = req_begin(g, &S.r[i], &reqs[i], &reqs[i].error);
        if (rs) finish(&S, i, rs, &reqs[i].error);
    }
    for (;;) {
        admit(&S);
        encode(&S);
        int R = 0, nseg = plan_step(&S, &R);
        if (nseg > 0) { run_step(&S, nseg); continue; }
        if (S.active == 0) break; /* nothing admitted is left: every request is done */
        for (int i = 0; i < n; i++) /* cannot happen: admitted requests always have rows to run */
            if (S.r[i].phase != REQ_DONE && S.r[i].phase != REQ_WAITING)
                finish(&S, i, dots_fail(&reqs[i].error, DOTS_E_INTERNAL, "the scheduler stalled"), &reqs[i].error);
    }
    sched_free(&S);
    return DOTS_OK;
}

/* One scheduler run per engine at a time: concurrent callers take turns. */
dots_status dots_generate_batch(dots_engine *g, dots_batch_request *reqs, int n, const dots_batch_opts *bo,
                                dots_error *e) {
    if (!g) return dots_fail(e, DOTS_E_ARG, "dots_generate_batch: needs an engine and n >= 0 requests");
    dots_batch_opts opts;
    dots_batch_opts_init(&opts);
    if (bo) {
        dots_status st = opts_take(&opts, sizeof opts, bo, "dots_batch_opts", e);
        if (st) return st;
    }
    pthread_mutex_lock(&g->generate_lock);
    dots_status st = generate_batch_locked(g, reqs, n, &opts, e);
    pthread_mutex_unlock(&g->generate_lock);
    return st;
}

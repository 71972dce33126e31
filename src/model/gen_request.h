/* One generation request inside the batch scheduler: its prompt ids, vision
 * tokens spliced into the prompt embeddings, its KV cache, sampler, repetition
 * guards, streamed text and result. The scheduler moves it through the phases
 * and runs its rows; everything that is per request lives here. */
#ifndef DOTS_GEN_REQUEST_H
#define DOTS_GEN_REQUEST_H
#include "model/engine_internal.h"
#include "model/repguard.h"
#include "model/sampler.h"

typedef enum { REQ_WAITING, REQ_ENCODE, REQ_PREFILL, REQ_DECODE, REQ_DONE } req_phase;

typedef struct {
    char *buf;
    size_t len, cap;
} gen_text;

typedef struct gen_req {
    dots_batch_request *out;
    dots_gen_opts o;
    long minp, maxp;
    req_phase phase;
    int *ids, *pad;           /* prompt ids [n_ids]; vision tokens per image [n_images] */
    size_t n_ids;
    long vis_tokens;
    float *x;                 /* [n_ids][hidden] prompt embeddings, from req_encode until prefilled */
    int prefilled;            /* prompt rows in the cache */
    long long positions;      /* KV positions reserved: prompt + max_new_tokens, at most the context */
    size_t kv_bytes;
    dots_lm_state *s;
    dots_sampler smp;
    dots_repguard guard;      /* token cycles (guard.hist == NULL: off) */
    dots_textguard *tguard;   /* text units (NULL: off) */
    tok_stream *ts;
    gen_text text;
    size_t *tok_end;          /* [answer tokens]: text length after each one */
    progress_hook hook;       /* r->o's on_progress; hook.cancelled: stop with DOTS_STOP_CALLBACK */
    int step, next_token;
    double t0, t_vision, t_prefill, t_decode;
} gen_req;

/* Prompt ids, the context check and the KV reservation size: no compute, no big memory. */
dots_status req_begin(dots_engine *g, gen_req *r, dots_batch_request *out, dots_error *e);
/* Allocates the KV cache for r->positions (checked). */
dots_status req_reserve(dots_engine *g, gen_req *r, dots_error *e);
/* Pixels, vision tokens and the spliced prompt embeddings r->x (unless the progress
 * hook cancels: then r->hook.cancelled). */
dots_status req_encode(dots_engine *g, gen_req *r, dots_error *e);
/* After the logits of the prompt's last row or of the token just decoded: reports
 * progress (a cancel ends it with DOTS_STOP_CALLBACK), picks
 * the next token, streams it and applies the stop rules. *done = 1 when finished
 * (r->out->result.stop set); otherwise r->next_token is the next row's input. */
dots_status req_take(dots_engine *g, gen_req *r, const float *logits, int *done, dots_error *e);
/* Fills r->out (status st, error e, the text so far) and frees the request's memory. */
void req_finish(gen_req *r, dots_status st, const dots_error *e);

#endif

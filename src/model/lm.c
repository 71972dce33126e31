/* Qwen2 decoder: load (claim + shape-check), KV cache, chunked prefill, decode. */
#include "model/lm.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "base/quant.h"
#include "kernels/kernels.h"
#include "model/lm_elem.h"

typedef struct {
    const st_tensor *in_norm, *qw, *qb, *kw, *kb, *vw, *vb, *ow, *post_norm, *gate, *up, *down;
} lm_layer;

struct dots_lm {
    dots_text_config c;
    int qdim, kvdim;          /* n_heads*head_dim, n_kv_heads*head_dim */
    const st_tensor *embed, *norm, *head;
    lm_layer *layers;
    float *inv_freq;          /* [head_dim/2] */
    dots_dtype kv_dtype;      /* cache dtype; also the attention precision */
};

/* Scratch of one forward step of up to `rows` rows (all sequences of a batch together). */
struct dots_lm_work {
    int rows;
    float *x, *xn;            /* [rows][D] residual stream, normed / projected rows */
    float *q, *k, *v, *att;   /* [rows][qdim|kvdim] */
    float *g, *u;             /* [rows][I] */
    float *cosb, *sinb;       /* [rows][head_dim/2] */
};

struct dots_lm_state {
    const dots_lm *lm;
    int max_pos, pos, cap;
    void *kc, *vc;            /* [layers][cap][kvdim] */
    dots_lm_work *own;        /* scratch of lm_forward (NULL for batch-only states) */
};

const dots_text_config *lm_config(const dots_lm *lm) { return &lm->c; }

static dots_status req(dots_ckpt *ck, const char *name, int ndim, int64_t d0, int64_t d1, const st_tensor **out,
                       dots_error *e) {
    int64_t shape[2] = {d0, d1};
    return ckpt_require(ck, name, NULL, ndim, shape, out, e);
}

dots_status lm_load(dots_ckpt *ck, dots_lm **out, dots_error *e) {
    *out = NULL;
    const dots_text_config *c = &ck->config.text;
    dots_lm *lm = dots_calloc(sizeof *lm, "the language model", e);
    if (!lm) return DOTS_E_NOMEM;
    lm->c = *c;
    int D = c->hidden_size, I = c->intermediate_size, V = c->vocab_size, hd = c->head_dim;
    lm->qdim = c->num_attention_heads * hd;
    lm->kvdim = c->num_key_value_heads * hd;
    dots_status st = DOTS_OK;
    char nm[256];
    lm->layers = dots_calloc(sizeof *lm->layers * (size_t)(c->num_hidden_layers > 0 ? c->num_hidden_layers : 1),
                             "language model layers", e);
    lm->inv_freq = dots_alloc(sizeof(float) * (size_t)(hd / 2), "RoPE frequencies", e);
    if (!lm->layers || !lm->inv_freq) { st = DOTS_E_NOMEM; goto fail; }
#define REQ(ndim, d0, d1, dst, ...) do { snprintf(nm, sizeof nm, __VA_ARGS__); \
        if ((st = req(ck, nm, ndim, d0, d1, dst, e))) goto fail; } while (0)
    REQ(2, V, D, &lm->embed, "model.embed_tokens.weight");
    for (int i = 0; i < c->num_hidden_layers; i++) {
        lm_layer *L = &lm->layers[i];
        REQ(1, D, 0, &L->in_norm, "model.layers.%d.input_layernorm.weight", i);
        REQ(2, lm->qdim, D, &L->qw, "model.layers.%d.self_attn.q_proj.weight", i);
        REQ(2, lm->kvdim, D, &L->kw, "model.layers.%d.self_attn.k_proj.weight", i);
        REQ(2, lm->kvdim, D, &L->vw, "model.layers.%d.self_attn.v_proj.weight", i);
        if (c->attention_bias) {
            REQ(1, lm->qdim, 0, &L->qb, "model.layers.%d.self_attn.q_proj.bias", i);
            REQ(1, lm->kvdim, 0, &L->kb, "model.layers.%d.self_attn.k_proj.bias", i);
            REQ(1, lm->kvdim, 0, &L->vb, "model.layers.%d.self_attn.v_proj.bias", i);
        }
        REQ(2, D, lm->qdim, &L->ow, "model.layers.%d.self_attn.o_proj.weight", i);
        REQ(1, D, 0, &L->post_norm, "model.layers.%d.post_attention_layernorm.weight", i);
        REQ(2, I, D, &L->gate, "model.layers.%d.mlp.gate_proj.weight", i);
        REQ(2, I, D, &L->up, "model.layers.%d.mlp.up_proj.weight", i);
        REQ(2, D, I, &L->down, "model.layers.%d.mlp.down_proj.weight", i);
    }
    REQ(1, D, 0, &lm->norm, "model.norm.weight");
    if (c->tie_word_embeddings && !ckpt_find(ck, "lm_head.weight")) lm->head = lm->embed;
    else REQ(2, V, D, &lm->head, "lm_head.weight");
#undef REQ
    /* as transformers: inv_freq = 1 / theta^(2j/d) in f32 */
    for (int j = 0; j < hd / 2; j++)
        lm->inv_freq[j] = 1.0f / (float)pow(c->rope_theta, (double)(2 * j) / hd);
    /* f32 models keep an f32 cache (exact parity); bf16/f16 models the bf16 cache of the spec */
    lm->kv_dtype = lm->layers && c->num_hidden_layers > 0 && lm->layers[0].qw->dtype == DT_F32 ? DT_F32 : DT_BF16;
    *out = lm;
    return DOTS_OK;
fail:
    lm_free(lm);
    return st;
}

void lm_free(dots_lm *lm) {
    if (!lm) return;
    dots_free(lm->layers);
    dots_free(lm->inv_freq);
    dots_free(lm);
}

double lm_decode_weight_bytes(const dots_lm *lm) {
    double b = (double)lm->norm->nbytes + (double)lm->head->nbytes + (double)lm->embed->nbytes / lm->c.vocab_size;
    for (int i = 0; i < lm->c.num_hidden_layers; i++) {
        const lm_layer *L = &lm->layers[i];
        const st_tensor *ts[] = {L->in_norm, L->qw, L->qb, L->kw, L->kb, L->vw, L->vb, L->ow, L->post_norm, L->gate, L->up, L->down};
        for (size_t k = 0; k < sizeof ts / sizeof *ts; k++)
            if (ts[k]) b += (double)ts[k]->nbytes;
    }
    return b;
}

size_t lm_kv_bytes_per_token(const dots_lm *lm) {
    return (size_t)lm->c.num_hidden_layers * 2 * (size_t)lm->kvdim * dtype_size(lm->kv_dtype);
}

/* ------------------------------------------------------- work and state */

void lm_work_free(dots_lm_work *w) {
    if (!w) return;
    dots_free(w->x); dots_free(w->xn); dots_free(w->q); dots_free(w->k); dots_free(w->v);
    dots_free(w->att); dots_free(w->g); dots_free(w->u); dots_free(w->cosb); dots_free(w->sinb);
    dots_free(w);
}

/* rows x cols floats, the product checked. */
static float *alloc_rows(size_t rows, size_t cols, const char *what, dots_error *e) {
    if (cols && rows > SIZE_MAX / 4 / cols) {
        dots_fail(e, DOTS_E_LIMIT, "%s: %zu rows of %zu values overflow the address space", what, rows, cols);
        return NULL;
    }
    return dots_alloc(rows * cols * 4 + (rows * cols == 0), what, e);
}

dots_status lm_work_new(const dots_lm *lm, int rows, dots_lm_work **out, dots_error *e) {
    *out = NULL;
    if (rows <= 0) return dots_fail(e, DOTS_E_ARG, "the language model step needs at least one row (got %d)", rows);
    dots_lm_work *w = dots_calloc(sizeof *w, "the language model scratch", e);
    if (!w) return DOTS_E_NOMEM;
    w->rows = rows;
    size_t R = (size_t)rows, D = (size_t)lm->c.hidden_size, I = (size_t)lm->c.intermediate_size;
    size_t hd2 = (size_t)lm->c.head_dim / 2;
    if (!(w->x = alloc_rows(R, D, "LM activations", e)) || !(w->xn = alloc_rows(R, D, "LM activations", e)) ||
        !(w->q = alloc_rows(R, (size_t)lm->qdim, "LM queries", e)) ||
        !(w->k = alloc_rows(R, (size_t)lm->kvdim, "LM keys", e)) ||
        !(w->v = alloc_rows(R, (size_t)lm->kvdim, "LM values", e)) ||
        !(w->att = alloc_rows(R, (size_t)lm->qdim, "LM attention output", e)) ||
        !(w->g = alloc_rows(R, I, "LM MLP activations", e)) || !(w->u = alloc_rows(R, I, "LM MLP activations", e)) ||
        !(w->cosb = alloc_rows(R, hd2, "RoPE table", e)) || !(w->sinb = alloc_rows(R, hd2, "RoPE table", e))) {
        lm_work_free(w);
        return e && e->code ? e->code : DOTS_E_NOMEM;
    }
    *out = w;
    return DOTS_OK;
}

int lm_work_rows(const dots_lm_work *w) { return w->rows; }

void lm_state_free(dots_lm_state *s) {
    if (!s) return;
    dots_free(s->kc); dots_free(s->vc);
    lm_work_free(s->own);
    dots_free(s);
}

dots_status lm_state_new_kv(const dots_lm *lm, int max_pos, dots_lm_state **out, dots_error *e) {
    *out = NULL;
    if (max_pos <= 0) return dots_fail(e, DOTS_E_ARG, "the language model context limit must be positive (got %d)", max_pos);
    dots_lm_state *s = dots_calloc(sizeof *s, "the language model state", e);
    if (!s) return DOTS_E_NOMEM;
    s->lm = lm; s->max_pos = max_pos;
    *out = s;
    return DOTS_OK;
}

dots_status lm_state_new(const dots_lm *lm, int max_pos, int chunk, dots_lm_state **out, dots_error *e) {
    dots_status st = lm_state_new_kv(lm, max_pos, out, e);
    if (st) return st;
    if (chunk <= 0) chunk = 512;
    if (chunk > max_pos) chunk = max_pos;
    if ((st = lm_work_new(lm, chunk, &(*out)->own, e))) { lm_state_free(*out); *out = NULL; }
    return st;
}

void lm_state_reset(dots_lm_state *s) { s->pos = 0; }
int lm_state_pos(const dots_lm_state *s) { return s->pos; }
int lm_state_capacity(const dots_lm_state *s) { return s->cap; }

size_t lm_kv_bytes(const dots_lm *lm, long long positions) {
    size_t per = lm_kv_bytes_per_token(lm);
    if (positions <= 0) return 0;
    if (per && (unsigned long long)positions > SIZE_MAX / per) return SIZE_MAX;
    return (size_t)positions * per;
}

/* Makes room for `need` positions (exactly `need` when exact, else doubling), keeping the cached ones. */
static dots_status grow_cache(dots_lm_state *s, long long need, int exact, dots_error *e) {
    if (need <= s->cap) return DOTS_OK;
    const dots_lm *lm = s->lm;
    if (need > s->max_pos)
        return dots_fail(e, DOTS_E_LIMIT, "%lld positions do not fit the context limit of %d tokens "
                         "(dots_engine_opts.max_context)", need, s->max_pos);
    long long nc = exact ? need : s->cap ? 2LL * s->cap : 64;
    if (nc < need) nc = need;
    if (nc > s->max_pos) nc = s->max_pos;
    size_t row = (size_t)lm->kvdim * dtype_size(lm->kv_dtype), L = (size_t)lm->c.num_hidden_layers;
    if (L == 0) L = 1;
    if (row && (unsigned long long)nc > SIZE_MAX / row / L)
        return dots_fail(e, DOTS_E_LIMIT, "a KV cache of %lld positions overflows the address space", nc);
    char what[96];
    snprintf(what, sizeof what, "the KV cache (%lld positions)", nc);
    void *kc = dots_alloc(L * (size_t)nc * row + 1, what, e);
    void *vc = kc ? dots_alloc(L * (size_t)nc * row + 1, what, e) : NULL;
    if (!vc) {
        dots_free(kc);
        return dots_context(e, "lower dots_gen_opts.max_pixels or max_new_tokens to need a shorter context");
    }
    for (size_t l = 0; l < L && s->pos > 0; l++) {
        memcpy((char *)kc + l * nc * row, (char *)s->kc + l * s->cap * row, (size_t)s->pos * row);
        memcpy((char *)vc + l * nc * row, (char *)s->vc + l * s->cap * row, (size_t)s->pos * row);
    }
    dots_free(s->kc); dots_free(s->vc);
    s->kc = kc; s->vc = vc; s->cap = (int)nc;
    return DOTS_OK;
}

dots_status lm_state_reserve(dots_lm_state *s, long long positions, dots_error *e) {
    return grow_cache(s, positions, 1, e);
}

dots_status lm_embed(const dots_lm *lm, const int *ids, int n, float *x, dots_error *e) {
    size_t D = (size_t)lm->c.hidden_size, row = (size_t)dtype_row_bytes(lm->embed->dtype, D); /* block types too */
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= lm->c.vocab_size)
            return dots_fail(e, DOTS_E_ARG, "token id %d (position %d) is outside the model's vocabulary [0, %d); "
                             "the tokenizer does not belong to this checkpoint", ids[i], i, lm->c.vocab_size);
        dequant_row(lm->embed->dtype, (const char *)lm->embed->data + (size_t)ids[i] * row, x + (size_t)i * D, (int64_t)D);
    }
    return DOTS_OK;
}

/* What a failed k_linear means: the kernels take F32/F16/BF16 weights and biases;
 * anything else is a type they do not handle, not a lack of memory. */
static dots_status linear_failure(const st_tensor *W, dots_dtype bdt, int M, dots_error *e) {
    if (!k_linear_supports(W->dtype) || !k_linear_supports(bdt))
        return dots_fail(e, DOTS_E_UNSUPPORTED, "tensor %s: dtype %s (bias %s) is not supported by the linear kernels "
                         "and cannot be used", W->name, dtype_name(W->dtype), dtype_name(bdt));
    return dots_fail(e, DOTS_E_NOMEM, "out of memory for the scratch of %s (%d rows); lower "
                     "dots_engine_opts.prefill_chunk", W->name, M);
}

static dots_status linear(dots_pool *pool, const float *x, int M, int K, const st_tensor *W, const st_tensor *b,
                          float *y, int N, dots_error *e) {
    if (k_linear(pool, x, M, K, W->data, W->dtype, b ? b->data : NULL, b ? b->dtype : DT_F32, y, N) != 0)
        return linear_failure(W, b ? b->dtype : DT_F32, M, e);
    return DOTS_OK;
}
#define LIN(...) do { dots_status s_ = linear(__VA_ARGS__, e); if (s_) return s_; } while (0)

/* Linears that share their input (q/k/v, gate/up) in one k_linear_multi call when
 * their dtypes agree: one pass of the pool instead of one per matrix (decode). */
static dots_status linear_group(dots_pool *pool, const float *x, int M, int K, const st_tensor *const *W,
                                const st_tensor *const *B, float *const *Y, const int *N, int n, dots_error *e) {
    dots_lin_part parts[4];
    dots_dtype bdt = DT_F32;
    int same = n <= 4;
    for (int i = 0; i < n && same; i++) {
        if (W[i]->dtype != W[0]->dtype) same = 0;
        if (B[i] && bdt == DT_F32) bdt = B[i]->dtype; /* the first bias decides; all must agree */
        parts[i] = (dots_lin_part){W[i]->data, B[i] ? B[i]->data : NULL, Y[i], N[i]};
    }
    for (int i = 0; i < n && same; i++)
        if (B[i] && B[i]->dtype != bdt) same = 0;
    if (same) {
        if (k_linear_multi(pool, x, M, K, W[0]->dtype, bdt, parts, n) != 0) return linear_failure(W[0], bdt, M, e);
        return DOTS_OK;
    }
    for (int i = 0; i < n; i++) {
        dots_status st = linear(pool, x, M, K, W[i], B[i], Y[i], N[i], e);
        if (st) return st;
    }
    return DOTS_OK;
}

/* One step over n_seqs row groups: group s is n[s] rows of sequence seqs[s] at its
 * positions seqs[s]->pos.. (caches already reserved); the rows are w->x [sum n][D],
 * group after group. The linears see all rows at once (one GEMM per weight), the
 * attention runs per sequence against its own cache. */
static dots_status run_rows(const dots_lm *lm, dots_lm_work *w, dots_pool *pool, dots_lm_state *const *seqs,
                            const int *n, int n_seqs, dots_error *e) {
    const dots_text_config *c = &lm->c;
    int D = c->hidden_size, I = c->intermediate_size, hd = c->head_dim, h2 = hd / 2, R = 0;
    size_t row = (size_t)lm->kvdim * dtype_size(lm->kv_dtype);
    dots_status st;
    for (int q = 0; q < n_seqs; q++)
        for (int r = 0; r < n[q]; r++, R++)
            for (int j = 0; j < h2; j++) {
                float a = (float)(seqs[q]->pos + r) * lm->inv_freq[j]; /* f32 product, as transformers */
                w->cosb[(size_t)R * h2 + j] = cosf(a);
                w->sinb[(size_t)R * h2 + j] = sinf(a);
            }
    for (int l = 0; l < c->num_hidden_layers; l++) {
        const lm_layer *L = &lm->layers[l];
        lm_par_rmsnorm(pool, w->x, L->in_norm->data, L->in_norm->dtype, c->rms_norm_eps, w->xn, R, D);
        {
            const st_tensor *W[3] = {L->qw, L->kw, L->vw}, *B[3] = {L->qb, L->kb, L->vb};
            float *Y[3] = {w->q, w->k, w->v};
            int N[3] = {lm->qdim, lm->kvdim, lm->kvdim};
            if ((st = linear_group(pool, w->xn, R, D, W, B, Y, N, 3, e))) return st;
        }
        lm_par_rope(pool, w->q, R, c->num_attention_heads, hd, (size_t)lm->qdim, w->cosb, w->sinb);
        lm_par_rope(pool, w->k, R, c->num_key_value_heads, hd, (size_t)lm->kvdim, w->cosb, w->sinb);
        for (int q = 0, r0 = 0; q < n_seqs; r0 += n[q], q++) {
            dots_lm_state *s = seqs[q];
            char *kc = (char *)s->kc + (size_t)l * s->cap * row, *vc = (char *)s->vc + (size_t)l * s->cap * row;
            int p0 = s->pos;
            lm_par_store(pool, kc + (size_t)p0 * row, lm->kv_dtype, w->k + (size_t)r0 * lm->kvdim, n[q], lm->kvdim);
            lm_par_store(pool, vc + (size_t)p0 * row, lm->kv_dtype, w->v + (size_t)r0 * lm->kvdim, n[q], lm->kvdim);
            dots_attn a = {0};
            a.n_q = n[q]; a.n_kv = p0 + n[q];
            a.n_heads = c->num_attention_heads; a.n_kv_heads = c->num_key_value_heads; a.head_dim = hd;
            a.q = w->q + (size_t)r0 * lm->qdim; a.ldq = (size_t)lm->qdim;
            a.k = kc; a.ldk = (size_t)lm->kvdim;
            a.v = vc; a.ldv = (size_t)lm->kvdim;
            a.kv_dtype = lm->kv_dtype;
            a.out = w->att + (size_t)r0 * lm->qdim; a.ldo = (size_t)lm->qdim;
            a.scale = 1.0f / sqrtf((float)hd);
            a.causal = 1; a.q_pos0 = p0;
            a.precision = lm->kv_dtype;
            if (k_attention(pool, &a) != 0)
                return dots_fail(e, DOTS_E_NOMEM, "out of memory for attention scratch (layer %d, %d rows); "
                                 "lower dots_engine_opts.prefill_chunk", l, n[q]);
        }
        LIN(pool, w->att, R, lm->qdim, L->ow, NULL, w->xn, D);
        lm_par_add(pool, w->x, w->xn, R, D);
        lm_par_rmsnorm(pool, w->x, L->post_norm->data, L->post_norm->dtype, c->rms_norm_eps, w->xn, R, D);
        {
            const st_tensor *W[2] = {L->gate, L->up}, *B[2] = {NULL, NULL};
            float *Y[2] = {w->g, w->u};
            int N[2] = {I, I};
            if ((st = linear_group(pool, w->xn, R, D, W, B, Y, N, 2, e))) return st;
        }
        lm_par_silu_mul(pool, w->g, w->u, R, I);
        LIN(pool, w->g, R, I, L->down, NULL, w->xn, D);
        lm_par_add(pool, w->x, w->xn, R, D);
    }
    for (int q = 0; q < n_seqs; q++) seqs[q]->pos += n[q];
    return DOTS_OK;
}

/* logits [m][V] of the rows at w->x (row indices idx[0..m)): final norm + lm_head in one GEMM. */
static dots_status head_rows(const dots_lm *lm, dots_lm_work *w, dots_pool *pool, const int *idx, int m,
                             float *logits, dots_error *e) {
    int D = lm->c.hidden_size;
    /* gather the wanted rows to the front of w->x (idx ascending, idx[i] >= i) */
    for (int i = 0; i < m; i++)
        if (idx[i] != i) memcpy(w->x + (size_t)i * D, w->x + (size_t)idx[i] * D, sizeof(float) * D);
    lm_par_rmsnorm(pool, w->x, lm->norm->data, lm->norm->dtype, lm->c.rms_norm_eps, w->xn, m, D);
    LIN(pool, w->xn, m, D, lm->head, NULL, logits, lm->c.vocab_size);
    return DOTS_OK;
}

static dots_status check_room(dots_lm_state *s, int n, dots_error *e) {
    if ((long long)s->pos + n > s->max_pos)
        return dots_fail(e, DOTS_E_LIMIT, "%d more tokens after %d do not fit the context limit of %d tokens; "
                         "lower dots_gen_opts.max_pixels (fewer image tokens) or raise "
                         "dots_engine_opts.max_context", n, s->pos, s->max_pos);
    return DOTS_OK;
}

dots_status lm_forward(const dots_lm *lm, dots_lm_state *s, dots_pool *pool, const float *x, int n, float *logits,
                       int all_logits, dots_error *e) {
    if (n <= 0) return dots_fail(e, DOTS_E_ARG, "lm_forward needs at least one row (got %d)", n);
    if (!s->own) return dots_fail(e, DOTS_E_INTERNAL, "lm_forward: this state was made for batches (no scratch)");
    dots_status st = check_room(s, n, e);
    if (st || (st = grow_cache(s, (long long)s->pos + n, 0, e))) return st;
    dots_lm_work *w = s->own;
    int D = lm->c.hidden_size, V = lm->c.vocab_size;
    for (int r0 = 0; r0 < n; r0 += w->rows) {
        int m = n - r0 < w->rows ? n - r0 : w->rows;
        memcpy(w->x, x + (size_t)r0 * D, (size_t)m * D * sizeof(float));
        if ((st = run_rows(lm, w, pool, &s, &m, 1, e))) return st;
        if (!logits) continue;
        if (all_logits) {
            int *idx = malloc(sizeof(int) * (size_t)m);
            if (!idx) return dots_fail(e, DOTS_E_NOMEM, "out of memory for %d logit rows", m);
            for (int i = 0; i < m; i++) idx[i] = i;
            st = head_rows(lm, w, pool, idx, m, logits + (size_t)r0 * V, e);
            free(idx);
            if (st) return st;
        } else if (r0 + m == n) { /* lm_head only for the last row */
            int last = m - 1;
            if ((st = head_rows(lm, w, pool, &last, 1, logits, e))) return st;
        }
    }
    return DOTS_OK;
}

dots_status lm_decode(const dots_lm *lm, dots_lm_state *s, dots_pool *pool, int id, float *logits, dots_error *e) {
    if (!s->own) return dots_fail(e, DOTS_E_INTERNAL, "lm_decode: this state was made for batches (no scratch)");
    /* w->xn is free between calls: embed there, then forward copies it into w->x */
    dots_status st = lm_embed(lm, &id, 1, s->own->xn, e);
    if (st) return st;
    return lm_forward(lm, s, pool, s->own->xn, 1, logits, 0, e);
}

dots_status lm_forward_batch(const dots_lm *lm, dots_lm_work *w, dots_pool *pool, dots_lm_state *const *seqs,
                             const int *n, int n_seqs, const float *x, float *logits, dots_error *e) {
    if (n_seqs <= 0) return dots_fail(e, DOTS_E_ARG, "lm_forward_batch needs at least one sequence");
    long long R = 0;
    for (int q = 0; q < n_seqs; q++) {
        if (n[q] <= 0) return dots_fail(e, DOTS_E_ARG, "lm_forward_batch: sequence %d has %d rows", q, n[q]);
        for (int p = 0; p < q; p++)
            if (seqs[p] == seqs[q]) return dots_fail(e, DOTS_E_ARG, "lm_forward_batch: sequence %d appears twice", q);
        dots_status st = check_room(seqs[q], n[q], e);
        if (st) return st;
        R += n[q];
    }
    if (R > w->rows)
        return dots_fail(e, DOTS_E_ARG, "lm_forward_batch: %lld rows exceed the step scratch of %d rows", R, w->rows);
    /* every cache sized before any compute: a failure here changes nothing */
    for (int q = 0; q < n_seqs; q++) {
        dots_status st = grow_cache(seqs[q], (long long)seqs[q]->pos + n[q], 0, e);
        if (st) return st;
    }
    int D = lm->c.hidden_size;
    int *idx = logits ? malloc(sizeof(int) * (size_t)n_seqs) : NULL;
    if (logits && !idx) return dots_fail(e, DOTS_E_NOMEM, "out of memory for %d logit rows", n_seqs);
    memcpy(w->x, x, (size_t)R * D * sizeof(float));
    dots_status st = run_rows(lm, w, pool, seqs, n, n_seqs, e);
    if (!st && logits) {
        for (int q = 0, r = 0; q < n_seqs; q++) { r += n[q]; idx[q] = r - 1; }
        st = head_rows(lm, w, pool, idx, n_seqs, logits, e);
    }
    free(idx);
    return st;
}

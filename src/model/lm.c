/* Qwen2 decoder: load (claim + shape-check), KV cache, chunked prefill, decode. */
#include "model/lm.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "kernels/kernels.h"

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

struct dots_lm_state {
    const dots_lm *lm;
    int max_pos, chunk, pos, cap;
    void *kc, *vc;            /* [layers][cap][kvdim] */
    float *x, *xn, *q, *k, *v, *att, *g, *u, *cosb, *sinb;
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
    int64_t qdim = (int64_t)c->num_attention_heads * hd, kvdim = (int64_t)c->num_key_value_heads * hd;
    if (qdim > INT32_MAX || kvdim > INT32_MAX) { /* config_parse bounds them far lower */
        dots_free(lm);
        return dots_fail(e, DOTS_E_MODEL, "config.json: attention width %lld is too large", (long long)qdim);
    }
    lm->qdim = (int)qdim;
    lm->kvdim = (int)kvdim;
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

/* ---------------------------------------------------------------- state */

void lm_state_free(dots_lm_state *s) {
    if (!s) return;
    dots_free(s->kc); dots_free(s->vc);
    dots_free(s->x); dots_free(s->xn); dots_free(s->q); dots_free(s->k); dots_free(s->v);
    dots_free(s->att); dots_free(s->g); dots_free(s->u); dots_free(s->cosb); dots_free(s->sinb);
    dots_free(s);
}

dots_status lm_state_new(const dots_lm *lm, int max_pos, int chunk, dots_lm_state **out, dots_error *e) {
    *out = NULL;
    if (max_pos <= 0) return dots_fail(e, DOTS_E_ARG, "the language model context limit must be positive (got %d)", max_pos);
    if (chunk <= 0) chunk = 512;
    if (chunk > max_pos) chunk = max_pos;
    dots_lm_state *s = dots_calloc(sizeof *s, "the language model state", e);
    if (!s) return DOTS_E_NOMEM;
    s->lm = lm; s->max_pos = max_pos; s->chunk = chunk;
    size_t C = (size_t)chunk, D = (size_t)lm->c.hidden_size, I = (size_t)lm->c.intermediate_size;
    size_t hd2 = (size_t)lm->c.head_dim / 2;
    s->x = dots_alloc(C * D * 4, "LM activations", e);
    s->xn = s->x ? dots_alloc(C * D * 4, "LM activations", e) : NULL;
    s->q = s->xn ? dots_alloc(C * lm->qdim * 4, "LM queries", e) : NULL;
    s->k = s->q ? dots_alloc(C * lm->kvdim * 4, "LM keys", e) : NULL;
    s->v = s->k ? dots_alloc(C * lm->kvdim * 4, "LM values", e) : NULL;
    s->att = s->v ? dots_alloc(C * lm->qdim * 4, "LM attention output", e) : NULL;
    s->g = s->att ? dots_alloc(C * I * 4, "LM MLP activations", e) : NULL;
    s->u = s->g ? dots_alloc(C * I * 4, "LM MLP activations", e) : NULL;
    s->cosb = s->u ? dots_alloc(C * hd2 * 4, "RoPE table", e) : NULL;
    s->sinb = s->cosb ? dots_alloc(C * hd2 * 4, "RoPE table", e) : NULL;
    if (!s->sinb) { lm_state_free(s); return DOTS_E_NOMEM; }
    *out = s;
    return DOTS_OK;
}

void lm_state_reset(dots_lm_state *s) { s->pos = 0; }
int lm_state_pos(const dots_lm_state *s) { return s->pos; }

/* Makes room for `need` positions, keeping the cached ones. */
static dots_status grow_cache(dots_lm_state *s, int need, dots_error *e) {
    if (need <= s->cap) return DOTS_OK;
    const dots_lm *lm = s->lm;
    long long nc = s->cap ? 2LL * s->cap : 64;
    if (nc < need) nc = need;
    if (nc > s->max_pos) nc = s->max_pos;
    size_t row = (size_t)lm->kvdim * dtype_size(lm->kv_dtype), L = (size_t)lm->c.num_hidden_layers;
    if (L == 0) L = 1;
    char what[96];
    snprintf(what, sizeof what, "the KV cache (%lld positions)", nc);
    void *kc = dots_alloc(L * (size_t)nc * row, what, e);
    void *vc = kc ? dots_alloc(L * (size_t)nc * row, what, e) : NULL;
    if (!vc) {
        dots_free(kc);
        return dots_context(e, "lower max-pixels or max-tokens to need a shorter context");
    }
    for (size_t l = 0; l < L && s->pos > 0; l++) {
        memcpy((char *)kc + l * nc * row, (char *)s->kc + l * s->cap * row, (size_t)s->pos * row);
        memcpy((char *)vc + l * nc * row, (char *)s->vc + l * s->cap * row, (size_t)s->pos * row);
    }
    dots_free(s->kc); dots_free(s->vc);
    s->kc = kc; s->vc = vc; s->cap = (int)nc;
    return DOTS_OK;
}

dots_status lm_embed(const dots_lm *lm, const int *ids, int n, float *x, dots_error *e) {
    size_t D = (size_t)lm->c.hidden_size, es = dtype_size(lm->embed->dtype);
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= lm->c.vocab_size)
            return dots_fail(e, DOTS_E_ARG, "token id %d (position %d) is outside the model's vocabulary [0, %d); "
                             "the tokenizer does not belong to this checkpoint", ids[i], i, lm->c.vocab_size);
        dtype_to_f32(lm->embed->dtype, (const char *)lm->embed->data + (size_t)ids[i] * D * es, x + (size_t)i * D, D);
    }
    return DOTS_OK;
}

static dots_status linear(dots_pool *pool, const float *x, int M, int K, const st_tensor *W, const st_tensor *b,
                          float *y, int N, dots_error *e) {
    if (k_linear(pool, x, M, K, W->data, W->dtype, b ? b->data : NULL, b ? b->dtype : DT_F32, y, N) != 0)
        return dots_fail(e, DOTS_E_NOMEM, "out of memory for the scratch of %s (%d rows); try a smaller prefill chunk",
                         W->name, M);
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
        if (k_linear_multi(pool, x, M, K, W[0]->dtype, bdt, parts, n) != 0)
            return dots_fail(e, DOTS_E_NOMEM, "out of memory for the scratch of %s (%d rows); try a smaller prefill "
                             "chunk", W[0]->name, M);
        return DOTS_OK;
    }
    for (int i = 0; i < n; i++) {
        dots_status st = linear(pool, x, M, K, W[i], B[i], Y[i], N[i], e);
        if (st) return st;
    }
    return DOTS_OK;
}

/* NeoX rotation of every head of n rows: pairs (j, j + d/2). */
static void rope(float *x, int n, int heads, int hd, size_t ld, const float *cosb, const float *sinb) {
    int h2 = hd / 2;
    for (int r = 0; r < n; r++)
        for (int h = 0; h < heads; h++) {
            float *p = x + (size_t)r * ld + (size_t)h * hd;
            const float *cs = cosb + (size_t)r * h2, *sn = sinb + (size_t)r * h2;
            for (int j = 0; j < h2; j++) {
                float a = p[j], b = p[j + h2];
                p[j] = a * cs[j] - b * sn[j];
                p[j + h2] = b * cs[j] + a * sn[j];
            }
        }
}

static void store_kv(void *cache, dots_dtype dt, const float *src, size_t n) {
    if (dt == DT_F32) { memcpy(cache, src, n * 4); return; }
    bf16_t *d = cache;
    for (size_t i = 0; i < n; i++) d[i] = f32_to_bf16(src[i]);
}

/* One chunk of n <= s->chunk rows at positions s->pos.. ; x holds the rows (residual stream). */
static dots_status run_chunk(const dots_lm *lm, dots_lm_state *s, dots_pool *pool, int n, dots_error *e) {
    const dots_text_config *c = &lm->c;
    int D = c->hidden_size, I = c->intermediate_size, hd = c->head_dim, h2 = hd / 2, p0 = s->pos;
    size_t row = (size_t)lm->kvdim * dtype_size(lm->kv_dtype);
    dots_status st;
    for (int r = 0; r < n; r++)
        for (int j = 0; j < h2; j++) {
            float a = (float)(p0 + r) * lm->inv_freq[j]; /* f32 product, as transformers */
            s->cosb[(size_t)r * h2 + j] = cosf(a);
            s->sinb[(size_t)r * h2 + j] = sinf(a);
        }
    for (int l = 0; l < c->num_hidden_layers; l++) {
        const lm_layer *L = &lm->layers[l];
        char *kc = (char *)s->kc + (size_t)l * s->cap * row, *vc = (char *)s->vc + (size_t)l * s->cap * row;
        k_rmsnorm(s->x, L->in_norm->data, L->in_norm->dtype, c->rms_norm_eps, s->xn, n, D);
        {
            const st_tensor *W[3] = {L->qw, L->kw, L->vw}, *B[3] = {L->qb, L->kb, L->vb};
            float *Y[3] = {s->q, s->k, s->v};
            int N[3] = {lm->qdim, lm->kvdim, lm->kvdim};
            if ((st = linear_group(pool, s->xn, n, D, W, B, Y, N, 3, e))) return st;
        }
        rope(s->q, n, c->num_attention_heads, hd, (size_t)lm->qdim, s->cosb, s->sinb);
        rope(s->k, n, c->num_key_value_heads, hd, (size_t)lm->kvdim, s->cosb, s->sinb);
        store_kv(kc + (size_t)p0 * row, lm->kv_dtype, s->k, (size_t)n * lm->kvdim);
        store_kv(vc + (size_t)p0 * row, lm->kv_dtype, s->v, (size_t)n * lm->kvdim);
        dots_attn a = {0};
        a.n_q = n; a.n_kv = p0 + n;
        a.n_heads = c->num_attention_heads; a.n_kv_heads = c->num_key_value_heads; a.head_dim = hd;
        a.q = s->q; a.ldq = (size_t)lm->qdim;
        a.k = kc; a.ldk = (size_t)lm->kvdim;
        a.v = vc; a.ldv = (size_t)lm->kvdim;
        a.kv_dtype = lm->kv_dtype;
        a.out = s->att; a.ldo = (size_t)lm->qdim;
        a.scale = 1.0f / sqrtf((float)hd);
        a.causal = 1; a.q_pos0 = p0;
        a.precision = lm->kv_dtype;
        if (k_attention(pool, &a) != 0)
            return dots_fail(e, DOTS_E_NOMEM, "out of memory for attention scratch (layer %d, %d rows); "
                             "try a smaller prefill chunk", l, n);
        LIN(pool, s->att, n, lm->qdim, L->ow, NULL, s->xn, D);
        k_add(s->x, s->xn, (size_t)n * D);
        k_rmsnorm(s->x, L->post_norm->data, L->post_norm->dtype, c->rms_norm_eps, s->xn, n, D);
        {
            const st_tensor *W[2] = {L->gate, L->up}, *B[2] = {NULL, NULL};
            float *Y[2] = {s->g, s->u};
            int N[2] = {I, I};
            if ((st = linear_group(pool, s->xn, n, D, W, B, Y, N, 2, e))) return st;
        }
        k_silu_mul(s->g, s->u, (size_t)n * I);
        LIN(pool, s->g, n, I, L->down, NULL, s->xn, D);
        k_add(s->x, s->xn, (size_t)n * D);
    }
    s->pos = p0 + n;
    return DOTS_OK;
}

dots_status lm_forward(const dots_lm *lm, dots_lm_state *s, dots_pool *pool, const float *x, int n, float *logits,
                       int all_logits, dots_error *e) {
    if (n <= 0) return dots_fail(e, DOTS_E_ARG, "lm_forward needs at least one row (got %d)", n);
    if ((long long)s->pos + n > s->max_pos)
        return dots_fail(e, DOTS_E_LIMIT, "%d more tokens after %d do not fit the context limit of %d tokens; "
                         "lower max-pixels (fewer image tokens) or raise the context limit", n, s->pos, s->max_pos);
    dots_status st = grow_cache(s, s->pos + n, e);
    if (st) return st;
    int D = lm->c.hidden_size, V = lm->c.vocab_size;
    for (int r0 = 0; r0 < n; r0 += s->chunk) {
        int m = n - r0 < s->chunk ? n - r0 : s->chunk;
        memcpy(s->x, x + (size_t)r0 * D, (size_t)m * D * sizeof(float));
        if ((st = run_chunk(lm, s, pool, m, e))) return st;
        if (!logits) continue;
        if (all_logits) {
            k_rmsnorm(s->x, lm->norm->data, lm->norm->dtype, lm->c.rms_norm_eps, s->xn, m, D);
            LIN(pool, s->xn, m, D, lm->head, NULL, logits + (size_t)r0 * V, V);
        } else if (r0 + m == n) { /* lm_head only for the last row */
            const float *last = s->x + (size_t)(m - 1) * D;
            k_rmsnorm(last, lm->norm->data, lm->norm->dtype, lm->c.rms_norm_eps, s->xn, 1, D);
            LIN(pool, s->xn, 1, D, lm->head, NULL, logits, V);
        }
    }
    return DOTS_OK;
}

dots_status lm_decode(const dots_lm *lm, dots_lm_state *s, dots_pool *pool, int id, float *logits, dots_error *e) {
    /* s->xn is free between calls: embed there, then forward copies it into s->x */
    dots_status st = lm_embed(lm, &id, 1, s->xn, e);
    if (st) return st;
    return lm_forward(lm, s, pool, s->xn, 1, logits, 0, e);
}

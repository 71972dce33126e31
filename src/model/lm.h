/* The Qwen2 language model of dots.ocr (MODEL_SPEC section 3): token
 * embeddings, pre-norm decoder layers with GQA attention (q/k/v biases,
 * 1-D NeoX RoPE), SwiGLU MLP, final RMSNorm and an untied lm_head. Weights
 * are used straight from the memory map in their stored dtype. A state holds
 * the KV cache ([layer][pos][kv_heads*head_dim], bf16 for bf16/f16 models,
 * f32 for f32 models so those can be checked to 1e-4) and the scratch of one
 * prefill chunk, so decoding allocates nothing per token. */
#ifndef DOTS_LM_H
#define DOTS_LM_H
#include "base/threadpool.h"
#include "io/checkpoint.h"

typedef struct dots_lm dots_lm;

/* Claims and shape-checks model.* and lm_head.weight against ck->config.text
 * (lm_head may be absent only when tie_word_embeddings is set). Vision
 * tensors are neither claimed nor required. */
dots_status lm_load(dots_ckpt *ck, dots_lm **out, dots_error *e);
void lm_free(dots_lm *lm);

const dots_text_config *lm_config(const dots_lm *lm);
/* Bytes of weights one decode step reads (every layer + final norm + lm_head; one embedding row). */
double lm_decode_weight_bytes(const dots_lm *lm);
/* Bytes of KV cache per token. */
size_t lm_kv_bytes_per_token(const dots_lm *lm);

typedef struct dots_lm_state dots_lm_state;
typedef struct dots_lm_work dots_lm_work;

/* A sequence with its own scratch for lm_forward/lm_decode. max_pos: the context
 * limit (the cache grows on demand up to it unless lm_state_reserve sized it);
 * chunk: rows per prefill step (<= 0: 512). */
dots_status lm_state_new(const dots_lm *lm, int max_pos, int chunk, dots_lm_state **out, dots_error *e);
/* A sequence with a KV cache only, for lm_forward_batch (no scratch of its own). */
dots_status lm_state_new_kv(const dots_lm *lm, int max_pos, dots_lm_state **out, dots_error *e);
void lm_state_free(dots_lm_state *s);
/* Sizes the cache for exactly `positions` positions now (checked), so no later
 * step allocates or copies it; fails (changing nothing) past max_pos or out of memory. */
dots_status lm_state_reserve(dots_lm_state *s, long long positions, dots_error *e);
/* Forget the cached positions (the memory is kept). */
void lm_state_reset(dots_lm_state *s);
/* Positions already in the cache / positions the cache holds now. */
int lm_state_pos(const dots_lm_state *s);
int lm_state_capacity(const dots_lm_state *s);
/* Bytes of KV cache for `positions` positions (SIZE_MAX on overflow). */
size_t lm_kv_bytes(const dots_lm *lm, long long positions);

/* Scratch of one batched step of up to `rows` rows (decode rows + prefill chunks). */
dots_status lm_work_new(const dots_lm *lm, int rows, dots_lm_work **out, dots_error *e);
void lm_work_free(dots_lm_work *w);
int lm_work_rows(const dots_lm_work *w);

/* x[i,:] = embedding of ids[i] (f32). An id outside the vocabulary is an error naming it. */
dots_status lm_embed(const dots_lm *lm, const int *ids, int n, float *x, dots_error *e);

/* Runs n input rows (embeddings, [n, hidden]) at the next n positions, adding
 * them to the KV cache, in chunks. logits (may be NULL): all_logits ? [n, vocab]
 * (every row) : [vocab] (the last row only). Fails with DOTS_E_LIMIT (and
 * changes nothing) if the positions would pass max_pos. */
dots_status lm_forward(const dots_lm *lm, dots_lm_state *s, dots_pool *pool, const float *x, int n, float *logits,
                       int all_logits, dots_error *e);

/* One decode step for token id: lm_embed + lm_forward of one row, logits [vocab]. */
dots_status lm_decode(const dots_lm *lm, dots_lm_state *s, dots_pool *pool, int id, float *logits, dots_error *e);

/* One step over several sequences at different positions: sequence seqs[s] gets
 * its n[s] next rows; x holds them group after group ([sum n][hidden], sum n <=
 * lm_work_rows). Every linear runs once over all rows (one GEMM per weight),
 * attention per sequence against its own cache. logits (may be NULL): [n_seqs][vocab],
 * each sequence's last row. A row gets the same bits as the same row run through
 * lm_forward alone with the same chunking, provided the kernels' per-row results do
 * not depend on M (test_lm_batch checks this). All caches are sized before any
 * compute; a sequence past its max_pos fails the call with DOTS_E_LIMIT, changing nothing. */
dots_status lm_forward_batch(const dots_lm *lm, dots_lm_work *w, dots_pool *pool, dots_lm_state *const *seqs,
                             const int *n, int n_seqs, const float *x, float *logits, dots_error *e);

#endif

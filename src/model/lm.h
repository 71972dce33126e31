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

/* max_pos: the context limit (cache grows on demand up to it);
 * chunk: rows per prefill step (<= 0: 512). */
dots_status lm_state_new(const dots_lm *lm, int max_pos, int chunk, dots_lm_state **out, dots_error *e);
void lm_state_free(dots_lm_state *s);
/* Forget the cached positions (the memory is kept). */
void lm_state_reset(dots_lm_state *s);
/* Positions already in the cache. */
int lm_state_pos(const dots_lm_state *s);

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

#endif

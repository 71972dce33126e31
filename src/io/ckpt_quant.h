/* Quantize on load: the Linear weights of an opened checkpoint re-stored in
 * memory as Q8_0 / Q4_K (benchmarks, and users holding only a bf16 folder). */
#ifndef DOTS_CKPT_QUANT_H
#define DOTS_CKPT_QUANT_H
#include "base/threadpool.h"
#include "io/checkpoint.h"

/* Every 2-D weight of the LM (model.layers.*, lm_head) gets lm_type and of the
 * vision tower (vision_tower.*) vision_type (DT_Q8_0 or DT_Q4_K; DT_COUNT leaves
 * that part as stored). Embeddings, norms, biases and the patch embed stay as
 * stored; so do weights whose rows are not whole blocks (Q4_K needs K % 256 == 0:
 * the vision fc2's K = 4224 stays). Call before the model claims its tensors;
 * the tensors then point into *owned (free it with dots_free after the model
 * and the checkpoint are closed). Rows are converted over the pool. */
dots_status ckpt_quantize_linears(dots_ckpt *c, dots_dtype lm_type, dots_dtype vision_type, dots_pool *pool,
                                  void **owned, dots_error *e);

#endif

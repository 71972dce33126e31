/* Quantization drift: a candidate checkpoint (e.g. a Q8_0 GGUF) against a
 * reference (e.g. the bf16 HF folder) on the same input, stage by stage. */
#ifndef DOTS_DRIFT_H
#define DOTS_DRIFT_H
#include "base/threadpool.h"
#include "io/checkpoint.h"

#define DRIFT_MAX_STAGES 160

typedef struct {
    char name[48];
    double cosine;        /* of the whole activation */
    double max_rel;       /* max |cand - ref| / max |ref| */
} drift_stage;

typedef struct {
    drift_stage vis[DRIFT_MAX_STAGES]; /* patch_embed, block{i}.out, post_trunk_norm, merger */
    int n_vis;
    int n_patches;
    int tokens;           /* LM steps compared */
    int top1_agree;       /* steps where the candidate's argmax is the reference's greedy token */
    double logit_cos_min, logit_cos_mean, logit_max_rel;
} drift_report;

/* Vision on `pixels` (n_patches x 588, one image of grid (1,h,w)); then the LM on
 * [vision tokens of each model's own tower] + the reference's greedy continuation
 * of n_tokens (teacher forcing: both see the same ids, so every step compares). */
dots_status drift_measure(dots_ckpt *ref, dots_ckpt *cand, dots_pool *pool, const float *pixels, int h, int w,
                          int n_tokens, drift_report *r, dots_error *e);

#endif

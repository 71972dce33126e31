/* The dots.ocr vision tower (MODEL_SPEC section 2): patch embed, 42 pre-norm
 * blocks with 2D RoPE and block-diagonal attention over packed images,
 * post-trunk RMSNorm, 2x2 patch merger. */
#ifndef DOTS_VISION_H
#define DOTS_VISION_H
#include "base/threadpool.h"
#include "io/checkpoint.h"

typedef struct dots_vision dots_vision;

/* Claims and shape-checks every vision_tower.* tensor of the checkpoint against
 * ck->config.vision (both qkv/proj spellings accepted). Does not check text tensors. */
dots_status vision_load(dots_ckpt *ck, dots_vision **out, dots_error *e);
void vision_free(dots_vision *v);

/* Called after each stage with its activations (rows x cols f32), e.g. by dump-vision.
 * Names: "patch_embed", "block0.attn_out", "block0.mlp_out", "block{i}.out",
 * "post_trunk_norm", "merger". */
typedef void (*vision_stage_fn)(void *user, const char *name, const float *data, int rows, int cols);

/* Runs the tower on n_images packed images.
 * pixels: [n_patches, 3*14*14] f32 in merge-block order (MODEL_SPEC section 2);
 * grid: n_images rows of (t=1, h, w) in patches, h and w even;
 * out: [n_patches/4, hidden_size] f32, caller-allocated.
 * Memory is O(n_patches): attention is tiled, MLP rows are processed in chunks. */
dots_status vision_forward(dots_vision *v, dots_pool *pool, const float *pixels, const int (*grid)[3], int n_images,
                           float *out, vision_stage_fn stage, void *user, dots_error *e);

/* Output width (text hidden size) and FLOPs of a forward on these grids (for benchmarks). */
int vision_out_dim(const dots_vision *v);
double vision_flops(const dots_vision *v, const int (*grid)[3], int n_images);

/* Compute precision chosen from the stored dtype of the patch-embed weight:
 * DT_F32, DT_BF16 (upstream's bf16 path) or DT_F16 (see vision.c). */
dots_dtype vision_mode(const dots_vision *v);

#endif

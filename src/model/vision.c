/* The dots.ocr vision tower (MODEL_SPEC section 2).
 *
 * Precision follows the stored dtype of the patch-embed weight, as upstream
 * casts the pixels to the tower's dtype:
 *  - F32: everything f32 (upstream forward(bf16=False)).
 *  - BF16: the pixels are rounded to bf16 first (upstream forward(bf16=True));
 *    every product follows the kernels' bf16 contract (activations rounded to
 *    bf16, f32 sums) and attention runs in DT_BF16 precision with k and v stored
 *    as bf16 (lossless: the contract rounds them anyway). Norms, RoPE, the
 *    residual stream and activations stay f32, which is closer to the exact
 *    result than upstream's per-op bf16 rounding.
 *  - F16: upstream cannot run it as published (bf16 pixels meet f16 weights);
 *    a port that casts the pixels to the weight dtype would round them to f16
 *    and then compute every op in f16, which overflows easily (f16 max 65504).
 *    We round the pixels to f16 (what that cast does) and then compute in f32
 *    with the weights widened (the kernels' f16 contract): f32 accuracy, no
 *    overflow.
 *
 * Memory is O(N): the residual stream x, a normed/attention-output buffer, q,
 * k, v (N x E each) and fixed-size chunk scratch for the qkv, MLP and merger
 * rows. Attention is k_attention's tiled online softmax. */
#include "model/vision.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "kernels/kernels.h"

#define VISION_CHUNK 512        /* rows per qkv / MLP / merger chunk */
#define VISION_MAX_PATCHES (1 << 22)
#define PATCH_IN 588            /* 3 * 14 * 14 */

typedef struct vblock {
    const st_tensor *norm1, *qkv, *proj, *norm2, *fc1, *fc2, *fc3;
} vblock;

struct dots_vision {
    dots_vision_config cfg;
    int E, F, H, nh, hd, L;
    dots_dtype mode;            /* F32, BF16 or F16: see the top of the file */
    const st_tensor *pe_w, *pe_b, *pe_norm, *post_norm;
    const st_tensor *ln_w, *ln_b, *m0_w, *m0_b, *m2_w, *m2_b;
    vblock *blocks;
};

void vision_free(dots_vision *v) {
    if (!v) return;
    free(v->blocks);
    free(v);
}

int vision_out_dim(const dots_vision *v) { return v ? v->H : 0; }

dots_dtype vision_mode(const dots_vision *v) { return v->mode; }

#define REQ(name, alt, nd, ...) do { \
    int64_t shp_[] = {__VA_ARGS__}; \
    st = ckpt_require(ck, name, alt, nd, shp_, &t, e); \
    if (st) goto fail; } while (0)

dots_status vision_load(dots_ckpt *ck, dots_vision **out, dots_error *e) {
    *out = NULL;
    dots_vision *v = calloc(1, sizeof *v);
    if (!v) return dots_fail(e, DOTS_E_NOMEM, "out of memory loading the vision tower");
    const dots_vision_config *c = &ck->config.vision;
    v->cfg = *c;
    v->E = c->embed_dim; v->F = c->intermediate_size; v->H = c->hidden_size;
    v->nh = c->num_attention_heads; v->L = c->num_hidden_layers;
    dots_status st = DOTS_OK;
    if (v->E <= 0 || v->nh <= 0 || v->E % v->nh || (v->E / v->nh) % 4 || v->F <= 0 || v->H <= 0 || v->L <= 0 ||
        c->patch_size != 14 || c->num_channels != 3 || c->spatial_merge_size != 2 || c->temporal_patch_size != 1) {
        st = dots_fail(e, DOTS_E_MODEL, "%s/config.json: vision_config is inconsistent (embed_dim %d, heads %d, "
                       "intermediate_size %d, hidden_size %d, layers %d, patch_size %d, channels %d, merge %d); "
                       "fix config.json", ck->dir, v->E, v->nh, v->F, v->H, v->L, c->patch_size, c->num_channels,
                       c->spatial_merge_size);
        goto fail;
    }
    v->hd = v->E / v->nh;
    if (v->hd > 1024) {
        st = dots_fail(e, DOTS_E_UNSUPPORTED, "%s/config.json: vision head_dim %d (embed_dim / num_attention_heads) is "
                       "above the supported 1024", ck->dir, v->hd);
        goto fail;
    }
    if ((int64_t)v->E * 4 * v->E * 4 > ((int64_t)1 << 40)) {
        st = dots_fail(e, DOTS_E_MODEL, "%s/config.json: vision_config.embed_dim %d is implausibly large", ck->dir, v->E);
        goto fail;
    }
    v->blocks = calloc((size_t)v->L, sizeof *v->blocks);
    if (!v->blocks) { st = dots_fail(e, DOTS_E_NOMEM, "out of memory loading the vision tower"); goto fail; }
    const st_tensor *t;
    int64_t E = v->E, F = v->F, H = v->H;
    REQ("vision_tower.patch_embed.patchifier.proj.weight", NULL, 4, E, 3, 14, 14); v->pe_w = t;
    REQ("vision_tower.patch_embed.patchifier.proj.bias", NULL, 1, E); v->pe_b = t;
    REQ("vision_tower.patch_embed.patchifier.norm.weight", NULL, 1, E); v->pe_norm = t;
    for (int i = 0; i < v->L; i++) {
        char n[160], a[160];
        vblock *b = &v->blocks[i];
#define BN(s) (snprintf(n, sizeof n, "vision_tower.blocks.%d.%s", i, s), n)
#define BA(s) (snprintf(a, sizeof a, "vision_tower.blocks.%d.%s", i, s), a)
        REQ(BN("norm1.weight"), NULL, 1, E); b->norm1 = t;
        REQ(BN("norm2.weight"), NULL, 1, E); b->norm2 = t;
        BN("attn.qkv.weight"); BA("attn.qkv_proj.weight");
        REQ(n, a, 2, 3 * E, E); b->qkv = t;
        BN("attn.proj.weight"); BA("attn.out_proj.weight");
        REQ(n, a, 2, E, E); b->proj = t;
        REQ(BN("mlp.fc1.weight"), NULL, 2, F, E); b->fc1 = t;
        REQ(BN("mlp.fc3.weight"), NULL, 2, F, E); b->fc3 = t;
        REQ(BN("mlp.fc2.weight"), NULL, 2, E, F); b->fc2 = t;
#undef BN
#undef BA
    }
    if (c->post_norm) { REQ("vision_tower.post_trunk_norm.weight", NULL, 1, E); v->post_norm = t; }
    REQ("vision_tower.merger.ln_q.weight", NULL, 1, E); v->ln_w = t;
    REQ("vision_tower.merger.ln_q.bias", NULL, 1, E); v->ln_b = t;
    if (v->ln_b->dtype != v->ln_w->dtype) {
        st = dots_fail(e, DOTS_E_UNSUPPORTED, "%s: vision_tower.merger.ln_q.bias is %s but ln_q.weight is %s; "
                       "store both in the same dtype", v->ln_b->file, dtype_name(v->ln_b->dtype), dtype_name(v->ln_w->dtype));
        goto fail;
    }
    REQ("vision_tower.merger.mlp.0.weight", NULL, 2, 4 * E, 4 * E); v->m0_w = t;
    REQ("vision_tower.merger.mlp.0.bias", NULL, 1, 4 * E); v->m0_b = t;
    REQ("vision_tower.merger.mlp.2.weight", NULL, 2, H, 4 * E); v->m2_w = t;
    REQ("vision_tower.merger.mlp.2.bias", NULL, 1, H); v->m2_b = t;
    v->mode = v->pe_w->dtype;
    *out = v;
    return DOTS_OK;
fail:
    vision_free(v);
    return st;
}
#undef REQ

double vision_flops(const dots_vision *v, const int (*grid)[3], int n_images) {
    double N = 0, att = 0;
    for (int i = 0; i < n_images; i++) {
        double n = (double)grid[i][0] * grid[i][1] * grid[i][2];
        N += n;
        att += n * n;
    }
    double E = v->E, F = v->F, H = v->H;
    double per_patch = PATCH_IN * E + v->L * (3 * E * E + E * E + 3 * E * F) + (4 * E * 4 * E + 4 * E * H) / 4;
    return 2 * N * per_patch + v->L * 4.0 * att * E;
}

/* ------------------------------------------------------------ forward */

typedef struct {
    const dots_vision *v;
    const float *qkv;      /* chunk [rows, 3E] */
    int r0, rows, rows_per_task;
    const float *rope;     /* [N, hd]: cos[hd/2], sin[hd/2] per row */
    float *q;              /* [N, E] */
    void *k, *vv;          /* [N, E] f32 or bf16 */
    int kv_bf16;
} rope_job;

/* out[i] = x[i] cos a_i - x[i+d/2] sin a_i ; out[i+d/2] = x[i+d/2] cos a_i + x[i] sin a_i */
static void rope_apply(const float *x, const float *cs, int hd, float *out) {
    int h2 = hd / 2;
    const float *sn = cs + h2;
    for (int i = 0; i < h2; i++) {
        float a = x[i], b = x[i + h2];
        out[i] = a * cs[i] - b * sn[i];
        out[i + h2] = b * cs[i] + a * sn[i];
    }
}

static void rope_task(void *ctx, int task, int thread) {
    (void)thread;
    rope_job *j = ctx;
    const dots_vision *v = j->v;
    int E = v->E, hd = v->hd;
    int a = task * j->rows_per_task, b = a + j->rows_per_task;
    if (b > j->rows) b = j->rows;
    float tmp[1024];   /* hd <= 1024 (checked at load); heads one at a time */
    for (int r = a; r < b; r++) {
        size_t row = (size_t)(j->r0 + r);
        const float *src = j->qkv + (size_t)r * 3 * E;
        const float *cs = j->rope + row * hd;
        for (int h = 0; h < v->nh; h++) {
            rope_apply(src + h * hd, cs, hd, j->q + row * E + (size_t)h * hd);
            float *kd = j->kv_bf16 ? tmp : (float *)j->k + row * E + (size_t)h * hd;
            rope_apply(src + E + h * hd, cs, hd, kd);
            if (j->kv_bf16) {
                bf16_t *kb = (bf16_t *)j->k + row * E + (size_t)h * hd;
                for (int i = 0; i < hd; i++) kb[i] = f32_to_bf16(tmp[i]);
            }
        }
        if (j->kv_bf16) {
            bf16_t *vb = (bf16_t *)j->vv + row * E;
            for (int i = 0; i < E; i++) vb[i] = f32_to_bf16(src[2 * E + i]);
        } else {
            memcpy((float *)j->vv + row * E, src + 2 * E, (size_t)E * sizeof(float));
        }
    }
}

/* Per-row cos/sin of the 2D rotary angles (fp32 as upstream: inv_freq in f32,
 * angle = pos * inv_freq in f32, then cos/sin). */
static void build_rope(const dots_vision *v, const int (*grid)[3], int n_images, float *rope) {
    int hd = v->hd, h2 = hd / 2, q4 = hd / 4;
    float inv[512];
    for (int j = 0; j < q4; j++) inv[j] = 1.0f / powf(10000.0f, (float)(2 * j) / (float)h2);
    size_t row = 0;
    for (int s = 0; s < n_images; s++) {
        int gh = grid[s][1], gw = grid[s][2];
        for (int bh = 0; bh < gh / 2; bh++)
            for (int bw = 0; bw < gw / 2; bw++)
                for (int ih = 0; ih < 2; ih++)
                    for (int iw = 0; iw < 2; iw++, row++) {
                        float r = (float)(2 * bh + ih), c = (float)(2 * bw + iw);
                        float *cs = rope + row * hd, *sn = cs + h2;
                        for (int i = 0; i < h2; i++) {
                            float ang = i < q4 ? r * inv[i] : c * inv[i - q4];
                            cs[i] = cosf(ang);
                            sn[i] = sinf(ang);
                        }
                    }
    }
}

static void round_rows(float *x, size_t n, dots_dtype mode) {
    if (mode == DT_BF16)
        for (size_t i = 0; i < n; i++) x[i] = bf16_to_f32(f32_to_bf16(x[i]));
    else if (mode == DT_F16)
        for (size_t i = 0; i < n; i++) x[i] = f16_to_f32(f32_to_f16(x[i]));
}

/* k_linear returns -1 for a weight dtype it does not take (not worth a retry with
 * fewer patches) or when its scratch cannot be allocated. */
static dots_status lin_failure(const char *where, dots_dtype wdt, int N, dots_error *e) {
    if (!k_linear_supports(wdt))
        return dots_fail(e, DOTS_E_UNSUPPORTED, "vision %s: weight dtype %s is not supported by the linear kernels",
                         where, dtype_name(wdt));
    return dots_fail(e, DOTS_E_NOMEM, "out of memory for linear-kernel scratch (vision %s, %d patches)", where, N);
}
#define LIN(where, ...) do { \
    if (k_linear(__VA_ARGS__) != 0) { st = lin_failure(where, lin_wdt(__VA_ARGS__), N, e); goto done; } } while (0)
/* the weight dtype among k_linear's arguments (pool, x, M, K, W, wdt, ...) */
#define lin_wdt(pool, x, M, K, W, wdt, ...) (wdt)

#define EMIT(name, ptr, r, c) do { if (stage) stage(user, name, ptr, r, c); } while (0)

dots_status vision_forward(dots_vision *v, dots_pool *pool, const float *pixels, const int (*grid)[3], int n_images,
                           float *out, vision_stage_fn stage, void *user, dots_error *e) {
    if (!v || !pixels || !grid || !out || n_images <= 0)
        return dots_fail(e, DOTS_E_ARG, "vision_forward: %s", !v ? "no model" : n_images <= 0 ? "no images" : "NULL buffer");
    int64_t N64 = 0;
    for (int s = 0; s < n_images; s++) {
        int t = grid[s][0], gh = grid[s][1], gw = grid[s][2];
        if (t != 1)
            return dots_fail(e, DOTS_E_UNSUPPORTED, "image %d: grid_thw t = %d; only still images (t = 1) are supported", s, t);
        if (gh < 2 || gw < 2 || gh % 2 || gw % 2 || gh > VISION_MAX_PATCHES || gw > VISION_MAX_PATCHES)
            return dots_fail(e, DOTS_E_ARG, "image %d: grid %dx%d patches; both sides must be even and at least 2 "
                             "(the 2x2 merger)", s, gh, gw);
        N64 += (int64_t)gh * gw;
        if (N64 > VISION_MAX_PATCHES)
            return dots_fail(e, DOTS_E_LIMIT, "%lld patches in one call exceed the limit of %d; split the images",
                             (long long)N64, VISION_MAX_PATCHES);
    }
    const int N = (int)N64, E = v->E, F = v->F, H = v->H, hd = v->hd, C = VISION_CHUNK;
    const int kv_bf16 = v->mode == DT_BF16;
    const size_t NE = (size_t)N * E, kvsz = kv_bf16 ? 2 : 4;
    size_t scr_n = (size_t)C * 3 * E;
    if ((size_t)C * 2 * F > scr_n) scr_n = (size_t)C * 2 * F;
    if ((size_t)C * 4 * E > scr_n) scr_n = (size_t)C * 4 * E;
    if ((size_t)C * PATCH_IN > scr_n) scr_n = (size_t)C * PATCH_IN;
    dots_status st = DOTS_OK;
    float *x = dots_alloc(NE * 4, "the vision residual stream", e);
    float *nb = x ? dots_alloc(NE * 4, "vision activations", e) : NULL;
    float *qb = nb ? dots_alloc(NE * 4, "vision queries", e) : NULL;
    void *kb = qb ? dots_alloc(NE * kvsz, "vision keys", e) : NULL;
    void *vb = kb ? dots_alloc(NE * kvsz, "vision values", e) : NULL;
    float *rope = vb ? dots_alloc((size_t)N * hd * 4, "vision rotary table", e) : NULL;
    float *scr = rope ? dots_alloc(scr_n * 4, "vision chunk scratch", e) : NULL;
    int *bounds = scr ? dots_alloc((size_t)(n_images + 1) * sizeof(int), "vision sequence bounds", e) : NULL;
    if (!bounds) { st = DOTS_E_NOMEM; goto done; }
    bounds[0] = 0;
    for (int s = 0; s < n_images; s++) bounds[s + 1] = bounds[s] + grid[s][1] * grid[s][2];
    build_rope(v, grid, n_images, rope);

    /* 1. patch embed (the conv as a linear over 588 = c*196 + y*14 + x) + RMSNorm */
    for (int r0 = 0; r0 < N; r0 += C) {
        int rows = N - r0 < C ? N - r0 : C;
        memcpy(scr, pixels + (size_t)r0 * PATCH_IN, (size_t)rows * PATCH_IN * sizeof(float));
        round_rows(scr, (size_t)rows * PATCH_IN, v->mode); /* upstream casts pixels to the tower dtype */
        LIN("patch embed", pool, scr, rows, PATCH_IN, v->pe_w->data, v->pe_w->dtype, v->pe_b->data, v->pe_b->dtype,
            x + (size_t)r0 * E, E);
    }
    k_rmsnorm(x, v->pe_norm->data, v->pe_norm->dtype, v->cfg.rms_norm_eps, x, N, E);
    EMIT("patch_embed", x, N, E);

    /* 2. blocks */
    for (int l = 0; l < v->L; l++) {
        const vblock *b = &v->blocks[l];
        k_rmsnorm(x, b->norm1->data, b->norm1->dtype, v->cfg.rms_norm_eps, nb, N, E);
        for (int r0 = 0; r0 < N; r0 += C) {
            int rows = N - r0 < C ? N - r0 : C;
            LIN("qkv", pool, nb + (size_t)r0 * E, rows, E, b->qkv->data, b->qkv->dtype, NULL, DT_F32, scr, 3 * E);
            rope_job j = {v, scr, r0, rows, 0, rope, qb, kb, vb, kv_bf16};
            int nt = pool_threads(pool) * 2;
            j.rows_per_task = (rows + nt - 1) / nt;
            if (j.rows_per_task < 1) j.rows_per_task = 1;
            pool_run(pool, (rows + j.rows_per_task - 1) / j.rows_per_task, rope_task, &j);
        }
        dots_attn a = {0};
        a.n_q = a.n_kv = N;
        a.n_heads = a.n_kv_heads = v->nh;
        a.head_dim = hd;
        a.q = qb; a.ldq = (size_t)E;
        a.k = kb; a.ldk = (size_t)E;
        a.v = vb; a.ldv = (size_t)E;
        a.kv_dtype = kv_bf16 ? DT_BF16 : DT_F32;
        a.out = nb; a.ldo = (size_t)E;
        a.scale = 1.0f / sqrtf((float)hd);
        a.seq_bounds = bounds; a.n_seqs = n_images;
        a.precision = kv_bf16 ? DT_BF16 : DT_F32;
        if (k_attention(pool, &a) != 0) {
            st = dots_fail(e, DOTS_E_NOMEM, "out of memory for attention scratch (vision block %d, %d patches)", l, N);
            goto done;
        }
        LIN("proj", pool, nb, N, E, b->proj->data, b->proj->dtype, NULL, DT_F32, qb, E);
        if (l == 0) EMIT("block0.attn_out", qb, N, E);
        k_add(x, qb, NE);
        k_rmsnorm(x, b->norm2->data, b->norm2->dtype, v->cfg.rms_norm_eps, nb, N, E);
        for (int r0 = 0; r0 < N; r0 += C) {
            int rows = N - r0 < C ? N - r0 : C;
            float *g = scr, *u = scr + (size_t)rows * F;
            if (b->fc1->dtype == b->fc3->dtype) { /* one activation conversion and pool pass for both */
                dots_lin_part parts[2] = {{b->fc1->data, NULL, g, F}, {b->fc3->data, NULL, u, F}};
                if (k_linear_multi(pool, nb + (size_t)r0 * E, rows, E, b->fc1->dtype, DT_F32, parts, 2) != 0) {
                    st = lin_failure("fc1/fc3", b->fc1->dtype, N, e);
                    goto done;
                }
            } else {
                LIN("fc1", pool, nb + (size_t)r0 * E, rows, E, b->fc1->data, b->fc1->dtype, NULL, DT_F32, g, F);
                LIN("fc3", pool, nb + (size_t)r0 * E, rows, E, b->fc3->data, b->fc3->dtype, NULL, DT_F32, u, F);
            }
            k_silu_mul(g, u, (size_t)rows * F);
            LIN("fc2", pool, g, rows, F, b->fc2->data, b->fc2->dtype, NULL, DT_F32, qb + (size_t)r0 * E, E);
        }
        if (l == 0) EMIT("block0.mlp_out", qb, N, E);
        k_add(x, qb, NE);
        if (stage) {
            char name[32];
            snprintf(name, sizeof name, "block%d.out", l);
            stage(user, name, x, N, E);
        }
    }

    /* 3. post-trunk norm */
    if (v->post_norm) {
        k_rmsnorm(x, v->post_norm->data, v->post_norm->dtype, v->cfg.rms_norm_eps, x, N, E);
        EMIT("post_trunk_norm", x, N, E);
    }

    /* 4. merger: LayerNorm per token, 4 consecutive tokens (one 2x2 block) -> 4E, MLP */
    k_layernorm(x, v->ln_w->data, v->ln_b->data, v->ln_w->dtype, 1e-6f, nb, N, E);
    {
        int M = N / 4;
        for (int m0 = 0; m0 < M; m0 += C) {
            int rows = M - m0 < C ? M - m0 : C;
            LIN("merger", pool, nb + (size_t)m0 * 4 * E, rows, 4 * E, v->m0_w->data, v->m0_w->dtype, v->m0_b->data,
                v->m0_b->dtype, scr, 4 * E);
            k_gelu(scr, (size_t)rows * 4 * E);
            LIN("merger", pool, scr, rows, 4 * E, v->m2_w->data, v->m2_w->dtype, v->m2_b->data, v->m2_b->dtype,
                out + (size_t)m0 * H, H);
        }
        EMIT("merger", out, M, H);
    }
done:
    dots_free(x); dots_free(nb); dots_free(qb); dots_free(kb); dots_free(vb);
    dots_free(rope); dots_free(scr); dots_free(bounds);
    return st;
}

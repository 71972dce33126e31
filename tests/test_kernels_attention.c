/* k_attention on every ISA level this CPU has, against ref_attention: packed
 * sequences (with rows outside them), causal with q_pos0 > 0 (KV cache rows),
 * GQA, both precisions, both KV dtypes, padded row strides. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "base/dtype.h"
#include "base/threadpool.h"
#include "kernels/kernels.h"

typedef struct {
    const char *name;
    int n_q, n_kv, heads, kv_heads, d, causal, q_pos0;
    int nb; int bounds[6];
    float qscale; /* larger scores make the softmax peaky */
} acase;

static const acase cases[] = {
    {"plain", 37, 37, 4, 2, 64, 0, 0, 0, {0}, 1},
    {"packed 3 seqs", 150, 150, 2, 2, 32, 0, 0, 4, {0, 20, 77, 150}, 1},
    {"packed, rows outside", 80, 80, 3, 1, 16, 0, 0, 3, {10, 50, 51}, 2},
    {"causal prefill", 130, 130, 6, 2, 128, 1, 0, 0, {0}, 1},
    {"causal cache rows", 5, 200, 6, 2, 128, 1, 195, 0, {0}, 1},
    {"decode", 1, 300, 12, 2, 128, 1, 299, 0, {0}, 3},
    {"two tiles each way", 300, 300, 2, 1, 128, 0, 0, 0, {0}, 4},
    {"vision-like blocks", 260, 260, 2, 2, 128, 0, 0, 3, {0, 196, 260}, 1},
    {"n_q != n_kv", 7, 90, 2, 2, 48, 0, 0, 0, {0}, 1},
    {"head_dim 24 (ref path)", 20, 20, 2, 1, 24, 1, 0, 0, {0}, 1},
    {"decode 3 rows, head_dim 40", 3, 50, 4, 2, 40, 1, 47, 0, {0}, 2},
    {"decode, 4 rows packed", 4, 4, 2, 1, 32, 0, 0, 3, {0, 1, 4}, 1},
    {"decode, no visible keys", 2, 10, 2, 2, 16, 1, -1, 0, {0}, 1},
    /* long enough for the decode path to split the keys (flash-decoding merge) */
    {"decode, split keys", 1, 3000, 12, 2, 128, 1, 2999, 0, {0}, 3},
    {"decode 2 rows, split keys, causal", 2, 2100, 4, 2, 64, 1, 1000, 0, {0}, 2},
    {"decode 4 rows, split keys, no mask", 4, 1800, 6, 1, 128, 0, 0, 0, {0}, 4},
    /* > 512 keys, partial 16-row tiles and key tiles with a tail past a whole 32
     * (the amx level's tile tails) */
    {"vision 600 keys, head_dim 64", 600, 600, 2, 2, 64, 0, 0, 2, {0, 590, 600}, 2},
    {"causal 17 rows after 530 cached", 17, 547, 4, 2, 128, 1, 530, 0, {0}, 2},
    {"head_dim 80 (amx pv, avx512bf16 qk)", 70, 70, 2, 1, 80, 1, 0, 0, {0}, 1},
};

int main(void) {
    dots_error e;
    dots_pool *pool = pool_create(2, &e);
    CHECK(pool != NULL, "pool_create");
    static const dots_isa levels[] = {ISA_SCALAR, ISA_AVX2, ISA_AVX512, ISA_AVX512BF16, ISA_AMX, ISA_NEON, ISA_NEONBF16};
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const acase *c = &cases[ci];
        if (getenv("DOTS_TEST_SMALL") && (double)c->n_q * c->n_kv * c->heads * c->d > 2.5e6)
            continue; /* under emulation (qemu_x86.cmake): the biggest cases */
        int d = c->d, pad = 8;
        size_t ldq = (size_t)c->heads * d + pad, ldk = (size_t)c->kv_heads * d + pad, ldo = (size_t)c->heads * d + pad;
        float *q = malloc((size_t)c->n_q * ldq * 4), *kf = malloc((size_t)c->n_kv * ldk * 4), *vf = malloc((size_t)c->n_kv * ldk * 4);
        bf16_t *kb = malloc((size_t)c->n_kv * ldk * 2), *vb = malloc((size_t)c->n_kv * ldk * 2);
        float *ref = malloc((size_t)c->n_q * ldo * 4), *out = malloc((size_t)c->n_q * ldo * 4);
        test_fill_random(q, (size_t)c->n_q * ldq, 11 + (unsigned)ci);
        for (size_t i = 0; i < (size_t)c->n_q * ldq; i++) q[i] *= c->qscale;
        test_fill_random(kf, (size_t)c->n_kv * ldk, 22 + (unsigned)ci);
        test_fill_random(vf, (size_t)c->n_kv * ldk, 33 + (unsigned)ci);
        for (size_t i = 0; i < (size_t)c->n_kv * ldk; i++) { kb[i] = f32_to_bf16(kf[i]); vb[i] = f32_to_bf16(vf[i]); }
        for (int kvb = 0; kvb < 2; kvb++)
            for (int pb = 0; pb < 2; pb++) {
                dots_attn a;
                memset(&a, 0, sizeof a);
                a.n_q = c->n_q; a.n_kv = c->n_kv; a.n_heads = c->heads; a.n_kv_heads = c->kv_heads; a.head_dim = d;
                a.q = q; a.ldq = ldq;
                a.k = kvb ? (const void *)kb : kf; a.ldk = ldk;
                a.v = kvb ? (const void *)vb : vf; a.ldv = ldk;
                a.kv_dtype = kvb ? DT_BF16 : DT_F32;
                a.ldo = ldo; a.scale = 1.0f / sqrtf((float)d);
                a.causal = c->causal; a.q_pos0 = c->q_pos0;
                a.seq_bounds = c->nb ? c->bounds : NULL; a.n_seqs = c->nb ? c->nb - 1 : 0;
                a.precision = pb ? DT_BF16 : DT_F32;
                a.out = ref;
                memset(ref, 0, (size_t)c->n_q * ldo * 4);
                CHECK(ref_attention(&a) == 0, "ref");
                for (int li = 0; li < ISA_COUNT; li++) {
                    if (isa_select(levels[li]) != levels[li]) continue;
                    for (size_t i = 0; i < (size_t)c->n_q * ldo; i++) out[i] = 0; /* pad columns must stay 0 */
                    a.out = out;
                    int rc = k_attention(pool, &a);
                    t_diff df = test_compare(ref, out, (size_t)c->n_q * ldo);
                    /* Outputs are convex combinations of V (|v| <= 1). f32: the tiles
                     * only reorder f32 sums and rescalings, ~1e-6. bf16: p is rounded to
                     * bf16 relative to the running max of a tile instead of the running
                     * max of one key, so each weight may differ by one bf16 ulp
                     * (2^-8 relative) in either: |error| <= 2^-8 max|v| ~ 4e-3. A
                     * masking error moves outputs by ~0.1. */
                    double tol = pb ? 4e-3 : 5e-6;
                    CHECK(rc == 0 && df.max_abs <= tol, "%s %s kv=%s prec=%s: rc=%d max_abs=%g (tol %g)", c->name,
                          isa_name(levels[li]), kvb ? "bf16" : "f32", pb ? "bf16" : "f32", rc, df.max_abs, tol);
                }
            }
        free(q); free(kf); free(vf); free(kb); free(vb); free(ref); free(out);
    }
    /* invalid arguments are refused, nothing written */
    isa_select(isa_detect());
    float qq[16] = {0}, oo[16] = {0};
    oo[0] = 5;
    int badb[3] = {0, 3, 2};
    dots_attn a = {2, 2, 1, 1, 8, qq, 8, qq, 8, qq, 8, DT_F32, oo, 8, 1.0f, 0, 0, badb, 2, DT_F32};
    CHECK(k_attention(pool, &a) == -1 && oo[0] == 5, "decreasing seq_bounds accepted");
    a.seq_bounds = NULL; a.n_heads = 3; a.n_kv_heads = 2;
    CHECK(k_attention(pool, &a) == -1 && oo[0] == 5, "n_heads %% n_kv_heads accepted");
    a.n_heads = 1; a.n_kv_heads = 1; a.kv_dtype = DT_F16;
    CHECK(k_attention(pool, &a) == -1 && oo[0] == 5, "kv dtype F16 accepted");
    pool_destroy(pool);
    return test_finish("test_kernels_attention");
}

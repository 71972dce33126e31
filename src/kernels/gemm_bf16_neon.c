/* FEAT_BF16 GEMM tile for BF16 weights: BFMMLA on the weights as stored.
 * BFMMLA multiplies a 2x4 block of bf16 activations by a 2x4 block of bf16
 * weights (both K-contiguous) into a 2x2 f32 block, which is exactly the NT
 * layout: two rows' 8-k loads become two operands with one 64-bit TRN1/TRN2
 * each, so no weight packing is needed. Tile: 4 activation rows x 8 weight
 * rows = 2 x 4 accumulators of 2x2; per 8 k: 12 loads, 12 TRNs, 16 BFMMLAs
 * (256 multiply-adds). Activations arrive as bf16 rows (ACT_BF16: rounded
 * once per call by the driver), products are exact, sums f32.
 * Compiled for armv8.2-a+bf16 per function; dispatch.c installs it only when
 * HWCAP2_BF16 is set. */
#include <arm_neon.h>
#include "kernels/kern_impl.h"
#include "kernels/vec_neon.h"

#define BF16_FN static __attribute__((target("arch=armv8.2-a+bf16")))
#define BF16_INL static inline __attribute__((always_inline, target("arch=armv8.2-a+bf16")))
#define MR_BF 4
#define NR_BF 8

BF16_INL bfloat16x8_t lo64(uint16x8_t a, uint16x8_t b) {
    return vreinterpretq_bf16_u64(vtrn1q_u64(vreinterpretq_u64_u16(a), vreinterpretq_u64_u16(b)));
}
BF16_INL bfloat16x8_t hi64(uint16x8_t a, uint16x8_t b) {
    return vreinterpretq_bf16_u64(vtrn2q_u64(vreinterpretq_u64_u16(a), vreinterpretq_u64_u16(b)));
}

/* C[i,j] (= or +=) sum_k A[i,k] W[j,k] (+ bias[j]), i < mr <= MRc, j < nr <= 8.
 * Rows past mr / nr repeat row 0 and are not stored. */
BF16_INL void tile_T(const int MRc, const bf16_t *A, size_t lda, int mr, const bf16_t *W, size_t ldw, int nr,
                     int kc, float *C, size_t ldc, int accumulate, const float *bias) {
    const int NP = (MRc + 1) / 2;
    const bf16_t *a[4], *w[NR_BF];
    UNROLL
    for (int i = 0; i < 4; i++) a[i] = A + (i < mr ? (size_t)i * lda : 0);
    for (int j = 0; j < NR_BF; j++) w[j] = W + (j < nr ? (size_t)j * ldw : 0);
    float32x4_t acc[2][4];
    UNROLL
    for (int p = 0; p < NP; p++)
        UNROLL
        for (int q = 0; q < 4; q++) acc[p][q] = vdupq_n_f32(0);
    int k = 0;
    for (; k + 8 <= kc; k += 8) {
        bfloat16x8_t al[2], ah[2];
        UNROLL
        for (int p = 0; p < NP; p++) {
            uint16x8_t r0 = vld1q_u16(a[2 * p] + k), r1 = vld1q_u16(a[2 * p + 1] + k);
            al[p] = lo64(r0, r1);
            ah[p] = hi64(r0, r1);
        }
        UNROLL
        for (int q = 0; q < 4; q++) {
            uint16x8_t r0 = vld1q_u16(w[2 * q] + k), r1 = vld1q_u16(w[2 * q + 1] + k);
            bfloat16x8_t wl = lo64(r0, r1), wh = hi64(r0, r1);
            UNROLL
            for (int p = 0; p < NP; p++) {
                acc[p][q] = vbfmmlaq_f32(acc[p][q], al[p], wl);
                acc[p][q] = vbfmmlaq_f32(acc[p][q], ah[p], wh);
            }
        }
    }
    /* acc[p][q] = [C(2p,2q), C(2p,2q+1), C(2p+1,2q), C(2p+1,2q+1)] */
    float t[4][NR_BF];
    UNROLL
    for (int p = 0; p < NP; p++)
        UNROLL
        for (int q = 0; q < 4; q++) {
            float v[4];
            vst1q_f32(v, acc[p][q]);
            t[2 * p][2 * q] = v[0]; t[2 * p][2 * q + 1] = v[1];
            t[2 * p + 1][2 * q] = v[2]; t[2 * p + 1][2 * q + 1] = v[3];
        }
    UNROLL
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            float s = t[i][j];
            for (int kk = k; kk < kc; kk++) s += bf16_to_f32(a[i][kk]) * bf16_to_f32(w[j][kk]); /* K tail */
            if (bias) s += bias[j];
            C[i * ldc + j] = accumulate ? C[i * ldc + j] + s : s;
        }
}

BF16_FN void tile_bf16(const void *A, size_t lda, int mr, const void *W, size_t ldw, int nr, int kc, float *C,
                       size_t ldc, int accumulate, const float *bias) {
    if (mr <= 2) tile_T(2, A, lda, mr, W, ldw, nr, kc, C, ldc, accumulate, bias);
    else tile_T(4, A, lda, mr, W, ldw, nr, kc, C, ldc, accumulate, bias);
}

void kops_fill_neon_bf16(kern_ops *o) {
    /* no BFDOT GEMV: it sums in another order than BFMMLA, so M = 1 runs this tile
     * like every other M (kernels.h: row exactness) */
    o->gemv4[DT_BF16] = NULL;
    o->tile[DT_BF16] = tile_bf16;
    o->act[DT_BF16] = ACT_BF16;
    o->mr[DT_BF16] = MR_BF;
    o->nr[DT_BF16] = NR_BF;
    kops_fill_attn_neon_bf16(o);
}

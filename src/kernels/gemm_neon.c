/* NEON GEMM tiles (arm64): F32, F16 (fcvtl) and BF16 by widening (shift),
 * 4 activation rows x 4 weight rows of 4-lane accumulators along K. */
#include <arm_neon.h>
#include "kernels/kern_impl.h"

#define AINL static inline __attribute__((always_inline))

AINL float32x4_t load4_w(const void *w, dots_dtype dt, size_t i) {
    if (dt == DT_F32) return vld1q_f32((const float *)w + i);
    if (dt == DT_F16) return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)w + i)));
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16((const uint16_t *)w + i), 16));
}

AINL void tile_T(const int MRc, const dots_dtype dt, const float *A, size_t lda, const void *W, size_t ldw, int nr,
                 int kc, float *C, size_t ldc, int accumulate, const float *bias) {
    size_t wo[4];
    for (int j = 0; j < 4; j++) wo[j] = (size_t)(j < nr ? j : 0) * ldw; /* missing rows repeat row 0 */
    float32x4_t c[4][4];
    for (int i = 0; i < MRc; i++)
        for (int j = 0; j < 4; j++) c[i][j] = vdupq_n_f32(0);
    int k = 0;
    for (; k + 4 <= kc; k += 4) {
        float32x4_t b[4];
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) b[j] = load4_w(W, dt, wo[j] + k);
#pragma GCC unroll 4
        for (int i = 0; i < MRc; i++) {
            float32x4_t av = vld1q_f32(A + i * lda + k);
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) c[i][j] = vfmaq_f32(c[i][j], av, b[j]);
        }
    }
    for (int i = 0; i < MRc; i++)
        for (int j = 0; j < nr; j++) {
            float s = vaddvq_f32(c[i][j]);
            for (int kk = k; kk < kc; kk++) s += A[i * lda + kk] * kern_w_at(W, dt, wo[j] + kk); /* K tail */
            if (bias) s += bias[j];
            C[i * ldc + j] = accumulate ? C[i * ldc + j] + s : s;
        }
}

GEMM_TILE_BY_MR(tile_f32, DT_F32)
GEMM_TILE_BY_MR(tile_f16, DT_F16)
GEMM_TILE_BY_MR(tile_bf16w, DT_BF16)

void kops_fill_neon(kern_ops *o) {
    o->tile[DT_F32] = tile_f32; o->act[DT_F32] = ACT_F32;
    o->tile[DT_F16] = tile_f16; o->act[DT_F16] = ACT_F32;
    o->tile[DT_BF16] = tile_bf16w; o->act[DT_BF16] = ACT_F32_RBF16;
    for (int i = 0; i < 3; i++) o->mr[i] = o->nr[i] = 4;
    kops_fill_attn_neon(o);
}

/* AVX2 + FMA GEMM tiles (CPUs without AVX-512): F32, F16 (F16C) and BF16 by
 * widening, 4 activation rows x 3 weight rows of 8-lane accumulators along K
 * (15 of the 16 ymm registers). */
#include <immintrin.h>
#include <stdint.h>
#include "kernels/kern_impl.h"

#define AINL static inline __attribute__((always_inline))
#define NR 3

AINL __m256 load8_w(const void *w, dots_dtype dt, size_t i) {
    if (dt == DT_F32) return _mm256_loadu_ps((const float *)w + i);
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)w + i));
    if (dt == DT_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

AINL float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AINL void tile_T(const int MRc, const dots_dtype dt, const float *A, size_t lda, const void *W, size_t ldw, int nr,
                 int kc, float *C, size_t ldc, int accumulate, const float *bias) {
    size_t wo[NR];
    for (int j = 0; j < NR; j++) wo[j] = (size_t)(j < nr ? j : 0) * ldw; /* missing rows repeat row 0 */
    __m256 c[4][NR];
    for (int i = 0; i < MRc; i++)
        for (int j = 0; j < NR; j++) c[i][j] = _mm256_setzero_ps();
    int k = 0;
    for (; k + 8 <= kc; k += 8) {
        __m256 b[NR];
#pragma GCC unroll 3
        for (int j = 0; j < NR; j++) b[j] = load8_w(W, dt, wo[j] + k);
#pragma GCC unroll 4
        for (int i = 0; i < MRc; i++) {
            __m256 av = _mm256_loadu_ps(A + i * lda + k);
#pragma GCC unroll 3
            for (int j = 0; j < NR; j++) c[i][j] = _mm256_fmadd_ps(av, b[j], c[i][j]);
        }
    }
    for (int i = 0; i < MRc; i++)
        for (int j = 0; j < nr; j++) {
            float s = hsum8(c[i][j]);
            for (int kk = k; kk < kc; kk++) s += A[i * lda + kk] * kern_w_at(W, dt, wo[j] + kk); /* K tail */
            if (bias) s += bias[j];
            C[i * ldc + j] = accumulate ? C[i * ldc + j] + s : s;
        }
}

GEMM_TILE_BY_MR(tile_f32, DT_F32)
GEMM_TILE_BY_MR(tile_f16, DT_F16)
GEMM_TILE_BY_MR(tile_bf16w, DT_BF16)

void kops_fill_avx2(kern_ops *o) {
    o->tile[DT_F32] = tile_f32; o->act[DT_F32] = ACT_F32;
    o->tile[DT_F16] = tile_f16; o->act[DT_F16] = ACT_F32;
    o->tile[DT_BF16] = tile_bf16w; o->act[DT_BF16] = ACT_F32_RBF16;
    for (int i = 0; i < 3; i++) { o->mr[i] = 4; o->nr[i] = NR; }
    kops_fill_attn_avx2(o);
    kops_fill_vec_avx2(o);
}

/* Internal: the 256-bit Q8_0 dot-product tiles (GEMV and small M), shared by
 * the AVX2 / AVX-VNNI level (quant_avx2.c) and the AVX512-VNNI level
 * (quant_avx512.c, vpdpbusd ymm through AVX512VL), which include it after
 * <immintrin.h> and instantiate Q8_FAMILY with their attribute and dot. */
#ifndef DOTS_QUANT_TILE256_H
#define DOTS_QUANT_TILE256_H
#include "kernels/quant_kern.h"

static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* --- Q8_0 ----------------------------------------------------------------
 * AVX2: |w| (u8) x sign(a, w) (s8) pairs into int16 (at most 2*128*127), then
 * vpmaddwd by 1 into int32. VNNI: (w ^ 0x80) (u8) x a (s8) straight into int32,
 * started from corr8 (-128 sum a) so the +128 offset cancels. */
#define W_PREP_AVX2(w) _mm256_sign_epi8(w, w)
#define DOT_AVX2(wp, w, av, corr) \
    _mm256_madd_epi16(_mm256_maddubs_epi16(wp, _mm256_sign_epi8(av, w)), _mm256_set1_epi16(1))
#define W_PREP_VNNI(w) _mm256_xor_si256(w, _mm256_set1_epi8((char)0x80))
#define DOT_VNNI(wp, w, av, corr) _mm256_dpbusd_avx_epi32(corr, wp, av)

#define Q8_TILE(NAME, MR, NR, ATTR, PREP, DOT) \
    ATTR static void NAME(const qact8 *A, int m0, const blk_q8_0 *W, size_t ldw, int nb, float *C, size_t ldc) { \
        __m256 acc[MR][NR]; \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
            _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) acc[i][j] = _mm256_setzero_ps(); \
        for (int b = 0; b < nb; b++) { \
            __m256i w[NR], wp[NR]; \
            __m256 dw[NR]; \
            _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) { \
                const blk_q8_0 *blk = W + (size_t)j * ldw + b; \
                w[j] = _mm256_loadu_si256((const __m256i *)blk->qs); \
                wp[j] = PREP(w[j]); \
                dw[j] = _mm256_set1_ps(_cvtsh_ss(blk->d)); \
            } \
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) { \
                size_t r = (size_t)(m0 + i); \
                __m256i av = _mm256_loadu_si256((const __m256i *)(A->qs + r * A->ldq + (size_t)b * 32)); \
                __m256 da = _mm256_loadu_ps(A->d8 + r * A->ld8 + (size_t)b * 8); \
                __m256i corr = _mm256_loadu_si256((const __m256i *)(A->corr8 + r * A->ld8 + (size_t)b * 8)); \
                (void)corr; \
                _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) { \
                    __m256i dot = DOT(wp[j], w[j], av, corr); \
                    acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(dw[j], da), acc[i][j]); \
                } \
            } \
        } \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
            _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) C[(size_t)i * ldc + j] = hsum8(acc[i][j]); \
    }

/* A tile function over any mr (1..4) and nr: GEMV (mr 1) runs 4 W rows at a
 * time (4 DRAM streams), GEMM 2; leftover rows one at a time. */
#define Q8_FAMILY(P, ATTR, PREP, DOT) \
    Q8_TILE(P##_1_4, 1, 4, ATTR, PREP, DOT) \
    Q8_TILE(P##_1_1, 1, 1, ATTR, PREP, DOT) \
    Q8_TILE(P##_2_2, 2, 2, ATTR, PREP, DOT) \
    Q8_TILE(P##_2_1, 2, 1, ATTR, PREP, DOT) \
    Q8_TILE(P##_3_2, 3, 2, ATTR, PREP, DOT) \
    Q8_TILE(P##_3_1, 3, 1, ATTR, PREP, DOT) \
    Q8_TILE(P##_4_2, 4, 2, ATTR, PREP, DOT) \
    Q8_TILE(P##_4_1, 4, 1, ATTR, PREP, DOT) \
    ATTR static void P(const qact8 *A, int m0, int mr, const blk_q8_0 *W, size_t ldw, int nr, int nb, float *C, \
                       size_t ldc) { \
        int j = 0; \
        if (mr == 1) \
            for (; j + 4 <= nr; j += 4) P##_1_4(A, m0, W + j * ldw, ldw, nb, C + j, ldc); \
        for (; j + 2 <= nr && mr > 1; j += 2) { \
            const blk_q8_0 *w = W + j * ldw; \
            if (mr == 2) P##_2_2(A, m0, w, ldw, nb, C + j, ldc); \
            else if (mr == 3) P##_3_2(A, m0, w, ldw, nb, C + j, ldc); \
            else P##_4_2(A, m0, w, ldw, nb, C + j, ldc); \
        } \
        for (; j < nr; j++) { \
            const blk_q8_0 *w = W + j * ldw; \
            if (mr == 1) P##_1_1(A, m0, w, ldw, nb, C + j, ldc); \
            else if (mr == 2) P##_2_1(A, m0, w, ldw, nb, C + j, ldc); \
            else if (mr == 3) P##_3_1(A, m0, w, ldw, nb, C + j, ldc); \
            else P##_4_1(A, m0, w, ldw, nb, C + j, ldc); \
        } \
    }

#endif

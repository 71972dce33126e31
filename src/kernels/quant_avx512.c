/* Int8 tiles for Q8_0 weights with AVX512-VNNI: one vpdpbusd covers two
 * 32-value blocks (w ^ 0x80 as u8 times the s8 activations, started from the
 * activations' corr8 so the +128 offset cancels); per-block scales are laid
 * out in the matching 8-lane halves. Q4_K uses the 256-bit tile. */
#include <immintrin.h>
#include "kernels/quant_kern.h"

#define VNNI __attribute__((target("avx512vnni")))

/* Lanes 0-7 from p, 8-15 from p + stride (or zero when !two). */
static inline __m512i load_pair_i(const void *p, const void *q, int two) {
    __m256i lo = _mm256_loadu_si256((const __m256i *)p);
    return two ? _mm512_inserti64x4(_mm512_castsi256_si512(lo), _mm256_loadu_si256((const __m256i *)q), 1)
               : _mm512_zextsi256_si512(lo);
}

#define Q8_TILE512(NAME, MR, NR) \
    VNNI static void NAME(const qact8 *A, int m0, const blk_q8_0 *W, size_t ldw, int nb, float *C, size_t ldc) { \
        __m512 acc[MR][NR]; \
        for (int i = 0; i < MR; i++) \
            for (int j = 0; j < NR; j++) acc[i][j] = _mm512_setzero_ps(); \
        const __m512i x80 = _mm512_set1_epi8((char)0x80); \
        for (int b = 0; b < nb; b += 2) { \
            int two = b + 1 < nb; \
            __m512i wp[NR]; \
            __m512 dw[NR]; \
            for (int j = 0; j < NR; j++) { \
                const blk_q8_0 *blk = W + (size_t)j * ldw + b; \
                wp[j] = _mm512_xor_si512(load_pair_i(blk[0].qs, blk[1].qs, two), x80); \
                __m256 d0 = _mm256_set1_ps(_cvtsh_ss(blk[0].d)); \
                dw[j] = two ? _mm512_insertf32x8(_mm512_castps256_ps512(d0), _mm256_set1_ps(_cvtsh_ss(blk[1].d)), 1) \
                            : _mm512_zextps256_ps512(d0); \
            } \
            for (int i = 0; i < MR; i++) { \
                size_t r = (size_t)(m0 + i); \
                const int8_t *aq = A->qs + r * A->ldq + (size_t)b * 32; \
                const float *ad = A->d8 + r * A->ld8 + (size_t)b * 8; \
                const int32_t *ac = A->corr8 + r * A->ld8 + (size_t)b * 8; \
                __m512i av = two ? _mm512_loadu_si512(aq) : _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)aq)); \
                __m512 da = two ? _mm512_loadu_ps(ad) : _mm512_zextps256_ps512(_mm256_loadu_ps(ad)); \
                __m512i corr = two ? _mm512_loadu_si512(ac) : _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)ac)); \
                for (int j = 0; j < NR; j++) { \
                    __m512i dot = _mm512_dpbusd_epi32(corr, wp[j], av); \
                    acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw[j], da), acc[i][j]); \
                } \
            } \
        } \
        for (int i = 0; i < MR; i++) \
            for (int j = 0; j < NR; j++) C[(size_t)i * ldc + j] = _mm512_reduce_add_ps(acc[i][j]); \
    }

Q8_TILE512(t_1_4, 1, 4)
Q8_TILE512(t_1_1, 1, 1)
Q8_TILE512(t_2_4, 2, 4)
Q8_TILE512(t_2_1, 2, 1)
Q8_TILE512(t_3_4, 3, 4)
Q8_TILE512(t_3_1, 3, 1)
Q8_TILE512(t_4_4, 4, 4)
Q8_TILE512(t_4_1, 4, 1)

typedef void (*t_fn)(const qact8 *, int, const blk_q8_0 *, size_t, int, float *, size_t);

static void q8_avx512vnni(const qact8 *A, int m0, int mr, const blk_q8_0 *W, size_t ldw, int nr, int nb, float *C,
                          size_t ldc) {
    static const t_fn four[4] = {t_1_4, t_2_4, t_3_4, t_4_4}, one[4] = {t_1_1, t_2_1, t_3_1, t_4_1};
    int j = 0;
    for (; j + 4 <= nr; j += 4) four[mr - 1](A, m0, W + j * ldw, ldw, nb, C + j, ldc);
    for (; j < nr; j++) one[mr - 1](A, m0, W + j * ldw, ldw, nb, C + j, ldc);
}

const qkern *qkern_avx512vnni(void) {
    static const qkern k = {q8_avx512vnni, qkern_q4_avx2, 4};
    __builtin_cpu_init();
    int ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vnni");
    return ok ? &k : NULL;
}

/* Q6_K x Q8_K tiles with 512-bit vectors (AVX512BW vpmaddubsw + vpmaddwd),
 * used at the AVX512-VNNI level. A zmm holds 64 values: the 64 ql bytes of a
 * 128-value half give values 0..63 (low nibbles) and 64..127 (high nibbles);
 * the half's 32 qh bytes, broadcast to both 256-bit halves and shifted by
 * lane (vpsllvw / vpsrlvw), supply their 2-bit fields. vpermw spreads the 4
 * sub-block scales of a zmm over its 128-bit lanes. vpdpbusd does not help:
 * the scale changes every 16 values, so its int32 sums would each need a
 * vpmulld, where vpmaddwd applies the scale with the pair sum. As in the ymm
 * tile, every output's f32 sum is one accumulator in block order, the same
 * in every tile shape (rows exact for every M). */
#include <immintrin.h>
#include "kernels/quant_kern.h"

/* values 128h + 64t .. +63 (t = 0: low nibbles, 1: high) of block w as u8 */
static inline __m512i q6z_unpack(const blk_q6_k *w, int h, int t) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    __m512i ql = _mm512_loadu_si512((const void *)(w->ql + 64 * h));
    __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(w->qh + 32 * h)));
    __m512i lo, hi;
    if (t == 0) {
        lo = _mm512_and_si512(ql, m4);
        hi = _mm512_sllv_epi16(qh, _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1));
    } else {
        lo = _mm512_and_si512(_mm512_srli_epi16(ql, 4), m4);
        hi = _mm512_srlv_epi16(qh, _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1));
    }
    return _mm512_or_si512(lo, _mm512_and_si512(hi, m30));
}

/* the scales of sub-blocks 4q .. 4q+3 as int16, 8 of each, from all 16 as int16 */
static inline __m512i q6z_scales4(__m512i sc16, int q) {
    const __m512i idx = _mm512_add_epi16(_mm512_set1_epi16((short)(4 * q)),
                                         _mm512_set_epi64(0x0003000300030003LL, 0x0003000300030003LL, 0x0002000200020002LL,
                                                          0x0002000200020002LL, 0x0001000100010001LL, 0x0001000100010001LL,
                                                          0, 0));
    return _mm512_permutexvar_epi16(idx, sc16);
}

#define Q6Z_TILE(NAME, MR, NR) \
    static void NAME(const blk_q8_k *A, size_t lda, const blk_q6_k *W, size_t ldw, int nsb, float *C, size_t ldc) { \
        __m512 acc[MR][NR]; \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
            _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) acc[i][j] = _mm512_setzero_ps(); \
        for (int b = 0; b < nsb; b++) { \
            __m512i isum[MR][NR], sc16[NR]; \
            _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) \
                sc16[j] = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)W[(size_t)j * ldw + b].scales))); \
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
                _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) isum[i][j] = _mm512_setzero_si512(); \
            _Pragma("GCC unroll 4") for (int g = 0; g < 4; g++) { \
                __m512i v[NR], sc[NR]; \
                _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) { \
                    v[j] = q6z_unpack(W + (size_t)j * ldw + b, g / 2, g % 2); \
                    sc[j] = q6z_scales4(sc16[j], g); \
                } \
                _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) { \
                    __m512i a = _mm512_loadu_si512((const void *)(A[(size_t)i * lda + b].qs + 64 * g)); \
                    _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) \
                        isum[i][j] = _mm512_add_epi32(isum[i][j], _mm512_madd_epi16(_mm512_maddubs_epi16(v[j], a), sc[j])); \
                } \
            } \
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) { \
                const blk_q8_k *a = A + (size_t)i * lda + b; \
                __m256i bs = _mm256_loadu_si256((const __m256i *)a->bsums); \
                _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) { \
                    const blk_q6_k *w = W + (size_t)j * ldw + b; \
                    __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(_mm512_castsi512_si256(sc16[j]), bs), 5); \
                    __m512i t = _mm512_sub_epi32(isum[i][j], _mm512_zextsi256_si512(corr)); \
                    acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t), _mm512_set1_ps(_cvtsh_ss(w->d) * a->d), acc[i][j]); \
                } \
            } \
        } \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
            _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) C[(size_t)i * ldc + j] = _mm512_reduce_add_ps(acc[i][j]); \
    }

Q6Z_TILE(q6z_1_4, 1, 4)
Q6Z_TILE(q6z_1_1, 1, 1)
Q6Z_TILE(q6z_2_2, 2, 2) Q6Z_TILE(q6z_3_2, 3, 2) Q6Z_TILE(q6z_4_2, 4, 2)
Q6Z_TILE(q6z_2_1, 2, 1) Q6Z_TILE(q6z_3_1, 3, 1) Q6Z_TILE(q6z_4_1, 4, 1)

typedef void (*q6z_fixed)(const blk_q8_k *, size_t, const blk_q6_k *, size_t, int, float *, size_t);

/* any mr and nr: single rows by 4 W rows (GEMV), else up to 4 rows by 2 W rows */
static void q6_avx512(const blk_q8_k *A, size_t lda, int mr, const blk_q6_k *W, size_t ldw, int nr, int nsb, float *C,
                      size_t ldc) {
    static const q6z_fixed two[4] = {NULL, q6z_2_2, q6z_3_2, q6z_4_2}, one[4] = {q6z_1_1, q6z_2_1, q6z_3_1, q6z_4_1};
    for (int i = 0; i < mr; i += 4) {
        int r = mr - i < 4 ? mr - i : 4, j = 0;
        const blk_q8_k *a = A + (size_t)i * lda;
        float *c = C + (size_t)i * ldc;
        if (r == 1)
            for (; j + 4 <= nr; j += 4) q6z_1_4(a, lda, W + j * ldw, ldw, nsb, c + j, ldc);
        else
            for (; j + 2 <= nr; j += 2) two[r - 1](a, lda, W + j * ldw, ldw, nsb, c + j, ldc);
        for (; j < nr; j++) one[r - 1](a, lda, W + j * ldw, ldw, nsb, c + j, ldc);
    }
}

q6_tile_fn q6kern_avx512(void) {
    __builtin_cpu_init();
    int ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    return ok ? q6_avx512 : q6kern_avx2();
}

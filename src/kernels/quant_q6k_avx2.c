/* Q6_K x Q8_K tiles with 256-bit vectors (vpmaddubsw + vpmaddwd). The 6-bit
 * values are rebuilt as bytes in registers: per 32-value group s (0..3) of a
 * 128-value half, the low nibbles of ql (s = 0, 1: low; 2, 3: high) or'ed with
 * the s-th 2-bit field of qh moved to bits 4-5. Unsigned q (0..63) times
 * signed a pair-sums within int16 (<= 2 * 63 * 127); vpmaddwd by the int8
 * scales of the group's two sub-blocks gives int32; the -32 offset is taken
 * once per super-block as 32 * scales . bsums. Every output's f32 sum is one
 * 8-lane accumulator in block order, the same in every tile shape. */
#include <immintrin.h>
#include "kernels/quant_kern.h"

static inline float q6_hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* values 128h + 32s .. +31 of block w as u8 */
static inline __m256i q6_unpack(const blk_q6_k *w, int h, int s) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    __m256i ql = _mm256_loadu_si256((const __m256i *)(w->ql + 64 * h + 32 * (s & 1)));
    __m256i qh = _mm256_loadu_si256((const __m256i *)(w->qh + 32 * h));
    __m256i lo = s < 2 ? _mm256_and_si256(ql, m4) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), m4);
    __m256i hi = s == 0 ? _mm256_slli_epi16(qh, 4) : s == 1 ? _mm256_slli_epi16(qh, 2) : s == 2 ? qh : _mm256_srli_epi16(qh, 2);
    return _mm256_or_si256(lo, _mm256_and_si256(hi, m30));
}

/* the scales of sub-blocks k and k + 1 as int16, 8 of each */
static inline __m256i q6_scale_pair(__m128i sc8, int k) {
    const __m128i ctrl = _mm_set_epi64x(0x0101010101010101LL * (k + 1), 0x0101010101010101LL * k);
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, ctrl));
}

#define Q6_TILE(NAME, MR, NR) \
    static void NAME(const blk_q8_k *A, size_t lda, const blk_q6_k *W, size_t ldw, int nsb, float *C, size_t ldc) { \
        __m256 acc[MR][NR]; \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
            _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) acc[i][j] = _mm256_setzero_ps(); \
        for (int b = 0; b < nsb; b++) { \
            if (MR == 1 && gemv_long_rows(ldw, nsb)) /* GEMV: see gemv_prefetch */ \
                _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) \
                    gemv_prefetch(&W[(size_t)j * ldw + b], GEMV_AHEAD_BLOCKS * sizeof(blk_q6_k), 4); \
            __m256i isum[MR][NR]; \
            __m128i sc8[NR]; \
            _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) \
                sc8[j] = _mm_loadu_si128((const __m128i *)W[(size_t)j * ldw + b].scales); \
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
                _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) isum[i][j] = _mm256_setzero_si256(); \
            _Pragma("GCC unroll 8") for (int g = 0; g < 8; g++) { \
                __m256i v[NR], sc[NR]; \
                _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) { \
                    v[j] = q6_unpack(W + (size_t)j * ldw + b, g / 4, g % 4); \
                    sc[j] = q6_scale_pair(sc8[j], 2 * g); \
                } \
                _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) { \
                    __m256i a = _mm256_loadu_si256((const __m256i *)(A[(size_t)i * lda + b].qs + 32 * g)); \
                    _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) \
                        isum[i][j] = _mm256_add_epi32(isum[i][j], _mm256_madd_epi16(_mm256_maddubs_epi16(v[j], a), sc[j])); \
                } \
            } \
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) { \
                const blk_q8_k *a = A + (size_t)i * lda + b; \
                __m256i bs = _mm256_loadu_si256((const __m256i *)a->bsums); \
                _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) { \
                    const blk_q6_k *w = W + (size_t)j * ldw + b; \
                    __m256i corr = _mm256_madd_epi16(_mm256_cvtepi8_epi16(sc8[j]), bs); \
                    __m256i t = _mm256_sub_epi32(isum[i][j], _mm256_slli_epi32(corr, 5)); \
                    acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t), _mm256_set1_ps(_cvtsh_ss(w->d) * a->d), acc[i][j]); \
                } \
            } \
        } \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
            _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) C[(size_t)i * ldc + j] = q6_hsum8(acc[i][j]); \
    }

Q6_TILE(q6_1_4, 1, 4)
Q6_TILE(q6_1_1, 1, 1)
Q6_TILE(q6_2_2, 2, 2) Q6_TILE(q6_3_2, 3, 2) Q6_TILE(q6_4_2, 4, 2)
Q6_TILE(q6_2_1, 2, 1) Q6_TILE(q6_3_1, 3, 1) Q6_TILE(q6_4_1, 4, 1)

typedef void (*q6_fixed)(const blk_q8_k *, size_t, const blk_q6_k *, size_t, int, float *, size_t);

/* any mr and nr: single rows by 4 W rows (GEMV), else up to 4 rows by 2 W rows
 * (each unpacked W vector serves every A row of the tile) */
static void q6_avx2(const blk_q8_k *A, size_t lda, int mr, const blk_q6_k *W, size_t ldw, int nr, int nsb, float *C,
                    size_t ldc) {
    static const q6_fixed two[4] = {NULL, q6_2_2, q6_3_2, q6_4_2}, one[4] = {q6_1_1, q6_2_1, q6_3_1, q6_4_1};
    for (int i = 0; i < mr; i += 4) {
        int r = mr - i < 4 ? mr - i : 4, j = 0;
        const blk_q8_k *a = A + (size_t)i * lda;
        float *c = C + (size_t)i * ldc;
        if (r == 1)
            for (; j + 4 <= nr; j += 4) q6_1_4(a, lda, W + j * ldw, ldw, nsb, c + j, ldc);
        else
            for (; j + 2 <= nr; j += 2) two[r - 1](a, lda, W + j * ldw, ldw, nsb, c + j, ldc);
        for (; j < nr; j++) one[r - 1](a, lda, W + j * ldw, ldw, nsb, c + j, ldc);
    }
}

q6_tile_fn q6kern_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? q6_avx2 : NULL;
}

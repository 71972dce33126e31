/* Q6_K x Q8_K tiles with 512-bit vectors (AVX512BW vpmaddubsw + vpmaddwd),
 * used at the AVX512-VNNI level. A zmm holds 64 values: the 64 ql bytes of a
 * 128-value half give values 0..63 (low nibbles) and 64..127 (high nibbles);
 * the half's 32 qh bytes, broadcast to both 256-bit halves and shifted by
 * lane (vpsllvw / vpsrlvw), supply their 2-bit fields. vpermw spreads the 4
 * sub-block scales of a zmm over its 128-bit lanes. vpdpbusd does not help:
 * the scale changes every 16 values, so its int32 sums would each need a
 * vpmulld, where vpmaddwd applies the scale with the pair sum. Each output
 * takes its super-block's exact int32 sum into one f32 sum in block order
 * (acc = fma(isum, d_w * d_a, acc)), in every tile shape and in the packed
 * GEMM below, so rows are exact for every M. */
#include <immintrin.h>
#include <string.h>
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

/* acc + isum * (d_w * d_a), one rounding (the packed kernel's lane op) */
static inline float q6z_fma(float acc, int32_t isum, float dw, float da) {
    return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss((float)isum), _mm_set_ss(dw * da), _mm_set_ss(acc)));
}

#define Q6Z_TILE(NAME, MR, NR) \
    static void NAME(const blk_q8_k *A, size_t lda, const blk_q6_k *W, size_t ldw, int nsb, float *C, size_t ldc) { \
        float acc[MR][NR]; \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
            _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) acc[i][j] = 0; \
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
                    acc[i][j] = q6z_fma(acc[i][j], _mm512_reduce_add_epi32(t), _cvtsh_ss(w->d), a->d); \
                } \
            } \
        } \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
            _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) C[(size_t)i * ldc + j] = acc[i][j]; \
    }

/* GEMV, 1 A row x 4 W rows: as Q6Z_TILE, but the 4 rows' exact int32 sums are
 * reduced together (one add tree instead of 4 _mm512_reduce_add_epi32) and
 * take their f32 step as one 4-lane FMA, the same operation per lane as
 * q6z_fma, so its rows keep the tiles' bits. */
static void q6z_g4(const blk_q8_k *A, const blk_q6_k *W, size_t ldw, int nsb, float *C) {
    __m128 acc = _mm_setzero_ps();
    const int long_rows = gemv_long_rows(ldw, nsb);
    for (int b = 0; b < nsb; b++) {
        if (long_rows) /* short adjacent rows are one stream the hardware prefetcher follows */
            for (int j = 0; j < 4; j++) gemv_prefetch(&W[(size_t)j * ldw + b], GEMV_AHEAD_BLOCKS * sizeof(blk_q6_k), 4);
        __m512i isum[4], sc16[4];
        _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) {
            sc16[j] = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)W[(size_t)j * ldw + b].scales)));
            isum[j] = _mm512_setzero_si512();
        }
        _Pragma("GCC unroll 4") for (int g = 0; g < 4; g++) {
            __m512i a = _mm512_loadu_si512((const void *)(A[b].qs + 64 * g));
            _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) {
                __m512i v = q6z_unpack(W + (size_t)j * ldw + b, g / 2, g % 2);
                isum[j] = _mm512_add_epi32(isum[j], _mm512_madd_epi16(_mm512_maddubs_epi16(v, a), q6z_scales4(sc16[j], g)));
            }
        }
        __m256i bs = _mm256_loadu_si256((const __m256i *)A[b].bsums), y[4];
        _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) {
            __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(_mm512_castsi512_si256(sc16[j]), bs), 5);
            y[j] = _mm256_sub_epi32(_mm256_add_epi32(_mm512_castsi512_si256(isum[j]), _mm512_extracti64x4_epi64(isum[j], 1)), corr);
        }
        __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(y[0], y[1]), _mm256_hadd_epi32(y[2], y[3]));
        __m128i xs = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
        __m128 dw = _mm_cvtph_ps(_mm_setr_epi16((short)W[b].d, (short)W[ldw + b].d, (short)W[2 * ldw + b].d,
                                                (short)W[3 * ldw + b].d, 0, 0, 0, 0));
        acc = _mm_fmadd_ps(_mm_cvtepi32_ps(xs), _mm_mul_ps(dw, _mm_set1_ps(A[b].d)), acc);
    }
    _mm_storeu_ps(C, acc);
}

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
            for (; j + 4 <= nr; j += 4) q6z_g4(a, W + j * ldw, ldw, nsb, c + j);
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

/* --- packed Q6_K GEMM (AVX512-VNNI) ---------------------------------------------
 * Per 16-column group and super-block (PG6_BYTES): the 256 values as u8 (0..63)
 * [64 steps][16 columns][4] for vpdpbusd against 4 broadcast activations, the
 * int8 scales widened to int32 [16 sub-blocks][16 columns], the scales as int16
 * pairs [8][16][2] for the -32 offset (vpdpwssd against the Q8_K bsums), and
 * d [16] (f32). Per sub-block the int32 dot times its scale (vpmulld) is exact,
 * so each column's super-block sum equals the tiles' and the f32 step is theirs. */
#define VNNI6 __attribute__((target("avx512vnni")))
#define PG6_Q 4096
#define PG6_BYTES (PG6_Q + 1024 + 512 + 64)

static size_t q6_pack_bytes(int ncols, int nsb) { return (size_t)((ncols + 15) / 16) * (size_t)nsb * PG6_BYTES; }

static void q6_pack(const blk_q6_k *W, size_t ldw, int ncols, int nsb, void *P) {
    uint8_t tmp[16][256];
    for (int g = 0; g < (ncols + 15) / 16; g++)
        for (int b = 0; b < nsb; b++) {
            char *dst = (char *)P + ((size_t)g * nsb + b) * PG6_BYTES;
            int32_t *sc = (int32_t *)(dst + PG6_Q);
            int16_t *sp = (int16_t *)(dst + PG6_Q + 1024);
            float *d = (float *)(dst + PG6_Q + 1536);
            for (int c = 0; c < 16; c++) {
                int live = 16 * g + c < ncols;
                const blk_q6_k *w = W + (size_t)(live ? 16 * g + c : 0) * ldw + b;
                for (int q = 0; q < 4; q++)
                    _mm512_storeu_si512(tmp[c] + 64 * q, live ? q6z_unpack(w, q / 2, q % 2) : _mm512_setzero_si512());
                for (int j = 0; j < 16; j++) {
                    sc[16 * j + c] = live ? w->scales[j] : 0;
                    sp[32 * (j / 2) + 2 * c + (j % 2)] = (int16_t)(live ? w->scales[j] : 0);
                }
                d[c] = live ? _cvtsh_ss(w->d) : 0.0f;
            }
            const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                                   _mm512_set1_epi32(256));
            for (int s = 0; s < 64; s++)
                _mm512_storeu_si512(dst + 64 * s, _mm512_i32gather_epi32(idx, (const void *)(&tmp[0][0] + 4 * s), 1));
        }
}

#define PGEMM6(NAME, MR, NG) \
    VNNI6 static void NAME(const blk_q8_k *A, size_t lda, const char *P, int nsb, float *C, size_t ldc, __mmask16 mlast) { \
        __m512 acc[MR][NG]; \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
            _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) acc[i][c] = _mm512_setzero_ps(); \
        for (int b = 0; b < nsb; b++) { \
            const char *pg[NG]; \
            _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) pg[c] = P + ((size_t)c * nsb + b) * PG6_BYTES; \
            __m512i isum[MR][NG]; \
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
                _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) isum[i][c] = _mm512_setzero_si512(); \
            for (int j = 0; j < 16; j++) { \
                __m512i ia[MR][NG]; \
                _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
                    _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) ia[i][c] = _mm512_setzero_si512(); \
                _Pragma("GCC unroll 4") for (int s = 0; s < 4; s++) { \
                    __m512i w[NG]; \
                    _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) w[c] = _mm512_loadu_si512(pg[c] + 64 * (4 * j + s)); \
                    _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) { \
                        int32_t a4; \
                        memcpy(&a4, A[(size_t)i * lda + b].qs + 16 * j + 4 * s, 4); \
                        __m512i a = _mm512_set1_epi32(a4); \
                        _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) ia[i][c] = _mm512_dpbusd_epi32(ia[i][c], w[c], a); \
                    } \
                } \
                _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) { \
                    __m512i sc = _mm512_loadu_si512(pg[c] + PG6_Q + 64 * j); \
                    _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
                        isum[i][c] = _mm512_add_epi32(isum[i][c], _mm512_mullo_epi32(ia[i][c], sc)); \
                } \
            } \
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) { \
                const blk_q8_k *a = A + (size_t)i * lda + b; \
                __m512i mi[NG]; \
                _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) mi[c] = _mm512_setzero_si512(); \
                _Pragma("GCC unroll 8") for (int p = 0; p < 8; p++) { \
                    uint32_t pair = (uint32_t)(uint16_t)a->bsums[2 * p] | ((uint32_t)(uint16_t)a->bsums[2 * p + 1] << 16); \
                    __m512i bp = _mm512_set1_epi32((int32_t)pair); \
                    _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) \
                        mi[c] = _mm512_dpwssd_epi32(mi[c], _mm512_loadu_si512(pg[c] + PG6_Q + 1024 + 64 * p), bp); \
                } \
                __m512 da = _mm512_set1_ps(a->d); \
                _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) { \
                    __m512i t = _mm512_sub_epi32(isum[i][c], _mm512_slli_epi32(mi[c], 5)); \
                    __m512 dd = _mm512_mul_ps(_mm512_loadu_ps(pg[c] + PG6_Q + 1536), da); \
                    acc[i][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t), dd, acc[i][c]); \
                } \
            } \
        } \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
            _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) \
                _mm512_mask_storeu_ps(C + (size_t)i * ldc + 16 * c, c == NG - 1 ? mlast : (__mmask16)0xFFFF, acc[i][c]); \
    }

PGEMM6(p6_1_2, 1, 2) PGEMM6(p6_2_2, 2, 2) PGEMM6(p6_3_2, 3, 2) PGEMM6(p6_4_2, 4, 2)
PGEMM6(p6_1_1, 1, 1) PGEMM6(p6_2_1, 2, 1) PGEMM6(p6_3_1, 3, 1) PGEMM6(p6_4_1, 4, 1)

typedef void (*p6_fn)(const blk_q8_k *, size_t, const char *, int, float *, size_t, __mmask16);

static void q6_pgemm(const blk_q8_k *A, size_t lda, int mr, const void *P, int ncols, int nsb, float *C, size_t ldc) {
    static const p6_fn two[4] = {p6_1_2, p6_2_2, p6_3_2, p6_4_2}, one[4] = {p6_1_1, p6_2_1, p6_3_1, p6_4_1};
    int ng = (ncols + 15) / 16;
    for (int g = 0; g < ng; g += 2) {
        int n_here = ng - g >= 2 ? 2 : 1, last_cols = ncols - 16 * (g + n_here - 1);
        __mmask16 mlast = (__mmask16)(last_cols >= 16 ? 0xFFFF : (1u << last_cols) - 1);
        (n_here == 2 ? two[mr - 1] : one[mr - 1])(A, lda, (const char *)P + (size_t)g * nsb * PG6_BYTES, nsb, C + 16 * g, ldc,
                                                  mlast);
    }
}

const q6_packed *q6kern_avx512_packed(void) {
    static const q6_packed k = {.pack = q6_pack, .pgemm = q6_pgemm, .pmr = 4, .pack_bytes = q6_pack_bytes};
    __builtin_cpu_init();
    return q6kern_avx512() == q6_avx512 && __builtin_cpu_supports("avx512vnni") ? &k : NULL;
}

/* Int8 tiles for Q8_0 / Q4_K weights with 256-bit vectors: vpmaddubsw +
 * vpmaddwd (AVX2), and vpdpbusd (AVX-VNNI, compiled with a target attribute
 * and used only where the CPU reports it). Q4_K nibbles are unpacked to bytes
 * in registers. Tiles: MR A rows x NR W rows, accumulators in registers. */
#include <immintrin.h>
#include <string.h>
#include "kernels/cpu_x86.h"
#include "kernels/quant_kern.h"

#include "kernels/quant_tile256.h"

/* --- activation quantizers, bit-equal to the scalar ones (quant_ref.c,
 * base/quant.c): roundf(v) is trunc(v + copysign(0.5 - 2^-25, v)) for
 * |v| < 2^23 (the sum rounds to the even neighbour only where roundf does). */
static inline __m256i round_clamp127(__m256 v) {
    const __m256 sign = _mm256_set1_ps(-0.0f), half = _mm256_set1_ps(0.49999997f);
    __m256i q = _mm256_cvttps_epi32(_mm256_add_ps(v, _mm256_or_ps(_mm256_and_ps(v, sign), half)));
    return _mm256_max_epi32(_mm256_min_epi32(q, _mm256_set1_epi32(127)), _mm256_set1_epi32(-127));
}

static inline float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* 32 int32 in q[4] to 32 int8 in order */
static inline __m256i pack32_epi8(const __m256i q[4]) {
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static void act8_avx2(const float *x, int K, int8_t *qs, float *dq, int32_t *c) {
    const __m256 nosign = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int b = 0; b < K / QK8_0; b++) {
        const float *xb = x + b * QK8_0;
        __m256 v[4], m = _mm256_setzero_ps();
        for (int i = 0; i < 4; i++) {
            v[i] = _mm256_loadu_ps(xb + 8 * i);
            m = _mm256_max_ps(m, _mm256_and_ps(v[i], nosign));
        }
        float amax = hmax8(m), d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        __m256i q[4], s = _mm256_setzero_si256();
        for (int i = 0; i < 4; i++) {
            q[i] = round_clamp127(_mm256_mul_ps(v[i], _mm256_set1_ps(id)));
            s = _mm256_add_epi32(s, q[i]);
        }
        _mm256_storeu_si256((__m256i *)(qs + b * QK8_0), pack32_epi8(q));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
        dq[b] = d;
        c[b] = -128 * _mm_cvtsi128_si32(s4);
    }
}

static void act8k_avx2(const float *x, blk_q8_k *y, int64_t n) {
    const __m256 nosign = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        __m256 m = _mm256_setzero_ps();
        for (int i = 0; i < QK_K / 8; i++) m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(x + 8 * i), nosign));
        float amax = hmax8(m), id = amax > 0 ? 127.0f / amax : 0;
        y[b].d = amax / 127.0f;
        __m256i sums[QK_K / 32]; /* per 32 values: int32 x 8 = pairs of 16-value sums (halves) */
        for (int g = 0; g < QK_K / 32; g++) {
            __m256i q[4];
            for (int i = 0; i < 4; i++) q[i] = round_clamp127(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * g + 8 * i), _mm256_set1_ps(id)));
            _mm256_storeu_si256((__m256i *)(y[b].qs + 32 * g), pack32_epi8(q));
            /* lanes of q0+q1: values 0..15, of q2+q3: 16..31 */
            sums[g] = _mm256_hadd_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
        }
        /* sums[g] = [a a b b | a a b b] (a: 16-value group 2g, b: 2g+1) -> bsums */
        for (int g = 0; g < QK_K / 32; g += 2) {
            __m256i h = _mm256_hadd_epi32(sums[g], sums[g + 1]); /* [a b a' b' | a b a' b'] */
            __m128i t = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
            __m128i t16 = _mm_packs_epi32(t, t);
            memcpy(&y[b].bsums[2 * g], &t16, 8);
        }
    }
}

Q8_FAMILY(q8_avx2, , W_PREP_AVX2, DOT_AVX2)
Q8_FAMILY(q8_avxvnni, __attribute__((target("avxvnni"))), W_PREP_VNNI, DOT_VNNI)

/* --- Q4_K x Q8_K -----------------------------------------------------------
 * Per 64-value group g the 32 bytes of nibbles give sub-blocks 2g (low) and
 * 2g+1 (high). u4 x s8 pairs (vpmaddubsw) then x the sub-block's 6-bit scale
 * (vpmaddwd, the scale spread by vpshufb) sum into int32 over the super-block;
 * the mins term is the 6-bit mins . the Q8_K sub-block sums (vpmaddwd). */

static inline int hsum4_epi32(__m128i v) {
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0x4E));
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0xB1));
    return _mm_cvtsi128_si32(v);
}

#define Q4_TILE(NAME, MR, NR) \
    static void NAME(const blk_q8_k *A, size_t lda, const blk_q4_k *W, size_t ldw, int nsb, float *C, size_t ldc) { \
        __m256 acc[MR][NR]; \
        float macc[MR][NR]; \
        const __m256i m4 = _mm256_set1_epi8(0x0F); \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
            _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) { acc[i][j] = _mm256_setzero_ps(); macc[i][j] = 0; } \
        for (int b = 0; b < nsb; b++) { \
            __m256i sc[NR]; \
            __m128i mn[NR]; \
            __m256i isum[MR][NR]; \
            _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) q4k_scales_v(W[(size_t)j * ldw + b].scales, &sc[j], &mn[j]); \
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
                _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) isum[i][j] = _mm256_setzero_si256(); \
            _Pragma("GCC unroll 8") for (int g = 0; g < 4; g++) { \
                __m256i lo[NR], hi[NR]; \
                const __m256i pick_lo = _mm256_set1_epi16((short)(((4 * g + 1) << 8) | (4 * g))); \
                const __m256i pick_hi = _mm256_set1_epi16((short)(((4 * g + 3) << 8) | (4 * g + 2))); \
                _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) { \
                    __m256i q = _mm256_loadu_si256((const __m256i *)(W[(size_t)j * ldw + b].qs + 32 * g)); \
                    lo[j] = _mm256_and_si256(q, m4); \
                    hi[j] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4); \
                } \
                _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) { \
                    const int8_t *aq = A[(size_t)i * lda + b].qs + 64 * g; \
                    __m256i alo = _mm256_loadu_si256((const __m256i *)aq); \
                    __m256i ahi = _mm256_loadu_si256((const __m256i *)(aq + 32)); \
                    _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) { \
                        __m256i pl = _mm256_madd_epi16(_mm256_maddubs_epi16(lo[j], alo), _mm256_shuffle_epi8(sc[j], pick_lo)); \
                        __m256i ph = _mm256_madd_epi16(_mm256_maddubs_epi16(hi[j], ahi), _mm256_shuffle_epi8(sc[j], pick_hi)); \
                        isum[i][j] = _mm256_add_epi32(isum[i][j], _mm256_add_epi32(pl, ph)); \
                    } \
                } \
            } \
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) { \
                const blk_q8_k *a = A + (size_t)i * lda + b; \
                __m128i ss = q8k_subsums(a); \
                _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) { \
                    const blk_q4_k *w = W + (size_t)j * ldw + b; \
                    int msum = hsum4_epi32(_mm_madd_epi16(mn[j], ss)); \
                    macc[i][j] += _cvtsh_ss(w->dmin) * a->d * (float)msum; \
                    acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[i][j]), _mm256_set1_ps(_cvtsh_ss(w->d) * a->d), \
                                                acc[i][j]); \
                } \
            } \
        } \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
            _Pragma("GCC unroll 8") for (int j = 0; j < NR; j++) C[(size_t)i * ldc + j] = hsum8(acc[i][j]) - macc[i][j]; \
    }

Q4_TILE(q4_1_1, 1, 1)

Q4_GEMV4(q4g_avx2, , Q4G_DOT_AVX2)
#define Q4G_DOT_AVXVNNI(lo, hi, alo, ahi, sc, g) Q4G_DOT_VNNI(_mm256_dpbusd_avx_epi32, lo, hi, alo, ahi, sc, g)
Q4_GEMV4(q4g_avxvnni, __attribute__((target("avxvnni"))), Q4G_DOT_AVXVNNI)

/* any mr and nr: every A row runs the 1 x 4 tile over W rows in groups of 4
 * (aligned in the panel) and the 1 x 1 tile over the rest, so a row's bits do
 * not depend on M (up to the packed GEMM) nor on its place in the call. */
void qkern_q4_tiles(q4g_fn gemv4, const blk_q8_k *A, size_t lda, int mr, const blk_q4_k *W, size_t ldw, int nr,
                    int nsb, float *C, size_t ldc) {
    for (int i = 0; i < mr; i++) {
        const blk_q8_k *a = A + (size_t)i * lda;
        float *c = C + (size_t)i * ldc;
        int j = 0;
        for (; j + 4 <= nr; j += 4) gemv4(a, W + j * ldw, ldw, nsb, c + j);
        for (; j < nr; j++) q4_1_1(a, lda, W + j * ldw, ldw, nsb, c + j, ldc);
    }
}

static void q4_avx2(const blk_q8_k *A, size_t lda, int mr, const blk_q4_k *W, size_t ldw, int nr, int nsb, float *C,
                    size_t ldc) {
    qkern_q4_tiles(q4g_avx2, A, lda, mr, W, ldw, nr, nsb, C, ldc);
}

static void q4_avxvnni(const blk_q8_k *A, size_t lda, int mr, const blk_q4_k *W, size_t ldw, int nr, int nsb, float *C,
                      size_t ldc) {
    qkern_q4_tiles(q4g_avxvnni, A, lda, mr, W, ldw, nr, nsb, C, ldc);
}

/* --- packed Q8_0 GEMM (M > a few rows) ---------------------------------------
 * W panel per 8-column group g and block b (PG_BYTES): s8 weights as [8 steps]
 * [8 columns][4 values], then the 8 scales (f32). One A row's 4 values are
 * broadcast against 4 values of 8 columns, so the int32 sums stay per column
 * over the whole block: AVX2 by |a| x sign(w, a) (vpmaddubsw) and vpmaddwd,
 * AVX-VNNI by vpdpbusd on w ^ 0x80 started from the block's -128 * sum(a). */
#define PG_BYTES 288

static size_t pack_bytes(int ncols, int nb) { return (size_t)((ncols + 7) / 8) * (size_t)nb * PG_BYTES; }

/* 8 rows of 32 bytes transposed by dwords, the packed panels' layout:
 * dst[32 s + 4 c + i] = src[c][4 s + i] (s = 0..7), columns where `valid` is 0
 * zeroed; two unpack rounds and a lane permute. The packs had been 9 (Q8_0) or
 * 64 (Q4_K) gathers a block; the zmm level's pack measured 4x faster hot and 3x
 * from DRAM this way. */
static inline void transpose8x8_dw(const void *const src[8], __m256i valid, char *dst) {
    __m256i t[8], u[8];
    _Pragma("GCC unroll 8")
    for (int j = 0; j < 8; j += 2) {
        __m256i x = _mm256_loadu_si256((const __m256i *)src[j]), y = _mm256_loadu_si256((const __m256i *)src[j + 1]);
        t[j] = _mm256_unpacklo_epi32(x, y); /* per lane: rows j, j+1 at dwords 0, 1 (lane 1: 4, 5) */
        t[j + 1] = _mm256_unpackhi_epi32(x, y);
    }
    _Pragma("GCC unroll 8")
    for (int h = 0; h < 8; h += 4) /* u[h + s]: 4 rows' dword s (lane 0) and s + 4 (lane 1) */
        _Pragma("GCC unroll 8")
        for (int s = 0; s < 4; s++) {
            __m256i x = t[h + (s >> 1)], y = t[h + 2 + (s >> 1)];
            u[h + s] = s & 1 ? _mm256_unpackhi_epi64(x, y) : _mm256_unpacklo_epi64(x, y);
        }
    _Pragma("GCC unroll 8")
    for (int s = 0; s < 4; s++) {
        _mm256_storeu_si256((__m256i *)(dst + 32 * s), _mm256_and_si256(_mm256_permute2x128_si256(u[s], u[4 + s], 0x20), valid));
        _mm256_storeu_si256((__m256i *)(dst + 32 * (s + 4)), _mm256_and_si256(_mm256_permute2x128_si256(u[s], u[4 + s], 0x31), valid));
    }
}

/* One block of 8 W rows; columns past `valid` pack as 0 with scale 0. */
static inline void q8_pack_block8(const blk_q8_0 *const row[8], int b, __m256i valid, char *dst) {
    const void *qs[8];
    uint16_t d[8];
    _Pragma("GCC unroll 8")
    for (int r = 0; r < 8; r++) {
        qs[r] = row[r][b].qs;
        memcpy(&d[r], &row[r][b].d, sizeof d[r]);
    }
    transpose8x8_dw(qs, valid, dst);
    __m256 dv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)d));
    _mm256_storeu_ps((float *)(dst + 256), _mm256_and_ps(dv, _mm256_castsi256_ps(valid)));
}

static void q8_pack(const blk_q8_0 *W, size_t ldw, int ncols, int nb, void *P) {
    for (int g = 0; g < (ncols + 7) / 8; g++) {
        int valid = ncols - 8 * g < 8 ? ncols - 8 * g : 8;
        __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(valid), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        const blk_q8_0 *row[8];
        for (int r = 0; r < 8; r++) row[r] = W + (size_t)(8 * g + (r < valid ? r : 0)) * ldw; /* past the end: a real row, masked */
        for (int b = 0; b < nb; b++) {
            if (!(b & 1))
                for (int r = 0; r < 8; r++) gemv_prefetch(row[r] + b, GEMV_AHEAD_BLOCKS * sizeof(blk_q8_0), 1);
            q8_pack_block8(row, b, m, (char *)P + ((size_t)g * nb + b) * PG_BYTES);
        }
    }
}

#define PG_INIT_AVX2(corr) _mm256_setzero_si256()
#define PG_INIT_VNNI(corr) _mm256_set1_epi32(corr)
/* AVX2: |w| (u8, also right for w = -128) x sign(a, w); a is never -128 */
#define PG_WA_AVX2(w) _mm256_sign_epi8(w, w)
#define PG_WA_VNNI(w) (w)
#define PG_W_AVX2(w) (w)
#define PG_W_VNNI(w) _mm256_xor_si256(w, _mm256_set1_epi8((char)0x80))
#define PG_DOT_AVX2(ia, w, wa, a) \
    _mm256_add_epi32(ia, _mm256_madd_epi16(_mm256_maddubs_epi16(wa, _mm256_sign_epi8(a, w)), _mm256_set1_epi16(1)))
#define PG_DOT_VNNI(ia, w, wa, a) ((void)(wa), _mm256_dpbusd_avx_epi32(ia, w, a))

/* n of 8 outputs to dst; K chunks after the first add to what is there */
static inline void pg_store8(float *dst, __m256 v, int n, int add) {
    if (n == 8) {
        _mm256_storeu_ps(dst, add ? _mm256_add_ps(v, _mm256_loadu_ps(dst)) : v);
        return;
    }
    float t[8];
    _mm256_storeu_ps(t, v);
    for (int l = 0; l < n; l++) dst[l] = add ? dst[l] + t[l] : t[l];
}

#define PGEMM(NAME, MR, NG, ATTR, V) \
    ATTR static void NAME(const qact8 *A, int m0, const char *P, int nb, int k0, float *C, size_t ldc, \
                          int last_cols) { \
        __m256 acc[MR][NG]; \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
            _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) acc[i][c] = _mm256_setzero_ps(); \
        for (int b = 0; b < nb; b++) { \
            __m256i ia[MR][NG]; \
            const int8_t *aq[MR]; \
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) { \
                size_t r = (size_t)(m0 + i); \
                aq[i] = A->qs + r * A->ldq + (size_t)(k0 + b) * 32; \
                _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) ia[i][c] = PG_INIT_##V(A->corr[r * A->ldb + (size_t)(k0 + b)]); \
            } \
            _Pragma("GCC unroll 8") for (int s = 0; s < 8; s++) { \
                __m256i w[NG], wa[NG]; \
                _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) { \
                    w[c] = PG_W_##V(_mm256_loadu_si256((const __m256i *)(P + ((size_t)c * nb + b) * PG_BYTES + 32 * s))); \
                    wa[c] = PG_WA_##V(w[c]); \
                } \
                _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) { \
                    int32_t a4; \
                    memcpy(&a4, aq[i] + 4 * s, 4); \
                    __m256i a = _mm256_set1_epi32(a4); \
                    _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) ia[i][c] = PG_DOT_##V(ia[i][c], w[c], wa[c], a); \
                } \
            } \
            __m256 dw[NG]; \
            _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) dw[c] = _mm256_loadu_ps((const float *)(P + ((size_t)c * nb + b) * PG_BYTES + 256)); \
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) { \
                __m256 da = _mm256_set1_ps(A->d[(size_t)(m0 + i) * A->ldb + (size_t)(k0 + b)]); \
                _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) \
                    acc[i][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ia[i][c]), _mm256_mul_ps(dw[c], da), acc[i][c]); \
            } \
        } \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
            _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) \
                pg_store8(C + (size_t)i * ldc + 8 * c, acc[i][c], c < NG - 1 || last_cols >= 8 ? 8 : last_cols, k0 > 0); \
    }

typedef void (*pg_fn)(const qact8 *, int, const char *, int, int, float *, size_t, int);

#define PGEMM_FAMILY(P, ATTR, V) \
    PGEMM(P##_1_2, 1, 2, ATTR, V) PGEMM(P##_2_2, 2, 2, ATTR, V) PGEMM(P##_3_2, 3, 2, ATTR, V) \
    PGEMM(P##_1_1, 1, 1, ATTR, V) PGEMM(P##_2_1, 2, 1, ATTR, V) PGEMM(P##_3_1, 3, 1, ATTR, V) \
    static void P(const qact8 *A, int m0, int mr, const void *Pk, int ncols, int nb, int k0, float *C, \
                  size_t ldc) { \
        static const pg_fn two[3] = {P##_1_2, P##_2_2, P##_3_2}, one[3] = {P##_1_1, P##_2_1, P##_3_1}; \
        int ng = (ncols + 7) / 8; \
        for (int g = 0; g < ng; g += 2) { \
            int n_here = ng - g >= 2 ? 2 : 1, last_cols = ncols - 8 * (g + n_here - 1); \
            (n_here == 2 ? two[mr - 1] : one[mr - 1])(A, m0, (const char *)Pk + (size_t)g * nb * PG_BYTES, nb, k0, \
                                                      C + 8 * g, ldc, last_cols); \
        } \
    }

PGEMM_FAMILY(pg_avx2, , AVX2)
PGEMM_FAMILY(pg_avxvnni, __attribute__((target("avxvnni"))), VNNI)

/* --- packed Q4_K GEMM --------------------------------------------------------
 * Per 8-column group and super-block (P4_BYTES): the 256 values unpacked to u8
 * as [64 steps][8 columns][4 values], then d * sc per sub-block [8][8] (f32),
 * the 6-bit mins as int16 pairs [4][8][2] (vpmaddwd against the Q8_K sub-block
 * sums) and dmin [8] (f32). One step: 4 values of an A row (broadcast) against
 * 4 values of 8 columns; int32 sums per column over a sub-block, then one
 * convert and FMA per sub-block per 8 outputs. */
#define P4_Q 2048
#define P4_BYTES (P4_Q + 256 + 128 + 32)

static size_t pack4_bytes(int ncols, int nsb) { return (size_t)((ncols + 7) / 8) * (size_t)nsb * P4_BYTES; }

static void q4_pack(const blk_q4_k *W, size_t ldw, int ncols, int nsb, void *P) {
    uint8_t tmp[8][256];
    float dsc[8][8], dmin[8];
    int16_t mn[8][8];
    for (int g = 0; g < (ncols + 7) / 8; g++)
        for (int b = 0; b < nsb; b++) {
            for (int c = 0; c < 8; c++) {
                if (8 * g + c < ncols) q4k_unpack_blk(W + (size_t)(8 * g + c) * ldw + b, tmp[c], dsc[c], mn[c], &dmin[c]);
                else { memset(tmp[c], 0, 256); memset(dsc[c], 0, sizeof dsc[c]); memset(mn[c], 0, sizeof mn[c]); dmin[c] = 0; }
            }
            char *dst = (char *)P + ((size_t)g * nsb + b) * P4_BYTES;
            for (int q = 0; q < 8; q++) { /* 32 values of the 8 columns at a time: steps 8q .. 8q + 7 */
                const void *src[8];
                for (int c = 0; c < 8; c++) src[c] = tmp[c] + 32 * q;
                transpose8x8_dw(src, _mm256_set1_epi32(-1), dst + 256 * q);
            }
            float *fd = (float *)(dst + P4_Q);
            for (int j = 0; j < 8; j++)
                for (int c = 0; c < 8; c++) fd[8 * j + c] = dsc[c][j];
            int16_t *fm = (int16_t *)(dst + P4_Q + 256);
            for (int p = 0; p < 4; p++)
                for (int c = 0; c < 8; c++) { fm[16 * p + 2 * c] = mn[c][2 * p]; fm[16 * p + 2 * c + 1] = mn[c][2 * p + 1]; }
            memcpy(dst + P4_Q + 384, dmin, sizeof dmin);
        }
}

/* AVX2: the sub-block's 8 steps sum in int16 (each vpmaddubsw pair <= 2 * 15 *
 * 127, 8 of them <= 30480), widened once by vpmaddwd; VNNI: int32 throughout. */
#define P4_DOT_AVX2(ia, w, a) _mm256_add_epi16(ia, _mm256_maddubs_epi16(w, a))
#define P4_FIN_AVX2(ia) _mm256_madd_epi16(ia, _mm256_set1_epi16(1))
#define P4_DOT_VNNI(ia, w, a) _mm256_dpbusd_avx_epi32(ia, w, a)
#define P4_FIN_VNNI(ia) (ia)

#define PGEMM4(NAME, MR, NG, ATTR, V) \
    ATTR static void NAME(const blk_q8_k *A, size_t lda, const char *P, int nsb, float *C, size_t ldc, int last_cols) { \
        __m256 acc[MR][NG]; \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
            _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) acc[i][c] = _mm256_setzero_ps(); \
        for (int b = 0; b < nsb; b++) { \
            const char *pg[NG]; \
            __m256 da[MR]; \
            _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) pg[c] = P + ((size_t)c * nsb + b) * P4_BYTES; \
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) da[i] = _mm256_set1_ps(A[(size_t)i * lda + b].d); \
            for (int j = 0; j < 8; j++) { \
                __m256i ia[MR][NG]; \
                _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
                    _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) ia[i][c] = _mm256_setzero_si256(); \
                _Pragma("GCC unroll 8") for (int s = 0; s < 8; s++) { \
                    __m256i w[NG]; \
                    _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) w[c] = _mm256_loadu_si256((const __m256i *)(pg[c] + 32 * (8 * j + s))); \
                    _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) { \
                        int32_t a4; \
                        memcpy(&a4, A[(size_t)i * lda + b].qs + 32 * j + 4 * s, 4); \
                        __m256i a = _mm256_set1_epi32(a4); \
                        _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) ia[i][c] = P4_DOT_##V(ia[i][c], w[c], a); \
                    } \
                } \
                _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) { \
                    __m256 dsc = _mm256_loadu_ps((const float *)(pg[c] + P4_Q + 32 * j)); \
                    _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
                        acc[i][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(P4_FIN_##V(ia[i][c])), _mm256_mul_ps(dsc, da[i]), acc[i][c]); \
                } \
            } \
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) { \
                const blk_q8_k *a = A + (size_t)i * lda + b; \
                __m256i mi[NG]; \
                _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) mi[c] = _mm256_setzero_si256(); \
                _Pragma("GCC unroll 4") for (int p = 0; p < 4; p++) { \
                    uint16_t s0 = (uint16_t)(a->bsums[4 * p] + a->bsums[4 * p + 1]); \
                    uint16_t s1 = (uint16_t)(a->bsums[4 * p + 2] + a->bsums[4 * p + 3]); \
                    __m256i sp = _mm256_set1_epi32((int32_t)((uint32_t)s0 | ((uint32_t)s1 << 16))); \
                    _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) \
                        mi[c] = _mm256_add_epi32(mi[c], _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(pg[c] + P4_Q + 256 + 32 * p)), sp)); \
                } \
                _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) { \
                    __m256 dm = _mm256_mul_ps(_mm256_loadu_ps((const float *)(pg[c] + P4_Q + 384)), da[i]); \
                    acc[i][c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mi[c]), dm, acc[i][c]); \
                } \
            } \
        } \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
            _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) { \
                float *dst = C + (size_t)i * ldc + 8 * c; \
                if (c < NG - 1 || last_cols >= 8) _mm256_storeu_ps(dst, acc[i][c]); \
                else { \
                    float t[8]; \
                    _mm256_storeu_ps(t, acc[i][c]); \
                    memcpy(dst, t, sizeof(float) * (size_t)last_cols); \
                } \
            } \
    }

typedef void (*p4_fn)(const blk_q8_k *, size_t, const char *, int, float *, size_t, int);

#define PGEMM4_FAMILY(P, ATTR, V) \
    PGEMM4(P##_1_2, 1, 2, ATTR, V) PGEMM4(P##_2_2, 2, 2, ATTR, V) PGEMM4(P##_3_2, 3, 2, ATTR, V) \
    PGEMM4(P##_1_1, 1, 1, ATTR, V) PGEMM4(P##_2_1, 2, 1, ATTR, V) PGEMM4(P##_3_1, 3, 1, ATTR, V) \
    static void P(const blk_q8_k *A, size_t lda, int mr, const void *Pk, int ncols, int nsb, float *C, size_t ldc) { \
        static const p4_fn two[3] = {P##_1_2, P##_2_2, P##_3_2}, one[3] = {P##_1_1, P##_2_1, P##_3_1}; \
        int ng = (ncols + 7) / 8; \
        for (int g = 0; g < ng; g += 2) { \
            int n_here = ng - g >= 2 ? 2 : 1, last_cols = ncols - 8 * (g + n_here - 1); \
            p4_fn f = n_here == 2 ? two[mr - 1] : one[mr - 1]; /* (c ? a : b)[i] trips UBSan's object-size check */ \
            f(A, lda, (const char *)Pk + (size_t)g * nsb * P4_BYTES, nsb, C + 8 * g, ldc, last_cols); \
        } \
    }

PGEMM4_FAMILY(p4_avx2, , AVX2)
PGEMM4_FAMILY(p4_avxvnni, __attribute__((target("avxvnni"))), VNNI)

const qkern_act qkern_act_avx2 = {act8_avx2, act8k_avx2};

static int cpu_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

const qkern *qkern_avx2(void) {
    static const qkern k = {.q8 = q8_avx2, .q4 = q4_avx2, .mr = 4, .q8_pack = q8_pack, .q8_pgemm = pg_avx2, .pmr = 2,
                            .q8_pack_bytes = pack_bytes, .q4_pack = q4_pack, .q4_pgemm = p4_avx2, .pmr4 = 3,
                            .q4_pack_bytes = pack4_bytes, .act = &qkern_act_avx2};
    return cpu_avx2() ? &k : NULL;
}

const qkern *qkern_avxvnni(void) {
    static const qkern k = {.q8 = q8_avxvnni, .q4 = q4_avxvnni, .mr = 4, .q8_pack = q8_pack, .q8_pgemm = pg_avxvnni,
                            .pmr = 3, .q8_pack_bytes = pack_bytes, .q4_pack = q4_pack, .q4_pgemm = p4_avxvnni,
                            .pmr4 = 3, .q4_pack_bytes = pack4_bytes, .act = &qkern_act_avx2};
#if defined(__clang__) || __GNUC__ >= 11
    return cpu_avx2() && cpu_has_avxvnni() ? &k : NULL;
#else
    return NULL;
#endif
}

/* Internal: the 256-bit Q8_0 dot-product tiles (GEMV and small M), shared by
 * the AVX2 / AVX-VNNI level (quant_avx2.c) and the AVX512-VNNI level
 * (quant_avx512.c, vpdpbusd ymm through AVX512VL), which include it after
 * <immintrin.h> and instantiate Q8_FAMILY with their attribute and dot; and the
 * 256-bit Q4_K GEMV tile of the AVX2 / AVX-VNNI level, whose super-block tail
 * (Q4G_FINISH_BLOCK) the AVX512-VNNI zmm tile shares. */
#ifndef DOTS_QUANT_TILE256_H
#define DOTS_QUANT_TILE256_H
#include "kernels/quant_kern.h"

/* One Q4_K super-block of one W row for the packed GEMMs of both levels: values
 * (u8, natural order), d*sc per sub-block, 6-bit mins, dmin. */
static void q4k_unpack_blk(const blk_q4_k *w, uint8_t q[256], float dsc[8], int16_t mn[8], float *dmin) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int g = 0; g < 4; g++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(w->qs + 32 * g));
        _mm256_storeu_si256((__m256i *)(q + 64 * g), _mm256_and_si256(v, m4));
        _mm256_storeu_si256((__m256i *)(q + 64 * g + 32), _mm256_and_si256(_mm256_srli_epi16(v, 4), m4));
    }
    const uint8_t *s = w->scales;
    float d = _cvtsh_ss(w->d);
    for (int j = 0; j < 4; j++) {
        dsc[j] = d * (float)(s[j] & 63);
        dsc[j + 4] = d * (float)((s[j + 8] & 0xF) | ((s[j] >> 6) << 4));
        mn[j] = (int16_t)(s[j + 4] & 63);
        mn[j + 4] = (int16_t)((s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4));
    }
    *dmin = _cvtsh_ss(w->dmin);
}

static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* --- Q8_0 ----------------------------------------------------------------
 * AVX2: |w| (u8) x sign(a, w) (s8) pairs into int16 (at most 2*128*127), then
 * vpmaddwd by 1 into int32. VNNI: (w ^ 0x80) (u8) x a (s8) straight into int32,
 * started from {c, 0 x 7} (c = -128 sum a) so the +128 offset cancels. */
#define W_PREP_AVX2(w) _mm256_sign_epi8(w, w)
#define DOT_AVX2(wp, w, av, corr) \
    _mm256_madd_epi16(_mm256_maddubs_epi16(wp, _mm256_sign_epi8(av, w)), _mm256_set1_epi16(1))
#define W_PREP_VNNI(w) _mm256_xor_si256(w, _mm256_set1_epi8((char)0x80))
#define DOT_VNNI(wp, w, av, corr) _mm256_dpbusd_avx_epi32(corr, wp, av)

/* GEMV (1 A row x 4 W rows ldw blocks apart), the hot loop of a Q8_0 decode
 * step: the same per-row arithmetic as Q8_TILE (so M = 1 keeps the bits of
 * M = 2..3) with the A pointers hoisted, the scale broadcast as f16 before its
 * conversion, and two blocks per iteration: the general tile spent ~15
 * instructions per row and block, which capped an L3-resident GEMV at
 * ~45 GB/s on Zen 4, barely above DRAM, so DRAM and compute could not overlap. */
#define Q8_GEMV_ROW(j, b, PREP, DOT) \
    do { \
        __m256i w_ = _mm256_loadu_si256((const __m256i *)w##j[b].qs); \
        __m256 dw_ = _mm256_cvtph_ps(_mm_set1_epi16((short)w##j[b].d)); \
        __m256i dot_ = DOT(PREP(w_), w_, av, corr); \
        acc##j = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot_), _mm256_mul_ps(dw_, da), acc##j); \
    } while (0)
#define Q8_GEMV_BLOCK(b, PREP, DOT) \
    do { \
        __m256i av = _mm256_loadu_si256((const __m256i *)(aq + (size_t)(b) * 32)); \
        __m256 da = _mm256_set1_ps(ad[b]); \
        __m256i corr = _mm256_zextsi128_si256(_mm_cvtsi32_si128(ac[b])); \
        (void)corr; \
        Q8_GEMV_ROW(0, b, PREP, DOT); Q8_GEMV_ROW(1, b, PREP, DOT); Q8_GEMV_ROW(2, b, PREP, DOT); Q8_GEMV_ROW(3, b, PREP, DOT); \
    } while (0)
#define Q8_GEMV4(NAME, ATTR, PREP, DOT) \
    ATTR static void NAME(const qact8 *A, int m0, const blk_q8_0 *W, size_t ldw, int nb, float *C) { \
        const int8_t *aq = A->qs + (size_t)m0 * A->ldq; \
        const float *ad = A->d + (size_t)m0 * A->ldb; \
        const int32_t *ac = A->corr + (size_t)m0 * A->ldb; \
        const blk_q8_0 *w0 = W, *w1 = W + ldw, *w2 = W + 2 * ldw, *w3 = W + 3 * ldw; \
        __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0; \
        int b = 0; \
        for (; b + 2 <= nb; b += 2) { \
            gemv_prefetch(w0 + b, GEMV_AHEAD_BLOCKS * sizeof(blk_q8_0), 2); \
            gemv_prefetch(w1 + b, GEMV_AHEAD_BLOCKS * sizeof(blk_q8_0), 2); \
            gemv_prefetch(w2 + b, GEMV_AHEAD_BLOCKS * sizeof(blk_q8_0), 2); \
            gemv_prefetch(w3 + b, GEMV_AHEAD_BLOCKS * sizeof(blk_q8_0), 2); \
            Q8_GEMV_BLOCK(b, PREP, DOT); Q8_GEMV_BLOCK(b + 1, PREP, DOT); \
        } \
        if (b < nb) Q8_GEMV_BLOCK(b, PREP, DOT); \
        C[0] = hsum8(acc0); C[1] = hsum8(acc1); C[2] = hsum8(acc2); C[3] = hsum8(acc3); \
    }

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
                __m256 da = _mm256_set1_ps(A->d[r * A->ldb + (size_t)b]); \
                __m256i corr = _mm256_zextsi128_si256(_mm_cvtsi32_si128(A->corr[r * A->ldb + (size_t)b])); \
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
    Q8_GEMV4(P##_g4, ATTR, PREP, DOT) \
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
            for (; j + 4 <= nr; j += 4) P##_g4(A, m0, W + j * ldw, ldw, nb, C + j); \
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

/* --- Q4_K GEMV tile ----------------------------------------------------------- */
/* The 8 scale bytes and 8 min bytes of a Q4_K block from its 12 packed bytes read
 * as three 32-bit words (ggml's get_scale_min_k4 order): sc = scales 0-3, 4-7,
 * 0-3, 4-7 (one vpmovzxbw of it is the 8 scales as int16 in both 128-bit
 * halves), mn = mins 0-3, 4-7. Scalar, for the small tiles and the packed GEMM;
 * the GEMV tiles use q4k_head_bytes. */
static inline void q4k_scale_words(const uint8_t *s, uint32_t sc[4], uint32_t mn[2]) {
    uint32_t u[3];
    memcpy(u, s, 12);
    uint32_t sc_lo = u[0] & 0x3f3f3f3fu, mn_lo = u[1] & 0x3f3f3f3fu;
    uint32_t sc_hi = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
    uint32_t mn_hi = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
    sc[0] = sc_lo; sc[1] = sc_hi; sc[2] = sc_lo; sc[3] = sc_hi;
    mn[0] = mn_lo; mn[1] = mn_hi;
}

/* The same as vectors: the 8 scales as int16 in both 128-bit halves, the 8 mins as int16. */
static inline void q4k_scales_v(const uint8_t *s, __m256i *sc, __m128i *mn) {
    uint32_t scw[4], mnw[2];
    q4k_scale_words(s, scw, mnw);
    *sc = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)scw));
    *mn = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)mnw));
}

/* The same from a block's first 16 bytes u = [d dmin | u0 u1 u2] (dwords) in one
 * xmm: bytes 0-7 the 8 scales, 8-15 the 8 mins. Seven vector ops a row instead
 * of ~20 scalar ones and the stores and reloads between them: the 256-bit GEMV
 * tile is bound by instruction count, not by one kind of port (~10% faster). */
static inline __m128i q4k_head_bytes(__m128i u) {
    __m128i a = _mm_srlv_epi32(_mm_shuffle_epi32(u, _MM_SHUFFLE(3, 2, 3, 1)), _mm_setr_epi32(0, 0, 0, 4));
    a = _mm_and_si128(a, _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f)); /* [u0 u2 u1 u2>>4] */
    __m128i h = _mm_srli_epi32(_mm_shuffle_epi32(u, _MM_SHUFFLE(2, 2, 1, 1)), 2);
    h = _mm_and_si128(h, _mm_setr_epi32(0, 0x30303030, 0, 0x30303030)); /* bits 4-5 of scales / mins 4-7 */
    return _mm_or_si128(a, h);
}

/* The 8 sub-block sums of a Q8_K block as int16 (each <= 32 * 127). */
static inline __m128i q8k_subsums(const blk_q8_k *a) {
    __m256i s = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)a->bsums), _mm256_set1_epi16(1));
    return _mm_packs_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

/* GEMV (1 A row x 4 W rows). Per 64-value group the two sub-blocks' dots are
 * scaled in int32 (AVX2: vpmaddubsw then vpmaddwd by the scale; VNNI: vpdpbusd
 * per sub-block, packed to int16 and vpmaddwd by the scales); per super-block
 * the 4 rows' sums and mins terms are reduced together by horizontal adds and
 * take one convert and one FMA against [d0 dmin0 d1 dmin1 ...] (f16 pairs). */
#define Q4G_DOT_AVX2(lo, hi, alo, ahi, sc, g) \
    _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(lo, alo), _mm256_shuffle_epi8(sc, q4_pick(2 * (g)))), \
                     _mm256_madd_epi16(_mm256_maddubs_epi16(hi, ahi), _mm256_shuffle_epi8(sc, q4_pick(2 * (g) + 1))))
#define Q4G_DOT_VNNI(DPBUSD, lo, hi, alo, ahi, sc, g) \
    _mm256_madd_epi16(_mm256_packs_epi32(DPBUSD(_mm256_setzero_si256(), lo, alo), \
                                         DPBUSD(_mm256_setzero_si256(), hi, ahi)), \
                      _mm256_shuffle_epi8(sc, q4_pick2(g)))

/* From the scale bytes (q4k_head_bytes in both halves) as int16 by a byte
 * shuffle with zero high bytes: scale j in every lane; scales 2g (lanes 0-3)
 * and 2g+1 (4-7) per half. */
static inline __m256i q4_pick(int j) { return _mm256_set1_epi16((short)(0x8000 | j)); }
static inline __m256i q4_pick2(int g) {
    __m128i lo = _mm_set1_epi16((short)(0x8000 | (2 * g))), hi = _mm_set1_epi16((short)(0x8000 | (2 * g + 1)));
    return _mm256_broadcastsi128_si256(_mm_unpacklo_epi64(lo, hi));
}

/* The asm statement after each 64-value group pins the four running sums:
 * without it GCC computed all 32 products of a super-block first and spilled
 * them to the stack. */
#define Q4_GEMV4(NAME, ATTR, DOT) \
    ATTR static void NAME(const blk_q8_k *A, const blk_q4_k *W, size_t ldw, int nsb, float *C) { \
        __m256 acc = _mm256_setzero_ps(); \
        const __m256i m4 = _mm256_set1_epi8(0x0F); \
        const __m128i mins16 = _mm_setr_epi8(8, -1, 9, -1, 10, -1, 11, -1, 12, -1, 13, -1, 14, -1, 15, -1); \
        const char *pf = (const char *)(W + 4 * ldw); /* M = 2..3 tiles, adjacent short rows: the next group */ \
        for (int b = 0; b < nsb; b++) { \
            if (!gemv_long_rows(ldw, nsb)) { \
                for (int l = 0; l < 9; l++) _mm_prefetch(pf + 64 * l, _MM_HINT_T0); \
                pf += 4 * sizeof(blk_q4_k); \
            } else { \
                _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) \
                    gemv_prefetch(&W[(size_t)j * ldw + b], GEMV_AHEAD_BLOCKS * sizeof(blk_q4_k), 3); \
            } \
            __m128i head[4], sb[4], mn[4]; /* per row: d dmin + packed scales; scale and min bytes; mins int16 */ \
            __m256i sc[4], isum[4]; \
            _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) { \
                head[j] = _mm_loadu_si128((const __m128i *)&W[(size_t)j * ldw + b]); \
                sb[j] = q4k_head_bytes(head[j]); \
                sc[j] = _mm256_broadcastsi128_si256(sb[j]); \
                isum[j] = _mm256_setzero_si256(); \
            } \
            _Pragma("GCC unroll 4") for (int g = 0; g < 4; g++) { \
                __m256i alo = _mm256_loadu_si256((const __m256i *)(A[b].qs + 64 * g)); \
                __m256i ahi = _mm256_loadu_si256((const __m256i *)(A[b].qs + 64 * g + 32)); \
                _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) { \
                    __m256i q = _mm256_loadu_si256((const __m256i *)(W[(size_t)j * ldw + b].qs + 32 * g)); \
                    __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4); \
                    isum[j] = _mm256_add_epi32(isum[j], DOT(lo, hi, alo, ahi, sc[j], g)); \
                } \
                __asm__("" : "+x"(isum[0]), "+x"(isum[1]), "+x"(isum[2]), "+x"(isum[3])); \
            } \
            _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) mn[j] = _mm_shuffle_epi8(sb[j], mins16); \
            Q4G_FINISH_BLOCK(_mm_unpacklo_epi64(_mm_unpacklo_epi32(head[0], head[1]), _mm_unpacklo_epi32(head[2], head[3]))); \
        } \
        Q4G_STORE(); \
    }

/* The end of a super-block for the 4 rows of a GEMV tile, shared with the
 * AVX-512 tile (quant_avx512.c); it reads the tile's A, b, isum[4] (int32 lanes
 * summing to each row's scaled dot) and mn[4] (int16 mins) and updates acc:
 * sums and mins terms reduce to [x0 m0 x1 m1 | x2 m2 x3 m3], which take one
 * convert and one FMA against DD = [d0 dmin0 d1 dmin1 ...] (f16 pairs).
 * Q4G_STORE then writes the tile's 4 outputs C[0..3]. */
#define Q4G_FINISH_BLOCK(DD) \
    do { \
        __m128i ss = q8k_subsums(&A[b]), m[4]; \
        _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) m[j] = _mm_madd_epi16(mn[j], ss); \
        __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(isum[0], isum[1]), _mm256_hadd_epi32(isum[2], isum[3])); \
        __m128i xs = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)); \
        __m128i ms = _mm_hadd_epi32(_mm_hadd_epi32(m[0], m[1]), _mm_hadd_epi32(m[2], m[3])); \
        __m256i v = _mm256_setr_m128i(_mm_unpacklo_epi32(xs, ms), _mm_unpackhi_epi32(xs, ms)); \
        __m256 dw = _mm256_cvtph_ps(DD); \
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), _mm256_mul_ps(dw, _mm256_set1_ps(A[b].d)), acc); \
    } while (0)
#define Q4G_STORE() \
    do { \
        float t[8]; \
        _mm256_storeu_ps(t, acc); \
        for (int j = 0; j < 4; j++) C[j] = t[2 * j] - t[2 * j + 1]; \
    } while (0)

#endif

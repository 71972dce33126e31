/* Int8 kernels of the AVX512-VNNI level: Q8_0 GEMV / small M through the
 * 256-bit tiles (vpdpbusd ymm), the Q4_K GEMV through a zmm tile, GEMM through
 * packed W panels with vpdpbusd zmm (Q8_0, Q4_K). */
#include <immintrin.h>
#include <string.h>
#include "kernels/quant_kern.h"
#include "kernels/simd_avx512.h"

#define VNNI __attribute__((target("avx512vnni")))

/* GEMV and small M: the 256-bit tiles with vpdpbusd ymm (AVX512VL): they
 * measured ~1.4x the bytes per CPU-second of a 2-blocks-per-zmm tile (whose
 * per-block scale shuffles load port 5), with L2-resident weights. */
#include "kernels/quant_tile256.h"
#define DOT_VNNI_VL(wp, w, av, corr) _mm256_dpbusd_epi32(corr, wp, av)
Q8_FAMILY(q8_vl, VNNI, W_PREP_VNNI, DOT_VNNI_VL)

/* The Q4_K GEMV tile in zmm: one 64-byte load of nibbles is 4 sub-blocks (lo:
 * 4p and 4p+2, hi: 4p+1 and 4p+3), against A's sub-blocks paired the same way;
 * vpdpbusd per 4 values, packed to int16 and vpmaddwd by the sub-block scales.
 * A third fewer instructions than the 256-bit tile per weight, and the same
 * exact int32 sums and f32 tail (Q4G_FINISH_BLOCK), so its outputs are the bits
 * of the AVX2 levels' tiles (test_quant_kernels checks). */
#define VNNIBW __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
VNNIBW static inline __m512i q4z_pair(const int8_t *a0, const int8_t *a1) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a0)),
                              _mm256_loadu_si256((const __m256i *)a1), 1);
}
/* Per super-block the 4 rows' first 16 bytes (d, dmin, the 12 scale bytes) sit
 * in the 4 lanes of one zmm, and the 6-bit scales and mins are unpacked there
 * for all 4 rows at once (q4k_scales_v's word arithmetic, u0 u1 u2 in dwords 1-3):
 * per lane, bytes 8-15 of rlo are the 8 scales and bytes 0-7 of rhi the 8 mins.
 * Per row the scale words of step p are a byte shuffle of its lane with zero
 * high bytes: per 128-bit chunk [s(4p+c) x 4, s(4p+c+1) x 4], c = 0 in chunks
 * 0-1 and 2 in chunks 2-3. */
#define Q4Z_W(s) (char)(8 + (s)), (char)0x80
#define Q4Z_CHUNK(s) Q4Z_W(s), Q4Z_W(s), Q4Z_W(s), Q4Z_W(s), Q4Z_W((s) + 1), Q4Z_W((s) + 1), Q4Z_W((s) + 1), Q4Z_W((s) + 1)
static const char q4z_pick[2][64] __attribute__((aligned(64))) = {
    {Q4Z_CHUNK(0), Q4Z_CHUNK(0), Q4Z_CHUNK(2), Q4Z_CHUNK(2)},
    {Q4Z_CHUNK(4), Q4Z_CHUNK(4), Q4Z_CHUNK(6), Q4Z_CHUNK(6)},
};

/* One row j of the tile: isum[j] (the exact scaled dot of the super-block, in
 * 8 int32 lanes) and mn[j] (its 8 mins as int16). */
#define Q4Z_ROW(j) \
    do { \
        const blk_q4_k *w = W + (size_t)(j) * ldw + b; \
        __m512i rj = _mm512_shuffle_i32x4(rlo, rlo, 0x55 * (j)); \
        mn[j] = _mm_shuffle_epi8(_mm512_extracti32x4_epi32(rhi, j), mnz); \
        __m512i q0 = _mm512_loadu_si512(w->qs), q1 = _mm512_loadu_si512(w->qs + 64); \
        __m512i d0 = _mm512_packs_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(q0, m4), alo0), \
                                        _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(_mm512_srli_epi16(q0, 4), m4), ahi0)); \
        __m512i d1 = _mm512_packs_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(q1, m4), alo1), \
                                        _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(_mm512_srli_epi16(q1, 4), m4), ahi1)); \
        __m512i s_ = _mm512_add_epi32(_mm512_madd_epi16(d0, _mm512_shuffle_epi8(rj, pick0)), \
                                      _mm512_madd_epi16(d1, _mm512_shuffle_epi8(rj, pick1))); \
        isum[j] = _mm256_add_epi32(_mm512_castsi512_si256(s_), _mm512_extracti64x4_epi64(s_, 1)); \
    } while (0)

VNNIBW static void q4g_zmm(const blk_q8_k *A, const blk_q4_k *W, size_t ldw, int nsb, float *C) {
    __m256 acc = _mm256_setzero_ps();
    const __m512i m4 = _mm512_set1_epi8(0x0F), pick0 = _mm512_load_si512(q4z_pick[0]), pick1 = _mm512_load_si512(q4z_pick[1]);
    const __m128i mnz = _mm_setr_epi8(0, -128, 1, -128, 2, -128, 3, -128, 4, -128, 5, -128, 6, -128, 7, -128);
    const __m512i first_dwords = _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    for (int b = 0; b < nsb; b++) {
        for (int j = 0; j < 4; j++) gemv_prefetch(&W[(size_t)j * ldw + b], GEMV_AHEAD_BLOCKS * sizeof(blk_q4_k), 3);
        const int8_t *aq = A[b].qs;
        __m512i alo0 = q4z_pair(aq, aq + 64), ahi0 = q4z_pair(aq + 32, aq + 96);
        __m512i alo1 = q4z_pair(aq + 128, aq + 192), ahi1 = q4z_pair(aq + 160, aq + 224);
        __m512i u = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(W + b)));
        u = _mm512_inserti32x4(u, _mm_loadu_si128((const __m128i *)(W + ldw + b)), 1);
        u = _mm512_inserti32x4(u, _mm_loadu_si128((const __m128i *)(W + 2 * ldw + b)), 2);
        u = _mm512_inserti32x4(u, _mm_loadu_si128((const __m128i *)(W + 3 * ldw + b)), 3);
        __m512i lo = _mm512_and_si512(u, _mm512_set1_epi8(0x3f));
        __m512i top = _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u, 6), _mm512_set1_epi8(3)), 4);
        __m512i nib = _mm512_and_si512(_mm512_srlv_epi32(_mm512_shuffle_epi32(u, _MM_PERM_DDDD),
                                                         _mm512_set4_epi32(0, 4, 0, 0)), _mm512_set1_epi8(0x0f));
        __m512i hi = _mm512_or_si512(nib, top);
        __m512i rlo = _mm512_unpacklo_epi32(lo, hi), rhi = _mm512_unpackhi_epi32(lo, hi);
        __m256i isum[4];
        __m128i mn[4];
        Q4Z_ROW(0); Q4Z_ROW(1); Q4Z_ROW(2); Q4Z_ROW(3);
        Q4G_FINISH_BLOCK(_mm512_castsi512_si128(_mm512_permutexvar_epi32(first_dwords, u)));
    }
    Q4G_STORE();
}

static void q4_vl(const blk_q8_k *A, size_t lda, int mr, const blk_q4_k *W, size_t ldw, int nr, int nsb, float *C,
                  size_t ldc) {
    qkern_q4_tiles(q4g_zmm, A, lda, mr, W, ldw, nr, nsb, C, ldc);
}

/* The avxvnni level's Q4_K GEMV tile (Q4_GEMV4 of quant_tile256.h) with the
 * EVEX encoding of vpdpbusd ymm: the same source, so CPUs with AVX512-VNNI but
 * no AVX-VNNI (Zen 4) check that level's code too. Only the test calls it. */
#define Q4G_DOT_VL(lo, hi, alo, ahi, sc, g) Q4G_DOT_VNNI(_mm256_dpbusd_epi32, lo, hi, alo, ahi, sc, g)
Q4_GEMV4(q4g_vnni_vl, VNNIBW, Q4G_DOT_VL)

q4g_fn qkern_q4_gemv4_vnni_vl(void) { return qkern_avx512vnni() ? q4g_vnni_vl : NULL; }

/* --- packed GEMM (M > a few rows) -------------------------------------------
 * W panel packed per 16-column group g and block b into 576 bytes:
 * u8 (w ^ 0x80) as [8 steps][16 columns][4 values], then the 16 scales (f32).
 * One vpdpbusd then takes 4 values of one A row (broadcast) against 4 values of
 * 16 columns, so the int32 sums stay per column over the whole block and the
 * f32 work (convert, scale, add) is once per block per 16 outputs. */
#define PG_BYTES 576

static size_t pack_bytes(int ncols, int nb) { return (size_t)((ncols + 15) / 16) * (size_t)nb * PG_BYTES; }

/* One block of 16 W rows; columns past `valid` pack as quants 0 (u8 0x80), scale 0. */
static inline void q8_pack_block16(const blk_q8_0 *const row[16], int b, __mmask16 valid, char *dst) {
    const void *qs[16];
    uint16_t d[16];
    _Pragma("GCC unroll 16")
    for (int r = 0; r < 16; r++) {
        qs[r] = row[r][b].qs;
        memcpy(&d[r], &row[r][b].d, sizeof d[r]);
    }
    transpose16x8_dw(qs, valid, _mm512_set1_epi8((char)0x80), dst, 64);
    _mm512_storeu_ps(dst + 512, _mm512_maskz_mov_ps(valid, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)d))));
}

static void q8_pack(const blk_q8_0 *W, size_t ldw, int ncols, int nb, void *P) {
    for (int g = 0; g < (ncols + 15) / 16; g++) {
        int valid = ncols - 16 * g < 16 ? ncols - 16 * g : 16;
        const blk_q8_0 *row[16];
        for (int r = 0; r < 16; r++) row[r] = W + (size_t)(16 * g + (r < valid ? r : 0)) * ldw; /* past the end: a real row, masked */
        for (int b = 0; b < nb; b++) {
            if (!(b & 1))
                for (int r = 0; r < 16; r++) gemv_prefetch(row[r] + b, GEMV_AHEAD_BLOCKS * sizeof(blk_q8_0), 1);
            q8_pack_block16(row, b, (__mmask16)((1u << valid) - 1), (char *)P + ((size_t)g * nb + b) * PG_BYTES);
        }
    }
}

#define PGEMM(NAME, MR, NG) \
    VNNI static void NAME(const qact8 *A, int m0, const char *P, int nb, int k0, float *C, size_t ldc, \
                          __mmask16 mlast) { \
        __m512 acc[MR][NG]; \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
            _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) acc[i][c] = _mm512_setzero_ps(); \
        for (int b = 0; b < nb; b++) { \
            __m512i ia[MR][NG]; \
            const int8_t *aq[MR]; \
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) { \
                size_t r = (size_t)(m0 + i); \
                aq[i] = A->qs + r * A->ldq + (size_t)(k0 + b) * 32; \
                __m512i cr = _mm512_set1_epi32(A->corr[r * A->ldb + (size_t)(k0 + b)]); \
                _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) ia[i][c] = cr; \
            } \
            _Pragma("GCC unroll 8") for (int s = 0; s < 8; s++) { \
                __m512i w[NG]; \
                _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) w[c] = _mm512_loadu_si512(P + ((size_t)c * nb + b) * PG_BYTES + 64 * s); \
                _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) { \
                    int32_t a4; \
                    memcpy(&a4, aq[i] + 4 * s, 4); \
                    __m512i a = _mm512_set1_epi32(a4); \
                    _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) ia[i][c] = _mm512_dpbusd_epi32(ia[i][c], w[c], a); \
                } \
            } \
            __m512 dw[NG]; \
            _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) dw[c] = _mm512_loadu_ps(P + ((size_t)c * nb + b) * PG_BYTES + 512); \
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) { \
                __m512 da = _mm512_set1_ps(A->d[(size_t)(m0 + i) * A->ldb + (size_t)(k0 + b)]); \
                _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) \
                    acc[i][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia[i][c]), _mm512_mul_ps(dw[c], da), acc[i][c]); \
            } \
        } \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
            _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) { \
                float *dst = C + (size_t)i * ldc + 16 * c; /* K chunks after the first add */ \
                __mmask16 mk = c == NG - 1 ? mlast : (__mmask16)0xFFFF; \
                __m512 v = k0 > 0 ? _mm512_add_ps(acc[i][c], _mm512_maskz_loadu_ps(mk, dst)) : acc[i][c]; \
                _mm512_mask_storeu_ps(dst, mk, v); \
            } \
    }

PGEMM(pg_1_2, 1, 2) PGEMM(pg_2_2, 2, 2) PGEMM(pg_3_2, 3, 2) PGEMM(pg_4_2, 4, 2) PGEMM(pg_5_2, 5, 2) PGEMM(pg_6_2, 6, 2)
PGEMM(pg_1_1, 1, 1) PGEMM(pg_2_1, 2, 1) PGEMM(pg_3_1, 3, 1) PGEMM(pg_4_1, 4, 1) PGEMM(pg_5_1, 5, 1) PGEMM(pg_6_1, 6, 1)

typedef void (*pg_fn)(const qact8 *, int, const char *, int, int, float *, size_t, __mmask16);

static void q8_pgemm(const qact8 *A, int m0, int mr, const void *P, int ncols, int nb, int k0, float *C,
                     size_t ldc) {
    static const pg_fn two[6] = {pg_1_2, pg_2_2, pg_3_2, pg_4_2, pg_5_2, pg_6_2};
    static const pg_fn one[6] = {pg_1_1, pg_2_1, pg_3_1, pg_4_1, pg_5_1, pg_6_1};
    int ng = (ncols + 15) / 16;
    for (int g = 0; g < ng; g += 2) {
        int n_here = ng - g >= 2 ? 2 : 1, last_cols = ncols - 16 * (g + n_here - 1);
        __mmask16 mlast = (__mmask16)(last_cols >= 16 ? 0xFFFF : (1u << last_cols) - 1);
        const char *pg = (const char *)P + (size_t)g * nb * PG_BYTES;
        (n_here == 2 ? two[mr - 1] : one[mr - 1])(A, m0, pg, nb, k0, C + 16 * g, ldc, mlast);
    }
}

/* --- packed Q4_K GEMM ---------------------------------------------------------
 * Per 16-column group and super-block (PG4_BYTES): the 256 values unpacked to
 * u8 as [64 steps][16 columns][4], then d*sc per sub-block [8][16] (f32), the
 * 6-bit mins as int16 pairs [4][16][2] for vpdpwssd against the Q8_K sub-block
 * sums, and dmin [16] (f32). */
#define PG4_Q 4096
#define PG4_BYTES (PG4_Q + 512 + 256 + 64)

static size_t pack4_bytes(int ncols, int nsb) { return (size_t)((ncols + 15) / 16) * (size_t)nsb * PG4_BYTES; }

static void q4_pack(const blk_q4_k *W, size_t ldw, int ncols, int nsb, void *P) {
    uint8_t tmp[16][256];
    float dsc[16][8], dmin[16];
    int16_t mn[16][8];
    for (int g = 0; g < (ncols + 15) / 16; g++)
        for (int b = 0; b < nsb; b++) {
            for (int c = 0; c < 16; c++) {
                if (16 * g + c < ncols) q4k_unpack_blk(W + (size_t)(16 * g + c) * ldw + b, tmp[c], dsc[c], mn[c], &dmin[c]);
                else { memset(tmp[c], 0, 256); memset(dsc[c], 0, sizeof dsc[c]); memset(mn[c], 0, sizeof mn[c]); dmin[c] = 0; }
            }
            char *dst = (char *)P + ((size_t)g * nsb + b) * PG4_BYTES;
            for (int q = 0; q < 8; q++) { /* 32 values of the 16 columns at a time: steps 8q .. 8q + 7 */
                const void *src[16];
                for (int c = 0; c < 16; c++) src[c] = tmp[c] + 32 * q;
                transpose16x8_dw(src, 0xFFFF, _mm512_setzero_si512(), dst + 512 * q, 64);
            }
            float *fd = (float *)(dst + PG4_Q);
            for (int j = 0; j < 8; j++)
                for (int c = 0; c < 16; c++) fd[16 * j + c] = dsc[c][j];
            int16_t *fm = (int16_t *)(dst + PG4_Q + 512);
            for (int p = 0; p < 4; p++)
                for (int c = 0; c < 16; c++) { fm[32 * p + 2 * c] = mn[c][2 * p]; fm[32 * p + 2 * c + 1] = mn[c][2 * p + 1]; }
            memcpy(dst + PG4_Q + 768, dmin, sizeof dmin);
        }
}

#define PGEMM4(NAME, MR, NG) \
    VNNI static void NAME(const blk_q8_k *A, size_t lda, const char *P, int nsb, float *C, size_t ldc, __mmask16 mlast) { \
        __m512 acc[MR][NG]; \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
            _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) acc[i][c] = _mm512_setzero_ps(); \
        for (int b = 0; b < nsb; b++) { \
            const char *pg[NG]; \
            _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) pg[c] = P + ((size_t)c * nsb + b) * PG4_BYTES; \
            __m512 t[MR][NG]; \
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
                _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) t[i][c] = _mm512_setzero_ps(); \
            for (int j = 0; j < 8; j++) { \
                __m512i ia[MR][NG]; \
                _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
                    _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) ia[i][c] = _mm512_setzero_si512(); \
                _Pragma("GCC unroll 8") for (int s = 0; s < 8; s++) { \
                    __m512i w[NG]; \
                    _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) w[c] = _mm512_loadu_si512(pg[c] + 64 * (8 * j + s)); \
                    _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) { \
                        int32_t a4; \
                        memcpy(&a4, A[(size_t)i * lda + b].qs + 32 * j + 4 * s, 4); \
                        __m512i a = _mm512_set1_epi32(a4); \
                        _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) ia[i][c] = _mm512_dpbusd_epi32(ia[i][c], w[c], a); \
                    } \
                } \
                _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) { \
                    __m512 dsc = _mm512_loadu_ps(pg[c] + PG4_Q + 64 * j); \
                    _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) t[i][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia[i][c]), dsc, t[i][c]); \
                } \
            } \
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) { \
                const blk_q8_k *a = A + (size_t)i * lda + b; \
                __m512i mi[NG]; \
                _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) mi[c] = _mm512_setzero_si512(); \
                _Pragma("GCC unroll 8") for (int p = 0; p < 4; p++) { \
                    uint16_t s0 = (uint16_t)(a->bsums[4 * p] + a->bsums[4 * p + 1]); \
                    uint16_t s1 = (uint16_t)(a->bsums[4 * p + 2] + a->bsums[4 * p + 3]); \
                    __m512i sp = _mm512_set1_epi32((int32_t)((uint32_t)s0 | ((uint32_t)s1 << 16))); \
                    _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) \
                        mi[c] = _mm512_dpwssd_epi32(mi[c], _mm512_loadu_si512(pg[c] + PG4_Q + 512 + 64 * p), sp); \
                } \
                __m512 da = _mm512_set1_ps(a->d); \
                _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) { \
                    __m512 dm = _mm512_mul_ps(_mm512_loadu_ps(pg[c] + PG4_Q + 768), da); \
                    acc[i][c] = _mm512_fmadd_ps(t[i][c], da, acc[i][c]); \
                    acc[i][c] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(mi[c]), dm, acc[i][c]); \
                } \
            } \
        } \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) \
            _Pragma("GCC unroll 8") for (int c = 0; c < NG; c++) \
                _mm512_mask_storeu_ps(C + (size_t)i * ldc + 16 * c, c == NG - 1 ? mlast : (__mmask16)0xFFFF, acc[i][c]); \
    }

PGEMM4(p4_1_2, 1, 2) PGEMM4(p4_2_2, 2, 2) PGEMM4(p4_3_2, 3, 2) PGEMM4(p4_4_2, 4, 2)
PGEMM4(p4_1_1, 1, 1) PGEMM4(p4_2_1, 2, 1) PGEMM4(p4_3_1, 3, 1) PGEMM4(p4_4_1, 4, 1)

typedef void (*p4_fn)(const blk_q8_k *, size_t, const char *, int, float *, size_t, __mmask16);

static void q4_pgemm(const blk_q8_k *A, size_t lda, int mr, const void *P, int ncols, int nsb, float *C, size_t ldc) {
    static const p4_fn two[4] = {p4_1_2, p4_2_2, p4_3_2, p4_4_2}, one[4] = {p4_1_1, p4_2_1, p4_3_1, p4_4_1};
    int ng = (ncols + 15) / 16;
    for (int g = 0; g < ng; g += 2) {
        int n_here = ng - g >= 2 ? 2 : 1, last_cols = ncols - 16 * (g + n_here - 1);
        __mmask16 mlast = (__mmask16)(last_cols >= 16 ? 0xFFFF : (1u << last_cols) - 1);
        (n_here == 2 ? two[mr - 1] : one[mr - 1])(A, lda, (const char *)P + (size_t)g * nsb * PG4_BYTES, nsb, C + 16 * g, ldc, mlast);
    }
}

const qkern *qkern_avx512vnni(void) {
    static const qkern k = {.q8 = q8_vl, .q4 = q4_vl, .mr = 4, .q8_pack = q8_pack,
                            .q8_pgemm = q8_pgemm, .pmr = 4, .q8_pack_bytes = pack_bytes,
                            .q4_pack = q4_pack, .q4_pgemm = q4_pgemm, .pmr4 = 4, .q4_pack_bytes = pack4_bytes,
                            .act = &qkern_act_avx2};
    __builtin_cpu_init();
    int ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vnni");
    return ok ? &k : NULL;
}

/* Int8 tiles for Q8_0 / Q4_K weights on arm64: plain NEON (vmull_s8 +
 * vpadalq_s16), sdot (dotprod) and, for Q8_0 GEMM, smmla (i8mm: a 2x8 by 8x2
 * int8 product per instruction, so a 2x2 tile of A rows x W rows per block).
 * dotprod and i8mm are compiled with target attributes and used only where
 * HWCAP reports them. Q4_K nibbles are unpacked to bytes in registers. */
#include <arm_neon.h>
#include "kernels/quant_kern.h"
#if defined(__linux__)
#include <sys/auxv.h>
#endif

#define DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#define I8MM __attribute__((target("arch=armv8.6-a+dotprod+i8mm")))

/* sum of a[0..31] * b[0..31] as 4 int32 lanes */
static inline int32x4_t dot32_neon(int8x16_t a0, int8x16_t a1, int8x16_t b0, int8x16_t b1) {
    int16x8_t p0 = vmull_s8(vget_low_s8(a0), vget_low_s8(b0));
    p0 = vmlal_s8(p0, vget_high_s8(a0), vget_high_s8(b0)); /* |2 * 128 * 127| fits int16 */
    int16x8_t p1 = vmull_s8(vget_low_s8(a1), vget_low_s8(b1));
    p1 = vmlal_s8(p1, vget_high_s8(a1), vget_high_s8(b1));
    return vpadalq_s16(vpaddlq_s16(p0), p1);
}
DOTPROD static inline int32x4_t dot32_sdot(int8x16_t a0, int8x16_t a1, int8x16_t b0, int8x16_t b1) {
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), a0, b0), a1, b1);
}

/* One A row (a, its block scales da) against W rows: the 1 x 1 tile, and the 1 x 4
 * GEMV tile that loads each A block once for 4 W rows, converts the 4 rows' f16
 * scales in one vcvt_f32_f16 (the 1 x 1 tile calls f16_to_f32 per row and block)
 * and keeps 4 independent accumulator chains. Per row both do the same operations
 * (int32 dot, convert, one FMA by dw * da per block, then vaddvq), so a row's bits
 * do not depend on which tile ran it. */
#define Q8_ROW1(NAME, ATTR, DOT) \
    ATTR static float NAME(const int8_t *a, const float *da, const blk_q8_0 *w, int nb) { \
        float32x4_t acc = vdupq_n_f32(0); \
        for (int b = 0; b < nb; b++) { \
            int32x4_t d = DOT(vld1q_s8(a + 32 * b), vld1q_s8(a + 32 * b + 16), vld1q_s8(w[b].qs), vld1q_s8(w[b].qs + 16)); \
            acc = vfmaq_n_f32(acc, vcvtq_f32_s32(d), f16_to_f32(w[b].d) * da[b]); \
        } \
        return vaddvq_f32(acc); \
    }
#define Q8_ROW_DOT(DOT, j) DOT(x0, x1, vld1q_s8(w##j[b].qs), vld1q_s8(w##j[b].qs + 16))
#define Q8_GEMV4(NAME, ATTR, DOT) \
    ATTR static void NAME(const int8_t *a, const float *da, const blk_q8_0 *W, size_t ldw, int nb, float *C) { \
        const blk_q8_0 *w0 = W, *w1 = W + ldw, *w2 = W + 2 * ldw, *w3 = W + 3 * ldw; \
        float32x4_t acc0 = vdupq_n_f32(0), acc1 = acc0, acc2 = acc0, acc3 = acc0; \
        for (int b = 0; b < nb; b++) { \
            int8x16_t x0 = vld1q_s8(a + 32 * b), x1 = vld1q_s8(a + 32 * b + 16); \
            const uint16_t d4[4] = {w0[b].d, w1[b].d, w2[b].d, w3[b].d}; \
            float32x4_t s = vmulq_n_f32(vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(d4))), da[b]); \
            acc0 = vfmaq_laneq_f32(acc0, vcvtq_f32_s32(Q8_ROW_DOT(DOT, 0)), s, 0); \
            acc1 = vfmaq_laneq_f32(acc1, vcvtq_f32_s32(Q8_ROW_DOT(DOT, 1)), s, 1); \
            acc2 = vfmaq_laneq_f32(acc2, vcvtq_f32_s32(Q8_ROW_DOT(DOT, 2)), s, 2); \
            acc3 = vfmaq_laneq_f32(acc3, vcvtq_f32_s32(Q8_ROW_DOT(DOT, 3)), s, 3); \
        } \
        C[0] = vaddvq_f32(acc0); C[1] = vaddvq_f32(acc1); C[2] = vaddvq_f32(acc2); C[3] = vaddvq_f32(acc3); \
    }
/* any mr and nr: every A row runs the 1 x 4 tile over W rows in groups of 4, the 1 x 1 over the rest */
#define Q8_ROWS(NAME, ATTR, DOT) \
    Q8_ROW1(NAME##_1, ATTR, DOT) \
    Q8_GEMV4(NAME##_4, ATTR, DOT) \
    ATTR static void NAME(const qact8 *A, int m0, int mr, const blk_q8_0 *W, size_t ldw, int nr, int nb, float *C, \
                          size_t ldc) { \
        for (int i = 0; i < mr; i++) { \
            const int8_t *a = A->qs + (size_t)(m0 + i) * A->ldq; \
            const float *da = A->d + (size_t)(m0 + i) * A->ldb; \
            float *c = C + (size_t)i * ldc; \
            int j = 0; \
            for (; j + 4 <= nr; j += 4) NAME##_4(a, da, W + (size_t)j * ldw, ldw, nb, c + j); \
            for (; j < nr; j++) c[j] = NAME##_1(a, da, W + (size_t)j * ldw, nb); \
        } \
    }

Q8_ROWS(q8_neon, , dot32_neon)
Q8_ROWS(q8_dotprod, DOTPROD, dot32_sdot)

/* i8mm: rows i, i+1 of A against rows j, j+1 of W; lanes {00, 01, 10, 11}. */
I8MM static void q8_i8mm_2x2(const qact8 *A, int m0, const blk_q8_0 *W, size_t ldw, int nb, float *C, size_t ldc) {
    const int8_t *a0 = A->qs + (size_t)m0 * A->ldq, *a1 = a0 + A->ldq;
    const float *d0 = A->d + (size_t)m0 * A->ldb, *d1 = d0 + A->ldb;
    const blk_q8_0 *w0 = W, *w1 = W + ldw;
    float32x4_t acc = vdupq_n_f32(0);
    for (int b = 0; b < nb; b++) {
        int32x4_t s = vdupq_n_s32(0);
        for (int h = 0; h < 32; h += 16) {
            int64x2_t x0 = vreinterpretq_s64_s8(vld1q_s8(a0 + 32 * b + h)), x1 = vreinterpretq_s64_s8(vld1q_s8(a1 + 32 * b + h));
            int64x2_t y0 = vreinterpretq_s64_s8(vld1q_s8(w0[b].qs + h)), y1 = vreinterpretq_s64_s8(vld1q_s8(w1[b].qs + h));
            s = vmmlaq_s32(s, vreinterpretq_s8_s64(vzip1q_s64(x0, x1)), vreinterpretq_s8_s64(vzip1q_s64(y0, y1)));
            s = vmmlaq_s32(s, vreinterpretq_s8_s64(vzip2q_s64(x0, x1)), vreinterpretq_s8_s64(vzip2q_s64(y0, y1)));
        }
        float dw0 = f16_to_f32(w0[b].d), dw1 = f16_to_f32(w1[b].d), da0 = d0[b], da1 = d1[b];
        float sc[4] = {da0 * dw0, da0 * dw1, da1 * dw0, da1 * dw1};
        acc = vfmaq_f32(acc, vcvtq_f32_s32(s), vld1q_f32(sc));
    }
    float r[4];
    vst1q_f32(r, acc);
    C[0] = r[0]; C[1] = r[1]; C[ldc] = r[2]; C[ldc + 1] = r[3];
}

I8MM static void q8_i8mm(const qact8 *A, int m0, int mr, const blk_q8_0 *W, size_t ldw, int nr, int nb, float *C,
                         size_t ldc) {
    int i = 0;
    for (; i + 2 <= mr; i += 2) {
        int j = 0;
        for (; j + 2 <= nr; j += 2) q8_i8mm_2x2(A, m0 + i, W + j * ldw, ldw, nb, C + (size_t)i * ldc + j, ldc);
        if (j < nr) q8_dotprod(A, m0 + i, 2, W + j * ldw, ldw, nr - j, nb, C + (size_t)i * ldc + j, ldc);
    }
    if (i < mr) q8_dotprod(A, m0 + i, mr - i, W, ldw, nr, nb, C + (size_t)i * ldc, ldc);
}

/* --- packed Q8_0 GEMM (dotprod; M > a few rows) ------------------------------
 * W panel per 8-column group g and block b (PGN_BYTES): s8 weights as [8 steps]
 * [8 columns][4 values], then the 8 scales (f32), the AVX2 level's layout. One
 * sdot by element takes 4 values of one A row (a lane of its 16-byte vector)
 * against 4 values of 4 columns, so the int32 sums stay per column over the
 * whole block and the f32 work is once per block per 4 outputs: 4 A rows x 8
 * columns are 64 sdot a block against 16 W and 8 A loads (the 1 x 4 row tile:
 * 8 sdot against 10 loads). */
#define PGN_BYTES 288

static size_t pack_bytes_neon(int ncols, int nb) { return (size_t)((ncols + 7) / 8) * (size_t)nb * PGN_BYTES; }

/* 4 rows' 4 dwords transposed: out[s] = dword s of rows 0..3 */
static inline void transpose4x4_dw(int32x4_t r0, int32x4_t r1, int32x4_t r2, int32x4_t r3, int32x4_t out[4]) {
    int32x4_t t0 = vtrn1q_s32(r0, r1), t1 = vtrn2q_s32(r0, r1), t2 = vtrn1q_s32(r2, r3), t3 = vtrn2q_s32(r2, r3);
    out[0] = vreinterpretq_s32_s64(vtrn1q_s64(vreinterpretq_s64_s32(t0), vreinterpretq_s64_s32(t2)));
    out[1] = vreinterpretq_s32_s64(vtrn1q_s64(vreinterpretq_s64_s32(t1), vreinterpretq_s64_s32(t3)));
    out[2] = vreinterpretq_s32_s64(vtrn2q_s64(vreinterpretq_s64_s32(t0), vreinterpretq_s64_s32(t2)));
    out[3] = vreinterpretq_s32_s64(vtrn2q_s64(vreinterpretq_s64_s32(t1), vreinterpretq_s64_s32(t3)));
}

/* Columns past the panel's end pack as quants 0 with scale 0. */
static void q8_pack_neon(const blk_q8_0 *W, size_t ldw, int ncols, int nb, void *P) {
    for (int g = 0; g < (ncols + 7) / 8; g++) {
        int valid = ncols - 8 * g < 8 ? ncols - 8 * g : 8;
        for (int b = 0; b < nb; b++) {
            char *dst = (char *)P + ((size_t)g * nb + b) * PGN_BYTES;
            int32x4_t q[8][2]; /* row c's dwords 0-3 and 4-7 */
            float *dw = (float *)(dst + 256);
            for (int c = 0; c < 8; c++) {
                if (c < valid) {
                    const blk_q8_0 *w = W + (size_t)(8 * g + c) * ldw + b;
                    q[c][0] = vreinterpretq_s32_s8(vld1q_s8(w->qs));
                    q[c][1] = vreinterpretq_s32_s8(vld1q_s8(w->qs + 16));
                    dw[c] = f16_to_f32(w->d);
                } else {
                    q[c][0] = q[c][1] = vdupq_n_s32(0);
                    dw[c] = 0;
                }
            }
            for (int h = 0; h < 2; h++) /* steps 4h .. 4h + 3 */
                for (int cg = 0; cg < 2; cg++) { /* columns 4cg .. 4cg + 3 */
                    int32x4_t t[4];
                    transpose4x4_dw(q[4 * cg][h], q[4 * cg + 1][h], q[4 * cg + 2][h], q[4 * cg + 3][h], t);
                    for (int s = 0; s < 4; s++) vst1q_s32((int32_t *)(dst + 32 * (4 * h + s) + 16 * cg), t[s]);
                }
        }
    }
}

#define PGN_DOT(i, s) \
    do { \
        ia[i][0] = vdotq_laneq_s32(ia[i][0], w0, a[i], s); \
        ia[i][1] = vdotq_laneq_s32(ia[i][1], w1, a[i], s); \
    } while (0)
/* MR A rows x 8 columns of one packed group, blocks k0 .. k0 + nb - 1 */
#define PGEMM_NEON(NAME, MR) \
    DOTPROD static void NAME(const qact8 *A, int m0, const char *P, int nb, int k0, float *C, size_t ldc, int ncols) { \
        float32x4_t acc[MR][2]; \
        _Pragma("GCC unroll 4") for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = vdupq_n_f32(0); \
        for (int b = 0; b < nb; b++) { \
            const char *pb = P + (size_t)b * PGN_BYTES; \
            int32x4_t ia[MR][2]; \
            _Pragma("GCC unroll 4") for (int i = 0; i < MR; i++) ia[i][0] = ia[i][1] = vdupq_n_s32(0); \
            _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++) { \
                int8x16_t a[MR]; \
                _Pragma("GCC unroll 4") for (int i = 0; i < MR; i++) a[i] = vld1q_s8(A->qs + (size_t)(m0 + i) * A->ldq + (size_t)(k0 + b) * 32 + 16 * h); \
                const int8_t *ws = (const int8_t *)pb + 128 * h; \
                int8x16_t w0, w1; \
                w0 = vld1q_s8(ws); w1 = vld1q_s8(ws + 16); \
                _Pragma("GCC unroll 4") for (int i = 0; i < MR; i++) PGN_DOT(i, 0); \
                w0 = vld1q_s8(ws + 32); w1 = vld1q_s8(ws + 48); \
                _Pragma("GCC unroll 4") for (int i = 0; i < MR; i++) PGN_DOT(i, 1); \
                w0 = vld1q_s8(ws + 64); w1 = vld1q_s8(ws + 80); \
                _Pragma("GCC unroll 4") for (int i = 0; i < MR; i++) PGN_DOT(i, 2); \
                w0 = vld1q_s8(ws + 96); w1 = vld1q_s8(ws + 112); \
                _Pragma("GCC unroll 4") for (int i = 0; i < MR; i++) PGN_DOT(i, 3); \
            } \
            float32x4_t dw0 = vld1q_f32((const float *)(pb + 256)), dw1 = vld1q_f32((const float *)(pb + 272)); \
            _Pragma("GCC unroll 4") for (int i = 0; i < MR; i++) { \
                float da = A->d[(size_t)(m0 + i) * A->ldb + (size_t)(k0 + b)]; \
                acc[i][0] = vfmaq_f32(acc[i][0], vcvtq_f32_s32(ia[i][0]), vmulq_n_f32(dw0, da)); \
                acc[i][1] = vfmaq_f32(acc[i][1], vcvtq_f32_s32(ia[i][1]), vmulq_n_f32(dw1, da)); \
            } \
        } \
        _Pragma("GCC unroll 4") for (int i = 0; i < MR; i++) { \
            float r[8], *dst = C + (size_t)i * ldc; /* K chunks after the first add */ \
            vst1q_f32(r, acc[i][0]); vst1q_f32(r + 4, acc[i][1]); \
            for (int c = 0; c < ncols; c++) dst[c] = k0 > 0 ? dst[c] + r[c] : r[c]; \
        } \
    }
PGEMM_NEON(pgn_1, 1) PGEMM_NEON(pgn_2, 2) PGEMM_NEON(pgn_3, 3) PGEMM_NEON(pgn_4, 4)

typedef void (*pgn_fn)(const qact8 *, int, const char *, int, int, float *, size_t, int);

static void q8_pgemm_dotprod(const qact8 *A, int m0, int mr, const void *P, int ncols, int nb, int k0, float *C,
                             size_t ldc) {
    static const pgn_fn by_rows[4] = {pgn_1, pgn_2, pgn_3, pgn_4};
    for (int g = 0; g < (ncols + 7) / 8; g++) {
        int cols = ncols - 8 * g < 8 ? ncols - 8 * g : 8;
        by_rows[mr - 1](A, m0, (const char *)P + (size_t)g * nb * PGN_BYTES, nb, k0, C + 8 * g, ldc, cols);
    }
}

/* --- Q4_K x Q8_K ----------------------------------------------------------- */
static inline void q4k_scales(const uint8_t *s, int sc[8], int mn[8]) {
    for (int j = 0; j < 4; j++) {
        sc[j] = s[j] & 63;
        mn[j] = s[j + 4] & 63;
        sc[j + 4] = (s[j + 8] & 0xF) | ((s[j] >> 6) << 4);
        mn[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4);
    }
}

/* isum_ = the scaled int32 dot of block w (4 lanes), the A vectors k = 0..15 given by
 * X(k); reads the caller's m4 (0x0F bytes) and sc[8] (the block's scales). */
#define Q4_BLOCK_ISUM(isum_, DOT, w, X) \
    do { \
        isum_ = vdupq_n_s32(0); \
        for (int g = 0; g < 4; g++) { \
            uint8x16_t q0 = vld1q_u8((w)->qs + 32 * g), q1 = vld1q_u8((w)->qs + 32 * g + 16); \
            int32x4_t lo = DOT(vreinterpretq_s8_u8(vandq_u8(q0, m4)), vreinterpretq_s8_u8(vandq_u8(q1, m4)), X(4 * g), \
                               X(4 * g + 1)); \
            int32x4_t hi = DOT(vreinterpretq_s8_u8(vshrq_n_u8(q0, 4)), vreinterpretq_s8_u8(vshrq_n_u8(q1, 4)), X(4 * g + 2), \
                               X(4 * g + 3)); \
            isum_ = vmlaq_n_s32(isum_, lo, sc[2 * g]); \
            isum_ = vmlaq_n_s32(isum_, hi, sc[2 * g + 1]); \
        } \
    } while (0)
/* One A row against W rows, as for Q8_0: the 1 x 1 tile, and the 1 x 4 GEMV tile that
 * loads each A block (and sums its bsums pairs) once for 4 W rows and converts the 4
 * rows' d and dmin together; per row both do the same operations, so the same bits. */
#define Q4_ROW1(NAME, ATTR, DOT) \
    ATTR static float NAME(const blk_q8_k *a, const blk_q4_k *w, int nsb) { \
        const uint8x16_t m4 = vdupq_n_u8(0x0F); \
        float32x4_t acc = vdupq_n_f32(0); \
        float macc = 0; \
        for (int b = 0; b < nsb; b++) { \
            int sc[8], mn[8], msum = 0; \
            q4k_scales(w[b].scales, sc, mn); \
            const int8_t *aq = a[b].qs; \
            int32x4_t isum; \
            Q4_BLOCK_ISUM(isum, DOT, &w[b], Q4_A_LOAD); \
            for (int s = 0; s < 8; s++) msum += mn[s] * (a[b].bsums[2 * s] + a[b].bsums[2 * s + 1]); \
            acc = vfmaq_n_f32(acc, vcvtq_f32_s32(isum), f16_to_f32(w[b].d) * a[b].d); \
            macc += f16_to_f32(w[b].dmin) * a[b].d * (float)msum; \
        } \
        return vaddvq_f32(acc) - macc; \
    }
#define Q4_A_LOAD(k) vld1q_s8(aq + 16 * (k))
#define Q4_A_REG(k) x[k]
#define Q4_GEMV4(NAME, ATTR, DOT) \
    ATTR static void NAME(const blk_q8_k *a, const blk_q4_k *W, size_t ldw, int nsb, float *C) { \
        const uint8x16_t m4 = vdupq_n_u8(0x0F); \
        float32x4_t acc[4]; \
        float macc[4]; \
        for (int j = 0; j < 4; j++) { acc[j] = vdupq_n_f32(0); macc[j] = 0; } \
        for (int b = 0; b < nsb; b++) { \
            int8x16_t x[16]; \
            int bs[8]; \
            for (int k = 0; k < 16; k++) x[k] = vld1q_s8(a[b].qs + 16 * k); \
            for (int s = 0; s < 8; s++) bs[s] = a[b].bsums[2 * s] + a[b].bsums[2 * s + 1]; \
            const blk_q4_k *w4[4] = {W + b, W + ldw + b, W + 2 * ldw + b, W + 3 * ldw + b}; \
            const uint16_t h[8] = {w4[0]->d, w4[1]->d, w4[2]->d, w4[3]->d, w4[0]->dmin, w4[1]->dmin, w4[2]->dmin, w4[3]->dmin}; \
            float dd[8]; \
            vst1q_f32(dd, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h)))); \
            vst1q_f32(dd + 4, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h + 4)))); \
            _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) { \
                int sc[8], mn[8], msum = 0; \
                q4k_scales(w4[j]->scales, sc, mn); \
                int32x4_t isum; \
                Q4_BLOCK_ISUM(isum, DOT, w4[j], Q4_A_REG); \
                for (int s = 0; s < 8; s++) msum += mn[s] * bs[s]; \
                acc[j] = vfmaq_n_f32(acc[j], vcvtq_f32_s32(isum), dd[j] * a[b].d); \
                macc[j] += dd[4 + j] * a[b].d * (float)msum; \
            } \
        } \
        for (int j = 0; j < 4; j++) C[j] = vaddvq_f32(acc[j]) - macc[j]; \
    }
/* any mr and nr (QK_ROWS_DRIVER) */
#define Q4_ROWS(NAME, ATTR, DOT) \
    Q4_ROW1(NAME##_1, ATTR, DOT) \
    Q4_GEMV4(NAME##_4, ATTR, DOT) \
    QK_ROWS_DRIVER(NAME, ATTR, blk_q4_k)

Q4_ROWS(q4_neon, , dot32_neon)
Q4_ROWS(q4_dotprod, DOTPROD, dot32_sdot)

#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13)
#endif

static int has_dotprod(void) {
#if defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#else
    return 0;
#endif
}
static int has_i8mm(void) {
#if defined(__linux__)
    return has_dotprod() && (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0;
#else
    return 0;
#endif
}

const qkern *qkern_neon(void) {
    static const qkern k = {.q8 = q8_neon, .q4 = q4_neon, .mr = 4};
    return &k;
}
const qkern *qkern_dotprod(void) {
    static const qkern k = {.q8 = q8_dotprod, .q4 = q4_dotprod, .mr = 4, .q8_pack = q8_pack_neon,
                            .q8_pgemm = q8_pgemm_dotprod, .pmr = 4, .q8_pack_bytes = pack_bytes_neon};
    return has_dotprod() ? &k : NULL;
}
const qkern *qkern_i8mm(void) {
    static const qkern k = {.q8 = q8_i8mm, .q4 = q4_dotprod, .mr = 4};
    return has_i8mm() ? &k : NULL;
}

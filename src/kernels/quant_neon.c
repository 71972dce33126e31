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

#define Q8_ROWS(NAME, ATTR, DOT) \
    ATTR static void NAME(const qact8 *A, int m0, int mr, const blk_q8_0 *W, size_t ldw, int nr, int nb, float *C, \
                          size_t ldc) { \
        for (int i = 0; i < mr; i++) { \
            const int8_t *a = A->qs + (size_t)(m0 + i) * A->ldq; \
            const float *da = A->d + (size_t)(m0 + i) * A->ldb; \
            for (int j = 0; j < nr; j++) { \
                const blk_q8_0 *w = W + (size_t)j * ldw; \
                float32x4_t acc = vdupq_n_f32(0); \
                for (int b = 0; b < nb; b++) { \
                    int32x4_t d = DOT(vld1q_s8(a + 32 * b), vld1q_s8(a + 32 * b + 16), vld1q_s8(w[b].qs), \
                                      vld1q_s8(w[b].qs + 16)); \
                    acc = vfmaq_n_f32(acc, vcvtq_f32_s32(d), f16_to_f32(w[b].d) * da[b]); \
                } \
                C[(size_t)i * ldc + j] = vaddvq_f32(acc); \
            } \
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

/* --- Q4_K x Q8_K ----------------------------------------------------------- */
static inline void q4k_scales(const uint8_t *s, int sc[8], int mn[8]) {
    for (int j = 0; j < 4; j++) {
        sc[j] = s[j] & 63;
        mn[j] = s[j + 4] & 63;
        sc[j + 4] = (s[j + 8] & 0xF) | ((s[j] >> 6) << 4);
        mn[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4);
    }
}

#define Q4_ROWS(NAME, ATTR, DOT) \
    ATTR static void NAME(const blk_q8_k *A, size_t lda, int mr, const blk_q4_k *W, size_t ldw, int nr, int nsb, \
                          float *C, size_t ldc) { \
        const uint8x16_t m4 = vdupq_n_u8(0x0F); \
        for (int i = 0; i < mr; i++) \
            for (int j = 0; j < nr; j++) { \
                const blk_q8_k *a = A + (size_t)i * lda; \
                const blk_q4_k *w = W + (size_t)j * ldw; \
                float32x4_t acc = vdupq_n_f32(0); \
                float macc = 0; \
                for (int b = 0; b < nsb; b++) { \
                    int sc[8], mn[8], msum = 0; \
                    q4k_scales(w[b].scales, sc, mn); \
                    int32x4_t isum = vdupq_n_s32(0); \
                    for (int g = 0; g < 4; g++) { \
                        uint8x16_t q0 = vld1q_u8(w[b].qs + 32 * g), q1 = vld1q_u8(w[b].qs + 32 * g + 16); \
                        const int8_t *aq = a[b].qs + 64 * g; \
                        int32x4_t lo = DOT(vreinterpretq_s8_u8(vandq_u8(q0, m4)), vreinterpretq_s8_u8(vandq_u8(q1, m4)), \
                                           vld1q_s8(aq), vld1q_s8(aq + 16)); \
                        int32x4_t hi = DOT(vreinterpretq_s8_u8(vshrq_n_u8(q0, 4)), vreinterpretq_s8_u8(vshrq_n_u8(q1, 4)), \
                                           vld1q_s8(aq + 32), vld1q_s8(aq + 48)); \
                        isum = vmlaq_n_s32(isum, lo, sc[2 * g]); \
                        isum = vmlaq_n_s32(isum, hi, sc[2 * g + 1]); \
                    } \
                    for (int s = 0; s < 8; s++) msum += mn[s] * (a[b].bsums[2 * s] + a[b].bsums[2 * s + 1]); \
                    acc = vfmaq_n_f32(acc, vcvtq_f32_s32(isum), f16_to_f32(w[b].d) * a[b].d); \
                    macc += f16_to_f32(w[b].dmin) * a[b].d * (float)msum; \
                } \
                C[(size_t)i * ldc + j] = vaddvq_f32(acc) - macc; \
            } \
    }

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
    static const qkern k = {.q8 = q8_dotprod, .q4 = q4_dotprod, .mr = 4};
    return has_dotprod() ? &k : NULL;
}
const qkern *qkern_i8mm(void) {
    static const qkern k = {.q8 = q8_i8mm, .q4 = q4_dotprod, .mr = 4};
    return has_i8mm() ? &k : NULL;
}

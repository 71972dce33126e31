/* Q6_K x Q8_K tiles on arm64: the 6-bit values are rebuilt in registers as
 * signed bytes q - 32 (-32..31), so no offset term is needed; each 16-value
 * sub-block's int32 dot (vmull_s8 + vpadalq_s16, or sdot where HWCAP has
 * dotprod) is multiplied by its int8 scale into one int32x4 per super-block.
 * Each output's f32 sum runs in block order in one 4-lane accumulator. */
#include <arm_neon.h>
#include "kernels/quant_kern.h"
#if defined(__linux__)
#include <sys/auxv.h>
#endif

#define DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))

static inline int32x4_t q6_dot16_neon(int8x16_t q, int8x16_t a) {
    int16x8_t p = vmull_s8(vget_low_s8(q), vget_low_s8(a));
    p = vmlal_s8(p, vget_high_s8(q), vget_high_s8(a)); /* |2 * 32 * 127| fits int16 */
    return vpaddlq_s16(p);
}
DOTPROD static inline int32x4_t q6_dot16_sdot(int8x16_t q, int8x16_t a) { return vdotq_s32(vdupq_n_s32(0), q, a); }

/* For half h and 16-byte column c (0, 1): the four 16-value rows s = 0..3 of
 * values 128h + 32s + 16c .. +15, as q - 32. */
static inline void q6_unpack16(const blk_q6_k *w, int h, int c, int8x16_t v[4]) {
    const uint8x16_t m4 = vdupq_n_u8(0x0F), m3 = vdupq_n_u8(0x03);
    const int8x16_t off = vdupq_n_s8(32);
    uint8x16_t l0 = vld1q_u8(w->ql + 64 * h + 16 * c), l1 = vld1q_u8(w->ql + 64 * h + 32 + 16 * c);
    uint8x16_t qh = vld1q_u8(w->qh + 32 * h + 16 * c);
    uint8x16_t q0 = vorrq_u8(vandq_u8(l0, m4), vshlq_n_u8(vandq_u8(qh, m3), 4));
    uint8x16_t q1 = vorrq_u8(vandq_u8(l1, m4), vshlq_n_u8(vandq_u8(vshrq_n_u8(qh, 2), m3), 4));
    uint8x16_t q2 = vorrq_u8(vshrq_n_u8(l0, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(qh, 4), m3), 4));
    uint8x16_t q3 = vorrq_u8(vshrq_n_u8(l1, 4), vshlq_n_u8(vshrq_n_u8(qh, 6), 4));
    v[0] = vsubq_s8(vreinterpretq_s8_u8(q0), off);
    v[1] = vsubq_s8(vreinterpretq_s8_u8(q1), off);
    v[2] = vsubq_s8(vreinterpretq_s8_u8(q2), off);
    v[3] = vsubq_s8(vreinterpretq_s8_u8(q3), off);
}

/* isum_ = block w's scaled int32 dot (4 lanes) against the A vectors X(k), k = 0..15,
 * in the order h, c, s of the sub-blocks sb = 8h + 2s + c */
#define Q6_BLOCK_ISUM(isum_, DOT, w, X) \
    do { \
        isum_ = vdupq_n_s32(0); \
        for (int h = 0; h < 2; h++) \
            for (int c = 0; c < 2; c++) { \
                int8x16_t v[4]; \
                q6_unpack16((w), h, c, v); \
                for (int s = 0; s < 4; s++) { \
                    int sb = 8 * h + 2 * s + c; /* values 16 sb .. 16 sb + 15 */ \
                    isum_ = vmlaq_n_s32(isum_, DOT(v[s], X(sb)), (w)->scales[sb]); \
                } \
            } \
    } while (0)
#define Q6_A_LOAD(k) vld1q_s8(a[b].qs + 16 * (k))
#define Q6_A_REG(k) x[k]
/* One A row against one W row, and the 1 x 4 GEMV tile: each A block loaded once for 4
 * W rows, the 4 rows' f16 d converted together; per row the same operations, the same bits. */
#define Q6_ROW1(NAME, ATTR, DOT) \
    ATTR static float NAME(const blk_q8_k *a, const blk_q6_k *w, int nsb) { \
        float32x4_t acc = vdupq_n_f32(0); \
        for (int b = 0; b < nsb; b++) { \
            int32x4_t isum; \
            Q6_BLOCK_ISUM(isum, DOT, &w[b], Q6_A_LOAD); \
            acc = vfmaq_n_f32(acc, vcvtq_f32_s32(isum), f16_to_f32(w[b].d) * a[b].d); \
        } \
        return vaddvq_f32(acc); \
    }
#define Q6_GEMV4(NAME, ATTR, DOT) \
    ATTR static void NAME(const blk_q8_k *a, const blk_q6_k *W, size_t ldw, int nsb, float *C) { \
        float32x4_t acc[4]; \
        for (int j = 0; j < 4; j++) acc[j] = vdupq_n_f32(0); \
        for (int b = 0; b < nsb; b++) { \
            int8x16_t x[16]; \
            for (int k = 0; k < 16; k++) x[k] = vld1q_s8(a[b].qs + 16 * k); \
            const blk_q6_k *w4[4] = {W + b, W + ldw + b, W + 2 * ldw + b, W + 3 * ldw + b}; \
            const uint16_t h4[4] = {w4[0]->d, w4[1]->d, w4[2]->d, w4[3]->d}; \
            float dd[4]; \
            vst1q_f32(dd, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h4)))); \
            _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) { \
                int32x4_t isum; \
                Q6_BLOCK_ISUM(isum, DOT, w4[j], Q6_A_REG); \
                acc[j] = vfmaq_n_f32(acc[j], vcvtq_f32_s32(isum), dd[j] * a[b].d); \
            } \
        } \
        for (int j = 0; j < 4; j++) C[j] = vaddvq_f32(acc[j]); \
    }
/* any mr and nr (QK_ROWS_DRIVER) */
#define Q6_ROWS(NAME, ATTR, DOT) \
    Q6_ROW1(NAME##_1, ATTR, DOT) \
    Q6_GEMV4(NAME##_4, ATTR, DOT) \
    QK_ROWS_DRIVER(NAME, ATTR, blk_q6_k)

Q6_ROWS(q6_neon, , q6_dot16_neon)
Q6_ROWS(q6_dotprod, DOTPROD, q6_dot16_sdot)

#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif

q6_tile_fn q6kern_neon(void) { return q6_neon; }
q6_tile_fn q6kern_dotprod(void) {
#if defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) ? q6_dotprod : NULL;
#else
    return NULL;
#endif
}

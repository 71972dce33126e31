/* Inline NEON building blocks shared by the *_neon.c kernel files: the vector
 * exp, bf16 rounding and widening loads. Internal; arm64 only. */
#ifndef DOTS_VEC_NEON_H
#define DOTS_VEC_NEON_H
#include <arm_neon.h>
#include "base/dtype.h"

#define AINL static inline __attribute__((always_inline))
/* full unrolling of the short loops over registers, so accumulator arrays live
 * in registers at -O2 too (GCC keeps a rolled loop's array on the stack) */
#define UNROLL _Pragma("GCC unroll 16")

/* exp(x): x = n ln2 + r (ln2 split in two for an exact n ln2), Taylor to r^7
 * (|r| <= ln2/2: truncation < 1 ulp), 2^n built in the exponent field in two
 * halves so n = 128 does not overflow; below -87.3 (denormal 2^n) it is 0. */
AINL float32x4_t exp4_neon(float32x4_t x) {
    uint32x4_t under = vcltq_f32(x, vdupq_n_f32(-87.3f));
    x = vminq_f32(vdupq_n_f32(88.7f), vmaxq_f32(vdupq_n_f32(-87.3f), x));
    float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693145751953125f));
    r = vfmsq_f32(r, n, vdupq_n_f32(1.428606765330187e-06f));
    float32x4_t p = vdupq_n_f32(1.0f / 5040);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 720), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 120), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 24), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 6), p, r);
    p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    int32x4_t ni = vcvtq_s32_f32(n), h = vshrq_n_s32(ni, 1);
    float32x4_t s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(h, vdupq_n_s32(127)), 23));
    float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vsubq_s32(ni, h), vdupq_n_s32(127)), 23));
    float32x4_t e = vmulq_f32(vmulq_f32(p, s1), s2);
    return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(e), under));
}

/* f32 -> bf16 bits in the low 16 of each lane, nearest even, NaN kept quiet
 * (bit-exact with f32_to_bf16). */
AINL uint32x4_t bf16_bits4_neon(float32x4_t x) {
    uint32x4_t u = vreinterpretq_u32_f32(x);
    uint32x4_t lsb = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
    uint32x4_t r = vshrq_n_u32(vaddq_u32(u, vaddq_u32(lsb, vdupq_n_u32(0x7fff))), 16);
    uint32x4_t q = vorrq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(0x40));
    return vbslq_u32(vceqq_f32(x, x), r, q);
}

AINL float32x4_t round4_bf16_neon(float32x4_t x) {
    return vreinterpretq_f32_u32(vshlq_n_u32(bf16_bits4_neon(x), 16));
}

/* 4 bf16 / f16 / f32 values at p[i] as f32 */
AINL float32x4_t load4_bf16_neon(const bf16_t *p) { return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16)); }
AINL float32x4_t load4_f16_neon(const f16_t *p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }

/* 4 values of a weight vector of dtype dt (F32, F16 or BF16) at w[i], as f32 */
AINL float32x4_t load4_dt_neon(const void *w, dots_dtype dt, size_t i) {
    if (dt == DT_F32) return vld1q_f32((const float *)w + i);
    if (dt == DT_F16) return load4_f16_neon((const f16_t *)w + i);
    return load4_bf16_neon((const bf16_t *)w + i);
}

/* 8 values at w[i] as two f32 vectors, one 128-bit load for 16-bit dtypes */
AINL void load8_dt_neon(const void *w, dots_dtype dt, size_t i, float32x4_t *lo, float32x4_t *hi) {
    if (dt == DT_F32) {
        *lo = vld1q_f32((const float *)w + i);
        *hi = vld1q_f32((const float *)w + i + 4);
    } else if (dt == DT_F16) {
        float16x8_t h = vreinterpretq_f16_u16(vld1q_u16((const f16_t *)w + i));
        *lo = vcvt_f32_f16(vget_low_f16(h));
        *hi = vcvt_high_f32_f16(h);
    } else {
        uint16x8_t b = vld1q_u16((const bf16_t *)w + i);
        *lo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(b), 16));
        *hi = vreinterpretq_f32_u32(vshll_high_n_u16(b, 16));
    }
}

#endif

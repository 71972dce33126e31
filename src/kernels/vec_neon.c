/* NEON elementwise kernels: activations, bf16 rounding and the softmax pieces,
 * 4 lanes at a time (two vectors per step where the loop carries a sum). Tails
 * go through a 4-float stack buffer so every element takes the vector path.
 * The math is that of vec_avx2.c / vec_avx512.c (constants explained there). */
#include <arm_neon.h>
#include <math.h>
#include <string.h>
#include "kernels/kern_impl.h"
#include "kernels/vec_neon.h"

AINL float32x4_t erf_poly_small(float32x4_t z, float32x4_t z2) {
    float32x4_t p = vdupq_n_f32(1.0f / 9360);
    p = vfmaq_f32(vdupq_n_f32(-1.0f / 1320), p, z2);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 216), p, z2);
    p = vfmaq_f32(vdupq_n_f32(-1.0f / 42), p, z2);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 10), p, z2);
    p = vfmaq_f32(vdupq_n_f32(-1.0f / 3), p, z2);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, z2);
    return vmulq_f32(vmulq_f32(p, z), vdupq_n_f32(1.12837916709551257f));
}

/* erf(z) and erfc(z) for z >= 0: Taylor series below 0.5, above it the
 * Numerical-Recipes erfc fit t q(t) exp(-z^2) with exp(-z^2) taken exactly
 * through the rounding error of z*z. */
AINL void erf_erfc4(float32x4_t z, float32x4_t *erf_out, float32x4_t *erfc_out) {
    z = vminq_f32(z, vdupq_n_f32(10.0f));
    float32x4_t z2 = vmulq_f32(z, z);
    float32x4_t small = erf_poly_small(z, z2);
    float32x4_t t = vdivq_f32(vdupq_n_f32(1.0f), vfmaq_f32(vdupq_n_f32(1.0f), z, vdupq_n_f32(0.5f)));
    static const float c[9] = {0.28207582f, 0.2825861f, 0.24137974f, 0.21024244f, -0.04602461f,
                               0.30791008f, -0.513968f, 0.29726636f, -0.06145781f};
    float32x4_t q = vdupq_n_f32(c[8]);
    for (int i = 7; i >= 0; i--) q = vfmaq_f32(vdupq_n_f32(c[i]), q, t);
    float32x4_t lo = vfmsq_f32(z2, z, z);           /* z*z - z2, negated below */
    lo = vnegq_f32(lo);
    float32x4_t e = exp4_neon(vnegq_f32(z2));
    e = vfmsq_f32(e, e, lo);                       /* e * (1 - lo) = exp(-(z2 + lo)) */
    float32x4_t big = vmulq_f32(vmulq_f32(e, t), q);
    uint32x4_t is_small = vcltq_f32(z, vdupq_n_f32(0.5f));
    *erf_out = vbslq_f32(is_small, small, vsubq_f32(vdupq_n_f32(1.0f), big));
    *erfc_out = vbslq_f32(is_small, vsubq_f32(vdupq_n_f32(1.0f), small), big);
}

AINL uint32x4_t isnan4(float32x4_t v) { return vmvnq_u32(vceqq_f32(v, v)); }

/* One 4-lane step of each map; NaN inputs pass through. */
AINL float32x4_t gelu4(float32x4_t v) {
    float32x4_t e, ec;
    erf_erfc4(vmulq_f32(vabsq_f32(v), vdupq_n_f32(0.70710678118654752f)), &e, &ec);
    uint32x4_t neg = vcltq_f32(v, vdupq_n_f32(0));
    float32x4_t f = vbslq_f32(neg, ec, vaddq_f32(vdupq_n_f32(1.0f), e));
    float32x4_t r = vmulq_f32(vmulq_f32(v, vdupq_n_f32(0.5f)), f);
    return vbslq_f32(isnan4(v), v, r);
}

AINL float32x4_t erf4(float32x4_t v) {
    float32x4_t e, ec;
    erf_erfc4(vabsq_f32(v), &e, &ec);
    uint32x4_t sign = vandq_u32(vreinterpretq_u32_f32(v), vdupq_n_u32(0x80000000u)); /* odd */
    e = vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(e), sign));
    return vbslq_f32(isnan4(v), v, e);
}

AINL float32x4_t silu4(float32x4_t x, float32x4_t u) {
    float32x4_t e = exp4_neon(vnegq_f32(x));
    return vmulq_f32(vdivq_f32(x, vaddq_f32(vdupq_n_f32(1.0f), e)), u);
}

static void gelu(float *x, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(x + i, gelu4(vld1q_f32(x + i)));
    if (i < n) {
        float t[4] = {0};
        memcpy(t, x + i, (n - i) * 4);
        vst1q_f32(t, gelu4(vld1q_f32(t)));
        memcpy(x + i, t, (n - i) * 4);
    }
}

static void erf_v(const float *x, float *y, size_t n) {
    memmove(y, x, n * 4);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, erf4(vld1q_f32(y + i)));
    if (i < n) {
        float t[4] = {0};
        memcpy(t, y + i, (n - i) * 4);
        vst1q_f32(t, erf4(vld1q_f32(t)));
        memcpy(y + i, t, (n - i) * 4);
    }
}

static void silu_mul(float *g, const float *u, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(g + i, silu4(vld1q_f32(g + i), vld1q_f32(u + i)));
    if (i < n) {
        float t[4] = {0}, s[4] = {0};
        memcpy(t, g + i, (n - i) * 4);
        memcpy(s, u + i, (n - i) * 4);
        vst1q_f32(t, silu4(vld1q_f32(t), vld1q_f32(s)));
        memcpy(g + i, t, (n - i) * 4);
    }
}

static void add(float *y, const float *x, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vaddq_f32(vld1q_f32(y + i), vld1q_f32(x + i)));
    for (; i < n; i++) y[i] += x[i];
}

static void round_bf16(const float *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, round4_bf16_neon(vld1q_f32(x + i)));
    for (; i < n; i++) y[i] = bf16_to_f32(f32_to_bf16(x[i]));
}

static void to_bf16(const float *x, bf16_t *y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        vst1q_u16(y + i, vcombine_u16(vmovn_u32(bf16_bits4_neon(vld1q_f32(x + i))),
                                      vmovn_u32(bf16_bits4_neon(vld1q_f32(x + i + 4)))));
    for (; i < n; i++) y[i] = f32_to_bf16(x[i]);
}

/* Two independent sums so the adds do not wait on each other. */
static float exp_sum(const float *s, int n, float shift, float *pf, bf16_t *pb) {
    float32x4_t sum0 = vdupq_n_f32(0), sum1 = vdupq_n_f32(0), sh = vdupq_n_f32(shift);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t e0 = exp4_neon(vsubq_f32(vld1q_f32(s + i), sh));
        float32x4_t e1 = exp4_neon(vsubq_f32(vld1q_f32(s + i + 4), sh));
        sum0 = vaddq_f32(sum0, e0);
        sum1 = vaddq_f32(sum1, e1);
        if (pf) {
            vst1q_f32(pf + i, e0);
            vst1q_f32(pf + i + 4, e1);
        } else {
            vst1q_u16(pb + i, vcombine_u16(vmovn_u32(bf16_bits4_neon(e0)), vmovn_u32(bf16_bits4_neon(e1))));
        }
    }
    float tail = 0;
    for (; i < n; i += 4) {
        float t[4] = {0};
        int m = n - i < 4 ? n - i : 4;
        memcpy(t, s + i, (size_t)m * 4);
        vst1q_f32(t, exp4_neon(vsubq_f32(vld1q_f32(t), sh)));
        for (int k = 0; k < m; k++) {
            tail += t[k];
            if (pf) pf[i + k] = t[k];
            else pb[i + k] = f32_to_bf16(t[k]);
        }
    }
    return vaddvq_f32(vaddq_f32(sum0, sum1)) + tail;
}

static float vmax(const float *s, int n) {
    float32x4_t m0 = vdupq_n_f32(-INFINITY), m1 = m0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        m0 = vmaxq_f32(m0, vld1q_f32(s + i));
        m1 = vmaxq_f32(m1, vld1q_f32(s + i + 4));
    }
    float m = vmaxvq_f32(vmaxq_f32(m0, m1));
    for (; i < n; i++) m = s[i] > m ? s[i] : m;
    return m;
}

/* ---- norms: sums in f64 like the reference (2 lanes of f64 per half vector) ---- */

AINL void acc_sq(float64x2_t *s0, float64x2_t *s1, float32x4_t x, float64x2_t shift) {
    float64x2_t lo = vsubq_f64(vcvt_f64_f32(vget_low_f32(x)), shift), hi = vsubq_f64(vcvt_high_f64_f32(x), shift);
    *s0 = vfmaq_f64(*s0, lo, lo);
    *s1 = vfmaq_f64(*s1, hi, hi);
}

/* sum (x[i] - shift)^2 over i < dim, in f64 */
static double sum_sq(const float *x, int dim, double shift) {
    float64x2_t s0 = vdupq_n_f64(0), s1 = s0, sh = vdupq_n_f64(shift);
    int i = 0;
    for (; i + 4 <= dim; i += 4) acc_sq(&s0, &s1, vld1q_f32(x + i), sh);
    double ss = vaddvq_f64(vaddq_f64(s0, s1));
    for (; i < dim; i++) ss += ((double)x[i] - shift) * ((double)x[i] - shift);
    return ss;
}

static double sum_f64(const float *x, int dim) {
    float64x2_t s0 = vdupq_n_f64(0), s1 = s0;
    int i = 0;
    for (; i + 4 <= dim; i += 4) {
        float32x4_t v = vld1q_f32(x + i);
        s0 = vaddq_f64(s0, vcvt_f64_f32(vget_low_f32(v)));
        s1 = vaddq_f64(s1, vcvt_high_f64_f32(v));
    }
    double s = vaddvq_f64(vaddq_f64(s0, s1));
    for (; i < dim; i++) s += x[i];
    return s;
}

static void rmsnorm(const float *x, const void *w, dots_dtype wdt, float eps, float *y, int rows, int dim) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * dim;
        float *yr = y + (size_t)r * dim;
        float inv = (float)(1.0 / sqrt(sum_sq(xr, dim, 0.0) / dim + eps));
        int i = 0;
        for (; i + 4 <= dim; i += 4)
            vst1q_f32(yr + i, vmulq_f32(vmulq_n_f32(vld1q_f32(xr + i), inv), load4_dt_neon(w, wdt, (size_t)i)));
        for (; i < dim; i++) yr[i] = xr[i] * inv * kern_w_at(w, wdt, (size_t)i);
    }
}

static void layernorm(const float *x, const void *w, const void *b, dots_dtype wdt, float eps, float *y, int rows,
                      int dim) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * dim;
        float *yr = y + (size_t)r * dim;
        double mean = sum_f64(xr, dim) / dim, var = sum_sq(xr, dim, mean) / dim;
        float inv = (float)(1.0 / sqrt(var + eps)), mu = (float)mean;
        int i = 0;
        for (; i + 4 <= dim; i += 4) {
            float32x4_t t = vmulq_n_f32(vsubq_f32(vld1q_f32(xr + i), vdupq_n_f32(mu)), inv);
            vst1q_f32(yr + i, vfmaq_f32(load4_dt_neon(b, wdt, (size_t)i), t, load4_dt_neon(w, wdt, (size_t)i)));
        }
        for (; i < dim; i++) yr[i] = (xr[i] - mu) * inv * kern_w_at(w, wdt, (size_t)i) + kern_w_at(b, wdt, (size_t)i);
    }
}

void kops_fill_vec_neon(kern_ops *o) {
    o->rmsnorm = rmsnorm;
    o->layernorm = layernorm;
    o->gelu = gelu;
    o->erf = erf_v;
    o->silu_mul = silu_mul;
    o->add = add;
    o->to_bf16 = to_bf16;
    o->round_bf16 = round_bf16;
    o->exp_sum = exp_sum;
    o->vmax = vmax;
}

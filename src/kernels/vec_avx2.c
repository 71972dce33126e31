/* AVX2 + FMA elementwise kernels: activations, rmsnorm, bf16 rounding and the
 * softmax pieces, 8 lanes at a time. Tails go through an 8-float stack buffer
 * so every element takes the same vector path. The math is that of
 * vec_avx512.c (see there for where the constants come from). */
#include <immintrin.h>
#include <math.h>
#include <string.h>
#include "kernels/kern_impl.h"
#include "kernels/simd_avx2.h"

/* exp(x): x = n ln2 + r, Taylor to r^7, 2^n built in the exponent field;
 * below -87.3 (where 2^n would be denormal) the result is 0. */
AINL __m256 exp8(__m256 x) {
    __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_set1_ps(88.7f), _mm256_max_ps(_mm256_set1_ps(-87.3f), x));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    /* n may be 128 at the top: split 2^n = 2^(n/2) 2^(n - n/2) */
    __m256i ni = _mm256_cvtps_epi32(n), h = _mm256_srai_epi32(ni, 1);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h, _mm256_set1_epi32(127)), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, h), _mm256_set1_epi32(127)), 23));
    return _mm256_andnot_ps(under, _mm256_mul_ps(_mm256_mul_ps(p, s1), s2));
}

AINL void erf_erfc8(__m256 z, __m256 *erf_out, __m256 *erfc_out) {
    z = _mm256_min_ps(z, _mm256_set1_ps(10.0f));
    __m256 z2 = _mm256_mul_ps(z, z);
    __m256 p = _mm256_set1_ps(1.0f / 9360);
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(-1.0f / 1320));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(1.0f / 216));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(-1.0f / 42));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(1.0f / 10));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(-1.0f / 3));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(1.0f));
    __m256 small = _mm256_mul_ps(_mm256_mul_ps(p, z), _mm256_set1_ps(1.12837916709551257f));
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(z, _mm256_set1_ps(0.5f), _mm256_set1_ps(1.0f)));
    static const float c[9] = {0.28207582f, 0.2825861f, 0.24137974f, 0.21024244f, -0.04602461f,
                               0.30791008f, -0.513968f, 0.29726636f, -0.06145781f};
    __m256 q = _mm256_set1_ps(c[8]);
    for (int i = 7; i >= 0; i--) q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(c[i]));
    __m256 lo = _mm256_fmsub_ps(z, z, z2);
    __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), z2));
    e = _mm256_fnmadd_ps(e, lo, e);
    __m256 big = _mm256_mul_ps(_mm256_mul_ps(e, t), q);
    __m256 is_small = _mm256_cmp_ps(z, _mm256_set1_ps(0.5f), _CMP_LT_OQ);
    *erf_out = _mm256_blendv_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), big), small, is_small);
    *erfc_out = _mm256_blendv_ps(big, _mm256_sub_ps(_mm256_set1_ps(1.0f), small), is_small);
}

AINL __m256 abs8(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

/* One 8-lane step of each map; NaN inputs pass through. */
AINL __m256 gelu8(__m256 v) {
    __m256 e, ec;
    erf_erfc8(_mm256_mul_ps(abs8(v), _mm256_set1_ps(0.70710678118654752f)), &e, &ec);
    __m256 neg = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ);
    __m256 f = _mm256_blendv_ps(_mm256_add_ps(_mm256_set1_ps(1.0f), e), ec, neg);
    __m256 r = _mm256_mul_ps(_mm256_mul_ps(v, _mm256_set1_ps(0.5f)), f);
    return _mm256_blendv_ps(r, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

AINL __m256 erf8(__m256 v) {
    __m256 e, ec;
    erf_erfc8(abs8(v), &e, &ec);
    e = _mm256_or_ps(e, _mm256_and_ps(v, _mm256_set1_ps(-0.0f))); /* odd */
    return _mm256_blendv_ps(e, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

AINL __m256 silu8(__m256 x, __m256 u) {
    __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}


#define MAP1(name, expr) \
    static void name(float *x, size_t n) { \
        size_t i = 0; \
        for (; i + 8 <= n; i += 8) { __m256 v = _mm256_loadu_ps(x + i); _mm256_storeu_ps(x + i, expr); } \
        if (i < n) { \
            float t[8] = {0}; \
            memcpy(t, x + i, (n - i) * 4); \
            __m256 v = _mm256_loadu_ps(t); \
            _mm256_storeu_ps(t, expr); \
            memcpy(x + i, t, (n - i) * 4); \
        } \
    }
MAP1(gelu, gelu8(v))

static void erf_v(const float *x, float *y, size_t n) {
    memmove(y, x, n * 4);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, erf8(_mm256_loadu_ps(y + i)));
    if (i < n) {
        float t[8] = {0};
        memcpy(t, y + i, (n - i) * 4);
        _mm256_storeu_ps(t, erf8(_mm256_loadu_ps(t)));
        memcpy(y + i, t, (n - i) * 4);
    }
}

static void round_bf16(const float *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, round8(_mm256_loadu_ps(x + i)));
    for (; i < n; i++) y[i] = bf16_to_f32(f32_to_bf16(x[i]));
}

static void to_bf16(const float *x, bf16_t *y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i b = bf16_bits8(_mm256_loadu_ps(x + i));
        __m128i p = _mm_packus_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
        _mm_storeu_si128((__m128i *)(y + i), p);
    }
    for (; i < n; i++) y[i] = f32_to_bf16(x[i]);
}

static void silu_mul(float *g, const float *u, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(g + i, silu8(_mm256_loadu_ps(g + i), _mm256_loadu_ps(u + i)));
    if (i < n) {
        float t[8] = {0}, s[8] = {0};
        memcpy(t, g + i, (n - i) * 4);
        memcpy(s, u + i, (n - i) * 4);
        _mm256_storeu_ps(t, silu8(_mm256_loadu_ps(t), _mm256_loadu_ps(s)));
        memcpy(g + i, t, (n - i) * 4);
    }
}

static void add(float *y, const float *x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(x + i)));
    for (; i < n; i++) y[i] += x[i];
}

static float exp_sum(const float *s, int n, float shift, float *pf, bf16_t *pb) {
    __m256 sum = _mm256_setzero_ps(), sh = _mm256_set1_ps(shift);
    float tail = 0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(s + i), sh));
        sum = _mm256_add_ps(sum, e);
        if (pf) _mm256_storeu_ps(pf + i, e);
        else {
            __m256i b = bf16_bits8(e);
            _mm_storeu_si128((__m128i *)(pb + i), _mm_packus_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1)));
        }
    }
    if (i < n) {
        float t[8] = {0};
        memcpy(t, s + i, (size_t)(n - i) * 4);
        _mm256_storeu_ps(t, exp8(_mm256_sub_ps(_mm256_loadu_ps(t), sh)));
        for (int k = 0; k < n - i; k++) {
            tail += t[k];
            if (pf) pf[i + k] = t[k];
            else pb[i + k] = f32_to_bf16(t[k]);
        }
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, sum);
    for (int k = 0; k < 8; k++) tail += lanes[k];
    return tail;
}

static float vmax(const float *s, int n) {
    __m256 m = _mm256_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(s + i));
    float lanes[8], r = -INFINITY;
    _mm256_storeu_ps(lanes, m);
    for (int k = 0; k < 8; k++) r = lanes[k] > r ? lanes[k] : r;
    for (; i < n; i++) r = s[i] > r ? s[i] : r;
    return r;
}

/* ---- decode attention (kern_impl.h: dot_rows / axpy_rows) ---- */

/* 8 K/V values from element i as f32: bf16 widened, or f32 (rounded to bf16 when rb) */
AINL __m256 kv8(const void *K, const dots_dtype kdt, size_t i, int rb) {
    if (kdt == DT_BF16)
        return _mm256_castsi256_ps(
            _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const bf16_t *)K + i))), 16));
    __m256 v = _mm256_loadu_ps((const float *)K + i);
    return rb ? round8(v) : v;
}
AINL float kv1(const void *K, dots_dtype kdt, size_t i, int rb) {
    if (kdt == DT_BF16) return bf16_to_f32(((const bf16_t *)K)[i]);
    float v = ((const float *)K)[i];
    return rb ? bf16_to_f32(f32_to_bf16(v)) : v;
}
AINL float hsum8(__m256 v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    return _mm_cvtss_f32(_mm_add_ss(x, _mm_movehdup_ps(x)));
}

/* G (1..DEC_G) and the K dtype are compile-time constants in each instance:
 * each K row is read once for the G query heads. */
AINL void dot_G(const int G, const dots_dtype kdt, const float *q, const void *K, size_t ldk, int n, int d, int rb,
                float scale, float *s, size_t lds) {
    for (int j = 0; j < n; j++) {
        __m256 acc[DEC_G];
        for (int g = 0; g < G; g++) acc[g] = _mm256_setzero_ps();
        int c = 0;
        for (; c + 8 <= d; c += 8) {
            __m256 kv = kv8(K, kdt, (size_t)j * ldk + c, rb);
#pragma GCC unroll 6
            for (int g = 0; g < G; g++) acc[g] = _mm256_fmadd_ps(_mm256_loadu_ps(q + (size_t)g * d + c), kv, acc[g]);
        }
        for (int g = 0; g < G; g++) {
            float t = hsum8(acc[g]);
            for (int cc = c; cc < d; cc++) t += q[(size_t)g * d + cc] * kv1(K, kdt, (size_t)j * ldk + cc, rb);
            s[g * lds + j] = t * scale;
        }
    }
}

#define AXPY_KB 64 /* keys per block: their V rows stay in L1 across the head-dim chunks */

/* acc[g, c..c+16) += sum_j p[g,j] V[j, c..c+16) over keys [j0, j1) */
AINL void axpy_chunk16(const int G, const dots_dtype vdt, const float *p, size_t ldp, const void *V, size_t ldv,
                       int j0, int j1, int c, int d, int rb, float *acc) {
    __m256 a[DEC_G][2];
    for (int g = 0; g < G; g++) {
        a[g][0] = _mm256_loadu_ps(acc + (size_t)g * d + c);
        a[g][1] = _mm256_loadu_ps(acc + (size_t)g * d + c + 8);
    }
    for (int j = j0; j < j1; j++) {
        __m256 v0 = kv8(V, vdt, (size_t)j * ldv + c, rb), v1 = kv8(V, vdt, (size_t)j * ldv + c + 8, rb);
#pragma GCC unroll 6
        for (int g = 0; g < G; g++) {
            __m256 pb = _mm256_broadcast_ss(p + g * ldp + j);
            a[g][0] = _mm256_fmadd_ps(pb, v0, a[g][0]);
            a[g][1] = _mm256_fmadd_ps(pb, v1, a[g][1]);
        }
    }
    for (int g = 0; g < G; g++) {
        _mm256_storeu_ps(acc + (size_t)g * d + c, a[g][0]);
        _mm256_storeu_ps(acc + (size_t)g * d + c + 8, a[g][1]);
    }
}

AINL void axpy_G(const int G, const dots_dtype vdt, const float *p, size_t ldp, const void *V, size_t ldv, int n, int d,
                 int rb, float *acc) {
    for (int j0 = 0; j0 < n; j0 += AXPY_KB) {
        int j1 = n - j0 < AXPY_KB ? n : j0 + AXPY_KB, c = 0;
        for (; c + 16 <= d; c += 16) axpy_chunk16(G, vdt, p, ldp, V, ldv, j0, j1, c, d, rb, acc);
        for (; c < d; c++) /* head-dim tail */
            for (int g = 0; g < G; g++) {
                float t = 0;
                for (int j = j0; j < j1; j++) t += p[g * ldp + j] * kv1(V, vdt, (size_t)j * ldv + c, rb);
                acc[(size_t)g * d + c] += t;
            }
    }
}

#define BY_G(call_macro, G) \
    switch (G) { case 1: call_macro(1); break; case 2: call_macro(2); break; case 3: call_macro(3); break; \
                 case 4: call_macro(4); break; case 5: call_macro(5); break; default: call_macro(6); break; }

static void dot_rows(const float *q, int G, const void *K, size_t ldk, dots_dtype kdt, int n, int d, int rb,
                     float scale, float *s, size_t lds) {
#define DOT_BF(g) dot_G(g, DT_BF16, q, K, ldk, n, d, rb, scale, s, lds)
#define DOT_F(g) dot_G(g, DT_F32, q, K, ldk, n, d, rb, scale, s, lds)
    if (kdt == DT_BF16) { BY_G(DOT_BF, G) } else { BY_G(DOT_F, G) }
}

static void axpy_rows(const float *p, size_t ldp, int G, const void *V, size_t ldv, dots_dtype vdt, int n, int d,
                      int rb, float *acc) {
#define AXPY_BF(g) axpy_G(g, DT_BF16, p, ldp, V, ldv, n, d, rb, acc)
#define AXPY_F(g) axpy_G(g, DT_F32, p, ldp, V, ldv, n, d, rb, acc)
    if (vdt == DT_BF16) { BY_G(AXPY_BF, G) } else { BY_G(AXPY_F, G) }
}

void kops_fill_vec_avx2(kern_ops *o) {
    o->gelu = gelu;
    o->erf = erf_v;
    o->silu_mul = silu_mul;
    o->add = add;
    o->to_bf16 = to_bf16;
    o->round_bf16 = round_bf16;
    o->exp_sum = exp_sum;
    o->vmax = vmax;
    o->dot_rows = dot_rows;
    o->axpy_rows = axpy_rows;
}

/* AVX-512 elementwise kernels: norms, activations, bf16 rounding, softmax pieces. */
#include <math.h>
#include "kernels/simd_avx512.h"


static void rmsnorm(const float *x, const void *w, dots_dtype wdt, float eps, float *y, int rows, int dim) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * dim;
        float *yr = y + (size_t)r * dim;
        __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
        int i = 0;
        for (; i + 32 <= dim; i += 32) {
            __m512 a = _mm512_loadu_ps(xr + i), b = _mm512_loadu_ps(xr + i + 16);
            s0 = _mm512_fmadd_ps(a, a, s0);
            s1 = _mm512_fmadd_ps(b, b, s1);
        }
        for (; i < dim; i += 16) {
            __m512 a = _mm512_maskz_loadu_ps(tailmask((size_t)(dim - i)), xr + i);
            s0 = _mm512_fmadd_ps(a, a, s0);
        }
        float ss = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
        __m512 inv = _mm512_set1_ps((float)(1.0 / sqrt((double)ss / dim + eps)));
        for (i = 0; i < dim; i += 16) {
            __mmask16 m = tailmask((size_t)(dim - i));
            __m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, xr + i), inv), load16_w(w, wdt, i, m));
            _mm512_mask_storeu_ps(yr + i, m, v);
        }
    }
}

static void layernorm(const float *x, const void *w, const void *b, dots_dtype wdt, float eps, float *y, int rows,
                      int dim) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * dim;
        float *yr = y + (size_t)r * dim;
        __m512 s = _mm512_setzero_ps();
        for (int i = 0; i < dim; i += 16) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(tailmask((size_t)(dim - i)), xr + i));
        float mu = _mm512_reduce_add_ps(s) / dim;
        __m512 vm = _mm512_set1_ps(mu), q = _mm512_setzero_ps();
        for (int i = 0; i < dim; i += 16) {
            __mmask16 m = tailmask((size_t)(dim - i));
            __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, xr + i), vm);
            q = _mm512_fmadd_ps(d, d, q);
        }
        __m512 inv = _mm512_set1_ps((float)(1.0 / sqrt((double)_mm512_reduce_add_ps(q) / dim + eps)));
        for (int i = 0; i < dim; i += 16) {
            __mmask16 m = tailmask((size_t)(dim - i));
            __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, xr + i), vm), inv);
            v = _mm512_fmadd_ps(v, load16_w(w, wdt, i, m), load16_w(b, wdt, i, m));
            _mm512_mask_storeu_ps(yr + i, m, v);
        }
    }
}

static void silu_mul(float *g, const float *u, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = tailmask(n - i);
        __m512 x = _mm512_maskz_loadu_ps(m, g + i);
        __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), x));
        __m512 s = _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
        _mm512_mask_storeu_ps(g + i, m, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(m, u + i)));
    }
}

/* erf and erfc of z >= 0. Below 0.5 the Taylor series to z^13 (error < 1e-9);
 * above, erfc(z) = exp(-z^2) t P(t), t = 1/(1 + z/2), P a degree-8 least-squares
 * fit of erfc(z) exp(z^2) / t on [0.45, 10] (relative error 6e-8). exp(-z^2)
 * takes z^2 as hi + lo (FMA) so large z keep their relative accuracy. */
AINL void erf_erfc16(__m512 z, __m512 *erf_out, __m512 *erfc_out) {
    z = _mm512_min_ps(z, _mm512_set1_ps(10.0f)); /* erfc(10) < 1e-44: 0 in f32 */
    __m512 z2 = _mm512_mul_ps(z, z);
    __m512 p = _mm512_set1_ps(1.0f / 9360);
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(-1.0f / 1320));
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(1.0f / 216));
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(-1.0f / 42));
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(1.0f / 10));
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(-1.0f / 3));
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(1.0f));
    __m512 small = _mm512_mul_ps(_mm512_mul_ps(p, z), _mm512_set1_ps(1.12837916709551257f));
    __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(z, _mm512_set1_ps(0.5f), _mm512_set1_ps(1.0f)));
    static const float c[9] = {0.28207582f, 0.2825861f, 0.24137974f, 0.21024244f, -0.04602461f,
                               0.30791008f, -0.513968f, 0.29726636f, -0.06145781f};
    __m512 q = _mm512_set1_ps(c[8]);
    for (int i = 7; i >= 0; i--) q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(c[i]));
    __m512 lo = _mm512_fmsub_ps(z, z, z2); /* z*z - z2, exactly */
    __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), z2));
    e = _mm512_fnmadd_ps(e, lo, e); /* exp(-z2 - lo) ~ exp(-z2) (1 - lo) */
    __m512 big = _mm512_mul_ps(_mm512_mul_ps(e, t), q);
    __mmask16 is_small = _mm512_cmp_ps_mask(z, _mm512_set1_ps(0.5f), _CMP_LT_OQ);
    *erf_out = _mm512_mask_blend_ps(is_small, _mm512_sub_ps(_mm512_set1_ps(1.0f), big), small);
    *erfc_out = _mm512_mask_blend_ps(is_small, big, _mm512_sub_ps(_mm512_set1_ps(1.0f), small));
}

static void erf_v(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = tailmask(n - i);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i), e, ec;
        erf_erfc16(_mm512_abs_ps(v), &e, &ec);
        __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
        e = _mm512_mask_sub_ps(e, neg, _mm512_setzero_ps(), e);
        __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mask_blend_ps(nan, e, v));
    }
}

/* gelu(x) = x/2 (1 + erf(x/sqrt2)); for x < 0 it is x/2 erfc(|x|/sqrt2), which
 * keeps its relative accuracy where 1 + erf cancels. */
static void gelu(float *x, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = tailmask(n - i);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i), e, ec;
        erf_erfc16(_mm512_mul_ps(_mm512_abs_ps(v), _mm512_set1_ps(0.70710678118654752f)), &e, &ec);
        __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
        __m512 f = _mm512_mask_blend_ps(neg, _mm512_add_ps(_mm512_set1_ps(1.0f), e), ec);
        __m512 r = _mm512_mul_ps(_mm512_mul_ps(v, _mm512_set1_ps(0.5f)), f);
        __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        _mm512_mask_storeu_ps(x + i, m, _mm512_mask_blend_ps(nan, r, v));
    }
}

static void add(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = tailmask(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, y + i), _mm512_maskz_loadu_ps(m, x + i)));
    }
}

static void to_bf16(const float *x, bf16_t *y, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = tailmask(n - i);
        _mm256_mask_storeu_epi16(y + i, m, cvt16_bf16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

static void round_bf16(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = tailmask(n - i);
        __m512i h = _mm512_cvtepu16_epi32(cvt16_bf16(_mm512_maskz_loadu_ps(m, x + i)));
        _mm512_mask_storeu_ps(y + i, m, _mm512_castsi512_ps(_mm512_slli_epi32(h, 16)));
    }
}

static float exp_sum(const float *s, int n, float shift, float *pf, bf16_t *pb) {
    __m512 sum = _mm512_setzero_ps(), sh = _mm512_set1_ps(shift);
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = tailmask((size_t)(n - i));
        __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, s + i), sh));
        e = _mm512_maskz_mov_ps(m, e);
        if (pf) _mm512_mask_storeu_ps(pf + i, m, e);
        else _mm256_mask_storeu_epi16(pb + i, m, cvt16_bf16(e));
        sum = _mm512_add_ps(sum, e);
    }
    return _mm512_reduce_add_ps(sum);
}

static float vmax(const float *s, int n) {
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = tailmask((size_t)(n - i));
        mx = _mm512_mask_max_ps(mx, m, mx, _mm512_maskz_loadu_ps(m, s + i));
    }
    return _mm512_reduce_max_ps(mx);
}

/* 16 K/V values as f32, rounded to bf16 values if rb (f32 source) */
AINL __m512 load16_kv(const void *K, dots_dtype kdt, size_t i, __mmask16 m, int rb) {
    __m512 v = load16_w(K, kdt, i, m);
    if (rb && kdt == DT_F32) v = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(cvt16_bf16(v)), 16));
    return v;
}

/* 16 keys at a time: their K rows are widened once into an L1 block (f32,
 * zero padded, laid out [dim chunk][key][16]), then each of the G heads makes 16 partial-sum vectors that one
 * hsum16 reduces. */
static void dot_rows(const float *q, int G, const void *K, size_t ldk, dots_dtype kdt, int n, int d, int rb,
                     float scale, float *s, size_t lds) {
    float kb[16 * 1024] __attribute__((aligned(64)));  /* d <= 1024: checked by the caller */
    int dp = (d + 15) & ~15;
    __m512 sc = _mm512_set1_ps(scale);
    for (int j0 = 0; j0 < n; j0 += 16) {
        int nj = n - j0 < 16 ? n - j0 : 16;
        if (nj == 16 && dp == d && kdt == DT_BF16) { /* the LM's bf16 cache: plain widening */
            for (int jj = 0; jj < 16; jj++) {
                const bf16_t *kr = (const bf16_t *)K + (size_t)(j0 + jj) * ldk;
                for (int c = 0; c < d; c += 16)
                    _mm512_store_ps(kb + c * 16 + jj * 16, _mm512_castsi512_ps(_mm512_slli_epi32(
                        _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(kr + c))), 16)));
            }
        } else {
            for (int jj = 0; jj < 16; jj++)
                for (int c = 0; c < dp; c += 16) {
                    __mmask16 m = jj < nj ? tailmask((size_t)(d - c)) : 0;
                    _mm512_store_ps(kb + c * 16 + jj * 16, load16_kv(K, kdt, (size_t)(j0 + jj) * ldk + c, m, rb));
                }
        }
        for (int g = 0; g < G; g++) {
            const float *qg = q + (size_t)g * d;
            __m512 part[16];
            for (int jj = 0; jj < 16; jj++) part[jj] = _mm512_setzero_ps();
            for (int c = 0; c < dp; c += 16) {
                __m512 qv = _mm512_maskz_loadu_ps(tailmask((size_t)(d - c)), qg + c);
                const float *kc = kb + c * 16; /* [dim chunk][key][16]: constant offsets */
#pragma GCC unroll 16
                for (int jj = 0; jj < 16; jj++) part[jj] = _mm512_fmadd_ps(qv, _mm512_load_ps(kc + jj * 16), part[jj]);
            }
            _mm512_mask_storeu_ps(s + g * lds + j0, tailmask((size_t)nj), _mm512_mul_ps(hsum16(part), sc));
        }
    }
}

/* 64 dims at a time: G x 4 accumulators stay in registers across all keys
 * (G is a compile-time constant in each instantiation). */
AINL void axpy_T(const int G, const float *p, size_t ldp, const void *V, size_t ldv, dots_dtype vdt, int n, int d,
                 int rb, float *acc) {
    for (int c = 0; c < d; c += 64) {
        __m512 a[DEC_G][4];
        __mmask16 m[4];
        for (int x = 0; x < 4; x++) m[x] = c + 16 * x < d ? tailmask((size_t)(d - c - 16 * x)) : 0;
        for (int g = 0; g < G; g++)
            for (int x = 0; x < 4; x++) a[g][x] = _mm512_maskz_loadu_ps(m[x], acc + (size_t)g * d + c + 16 * x);
        for (int j = 0; j < n; j++) {
            size_t base = (size_t)j * ldv + c;
            __m512 vv[4];
#pragma GCC unroll 4
            for (int x = 0; x < 4; x++) vv[x] = load16_kv(V, vdt, base + 16 * x, m[x], rb);
#pragma GCC unroll 6
            for (int g = 0; g < G; g++) {
                __m512 pj = _mm512_set1_ps(p[g * ldp + j]);
#pragma GCC unroll 4
                for (int x = 0; x < 4; x++) a[g][x] = _mm512_fmadd_ps(pj, vv[x], a[g][x]);
            }
        }
        for (int g = 0; g < G; g++)
            for (int x = 0; x < 4; x++) _mm512_mask_storeu_ps(acc + (size_t)g * d + c + 16 * x, m[x], a[g][x]);
    }
}

static void axpy_rows(const float *p, size_t ldp, int G, const void *V, size_t ldv, dots_dtype vdt, int n, int d,
                      int rb, float *acc) {
    int bf = vdt == DT_BF16;
    switch (G * 2 + bf) {
#define AX(g) case 2 * g: axpy_T(g, p, ldp, V, ldv, DT_F32, n, d, rb, acc); break; \
              case 2 * g + 1: axpy_T(g, p, ldp, V, ldv, DT_BF16, n, d, rb, acc); break;
    AX(1) AX(2) AX(3) AX(4) AX(5) AX(6)
#undef AX
    default: break;
    }
}

void kops_fill_vec_avx512(kern_ops *o) {
    o->dot_rows = dot_rows;
    o->axpy_rows = axpy_rows;
    o->rmsnorm = rmsnorm;
    o->layernorm = layernorm;
    o->silu_mul = silu_mul;
    o->gelu = gelu;
    o->add = add;
    o->to_bf16 = to_bf16;
    o->round_bf16 = round_bf16;
    o->exp_sum = exp_sum;
    o->vmax = vmax;
    o->erf = erf_v;
}

/* Reference quantizers for Q8_0 / Q4_K / Q6_K (ggml's layouts and rounding) and
 * the Q8_K activation format used by the Q4_K dot products. Written from the
 * documented algorithm (ggml-quants.c's *_ref functions), not copied. The Q4_K /
 * Q6_K scale searches also run in vector lanes (quant_row_q4_k / _q6_k), bit-equal
 * to the scalar ones (quant_row_q4_k_ref / _q6_k_ref); convert_rows spreads a
 * tensor's rows over a pool. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/quant.h"

/* Round half to even, as ggml's nearest_int does (|v| < 2^22 here). */
static inline int round_even(float v) { return (int)lrintf(v); }
/* round_even of v clamped to [lo, hi] first: the same integer as clamping the rounded
 * value wherever that is defined, and lo / hi for NaN / +-inf too (a sub-block of
 * denormals makes the search's iscale inf), where lrintf's result is not. */
static inline int round_clamp(float v, int lo, int hi) {
    v = v > (float)lo ? v : (float)lo;
    v = v < (float)hi ? v : (float)hi;
    return (int)lrintf(v);
}

/* roundf(v) for |v| < 2^31 (half away from zero, as ggml and gguf's np_roundf), without
 * the libm call: t = v truncated and f = v - t are exact (Sterbenz), so the result is too
 * (checked against roundf for every such float). Anything else (inf, NaN: a block of
 * denormals makes 1 / d overflow) is 0, the byte gguf writes there. The Q8_0 weight
 * quantizer spent ~30% of a load in roundf / fmaxf calls. */
static inline int round_half_away(float v) {
    if (!(fabsf(v) < 2147483520.0f)) return 0;
    int t = (int)v;
    float f = v - (float)t;
    return t + (f >= 0.5f) - (f <= -0.5f);
}

void quant_row_q8_0(const float *x, blk_q8_0 *y, int64_t n) {
    for (int64_t b = 0; b < n / QK8_0; b++, x += QK8_0) {
        float amax = 0;
        for (int i = 0; i < QK8_0; i++) {
            float a = fabsf(x[i]);
            amax = a > amax ? a : amax; /* fmaxf's result here: a NaN never wins */
        }
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_f16(d);
        for (int i = 0; i < QK8_0; i++) y[b].qs[i] = (int8_t)round_half_away(x[i] * id);
    }
}

void dequant_row_q8_0(const blk_q8_0 *x, float *y, int64_t n) {
    for (int64_t b = 0; b < n / QK8_0; b++) {
        float d = f16_to_f32(x[b].d);
        for (int i = 0; i < QK8_0; i++) y[b * QK8_0 + i] = d * (float)x[b].qs[i];
    }
}

/* Fits x[i] ~ scale * L[i] - min_out with L in [0, nmax], minimizing the
 * weighted squared error: a first guess from min/max, then nstep rescaled
 * candidates each refined by weighted least squares (ggml's make_qkx2_quants
 * with use_mad = false). Returns scale, stores the (positive) min. */
static float fit_scale_min(int n, int nmax, const float *x, const float *w, uint8_t *L, float *min_out,
                           float rmin, float rdelta, int nstep) {
    float lo = x[0], hi = x[0], sum_w = w[0], sum_x = w[0] * x[0];
    for (int i = 1; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo; /* not fminf: its choice between -0 and +0 is libm's */
        hi = x[i] > hi ? x[i] : hi;
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (lo > 0) lo = 0;
    if (hi == lo) {
        memset(L, 0, (size_t)n);
        *min_out = -lo;
        return 0;
    }
    float iscale = nmax / (hi - lo), scale = 1 / iscale, best = 0;
    for (int i = 0; i < n; i++) {
        L[i] = (uint8_t)round_clamp(iscale * (x[i] - lo), 0, nmax);
        float diff = scale * L[i] + lo - x[i];
        best += w[i] * diff * diff;
    }
    uint8_t Laux[32];
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * is + nmax) / (hi - lo);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = round_clamp(iscale * (x[i] - lo), 0, nmax);
            Laux[i] = (uint8_t)l;
            sum_l += w[i] * l;
            sum_l2 += w[i] * l * l;
            sum_xl += w[i] * l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D <= 0) continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
        if (this_min > 0) {
            this_min = 0;
            this_scale = sum_xl / sum_l2;
        }
        float err = 0;
        for (int i = 0; i < n; i++) {
            float diff = this_scale * Laux[i] + this_min - x[i];
            err += w[i] * diff * diff;
        }
        if (err < best) {
            memcpy(L, Laux, (size_t)n);
            best = err;
            scale = this_scale;
            lo = this_min;
        }
    }
    *min_out = -lo;
    return scale;
}

/* --- the same searches in vector lanes, one sub-block a lane ---------------
 * GCC vector extensions at 128 bits, the width every target has natively (SSE2,
 * NEON); a super-block's 8 (16) sub-blocks are 2 (4) lane groups side by side.
 * Each lane runs the scalar search's operations in its order -- no fused
 * multiply-adds: this file is built with -ffp-contract=off -- so the bytes are
 * the scalar functions' (tested). The scalar search was bound by its dependent
 * sums (21 candidates x 32 values x three add chains a sub-block, ~79 ns a
 * weight for Q4_K); the lanes share that latency. Both clamp before they round
 * (round_clamp), so an inf or NaN (denormal sub-blocks) codes the same too. */
typedef float vf4 __attribute__((vector_size(16)));
typedef int32_t vi4 __attribute__((vector_size(16)));
#define SPLAT4(v) ((vf4){(v), (v), (v), (v)})
static inline vf4 sel4(vi4 m, vf4 a, vf4 b) { return (vf4)((m & (vi4)a) | (~m & (vi4)b)); }
/* round half to even of v clamped to [lo, hi] (integers: clamping first gives the
 * same integer; the sum's spacing is 1 for |v| < 2^22); NaN -> lo */
static inline vf4 round_clamp4(vf4 v, vf4 lo, vf4 hi) {
    const vf4 magic = SPLAT4(12582912.0f);
    v = sel4(v > lo, v, lo);
    v = sel4(v < hi, v, hi);
    return (v + magic) - magic;
}

/* fit_scale_min(32, 15, ..., -1, 0.1, 20) for the 8 sub-blocks of a Q4_K super-block */
static void fit8_scale_min(const float *x, const float *w, uint8_t *L, float *scales, float *mins) {
    enum { G = 2 }; /* lane groups: sub-block 4g + lane */
    const int nmax = 15, nstep = 20;
    const float rmin = -1.0f, rdelta = 0.1f;
    vf4 X[32][G], W[32][G], Lbest[32][G], Laux[32][G];
    for (int i = 0; i < 32; i++)
        for (int j = 0; j < 4 * G; j++) { X[i][j / 4][j % 4] = x[32 * j + i]; W[i][j / 4][j % 4] = w[32 * j + i]; }
    const vf4 zero = SPLAT4(0.0f), top = SPLAT4((float)nmax);
    vf4 lo[G], hi[G], sum_w[G], sum_x[G], iscale[G], scale[G], best[G], lo_flat[G];
    vi4 flat[G];
    _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
        lo[g] = hi[g] = X[0][g];
        sum_w[g] = W[0][g];
        sum_x[g] = W[0][g] * X[0][g];
        for (int i = 1; i < 32; i++) {
            lo[g] = sel4(X[i][g] < lo[g], X[i][g], lo[g]);
            hi[g] = sel4(X[i][g] > hi[g], X[i][g], hi[g]);
            sum_w[g] += W[i][g];
            sum_x[g] += W[i][g] * X[i][g];
        }
        lo[g] = sel4(lo[g] > zero, zero, lo[g]);
        flat[g] = hi[g] == lo[g]; /* the scalar search returns here: L = 0, scale 0 */
        lo_flat[g] = lo[g];
        iscale[g] = SPLAT4((float)nmax) / (hi[g] - lo[g]);
        scale[g] = SPLAT4(1.0f) / iscale[g];
        best[g] = zero;
    }
    for (int i = 0; i < 32; i++)
        _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
            Lbest[i][g] = round_clamp4(iscale[g] * (X[i][g] - lo[g]), zero, top);
            vf4 diff = scale[g] * Lbest[i][g] + lo[g] - X[i][g];
            best[g] += W[i][g] * diff * diff;
        }
    for (int is = 0; is <= nstep; is++) {
        vf4 sum_l[G], sum_l2[G], sum_xl[G], err[G];
        _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
            iscale[g] = SPLAT4(rmin + rdelta * (float)is + (float)nmax) / (hi[g] - lo[g]);
            sum_l[g] = sum_l2[g] = sum_xl[g] = err[g] = zero;
        }
        for (int i = 0; i < 32; i++)
            _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
                vf4 l = round_clamp4(iscale[g] * (X[i][g] - lo[g]), zero, top);
                Laux[i][g] = l;
                sum_l[g] += W[i][g] * l;
                sum_l2[g] += W[i][g] * l * l;
                sum_xl[g] += W[i][g] * l * X[i][g];
            }
        vf4 D[G], this_scale[G], this_min[G];
        _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
            D[g] = sum_w[g] * sum_l2[g] - sum_l[g] * sum_l[g];
            this_scale[g] = (sum_w[g] * sum_xl[g] - sum_x[g] * sum_l[g]) / D[g];
            this_min[g] = (sum_l2[g] * sum_x[g] - sum_l[g] * sum_xl[g]) / D[g];
            vi4 pos = this_min[g] > zero;
            this_min[g] = sel4(pos, zero, this_min[g]);
            this_scale[g] = sel4(pos, sum_xl[g] / sum_l2[g], this_scale[g]);
        }
        for (int i = 0; i < 32; i++)
            _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
                vf4 diff = this_scale[g] * Laux[i][g] + this_min[g] - X[i][g];
                err[g] += W[i][g] * diff * diff;
            }
        _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
            vi4 take = ~(D[g] <= zero) & (err[g] < best[g]);
            for (int i = 0; i < 32; i++) Lbest[i][g] = sel4(take, Laux[i][g], Lbest[i][g]);
            best[g] = sel4(take, err[g], best[g]);
            scale[g] = sel4(take, this_scale[g], scale[g]);
            lo[g] = sel4(take, this_min[g], lo[g]);
        }
    }
    for (int j = 0; j < 4 * G; j++) {
        int g = j / 4, k = j % 4, f = flat[g][k] != 0;
        scales[j] = f ? 0.0f : scale[g][k];
        mins[j] = -(f ? lo_flat[g][k] : lo[g][k]);
        for (int i = 0; i < 32; i++) L[32 * j + i] = f ? 0 : (uint8_t)Lbest[i][g][k];
    }
}

/* The sub-block weights of a Q4_K super-block: av_x + |x|, av_x the sub-block's RMS. */
static void q4k_weights(const float *x, float w[QK_K]) {
    for (int j = 0; j < 8; j++) {
        const float *xs = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += xs[l] * xs[l];
        float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) w[32 * j + l] = av_x + fabsf(xs[l]);
    }
}

/* Packs the 8 fitted scales / mins of x as 6-bit codes under f16 d / dmin,
 * requantizes x against them, and writes the block. */
static void q4k_store(const float *x, uint8_t L[QK_K], const float scales[8], const float mins[8], blk_q4_k *y) {
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
        max_scale = fmaxf(max_scale, scales[j]);
        max_min = fmaxf(max_min, mins[j]);
    }
    float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0, inv_min = max_min > 0 ? 63.0f / max_min : 0;
    memset(y->scales, 0, sizeof y->scales);
    for (int j = 0; j < 8; j++) {
        int ls = round_even(inv_scale * scales[j]), lm = round_even(inv_min * mins[j]);
        ls = ls > 63 ? 63 : ls;
        lm = lm > 63 ? 63 : lm;
        if (j < 4) {
            y->scales[j] = (uint8_t)ls;
            y->scales[j + 4] = (uint8_t)lm;
        } else {
            y->scales[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
            y->scales[j - 4] |= (uint8_t)((ls >> 4) << 6);
            y->scales[j] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    y->d = f32_to_f16(max_scale / 63.0f);
    y->dmin = f32_to_f16(max_min / 63.0f);
    /* requantize against the rounded 6-bit scales actually stored */
    float d_all = f16_to_f32(y->d), dmin_all = f16_to_f32(y->dmin);
    for (int j = 0; j < 8; j++) {
        int sc, m;
        q4k_scale_min(j, y->scales, &sc, &m);
        float d = d_all * sc;
        if (d == 0.0f) continue;
        float dm = dmin_all * m;
        for (int l = 0; l < 32; l++) {
            L[32 * j + l] = (uint8_t)round_clamp((x[32 * j + l] + dm) / d, 0, 15);
        }
    }
    for (int g = 0; g < 4; g++)
        for (int l = 0; l < 32; l++) y->qs[32 * g + l] = (uint8_t)(L[64 * g + l] | (L[64 * g + 32 + l] << 4));
}

/* lanes: the vector-lane search, else the scalar one sub-block at a time */
static void q4k_row(const float *x, blk_q4_k *y, int64_t n, int lanes) {
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        uint8_t L[QK_K];
        float w[QK_K], scales[8], mins[8];
        q4k_weights(x, w);
        if (lanes) fit8_scale_min(x, w, L, scales, mins);
        else
            for (int j = 0; j < 8; j++)
                scales[j] = fit_scale_min(32, 15, x + 32 * j, w + 32 * j, L + 32 * j, &mins[j], -1.0f, 0.1f, 20);
        q4k_store(x, L, scales, mins, y + b);
    }
}

void quant_row_q4_k_ref(const float *x, blk_q4_k *y, int64_t n) { q4k_row(x, y, n, 0); }
void quant_row_q4_k(const float *x, blk_q4_k *y, int64_t n) { q4k_row(x, y, n, 1); }

void dequant_row_q4_k(const blk_q4_k *x, float *y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        float d = f16_to_f32(x[b].d), dmin = f16_to_f32(x[b].dmin);
        for (int j = 0; j < 8; j++) {
            int sc, m;
            q4k_scale_min(j, x[b].scales, &sc, &m);
            float ds = d * sc, dm = dmin * m;
            const uint8_t *q = x[b].qs + 32 * (j / 2);
            int shift = (j & 1) * 4;
            for (int l = 0; l < 32; l++) y[32 * j + l] = ds * (float)((q[l] >> shift) & 0xF) - dm;
        }
    }
}

/* Fits x[i] ~ scale * (L[i] - nmax) with L in [0, 2 nmax - 1], weights x^2:
 * the first guess maps the largest |x| (its sign kept) to -nmax, then 18
 * rescaled guesses are kept when they raise sum(w x l)^2 / sum(w l^2), the
 * least-squares gain (ggml's make_qx_quants with rmse_type 1). Returns scale. */
static float fit_scale_sym(int n, int nmax, const float *x, uint8_t *L) {
    float amax = 0, max = 0;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > amax) { amax = fabsf(x[i]); max = x[i]; }
    if (amax < 1e-15f) { memset(L, 0, (size_t)n); return 0; }
    float iscale = -nmax / max, sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = round_clamp(iscale * x[i], -nmax, nmax - 1);
        L[i] = (uint8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 != 0 ? sumlx / suml2 : 0.0f, best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = round_clamp(iscale * x[i], -nmax, nmax - 1);
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) L[i] = (uint8_t)(nmax + round_clamp(iscale * x[i], -nmax, nmax - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* fit_scale_sym(16, 32, ...) for the 16 sub-blocks of a Q6_K super-block */
static void fit16_scale_sym(const float *x, uint8_t *L, float *scales) {
    enum { G = 4 }; /* lane groups: sub-block 4g + lane */
    const int nmax = 32;
    vf4 X[16][G], Lbest[16][G], Laux[16][G];
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 4 * G; j++) X[i][j / 4][j % 4] = x[16 * j + i];
    const vf4 zero = SPLAT4(0.0f), bot = SPLAT4((float)-nmax), top = SPLAT4((float)(nmax - 1));
    vf4 max[G], iscale[G], sumlx[G], suml2[G], scale[G], best[G];
    vi4 tiny[G];
    _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
        vf4 amax = zero;
        max[g] = zero;
        for (int i = 0; i < 16; i++) {
            vf4 a = (vf4)((vi4)X[i][g] & 0x7fffffff);
            vi4 m = a > amax;
            amax = sel4(m, a, amax);
            max[g] = sel4(m, X[i][g], max[g]);
        }
        tiny[g] = amax < SPLAT4(1e-15f); /* the scalar search returns here: L = 0, scale 0 */
        iscale[g] = SPLAT4((float)-nmax) / max[g];
        sumlx[g] = suml2[g] = zero;
    }
    for (int i = 0; i < 16; i++)
        _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
            Lbest[i][g] = round_clamp4(iscale[g] * X[i][g], bot, top);
            vf4 w = X[i][g] * X[i][g];
            sumlx[g] += w * X[i][g] * Lbest[i][g];
            suml2[g] += w * Lbest[i][g] * Lbest[i][g];
        }
    _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
        scale[g] = sel4(suml2[g] != zero, sumlx[g] / suml2[g], zero);
        best[g] = scale[g] * sumlx[g];
    }
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
            iscale[g] = SPLAT4(-((float)nmax + 0.1f * (float)is)) / max[g];
            sumlx[g] = suml2[g] = zero;
        }
        for (int i = 0; i < 16; i++)
            _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
                vf4 l = round_clamp4(iscale[g] * X[i][g], bot, top);
                Laux[i][g] = l;
                vf4 w = X[i][g] * X[i][g];
                sumlx[g] += w * X[i][g] * l;
                suml2[g] += w * l * l;
            }
        _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
            vi4 take = (suml2[g] > zero) & (sumlx[g] * sumlx[g] > best[g] * suml2[g]);
            for (int i = 0; i < 16; i++) Lbest[i][g] = sel4(take, Laux[i][g], Lbest[i][g]);
            vf4 s_new = sumlx[g] / suml2[g];
            scale[g] = sel4(take, s_new, scale[g]);
            best[g] = sel4(take, s_new * sumlx[g], best[g]);
        }
    }
    for (int j = 0; j < 4 * G; j++) {
        int g = j / 4, k = j % 4, t = tiny[g][k] != 0;
        scales[j] = t ? 0.0f : scale[g][k];
        for (int i = 0; i < 16; i++) L[16 * j + i] = t ? 0 : (uint8_t)((int)Lbest[i][g][k] + nmax);
    }
}

/* Packs the 16 fitted sub-block scales of x as int8 under an f16 d, requantizes
 * x against them and writes the block. */
static void q6k_store(const float *x, uint8_t L[QK_K], const float scales[16], blk_q6_k *y) {
    float max_scale = 0, max_abs = 0;
    for (int j = 0; j < 16; j++)
        if (fabsf(scales[j]) > max_abs) { max_abs = fabsf(scales[j]); max_scale = scales[j]; }
    memset(y, 0, sizeof *y);
    if (max_abs < 1e-15f) return; /* all zero: d = 0 */
    /* the largest |scale| maps to -128 (its sign kept), so int8 scales cover it */
    float iscale = -128.0f / max_scale;
    y->d = f32_to_f16(1 / iscale);
    for (int j = 0; j < 16; j++) {
        int v = round_even(iscale * scales[j]);
        y->scales[j] = (int8_t)(v > 127 ? 127 : v);
    }
    /* requantize against the stored (f16 d, int8) scales */
    for (int j = 0; j < 16; j++) {
        float d = f16_to_f32(y->d) * y->scales[j];
        if (d == 0.0f) continue;
        for (int i = 0; i < 16; i++) {
            L[16 * j + i] = (uint8_t)(round_clamp(x[16 * j + i] / d, -32, 31) + 32);
        }
    }
    for (int h = 0; h < 2; h++) {
        const uint8_t *Lh = L + 128 * h;
        for (int l = 0; l < 32; l++) {
            y->ql[64 * h + l] = (uint8_t)((Lh[l] & 0xF) | ((Lh[l + 64] & 0xF) << 4));
            y->ql[64 * h + 32 + l] = (uint8_t)((Lh[l + 32] & 0xF) | ((Lh[l + 96] & 0xF) << 4));
            y->qh[32 * h + l] = (uint8_t)((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) | ((Lh[l + 64] >> 4) << 4) |
                                          ((Lh[l + 96] >> 4) << 6));
        }
    }
}

/* lanes: the vector-lane search, else the scalar one sub-block at a time */
static void q6k_row(const float *x, blk_q6_k *y, int64_t n, int lanes) {
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        uint8_t L[QK_K];
        float scales[16];
        if (lanes) fit16_scale_sym(x, L, scales);
        else
            for (int j = 0; j < 16; j++) scales[j] = fit_scale_sym(16, 32, x + 16 * j, L + 16 * j);
        q6k_store(x, L, scales, y + b);
    }
}

void quant_row_q6_k_ref(const float *x, blk_q6_k *y, int64_t n) { q6k_row(x, y, n, 0); }
void quant_row_q6_k(const float *x, blk_q6_k *y, int64_t n) { q6k_row(x, y, n, 1); }

void dequant_row_q6_k(const blk_q6_k *x, float *y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        float d = f16_to_f32(x[b].d);
        for (int i = 0; i < QK_K; i++) y[i] = d * (float)x[b].scales[i / 16] * (float)(q6k_value(&x[b], i) - 32);
    }
}

/* Activations for Q4_K dots: q = round(x * 127 / amax), so |q| <= 127 and
 * u8 x s8 products (vpmaddubsw) pair-sum within int16. */
void quant_row_q8_k(const float *x, blk_q8_k *y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        float amax = 0;
        for (int i = 0; i < QK_K; i++) amax = fmaxf(amax, fabsf(x[i]));
        float id = amax > 0 ? 127.0f / amax : 0;
        y[b].d = amax / 127.0f;
        for (int i = 0; i < QK_K; i++) {
            int q = (int)roundf(x[i] * id);
            y[b].qs[i] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
        }
        for (int g = 0; g < QK_K / 16; g++) {
            int s = 0;
            for (int i = 0; i < 16; i++) s += y[b].qs[16 * g + i];
            y[b].bsums[g] = (int16_t)s;
        }
    }
}

int quant_row(dots_dtype t, const float *x, void *dst, int64_t n) {
    int block = dtype_block_elems(t); /* 0 for a type that is none: no division by it */
    if (n < 0 || block <= 0 || n % block != 0) return -1;
    switch (t) {
    case DT_Q8_0: quant_row_q8_0(x, dst, n); return 0;
    case DT_Q4_K: quant_row_q4_k(x, dst, n); return 0;
    case DT_Q6_K: quant_row_q6_k(x, dst, n); return 0;
    case DT_F32: memcpy(dst, x, (size_t)n * sizeof(float)); return 0;
    case DT_F16:
        for (int64_t i = 0; i < n; i++) ((f16_t *)dst)[i] = f32_to_f16(x[i]);
        return 0;
    case DT_BF16:
        for (int64_t i = 0; i < n; i++) ((bf16_t *)dst)[i] = f32_to_bf16(x[i]);
        return 0;
    default: return -1;
    }
}

int dequant_row(dots_dtype t, const void *src, float *dst, int64_t n) {
    int block = dtype_block_elems(t); /* 0 for a type that is none: no division by it */
    if (n < 0 || block <= 0 || n % block != 0) return -1;
    switch (t) {
    case DT_Q8_0: dequant_row_q8_0(src, dst, n); return 0;
    case DT_Q4_K: dequant_row_q4_k(src, dst, n); return 0;
    case DT_Q6_K: dequant_row_q6_k(src, dst, n); return 0;
    case DT_F32: case DT_F16: case DT_BF16: dtype_to_f32(t, src, dst, (size_t)n); return 0;
    default: return -1;
    }
}

typedef struct {
    dots_dtype from, to;
    const char *src;
    char *dst;
    int64_t rows, K;
    size_t in_row, out_row;
    volatile int failed;
} convert_job;

enum { CONVERT_TASK_ROWS = 64 };

static void convert_task(void *ctx, int task, int thread) {
    (void)thread;
    convert_job *j = ctx;
    int64_t r0 = (int64_t)task * CONVERT_TASK_ROWS, r1 = r0 + CONVERT_TASK_ROWS < j->rows ? r0 + CONVERT_TASK_ROWS : j->rows;
    float *row = malloc(sizeof(float) * (size_t)(j->K ? j->K : 1));
    if (!row) { j->failed = 1; return; }
    for (int64_t r = r0; r < r1; r++) {
        dequant_row(j->from, j->src + (size_t)r * j->in_row, row, j->K);
        quant_row(j->to, row, j->dst + (size_t)r * j->out_row, j->K);
    }
    free(row);
}

int convert_rows(dots_pool *pool, dots_dtype from, const void *src, dots_dtype to, void *dst, int64_t rows, int64_t K) {
    convert_job j = {from, to, src, dst, rows, K, (size_t)dtype_row_bytes(from, (uint64_t)K),
                     (size_t)dtype_row_bytes(to, (uint64_t)K), 0};
    if (rows < 0 || K < 0 || (K > 0 && (!j.in_row || !j.out_row))) return -1;
    /* the types dequant_row / quant_row take, asked of them with no elements */
    float none_f32[1];
    char none_out[4];
    if (dequant_row(from, none_out, none_f32, 0) || quant_row(to, none_f32, none_out, 0)) return -1;
    int64_t ntasks = (rows + CONVERT_TASK_ROWS - 1) / CONVERT_TASK_ROWS;
    if (ntasks > 0x7fffffff) return -1;
    pool_run(pool, (int)ntasks, convert_task, &j);
    return j.failed ? -2 : 0;
}

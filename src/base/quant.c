/* Scalar reference quantizers for Q8_0 / Q4_K / Q6_K (ggml's layouts and rounding)
 * and the Q8_K activation format used by the Q4_K dot products. Written from
 * the documented algorithm (ggml-quants.c's *_ref functions), not copied. */
#include <math.h>
#include <string.h>
#include "base/quant.h"

/* Round half to even, as ggml's nearest_int does (|v| < 2^22 here). */
static inline int round_even(float v) { return (int)lrintf(v); }

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

/* Scale and min of sub-block j (0..7) from the 12 packed bytes. */
static inline void q4k_scale_min(int j, const uint8_t *s, int *sc, int *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
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
        lo = fminf(lo, x[i]);
        hi = fmaxf(hi, x[i]);
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
        int l = round_even(iscale * (x[i] - lo));
        L[i] = (uint8_t)(l < 0 ? 0 : l > nmax ? nmax : l);
        float diff = scale * L[i] + lo - x[i];
        best += w[i] * diff * diff;
    }
    uint8_t Laux[32];
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * is + nmax) / (hi - lo);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = round_even(iscale * (x[i] - lo));
            l = l < 0 ? 0 : l > nmax ? nmax : l;
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

static void quant_block_q4_k(const float *x, blk_q4_k *y) {
    uint8_t L[QK_K];
    float w[32], scales[8], mins[8], max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
        const float *xs = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += xs[l] * xs[l];
        float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) w[l] = av_x + fabsf(xs[l]);
        scales[j] = fit_scale_min(32, 15, xs, w, L + 32 * j, &mins[j], -1.0f, 0.1f, 20);
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
            int q = round_even((x[32 * j + l] + dm) / d);
            L[32 * j + l] = (uint8_t)(q < 0 ? 0 : q > 15 ? 15 : q);
        }
    }
    for (int g = 0; g < 4; g++)
        for (int l = 0; l < 32; l++) y->qs[32 * g + l] = (uint8_t)(L[64 * g + l] | (L[64 * g + 32 + l] << 4));
}

void quant_row_q4_k(const float *x, blk_q4_k *y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; b++) quant_block_q4_k(x + b * QK_K, y + b);
}

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
        int l = round_even(iscale * x[i]);
        l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
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
            int l = round_even(iscale * x[i]);
            l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) {
                int l = round_even(iscale * x[i]);
                L[i] = (uint8_t)(nmax + (l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

static void quant_block_q6_k(const float *x, blk_q6_k *y) {
    uint8_t L[QK_K];
    float scales[16], max_scale = 0, max_abs = 0;
    for (int j = 0; j < 16; j++) {
        scales[j] = fit_scale_sym(16, 32, x + 16 * j, L + 16 * j);
        if (fabsf(scales[j]) > max_abs) { max_abs = fabsf(scales[j]); max_scale = scales[j]; }
    }
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
            int l = round_even(x[16 * j + i] / d);
            L[16 * j + i] = (uint8_t)((l < -32 ? -32 : l > 31 ? 31 : l) + 32);
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

void quant_row_q6_k(const float *x, blk_q6_k *y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; b++) quant_block_q6_k(x + b * QK_K, y + b);
}

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
    if (n < 0 || n % dtype_block_elems(t) != 0) return -1;
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
    if (n < 0 || n % dtype_block_elems(t) != 0) return -1;
    switch (t) {
    case DT_Q8_0: dequant_row_q8_0(src, dst, n); return 0;
    case DT_Q4_K: dequant_row_q4_k(src, dst, n); return 0;
    case DT_Q6_K: dequant_row_q6_k(src, dst, n); return 0;
    case DT_F32: case DT_F16: case DT_BF16: dtype_to_f32(t, src, dst, (size_t)n); return 0;
    default: return -1;
    }
}

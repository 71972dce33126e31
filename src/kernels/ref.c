/* Scalar reference kernels: the definition every SIMD kernel is tested against. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/kern_impl.h"

static float round_bf16(float x) { return bf16_to_f32(f32_to_bf16(x)); }

void ref_linear(const float *x, int M, int K, const void *W, dots_dtype wdt, const void *bias, dots_dtype bdt,
                float *y, int N) {
    int rb = wdt == DT_BF16; /* activations rounded to bf16 (numeric contract) */
    for (int m = 0; m < M; m++) {
        const float *xm = x + (size_t)m * K;
        for (int n = 0; n < N; n++) {
            float s = 0;
            size_t base = (size_t)n * K;
            for (int k = 0; k < K; k++) s += (rb ? round_bf16(xm[k]) : xm[k]) * kern_w_at(W, wdt, base + k);
            if (bias) s += kern_w_at(bias, bdt, (size_t)n);
            y[(size_t)m * N + n] = s;
        }
    }
}

void ref_rmsnorm(const float *x, const void *w, dots_dtype wdt, float eps, float *y, int rows, int dim) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * dim;
        float *yr = y + (size_t)r * dim;
        double ss = 0;
        for (int i = 0; i < dim; i++) ss += (double)xr[i] * xr[i];
        float inv = (float)(1.0 / sqrt(ss / dim + eps));
        for (int i = 0; i < dim; i++) yr[i] = xr[i] * inv * kern_w_at(w, wdt, (size_t)i);
    }
}

void ref_layernorm(const float *x, const void *w, const void *b, dots_dtype wdt, float eps, float *y, int rows, int dim) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * dim;
        float *yr = y + (size_t)r * dim;
        double mean = 0, var = 0;
        for (int i = 0; i < dim; i++) mean += xr[i];
        mean /= dim;
        for (int i = 0; i < dim; i++) { double d = xr[i] - mean; var += d * d; }
        var /= dim;
        float inv = (float)(1.0 / sqrt(var + eps)), mu = (float)mean;
        for (int i = 0; i < dim; i++) yr[i] = (xr[i] - mu) * inv * kern_w_at(w, wdt, (size_t)i) + kern_w_at(b, wdt, (size_t)i);
    }
}

void ref_silu_mul(float *g, const float *u, size_t n) {
    for (size_t i = 0; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

void ref_gelu(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

void ref_add(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

/* Reference attention: one query at a time, online softmax over keys
 * (so it is O(head_dim) memory too, and shows the exact semantics). */
int ref_attention(const dots_attn *a) {
    int d = a->head_dim, group = a->n_heads / a->n_kv_heads;
    int bf = a->precision == DT_BF16;
    float *acc = malloc((size_t)d * 2 * sizeof *acc);
    if (!acc) return -1;
    float *qv = acc + d;
    for (int i = 0; i < a->n_q; i++) {
        int lo = 0, hi = a->n_kv;
        if (a->seq_bounds) {
            for (int s = 0; s < a->n_seqs; s++)
                if (i >= a->seq_bounds[s] && i < a->seq_bounds[s + 1]) { lo = a->seq_bounds[s]; hi = a->seq_bounds[s + 1]; break; }
        }
        if (a->causal && a->q_pos0 + i + 1 < hi) hi = a->q_pos0 + i + 1;
        for (int h = 0; h < a->n_heads; h++) {
            int kh = h / group;
            const float *q = a->q + (size_t)i * a->ldq + (size_t)h * d;
            for (int c = 0; c < d; c++) qv[c] = bf ? round_bf16(q[c]) : q[c];
            float m = -INFINITY, l = 0;
            memset(acc, 0, (size_t)d * sizeof *acc);
            for (int j = lo; j < hi; j++) {
                size_t ko = (size_t)j * a->ldk + (size_t)kh * d, vo = (size_t)j * a->ldv + (size_t)kh * d;
                float s = 0;
                for (int c = 0; c < d; c++) {
                    float kv = kern_w_at(a->k, a->kv_dtype, ko + c);
                    s += qv[c] * (bf ? round_bf16(kv) : kv);
                }
                s *= a->scale;
                float mn = s > m ? s : m;
                float corr = expf(m - mn), p = expf(s - mn);
                l = l * corr + p;
                float pw = bf ? round_bf16(p) : p;
                for (int c = 0; c < d; c++) {
                    float vv = kern_w_at(a->v, a->kv_dtype, vo + c);
                    acc[c] = acc[c] * corr + pw * (bf ? round_bf16(vv) : vv);
                }
                m = mn;
            }
            float *o = a->out + (size_t)i * a->ldo + (size_t)h * d;
            float inv = l > 0 ? 1.0f / l : 0.0f;
            for (int c = 0; c < d; c++) o[c] = acc[c] * inv;
        }
    }
    free(acc);
    return 0;
}

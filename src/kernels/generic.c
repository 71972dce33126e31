/* Portable versions of every kernel-table slot: the scalar ISA level runs
 * these, and SIMD levels keep them for the slots they do not override. */
#include <math.h>
#include "kernels/kern_impl.h"
#include "kernels/attn_loops.h"

static void tile_generic(dots_dtype wdt, const void *A, size_t lda, int mr, const void *W, size_t ldw, int nr,
                         int kc, float *C, size_t ldc, int accumulate, const float *bias) {
    const float *a = A;
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            float s = 0;
            for (int k = 0; k < kc; k++) s += a[i * lda + k] * kern_w_at(W, wdt, j * ldw + k);
            if (bias) s += bias[j];
            C[i * ldc + j] = accumulate ? C[i * ldc + j] + s : s;
        }
}

#define TILE_FN(name, dt) \
    static void name(const void *A, size_t lda, int mr, const void *W, size_t ldw, int nr, int kc, float *C, \
                     size_t ldc, int accumulate, const float *bias) { \
        tile_generic(dt, A, lda, mr, W, ldw, nr, kc, C, ldc, accumulate, bias); \
    }
TILE_FN(tile_f32, DT_F32)
TILE_FN(tile_f16, DT_F16)
TILE_FN(tile_bf16, DT_BF16)

static inline float kv_at(const void *K, dots_dtype kdt, size_t i, int rb) {
    if (kdt == DT_BF16) return bf16_to_f32(((const bf16_t *)K)[i]);
    float v = ((const float *)K)[i];
    return rb ? bf16_to_f32(f32_to_bf16(v)) : v;
}

static void dot_rows(const float *q, int G, const void *K, size_t ldk, dots_dtype kdt, int n, int d, int rb,
                     float scale, float *s, size_t lds) {
    for (int g = 0; g < G; g++)
        for (int j = 0; j < n; j++) {
            float t = 0;
            for (int c = 0; c < d; c++) t += q[(size_t)g * d + c] * kv_at(K, kdt, (size_t)j * ldk + c, rb);
            s[g * lds + j] = t * scale;
        }
}

static void axpy_rows(const float *p, size_t ldp, int G, const void *V, size_t ldv, dots_dtype vdt, int n, int d,
                      int rb, float *acc) {
    for (int g = 0; g < G; g++)
        for (int j = 0; j < n; j++)
            if (p[g * ldp + j] != 0)
                for (int c = 0; c < d; c++) acc[(size_t)g * d + c] += p[g * ldp + j] * kv_at(V, vdt, (size_t)j * ldv + c, rb);
}

static void to_bf16(const float *x, bf16_t *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = f32_to_bf16(x[i]);
}

static void round_bf16(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = bf16_to_f32(f32_to_bf16(x[i]));
}

static float exp_sum(const float *s, int n, float shift, float *pf, bf16_t *pb) {
    float sum = 0;
    for (int i = 0; i < n; i++) {
        float e = expf(s[i] - shift);
        sum += e;
        if (pf) pf[i] = e;
        else pb[i] = f32_to_bf16(e);
    }
    return sum;
}

static float vmax(const float *s, int n) {
    float m = -INFINITY;
    for (int i = 0; i < n; i++) if (s[i] > m) m = s[i];
    return m;
}

void kops_fill_generic(kern_ops *o) {
    o->tile[DT_F32] = tile_f32; o->act[DT_F32] = ACT_F32;
    o->tile[DT_F16] = tile_f16; o->act[DT_F16] = ACT_F32;
    o->tile[DT_BF16] = tile_bf16; o->act[DT_BF16] = ACT_F32_RBF16;
    for (int i = 0; i < 3; i++) o->mr[i] = o->nr[i] = 4;
    o->qk[0] = qk_f32_loops; o->pv[0] = pv_f32_loops;
    o->qk[1] = NULL; o->pv[1] = NULL; /* bf16 precision runs the f32 tiles on bf16-rounded values */
    o->rmsnorm = ref_rmsnorm;
    o->layernorm = ref_layernorm;
    o->silu_mul = ref_silu_mul;
    o->gelu = ref_gelu;
    o->add = ref_add;
    o->to_bf16 = to_bf16;
    o->round_bf16 = round_bf16;
    o->exp_sum = exp_sum;
    o->vmax = vmax;
    o->dot_rows = dot_rows;
    o->axpy_rows = axpy_rows;
}

/* Portable versions of every kernel-table slot: the scalar ISA level runs
 * these, and SIMD levels keep them for the slots they do not override. */
#include <math.h>
#include "kernels/kern_impl.h"

static inline float ld_w(const void *w, dots_dtype dt, size_t i) {
    switch (dt) {
    case DT_BF16: return bf16_to_f32(((const bf16_t *)w)[i]);
    case DT_F16: return f16_to_f32(((const f16_t *)w)[i]);
    default: return ((const float *)w)[i];
    }
}

static void tile_generic(dots_dtype wdt, const void *A, size_t lda, int mr, const void *W, size_t ldw, int nr,
                         int kc, float *C, size_t ldc, int accumulate, const float *bias) {
    const float *a = A;
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            float s = 0;
            for (int k = 0; k < kc; k++) s += a[i * lda + k] * ld_w(W, wdt, j * ldw + k);
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

/* Attention, f32 precision. Kp: [blk][c][16]; V rows at stride ldv. */
static void qk_f32(const void *Q, int ldq, int nq, const void *Kp, int nblk, int d, float *S, int lds) {
    const float *q = Q, *kp = Kp;
    for (int i = 0; i < nq; i++)
        for (int b = 0; b < nblk; b++)
            for (int l = 0; l < ATT_KB; l++) {
                float s = 0;
                const float *kb = kp + (size_t)b * ATT_KB * d + l;
                for (int c = 0; c < d; c++) s += q[(size_t)i * ldq + c] * kb[c * ATT_KB];
                S[(size_t)i * lds + b * ATT_KB + l] = s;
            }
}

static void pv_f32(const void *P, int ldp, int nq, const void *V, size_t ldv, int nkeys, int d, float *O, int ldo) {
    const float *p = P, *v = V;
    for (int i = 0; i < nq; i++)
        for (int j = 0; j < nkeys; j++) {
            float pj = p[(size_t)i * ldp + j];
            if (pj == 0) continue;
            for (int c = 0; c < d; c++) O[(size_t)i * ldo + c] += pj * v[j * ldv + c];
        }
}

/* Attention, bf16 precision. Kp: [blk][c/2][16][2]; Vp: [key/2][c][2]. */
static void qk_bf16(const void *Q, int ldq, int nq, const void *Kp, int nblk, int d, float *S, int lds) {
    const bf16_t *q = Q, *kp = Kp;
    for (int i = 0; i < nq; i++)
        for (int b = 0; b < nblk; b++)
            for (int l = 0; l < ATT_KB; l++) {
                float s = 0;
                const bf16_t *kb = kp + (size_t)b * ATT_KB * d + 2 * l;
                for (int c = 0; c < d; c++)
                    s += bf16_to_f32(q[(size_t)i * ldq + c]) * bf16_to_f32(kb[(c >> 1) * 2 * ATT_KB + (c & 1)]);
                S[(size_t)i * lds + b * ATT_KB + l] = s;
            }
}

static void pv_bf16(const void *P, int ldp, int nq, const void *V, size_t ldv, int nkeys, int d, float *O, int ldo) {
    const bf16_t *p = P, *v = V;
    for (int i = 0; i < nq; i++)
        for (int j = 0; j < nkeys; j++) {
            float pj = bf16_to_f32(p[(size_t)i * ldp + j]);
            if (pj == 0) continue;
            const bf16_t *vr = v + (size_t)(j >> 1) * 2 * d + (j & 1);
            for (int c = 0; c < d; c++) O[(size_t)i * ldo + c] += pj * bf16_to_f32(vr[2 * c]);
        }
}

static void to_bf16(const float *x, bf16_t *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = f32_to_bf16(x[i]);
}

static void round_bf16(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = bf16_to_f32(f32_to_bf16(x[i]));
}

static float exp_sum(float *s, int n, float shift) {
    float sum = 0;
    for (int i = 0; i < n; i++) { s[i] = expf(s[i] - shift); sum += s[i]; }
    return sum;
}

static float scale_max(float *s, int n, float scale) {
    float m = -INFINITY;
    for (int i = 0; i < n; i++) { s[i] *= scale; if (s[i] > m) m = s[i]; }
    return m;
}

void kops_fill_generic(kern_ops *o) {
    o->tile[DT_F32] = tile_f32; o->act[DT_F32] = ACT_F32;
    o->tile[DT_F16] = tile_f16; o->act[DT_F16] = ACT_F32;
    o->tile[DT_BF16] = tile_bf16; o->act[DT_BF16] = ACT_F32_RBF16;
    for (int i = 0; i < 3; i++) o->mr[i] = o->nr[i] = 4;
    o->qk[0] = qk_f32; o->pv[0] = pv_f32;
    o->qk[1] = qk_bf16; o->pv[1] = pv_bf16;
    o->rmsnorm = ref_rmsnorm;
    o->layernorm = ref_layernorm;
    o->silu_mul = ref_silu_mul;
    o->gelu = ref_gelu;
    o->add = ref_add;
    o->to_bf16 = to_bf16;
    o->round_bf16 = round_bf16;
    o->exp_sum = exp_sum;
    o->scale_max = scale_max;
}

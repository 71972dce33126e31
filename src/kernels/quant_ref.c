/* Scalar reference int8 dot products for Q8_0 and Q4_K weights (the kernels of
 * every ISA are tested against these), and the activation quantizer. */
#include <math.h>
#include "kernels/quant_kern.h"

void qact8_quant_row(const float *x, int K, int8_t *qs, float *dq, int32_t *c) {
    for (int b = 0; b < K / QK8_0; b++) {
        const float *xb = x + b * QK8_0;
        float amax = 0;
        for (int i = 0; i < QK8_0; i++) amax = fmaxf(amax, fabsf(xb[i]));
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int i = 0; i < QK8_0; i++) {
            int q = (int)roundf(xb[i] * id);
            q = q > 127 ? 127 : q < -127 ? -127 : q;
            qs[b * QK8_0 + i] = (int8_t)q;
            sum += q;
        }
        dq[b] = d;
        c[b] = -128 * sum;
    }
}

static void ref_q8(const qact8 *A, int m0, int mr, const blk_q8_0 *W, size_t ldw, int nr, int nb, float *C,
                   size_t ldc) {
    for (int i = 0; i < mr; i++) {
        const int8_t *a = A->qs + (size_t)(m0 + i) * A->ldq;
        const float *da = A->d + (size_t)(m0 + i) * A->ldb;
        for (int j = 0; j < nr; j++) {
            const blk_q8_0 *w = W + (size_t)j * ldw;
            float s = 0;
            for (int b = 0; b < nb; b++) {
                int32_t isum = 0;
                for (int l = 0; l < QK8_0; l++) isum += (int32_t)w[b].qs[l] * a[b * QK8_0 + l];
                s += f16_to_f32(w[b].d) * da[b] * (float)isum;
            }
            C[(size_t)i * ldc + j] = s;
        }
    }
}

/* Sub-block j's 6-bit scale and min (ggml's get_scale_min_k4 packing). */
static void q4k_unpack_scales(const uint8_t *s, int sc[8], int mn[8]) {
    for (int j = 0; j < 4; j++) {
        sc[j] = s[j] & 63;
        mn[j] = s[j + 4] & 63;
        sc[j + 4] = (s[j + 8] & 0xF) | ((s[j] >> 6) << 4);
        mn[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4);
    }
}

static void ref_q4(const blk_q8_k *A, size_t lda, int mr, const blk_q4_k *W, size_t ldw, int nr, int nsb, float *C,
                   size_t ldc) {
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            const blk_q8_k *a = A + (size_t)i * lda;
            const blk_q4_k *w = W + (size_t)j * ldw;
            float s = 0;
            for (int b = 0; b < nsb; b++) {
                int sc[8], mn[8];
                q4k_unpack_scales(w[b].scales, sc, mn);
                int32_t isum = 0, msum = 0;
                for (int sb = 0; sb < 8; sb++) {
                    const uint8_t *q = w[b].qs + 32 * (sb / 2);
                    int shift = (sb & 1) * 4, dot = 0;
                    for (int l = 0; l < 32; l++) dot += ((q[l] >> shift) & 0xF) * a[b].qs[32 * sb + l];
                    isum += sc[sb] * dot;
                    msum += mn[sb] * (a[b].bsums[2 * sb] + a[b].bsums[2 * sb + 1]);
                }
                s += f16_to_f32(w[b].d) * a[b].d * (float)isum - f16_to_f32(w[b].dmin) * a[b].d * (float)msum;
            }
            C[(size_t)i * ldc + j] = s;
        }
}

const qkern *qkern_ref(void) {
    static const qkern k = {.q8 = ref_q8, .q4 = ref_q4, .mr = 4};
    return &k;
}

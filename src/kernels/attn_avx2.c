/* AVX2 + FMA attention tile pieces in f32 (layouts: attention.c; bf16
 * precision runs these on bf16-rounded values). Outer products: a broadcast
 * query value (or probability) times 8 keys (or 8 head dims). */
#include <immintrin.h>
#include "kernels/kern_impl.h"

/* S[i, 16b + l] = scale * sum_c Q[i,c] Kp[b][c][l]; nblk is a multiple of 4 */
static void qk_f32(const void *Qv, int ldq, int nq, const void *Kpv, int nblk, int d, float *S, int lds, float scale) {
    const float *Q = Qv, *Kp = Kpv;
    __m256 sc = _mm256_set1_ps(scale);
    for (int i = 0; i < nq; i++)
        for (int b = 0; b < nblk; b += 4) {
            __m256 acc[8];
            for (int x = 0; x < 8; x++) acc[x] = _mm256_setzero_ps();
            const float *kb = Kp + (size_t)b * ATT_KB * d;
            for (int c = 0; c < d; c++) {
                __m256 q = _mm256_broadcast_ss(Q + (size_t)i * ldq + c);
#pragma GCC unroll 8
                for (int x = 0; x < 8; x++)
                    acc[x] = _mm256_fmadd_ps(q, _mm256_loadu_ps(kb + (size_t)(x / 2) * ATT_KB * d + c * ATT_KB + (x & 1) * 8), acc[x]);
            }
            for (int x = 0; x < 8; x++)
                _mm256_storeu_ps(S + (size_t)i * lds + (b + x / 2) * ATT_KB + (x & 1) * 8, _mm256_mul_ps(acc[x], sc));
        }
}

/* O[i, c] += sum_j P[i,j] V[j,c]; d is a multiple of 16 */
static void pv_f32(const void *Pv, int ldp, int nq, const void *Vv, size_t ldv, int nkeys, int d, float *O, int ldo) {
    const float *P = Pv, *V = Vv;
    for (int i = 0; i < nq; i++)
        for (int c = 0; c < d; c += 32) {
            int nv = d - c >= 32 ? 4 : 2;
            __m256 acc[4];
            float *o = O + (size_t)i * ldo + c;
            for (int x = 0; x < 4; x++) acc[x] = x < nv ? _mm256_loadu_ps(o + 8 * x) : _mm256_setzero_ps();
            for (int j = 0; j < nkeys; j++) {
                __m256 p = _mm256_broadcast_ss(P + (size_t)i * ldp + j);
                const float *vr = V + j * ldv + c;
#pragma GCC unroll 4
                for (int x = 0; x < 4; x++)
                    if (x < nv) acc[x] = _mm256_fmadd_ps(p, _mm256_loadu_ps(vr + 8 * x), acc[x]);
            }
            for (int x = 0; x < nv; x++) _mm256_storeu_ps(o + 8 * x, acc[x]);
        }
}

void kops_fill_attn_avx2(kern_ops *o) {
    o->qk[0] = qk_f32;
    o->pv[0] = pv_f32;
}

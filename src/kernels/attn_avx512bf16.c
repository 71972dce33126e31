/* AVX512_BF16 attention tile pieces (bf16 precision; layouts: attention.c).
 * vdpbf16ps multiplies bf16 pairs: a broadcast pair of a query row (two head
 * dims) against 16 keys' same two dims, or a broadcast pair of probabilities
 * (two keys) against 16 head dims of those two keys' V rows. */
#include <string.h>
#include "kernels/simd_avx512.h"

#define MQ_MAX 6

AINL __m512bh bcast_pair(const bf16_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return (__m512bh)_mm512_set1_epi32(v);
}

/* S[i, 16x + l] = sum_c Q[i,c] K[16x + l, c], x < 4 (64 keys) */
AINL void qk_T(const int MQ, const bf16_t *Q, int ldq, const bf16_t *Kp, int d, float *S, int lds, __m512 sc) {
    __m512 acc[MQ_MAX][4];
    for (int i = 0; i < MQ; i++)
        for (int x = 0; x < 4; x++) acc[i][x] = _mm512_setzero_ps();
    const size_t bs = (size_t)ATT_KB * d;
    for (int c = 0; c < d; c += 2) {
        __m512bh k[4];
#pragma GCC unroll 4
        for (int x = 0; x < 4; x++) k[x] = (__m512bh)_mm512_loadu_si512(Kp + x * bs + (size_t)c * ATT_KB);
#pragma GCC unroll 6
        for (int i = 0; i < MQ; i++) {
            __m512bh q = bcast_pair(Q + (size_t)i * ldq + c);
#pragma GCC unroll 4
            for (int x = 0; x < 4; x++) acc[i][x] = _mm512_dpbf16_ps(acc[i][x], q, k[x]);
        }
    }
    for (int i = 0; i < MQ; i++)
        for (int x = 0; x < 4; x++) _mm512_storeu_ps(S + (size_t)i * lds + x * 16, _mm512_mul_ps(acc[i][x], sc));
}

static void qk_bf16(const void *Qv, int ldq, int nq, const void *Kpv, int nblk, int d, float *S, int lds, float scale) {
    __m512 sc = _mm512_set1_ps(scale);
    const bf16_t *Q = Qv, *Kp = Kpv;
    for (int i = 0; i < nq; i += MQ_MAX)
        for (int b = 0; b < nblk; b += 4) {
            const bf16_t *q = Q + (size_t)i * ldq, *k = Kp + (size_t)b * ATT_KB * d;
            float *s = S + (size_t)i * lds + b * ATT_KB;
            switch (nq - i < MQ_MAX ? nq - i : MQ_MAX) {
            case 1: qk_T(1, q, ldq, k, d, s, lds, sc); break;
            case 2: qk_T(2, q, ldq, k, d, s, lds, sc); break;
            case 3: qk_T(3, q, ldq, k, d, s, lds, sc); break;
            case 4: qk_T(4, q, ldq, k, d, s, lds, sc); break;
            case 5: qk_T(5, q, ldq, k, d, s, lds, sc); break;
            default: qk_T(6, q, ldq, k, d, s, lds, sc); break;
            }
        }
}

/* O[i, c0 + 16x + l] += sum_j P[i,j] V[j, c0 + 16x + l], x < nv <= 4; Vp at column c0 */
AINL void pv_T(const int MQ, const bf16_t *P, int ldp, const bf16_t *Vp, int d, int nkeys, int nv, float *O,
               int ldo) {
    __m512 acc[MQ_MAX][4];
#pragma GCC unroll 6
    for (int i = 0; i < MQ; i++)
#pragma GCC unroll 4
        for (int x = 0; x < 4; x++) acc[i][x] = x < nv ? _mm512_loadu_ps(O + (size_t)i * ldo + 16 * x) : _mm512_setzero_ps();
    for (int j = 0; j < nkeys; j += 2) {
        __m512bh v[4];
        const bf16_t *vr = Vp + (size_t)j * d;
#pragma GCC unroll 4
        for (int x = 0; x < 4; x++)
            v[x] = x < nv ? (__m512bh)_mm512_loadu_si512(vr + 32 * x) : (__m512bh)_mm512_setzero_si512();
#pragma GCC unroll 6
        for (int i = 0; i < MQ; i++) {
            __m512bh p = bcast_pair(P + (size_t)i * ldp + j);
#pragma GCC unroll 4
            for (int x = 0; x < 4; x++) acc[i][x] = _mm512_dpbf16_ps(acc[i][x], p, v[x]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < MQ; i++)
#pragma GCC unroll 4
        for (int x = 0; x < 4; x++)
            if (x < nv) _mm512_storeu_ps(O + (size_t)i * ldo + 16 * x, acc[i][x]);
}

/* nkeys is even (the driver works in whole 16-key blocks). */
static void pv_bf16(const void *Pv, int ldp, int nq, const void *Vv, size_t ldv, int nkeys, int d, float *O, int ldo) {
    (void)ldv;
    const bf16_t *P = Pv, *V = Vv;
    for (int i = 0; i < nq; i += MQ_MAX)
        for (int c = 0; c < d; c += 64) {
            int nv = (d - c) / 16 < 4 ? (d - c) / 16 : 4;
            const bf16_t *p = P + (size_t)i * ldp, *vp = V + 2 * (size_t)c;
            float *o = O + (size_t)i * ldo + c;
            switch (nq - i < MQ_MAX ? nq - i : MQ_MAX) {
            case 1: pv_T(1, p, ldp, vp, d, nkeys, nv, o, ldo); break;
            case 2: pv_T(2, p, ldp, vp, d, nkeys, nv, o, ldo); break;
            case 3: pv_T(3, p, ldp, vp, d, nkeys, nv, o, ldo); break;
            case 4: pv_T(4, p, ldp, vp, d, nkeys, nv, o, ldo); break;
            case 5: pv_T(5, p, ldp, vp, d, nkeys, nv, o, ldo); break;
            default: pv_T(6, p, ldp, vp, d, nkeys, nv, o, ldo); break;
            }
        }
}

void kops_fill_attn_avx512bf16(kern_ops *o) {
    o->qk[1] = qk_bf16;
    o->pv[1] = pv_bf16;
}

/* AVX-512 attention tile pieces in f32 precision (layouts: attention.c).
 * Both are outer products: a broadcast query (or probability) times 16 keys
 * (or 16 head dims), up to 6 rows x 4 vectors of accumulators, no reductions. */
#include "kernels/simd_avx512.h"

#define MQ_MAX 6

/* S[i, 16x + l] = sum_c Q[i,c] Kp[blk x][c][l], x < 4 (64 keys) */
AINL void qk_T(const int MQ, const float *Q, int ldq, const float *Kp, int d, float *S, int lds, __m512 sc) {
    __m512 acc[MQ_MAX][4];
    for (int i = 0; i < MQ; i++)
        for (int x = 0; x < 4; x++) acc[i][x] = _mm512_setzero_ps();
    const size_t bs = (size_t)ATT_KB * d;
    for (int c = 0; c < d; c++) {
        __m512 k[4];
#pragma GCC unroll 4
        for (int x = 0; x < 4; x++) k[x] = _mm512_loadu_ps(Kp + x * bs + (size_t)c * ATT_KB);
#pragma GCC unroll 6
        for (int i = 0; i < MQ; i++) {
            __m512 q = _mm512_set1_ps(Q[(size_t)i * ldq + c]);
#pragma GCC unroll 4
            for (int x = 0; x < 4; x++) acc[i][x] = _mm512_fmadd_ps(q, k[x], acc[i][x]);
        }
    }
    for (int i = 0; i < MQ; i++)
        for (int x = 0; x < 4; x++) _mm512_storeu_ps(S + (size_t)i * lds + x * 16, _mm512_mul_ps(acc[i][x], sc));
}

static void qk_f32(const void *Qv, int ldq, int nq, const void *Kpv, int nblk, int d, float *S, int lds, float scale) {
    __m512 sc = _mm512_set1_ps(scale);
    const float *Q = Qv, *Kp = Kpv;
    for (int i = 0; i < nq; i += MQ_MAX)
        for (int b = 0; b < nblk; b += 4) {
            const float *q = Q + (size_t)i * ldq, *k = Kp + (size_t)b * ATT_KB * d;
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

/* O[i, c0 + 16x + l] += sum_j P[i,j] V[j, c0 + 16x + l], x < nv <= 4 */
AINL void pv_T(const int MQ, const float *P, int ldp, const float *V, size_t ldv, int nkeys, int nv, float *O,
               int ldo) {
    __m512 acc[MQ_MAX][4];
#pragma GCC unroll 6
    for (int i = 0; i < MQ; i++)
#pragma GCC unroll 4
        for (int x = 0; x < 4; x++) acc[i][x] = x < nv ? _mm512_loadu_ps(O + (size_t)i * ldo + 16 * x) : _mm512_setzero_ps();
    for (int j = 0; j < nkeys; j++) {
        __m512 v[4];
#pragma GCC unroll 4
        for (int x = 0; x < 4; x++) v[x] = x < nv ? _mm512_loadu_ps(V + j * ldv + 16 * x) : _mm512_setzero_ps();
#pragma GCC unroll 6
        for (int i = 0; i < MQ; i++) {
            __m512 p = _mm512_set1_ps(P[(size_t)i * ldp + j]);
#pragma GCC unroll 4
            for (int x = 0; x < 4; x++) acc[i][x] = _mm512_fmadd_ps(p, v[x], acc[i][x]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < MQ; i++)
#pragma GCC unroll 4
        for (int x = 0; x < 4; x++)
            if (x < nv) _mm512_storeu_ps(O + (size_t)i * ldo + 16 * x, acc[i][x]);
}

static void pv_f32(const void *Pv, int ldp, int nq, const void *Vv, size_t ldv, int nkeys, int d, float *O, int ldo) {
    const float *P = Pv, *V = Vv;
    for (int i = 0; i < nq; i += MQ_MAX)
        for (int c = 0; c < d; c += 64) {
            int nv = (d - c) / 16 < 4 ? (d - c) / 16 : 4;
            const float *p = P + (size_t)i * ldp;
            float *o = O + (size_t)i * ldo + c;
            switch (nq - i < MQ_MAX ? nq - i : MQ_MAX) {
            case 1: pv_T(1, p, ldp, V + c, ldv, nkeys, nv, o, ldo); break;
            case 2: pv_T(2, p, ldp, V + c, ldv, nkeys, nv, o, ldo); break;
            case 3: pv_T(3, p, ldp, V + c, ldv, nkeys, nv, o, ldo); break;
            case 4: pv_T(4, p, ldp, V + c, ldv, nkeys, nv, o, ldo); break;
            case 5: pv_T(5, p, ldp, V + c, ldv, nkeys, nv, o, ldo); break;
            default: pv_T(6, p, ldp, V + c, ldv, nkeys, nv, o, ldo); break;
            }
        }
}

void kops_fill_attn_avx512(kern_ops *o) {
    o->qk[0] = qk_f32;
    o->pv[0] = pv_f32;
    o->pv_vchunk = 0;
}

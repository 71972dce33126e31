/* AVX2 + FMA attention tile pieces in f32 (layouts: attention.c; bf16
 * precision runs these on bf16-rounded values). Both are register-blocked
 * outer products, 3 query rows x 32 lanes (12 ymm accumulators): per step 4
 * vector loads (32 keys of K, or 32 head dims of V) and 3 broadcasts (query
 * values, or probabilities) feed 12 FMAs, so the loads never bound the FMAs. */
#include <immintrin.h>
#include "kernels/kern_impl.h"

#define AINL static inline __attribute__((always_inline))

/* Named accumulators: GCC keeps an array of __m256 in memory across the loop. */
#define ACC_DECL __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, \
    a12 = a00, a13 = a00, a20 = a00, a21 = a00, a22 = a00, a23 = a00
#define ROW4(r, s, v0, v1, v2, v3) do { a##r##0 = _mm256_fmadd_ps(s, v0, a##r##0); \
    a##r##1 = _mm256_fmadd_ps(s, v1, a##r##1); a##r##2 = _mm256_fmadd_ps(s, v2, a##r##2); \
    a##r##3 = _mm256_fmadd_ps(s, v3, a##r##3); } while (0)
#define ST4(dst, r, sc) do { _mm256_storeu_ps((dst), _mm256_mul_ps(a##r##0, sc)); \
    _mm256_storeu_ps((dst) + 8, _mm256_mul_ps(a##r##1, sc)); _mm256_storeu_ps((dst) + 16, _mm256_mul_ps(a##r##2, sc)); \
    _mm256_storeu_ps((dst) + 24, _mm256_mul_ps(a##r##3, sc)); } while (0)

/* S rows 0..R-1 (R = 1 or 3, a compile-time constant), keys of blocks b, b+1. */
AINL void qk_rows(const int R, const float *Q, int ldq, const float *Kp, int b, int d, float *S, int lds, __m256 sc) {
    ACC_DECL;
    const float *k0 = Kp + (size_t)b * ATT_KB * d, *k1 = k0 + (size_t)ATT_KB * d;
    const float *q0 = Q, *q1 = Q + (R > 1 ? ldq : 0), *q2 = Q + (R > 2 ? 2 * ldq : 0);
    for (int c = 0; c < d; c++) {
        __m256 kv0 = _mm256_loadu_ps(k0 + c * ATT_KB), kv1 = _mm256_loadu_ps(k0 + c * ATT_KB + 8);
        __m256 kv2 = _mm256_loadu_ps(k1 + c * ATT_KB), kv3 = _mm256_loadu_ps(k1 + c * ATT_KB + 8);
        __m256 s0 = _mm256_broadcast_ss(q0 + c);
        ROW4(0, s0, kv0, kv1, kv2, kv3);
        if (R > 1) {
            __m256 s1 = _mm256_broadcast_ss(q1 + c), s2 = _mm256_broadcast_ss(q2 + c);
            ROW4(1, s1, kv0, kv1, kv2, kv3);
            ROW4(2, s2, kv0, kv1, kv2, kv3);
        }
    }
    ST4(S + b * ATT_KB, 0, sc);
    if (R > 1) { ST4(S + (size_t)lds + b * ATT_KB, 1, sc); ST4(S + (size_t)2 * lds + b * ATT_KB, 2, sc); }
}

/* S[i, 16b + l] = scale * sum_c Q[i,c] Kp[b][c][l]; nblk is a multiple of 4 */
static void qk_f32(const void *Qv, int ldq, int nq, const void *Kpv, int nblk, int d, float *S, int lds, float scale) {
    const float *Q = Qv, *Kp = Kpv;
    __m256 sc = _mm256_set1_ps(scale);
    int n3 = nq / 3 * 3;
    /* key blocks outer: their 32 keys x d (16 KB at d = 128) stay in L1 for all row groups */
    for (int b = 0; b < nblk; b += 2) {
        for (int i = 0; i < n3; i += 3) qk_rows(3, Q + (size_t)i * ldq, ldq, Kp, b, d, S + (size_t)i * lds, lds, sc);
        for (int i = n3; i < nq; i++) qk_rows(1, Q + (size_t)i * ldq, ldq, Kp, b, d, S + (size_t)i * lds, lds, sc);
    }
}

#define LD4(r, o) do { a##r##0 = _mm256_loadu_ps(o); a##r##1 = _mm256_loadu_ps((o) + 8); \
    if (NV > 2) { a##r##2 = _mm256_loadu_ps((o) + 16); a##r##3 = _mm256_loadu_ps((o) + 24); } } while (0)
#define SV4(r, o) do { _mm256_storeu_ps(o, a##r##0); _mm256_storeu_ps((o) + 8, a##r##1); \
    if (NV > 2) { _mm256_storeu_ps((o) + 16, a##r##2); _mm256_storeu_ps((o) + 24, a##r##3); } } while (0)

/* O rows 0..R-1 (R = 1 or 3), head dims 0..8*NV-1 (NV = 4 or 2), all keys. */
AINL void pv_rows(const int R, const int NV, const float *P, int ldp, const float *V, size_t ldv, int nkeys, float *O,
                  int ldo) {
    ACC_DECL;
    const float *p0 = P, *p1 = P + (R > 1 ? ldp : 0), *p2 = P + (R > 2 ? 2 * ldp : 0);
    LD4(0, O);
    if (R > 1) { LD4(1, O + ldo); LD4(2, O + 2 * ldo); }
    for (int j = 0; j < nkeys; j++) {
        const float *vr = V + (size_t)j * ldv;
        __m256 v0 = _mm256_loadu_ps(vr), v1 = _mm256_loadu_ps(vr + 8);
        __m256 v2 = NV > 2 ? _mm256_loadu_ps(vr + 16) : v0, v3 = NV > 2 ? _mm256_loadu_ps(vr + 24) : v1;
        __m256 s0 = _mm256_broadcast_ss(p0 + j);
        ROW4(0, s0, v0, v1, v2, v3);
        if (R > 1) {
            __m256 s1 = _mm256_broadcast_ss(p1 + j), s2 = _mm256_broadcast_ss(p2 + j);
            ROW4(1, s1, v0, v1, v2, v3);
            ROW4(2, s2, v0, v1, v2, v3);
        }
    }
    SV4(0, O);
    if (R > 1) { SV4(1, O + ldo); SV4(2, O + 2 * ldo); }
}

/* O[i, c] += sum_j P[i,j] V[j,c]; d is a multiple of 16. V in 32-dim chunks
 * (kern_impl.h pv_vchunk), ldv = the chunk stride. Head-dim chunks outer: a
 * chunk of V (nkeys x 32, 32 KB contiguous for a 256-key tile) stays in L1 for
 * all row groups. */
static void pv_f32(const void *Pv, int ldp, int nq, const void *Vv, size_t ldv, int nkeys, int d, float *O, int ldo) {
    const float *P = Pv;
    int n3 = nq / 3 * 3;
    for (int c = 0; c < d; c += 32) {
        int wide = d - c >= 32;
        const float *Vc = (const float *)Vv + (size_t)(c / 32) * ldv; /* this chunk: [j][32] */
        for (int i = 0; i < nq; i += i < n3 ? 3 : 1) {
            const float *p = P + (size_t)i * ldp;
            float *o = O + (size_t)i * ldo + c;
            if (i < n3) {
                if (wide) pv_rows(3, 4, p, ldp, Vc, 32, nkeys, o, ldo);
                else pv_rows(3, 2, p, ldp, Vc, 32, nkeys, o, ldo);
            } else {
                if (wide) pv_rows(1, 4, p, ldp, Vc, 32, nkeys, o, ldo);
                else pv_rows(1, 2, p, ldp, Vc, 32, nkeys, o, ldo);
            }
        }
    }
}

void kops_fill_attn_avx2(kern_ops *o) {
    o->qk[0] = qk_f32;
    o->pv[0] = pv_f32;
    o->pv_vchunk = 32;
}

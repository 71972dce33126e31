/* NEON attention tile pieces in f32 (layouts: attention.c).
 *  qk: 4 query rows x 16 packed keys in 16 accumulators; per head dim one
 *      4-lane K load per 4 keys and a lane-indexed FMLA per row (Q loaded 4 dims
 *      at a time), so no sums across lanes.
 *  pv: 4 query rows x 16 head dims of O in 16 accumulators over the keys;
 *      P read 4 keys at a time and used by lane.
 *  decode (dot_rows / axpy_rows): K and V rows read once for the G query heads
 *      that share them, widened from bf16 (or rounded to it) on the fly. */
#include <string.h>
#include "kernels/kern_impl.h"
#include "kernels/vec_neon.h"

/* S[i, 16b + l] = scale * sum_c Q[i,c] Kp[b][c][l], rows i < MRc */
AINL void qk_rows(const int MRc, const float *q, int ldq, const float *kb, int d, float *S, int lds, float scale) {
    float32x4_t acc[4][4];
    UNROLL
    for (int i = 0; i < MRc; i++)
        UNROLL
        for (int v = 0; v < 4; v++) acc[i][v] = vdupq_n_f32(0);
    for (int c = 0; c < d; c += 4) { /* d % 16 == 0 on the tile path */
        float32x4_t qv[4];
        UNROLL
        for (int i = 0; i < MRc; i++) qv[i] = vld1q_f32(q + (size_t)i * ldq + c);
#define QK_LANE(p) \
        { \
            const float *k = kb + (size_t)(c + p) * ATT_KB; \
            float32x4_t k0 = vld1q_f32(k), k1 = vld1q_f32(k + 4), k2 = vld1q_f32(k + 8), k3 = vld1q_f32(k + 12); \
            UNROLL \
            for (int i = 0; i < MRc; i++) { \
                acc[i][0] = vfmaq_laneq_f32(acc[i][0], k0, qv[i], p); \
                acc[i][1] = vfmaq_laneq_f32(acc[i][1], k1, qv[i], p); \
                acc[i][2] = vfmaq_laneq_f32(acc[i][2], k2, qv[i], p); \
                acc[i][3] = vfmaq_laneq_f32(acc[i][3], k3, qv[i], p); \
            } \
        }
        QK_LANE(0) QK_LANE(1) QK_LANE(2) QK_LANE(3)
#undef QK_LANE
    }
    UNROLL
    for (int i = 0; i < MRc; i++)
        UNROLL
        for (int v = 0; v < 4; v++) vst1q_f32(S + (size_t)i * lds + 4 * v, vmulq_n_f32(acc[i][v], scale));
}

static void qk_f32(const void *Q, int ldq, int nq, const void *Kp, int nblk, int d, float *S, int lds, float scale) {
    const float *q = Q, *kp = Kp;
    for (int i = 0; i < nq; i += 4)
        for (int b = 0; b < nblk; b++) {
            const float *kb = kp + (size_t)b * ATT_KB * d;
            const float *qi = q + (size_t)i * ldq;
            float *si = S + (size_t)i * lds + b * ATT_KB;
            switch (nq - i < 4 ? nq - i : 4) {
            case 1: qk_rows(1, qi, ldq, kb, d, si, lds, scale); break;
            case 2: qk_rows(2, qi, ldq, kb, d, si, lds, scale); break;
            case 3: qk_rows(3, qi, ldq, kb, d, si, lds, scale); break;
            default: qk_rows(4, qi, ldq, kb, d, si, lds, scale); break;
            }
        }
}

/* O[i, c0..c0+15] += sum_j P[i,j] V[j, c0..], rows i < MRc */
AINL void pv_rows(const int MRc, const float *p, int ldp, const float *v, size_t ldv, int nkeys, float *o, int ldo) {
    float32x4_t acc[4][4];
    UNROLL
    for (int i = 0; i < MRc; i++)
        UNROLL
        for (int u = 0; u < 4; u++) acc[i][u] = vld1q_f32(o + (size_t)i * ldo + 4 * u);
    int j = 0;
    for (; j + 4 <= nkeys; j += 4) {
        float32x4_t pv[4];
        UNROLL
        for (int i = 0; i < MRc; i++) pv[i] = vld1q_f32(p + (size_t)i * ldp + j);
#define PV_LANE(l) \
        { \
            const float *vr = v + (size_t)(j + l) * ldv; \
            float32x4_t v0 = vld1q_f32(vr), v1 = vld1q_f32(vr + 4), v2 = vld1q_f32(vr + 8), v3 = vld1q_f32(vr + 12); \
            UNROLL \
            for (int i = 0; i < MRc; i++) { \
                acc[i][0] = vfmaq_laneq_f32(acc[i][0], v0, pv[i], l); \
                acc[i][1] = vfmaq_laneq_f32(acc[i][1], v1, pv[i], l); \
                acc[i][2] = vfmaq_laneq_f32(acc[i][2], v2, pv[i], l); \
                acc[i][3] = vfmaq_laneq_f32(acc[i][3], v3, pv[i], l); \
            } \
        }
        PV_LANE(0) PV_LANE(1) PV_LANE(2) PV_LANE(3)
#undef PV_LANE
    }
    for (; j < nkeys; j++) {
        const float *vr = v + (size_t)j * ldv;
        float32x4_t v0 = vld1q_f32(vr), v1 = vld1q_f32(vr + 4), v2 = vld1q_f32(vr + 8), v3 = vld1q_f32(vr + 12);
        UNROLL
        for (int i = 0; i < MRc; i++) {
            float pj = p[(size_t)i * ldp + j];
            acc[i][0] = vfmaq_n_f32(acc[i][0], v0, pj);
            acc[i][1] = vfmaq_n_f32(acc[i][1], v1, pj);
            acc[i][2] = vfmaq_n_f32(acc[i][2], v2, pj);
            acc[i][3] = vfmaq_n_f32(acc[i][3], v3, pj);
        }
    }
    UNROLL
    for (int i = 0; i < MRc; i++)
        UNROLL
        for (int u = 0; u < 4; u++) vst1q_f32(o + (size_t)i * ldo + 4 * u, acc[i][u]);
}

static void pv_f32(const void *P, int ldp, int nq, const void *V, size_t ldv, int nkeys, int d, float *O, int ldo) {
    const float *p = P, *v = V;
    for (int i = 0; i < nq; i += 4)
        for (int c = 0; c < d; c += 16) {
            const float *pi = p + (size_t)i * ldp;
            float *oi = O + (size_t)i * ldo + c;
            switch (nq - i < 4 ? nq - i : 4) {
            case 1: pv_rows(1, pi, ldp, v + c, ldv, nkeys, oi, ldo); break;
            case 2: pv_rows(2, pi, ldp, v + c, ldv, nkeys, oi, ldo); break;
            case 3: pv_rows(3, pi, ldp, v + c, ldv, nkeys, oi, ldo); break;
            default: pv_rows(4, pi, ldp, v + c, ldv, nkeys, oi, ldo); break;
            }
        }
}

/* ---- decode ---- */

/* 4 K/V values of row data at column c as f32 (bf16 widened; f32 rounded to bf16 when rb) */
AINL float32x4_t kv4(const void *X, dots_dtype dt, size_t off, int rb) {
    if (dt == DT_BF16) return load4_bf16_neon((const bf16_t *)X + off);
    float32x4_t v = vld1q_f32((const float *)X + off);
    return rb ? round4_bf16_neon(v) : v;
}

AINL float kv1(const void *X, dots_dtype dt, size_t off, int rb) {
    if (dt == DT_BF16) return bf16_to_f32(((const bf16_t *)X)[off]);
    float v = ((const float *)X)[off];
    return rb ? bf16_to_f32(f32_to_bf16(v)) : v;
}

/* s[g,j] = scale * q[g,:] . K[j,:] for g < G (<= DEC_G): each K row is read once. */
AINL void dot_rows_T(const dots_dtype kdt, const float *q, const int G, const void *K, size_t ldk, int n, int d, int rb,
                     float scale, float *s, size_t lds) {
    for (int j = 0; j < n; j++) {
        float32x4_t a0[DEC_G], a1[DEC_G];
        UNROLL
        for (int g = 0; g < DEC_G; g++) a0[g] = a1[g] = vdupq_n_f32(0);
        size_t row = (size_t)j * ldk;
        int c = 0;
        for (; c + 8 <= d; c += 8) {
            float32x4_t k0 = kv4(K, kdt, row + c, rb), k1 = kv4(K, kdt, row + c + 4, rb);
            UNROLL
            for (int g = 0; g < G; g++) {
                a0[g] = vfmaq_f32(a0[g], vld1q_f32(q + (size_t)g * d + c), k0);
                a1[g] = vfmaq_f32(a1[g], vld1q_f32(q + (size_t)g * d + c + 4), k1);
            }
        }
        UNROLL
        for (int g = 0; g < G; g++) {
            float t = vaddvq_f32(vaddq_f32(a0[g], a1[g]));
            for (int cc = c; cc < d; cc++) t += q[(size_t)g * d + cc] * kv1(K, kdt, row + cc, rb);
            s[g * lds + j] = t * scale;
        }
    }
}

_Static_assert(DEC_G == 6, "dot_rows / axpy_rows switch over G = 1..6");

/* G and the K dtype as compile-time constants: accumulators stay in registers */
#define DOT_G(kdt) \
    switch (G) { \
    case 1: dot_rows_T(kdt, q, 1, K, ldk, n, d, rb, scale, s, lds); break; \
    case 2: dot_rows_T(kdt, q, 2, K, ldk, n, d, rb, scale, s, lds); break; \
    case 3: dot_rows_T(kdt, q, 3, K, ldk, n, d, rb, scale, s, lds); break; \
    case 4: dot_rows_T(kdt, q, 4, K, ldk, n, d, rb, scale, s, lds); break; \
    case 5: dot_rows_T(kdt, q, 5, K, ldk, n, d, rb, scale, s, lds); break; \
    default: dot_rows_T(kdt, q, 6, K, ldk, n, d, rb, scale, s, lds); break; \
    }

static void dot_rows(const float *q, int G, const void *K, size_t ldk, dots_dtype kdt, int n, int d, int rb,
                     float scale, float *s, size_t lds) {
    if (kdt == DT_BF16) { DOT_G(DT_BF16) }
    else { DOT_G(DT_F32) }
}
#undef DOT_G

#define AXPY_KEYS 32 /* V rows per block: 32 x d stays in L1 while the 8-wide column chunks pass */

/* acc[g, c0..c0+7] += sum_{j<n} p[g,j] V[j, c0..]: G x 2 accumulators, p read
 * 4 keys at a time per head and used by lane (G <= 6: 12 + 6 + 2 registers) */
AINL void axpy_chunk(const dots_dtype vdt, const float *p, size_t ldp, int G, const void *V, size_t ldv, int n,
                     int c0, int d, int rb, float *acc) {
    float32x4_t a0[DEC_G], a1[DEC_G], pv[DEC_G];
    UNROLL
    for (int g = 0; g < DEC_G; g++) a0[g] = a1[g] = pv[g] = vdupq_n_f32(0); /* G <= DEC_G used */
    UNROLL
    for (int g = 0; g < G; g++) {
        a0[g] = vld1q_f32(acc + (size_t)g * d + c0);
        a1[g] = vld1q_f32(acc + (size_t)g * d + c0 + 4);
    }
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        UNROLL
        for (int g = 0; g < G; g++) pv[g] = vld1q_f32(p + g * ldp + j);
#define AXPY_LANE(l) \
        { \
            size_t row = (size_t)(j + l) * ldv + c0; \
            float32x4_t v0 = kv4(V, vdt, row, rb), v1 = kv4(V, vdt, row + 4, rb); \
            UNROLL \
            for (int g = 0; g < G; g++) { \
                a0[g] = vfmaq_laneq_f32(a0[g], v0, pv[g], l); \
                a1[g] = vfmaq_laneq_f32(a1[g], v1, pv[g], l); \
            } \
        }
        AXPY_LANE(0) AXPY_LANE(1) AXPY_LANE(2) AXPY_LANE(3)
#undef AXPY_LANE
    }
    for (; j < n; j++) {
        size_t row = (size_t)j * ldv + c0;
        float32x4_t v0 = kv4(V, vdt, row, rb), v1 = kv4(V, vdt, row + 4, rb);
        UNROLL
        for (int g = 0; g < G; g++) {
            float pj = p[g * ldp + j];
            a0[g] = vfmaq_n_f32(a0[g], v0, pj);
            a1[g] = vfmaq_n_f32(a1[g], v1, pj);
        }
    }
    UNROLL
    for (int g = 0; g < G; g++) {
        vst1q_f32(acc + (size_t)g * d + c0, a0[g]);
        vst1q_f32(acc + (size_t)g * d + c0 + 4, a1[g]);
    }
}

/* G as a compile-time constant so the accumulator arrays stay in registers */
AINL void axpy_block(const dots_dtype vdt, const float *p, size_t ldp, int G, const void *V, size_t ldv, int n,
                     int c0, int d, int rb, float *acc) {
    switch (G) {
    case 1: axpy_chunk(vdt, p, ldp, 1, V, ldv, n, c0, d, rb, acc); break;
    case 2: axpy_chunk(vdt, p, ldp, 2, V, ldv, n, c0, d, rb, acc); break;
    case 3: axpy_chunk(vdt, p, ldp, 3, V, ldv, n, c0, d, rb, acc); break;
    case 4: axpy_chunk(vdt, p, ldp, 4, V, ldv, n, c0, d, rb, acc); break;
    case 5: axpy_chunk(vdt, p, ldp, 5, V, ldv, n, c0, d, rb, acc); break;
    default: axpy_chunk(vdt, p, ldp, 6, V, ldv, n, c0, d, rb, acc); break;
    }
}

AINL void axpy_rows_T(const dots_dtype vdt, const float *p, size_t ldp, int G, const void *V, size_t ldv, int n,
                      int d, int rb, float *acc) {
    size_t es = vdt == DT_BF16 ? 2 : 4;
    for (int j0 = 0; j0 < n; j0 += AXPY_KEYS) {
        int nb = n - j0 < AXPY_KEYS ? n - j0 : AXPY_KEYS;
        const void *Vb = (const char *)V + (size_t)j0 * ldv * es;
        int c = 0;
        for (; c + 8 <= d; c += 8) axpy_block(vdt, p + j0, ldp, G, Vb, ldv, nb, c, d, rb, acc);
        for (; c < d; c++) /* head dims left over (d % 8) */
            for (int g = 0; g < G; g++) {
                float t = acc[(size_t)g * d + c];
                for (int j = 0; j < nb; j++) t += p[g * ldp + j0 + j] * kv1(Vb, vdt, (size_t)j * ldv + c, rb);
                acc[(size_t)g * d + c] = t;
            }
    }
}

static void axpy_rows(const float *p, size_t ldp, int G, const void *V, size_t ldv, dots_dtype vdt, int n, int d,
                      int rb, float *acc) {
    if (vdt == DT_BF16) axpy_rows_T(DT_BF16, p, ldp, G, V, ldv, n, d, rb, acc);
    else axpy_rows_T(DT_F32, p, ldp, G, V, ldv, n, d, rb, acc);
}

void kops_fill_attn_neon(kern_ops *o) {
    o->qk[0] = qk_f32;
    o->pv[0] = pv_f32;
    o->dot_rows = dot_rows;
    o->axpy_rows = axpy_rows;
}

/* FEAT_BF16 attention tiles (bf16 precision with native bf16 operands): BFDOT
 * on the packed layouts of attention.c. Compiled for armv8.2-a+bf16 per
 * function, so the file links into a baseline build and runs only where
 * dispatch.c saw HWCAP2_BF16.
 *  qk: Kp[blk][c/2][16][2]: one 8-bf16 load is 4 keys x a pair of head dims;
 *      BFDOT by lane against Q (4 pairs per load): 4 rows x 16 keys in 16
 *      accumulators, 2 products per lane per instruction.
 *  pv: Vp[j/2][c][2]: one load is 4 head dims x a pair of keys; BFDOT by lane
 *      against P (4 key pairs per load): 4 rows x 16 dims in 16 accumulators.
 *  decode scores (bf16 precision over a bf16 KV cache, the LM's case): each
 *      K row is read once, 8 dims per load, and BFDOT against the G <= 6 query
 *      heads (already rounded to bf16 by the caller) that share it. */
#include <string.h>
#include "kernels/kern_impl.h"
#include "kernels/vec_neon.h"

#define BF16_FN static __attribute__((target("arch=armv8.2-a+bf16")))
#define BF16_INL static inline __attribute__((always_inline, target("arch=armv8.2-a+bf16")))

BF16_INL bfloat16x8_t ld_bf(const bf16_t *p) { return vreinterpretq_bf16_u16(vld1q_u16(p)); }

BF16_INL void qk_rows_bf(const int MRc, const bf16_t *q, int ldq, const bf16_t *kb, int d, float *S, int lds,
                         float scale) {
    float32x4_t acc[4][4];
    UNROLL
    for (int i = 0; i < MRc; i++)
        UNROLL
        for (int v = 0; v < 4; v++) acc[i][v] = vdupq_n_f32(0);
    for (int c = 0; c < d; c += 8) { /* d % 16 == 0 on the tile path */
        bfloat16x8_t qv[4];
        UNROLL
        for (int i = 0; i < MRc; i++) qv[i] = ld_bf(q + (size_t)i * ldq + c);
#define QK_PAIR(p) \
        { \
            const bf16_t *k = kb + (size_t)(c / 2 + p) * 2 * ATT_KB; \
            bfloat16x8_t k0 = ld_bf(k), k1 = ld_bf(k + 8), k2 = ld_bf(k + 16), k3 = ld_bf(k + 24); \
            UNROLL \
            for (int i = 0; i < MRc; i++) { \
                acc[i][0] = vbfdotq_laneq_f32(acc[i][0], k0, qv[i], p); \
                acc[i][1] = vbfdotq_laneq_f32(acc[i][1], k1, qv[i], p); \
                acc[i][2] = vbfdotq_laneq_f32(acc[i][2], k2, qv[i], p); \
                acc[i][3] = vbfdotq_laneq_f32(acc[i][3], k3, qv[i], p); \
            } \
        }
        QK_PAIR(0) QK_PAIR(1) QK_PAIR(2) QK_PAIR(3)
#undef QK_PAIR
    }
    UNROLL
    for (int i = 0; i < MRc; i++)
        UNROLL
        for (int v = 0; v < 4; v++) vst1q_f32(S + (size_t)i * lds + 4 * v, vmulq_n_f32(acc[i][v], scale));
}

BF16_FN void qk_bf16(const void *Q, int ldq, int nq, const void *Kp, int nblk, int d, float *S, int lds,
                     float scale) {
    const bf16_t *q = Q, *kp = Kp;
    for (int i = 0; i < nq; i += 4)
        for (int b = 0; b < nblk; b++) {
            const bf16_t *kb = kp + (size_t)b * ATT_KB * d, *qi = q + (size_t)i * ldq;
            float *si = S + (size_t)i * lds + b * ATT_KB;
            switch (nq - i < 4 ? nq - i : 4) {
            case 1: qk_rows_bf(1, qi, ldq, kb, d, si, lds, scale); break;
            case 2: qk_rows_bf(2, qi, ldq, kb, d, si, lds, scale); break;
            case 3: qk_rows_bf(3, qi, ldq, kb, d, si, lds, scale); break;
            default: qk_rows_bf(4, qi, ldq, kb, d, si, lds, scale); break;
            }
        }
}

/* O[i, c0..c0+15] += sum_j P[i,j] V[j, c0..] over nkeys (even) keys, rows i < MRc;
 * vp = Vp at column c0 (pair jp at vp + jp * 2d). */
BF16_INL void pv_rows_bf(const int MRc, const bf16_t *p, int ldp, const bf16_t *vp, int d, int nkeys, float *o,
                         int ldo) {
    float32x4_t acc[4][4];
    UNROLL
    for (int i = 0; i < MRc; i++)
        UNROLL
        for (int u = 0; u < 4; u++) acc[i][u] = vld1q_f32(o + (size_t)i * ldo + 4 * u);
    int j = 0;
    for (; j + 8 <= nkeys; j += 8) {
        bfloat16x8_t pv[4];
        UNROLL
        for (int i = 0; i < MRc; i++) pv[i] = ld_bf(p + (size_t)i * ldp + j);
#define PV_PAIR(l) \
        { \
            const bf16_t *v = vp + (size_t)(j / 2 + l) * 2 * d; \
            bfloat16x8_t v0 = ld_bf(v), v1 = ld_bf(v + 8), v2 = ld_bf(v + 16), v3 = ld_bf(v + 24); \
            UNROLL \
            for (int i = 0; i < MRc; i++) { \
                acc[i][0] = vbfdotq_laneq_f32(acc[i][0], v0, pv[i], l); \
                acc[i][1] = vbfdotq_laneq_f32(acc[i][1], v1, pv[i], l); \
                acc[i][2] = vbfdotq_laneq_f32(acc[i][2], v2, pv[i], l); \
                acc[i][3] = vbfdotq_laneq_f32(acc[i][3], v3, pv[i], l); \
            } \
        }
        PV_PAIR(0) PV_PAIR(1) PV_PAIR(2) PV_PAIR(3)
#undef PV_PAIR
    }
    for (; j < nkeys; j += 2) { /* key pairs left over: the pair broadcast to all lanes */
        const bf16_t *v = vp + (size_t)(j / 2) * 2 * d;
        bfloat16x8_t v0 = ld_bf(v), v1 = ld_bf(v + 8), v2 = ld_bf(v + 16), v3 = ld_bf(v + 24);
        UNROLL
        for (int i = 0; i < MRc; i++) {
            uint32_t pair;
            memcpy(&pair, p + (size_t)i * ldp + j, 4);
            bfloat16x8_t pp = vreinterpretq_bf16_u32(vdupq_n_u32(pair));
            acc[i][0] = vbfdotq_f32(acc[i][0], v0, pp);
            acc[i][1] = vbfdotq_f32(acc[i][1], v1, pp);
            acc[i][2] = vbfdotq_f32(acc[i][2], v2, pp);
            acc[i][3] = vbfdotq_f32(acc[i][3], v3, pp);
        }
    }
    UNROLL
    for (int i = 0; i < MRc; i++)
        UNROLL
        for (int u = 0; u < 4; u++) vst1q_f32(o + (size_t)i * ldo + 4 * u, acc[i][u]);
}

BF16_FN void pv_bf16(const void *P, int ldp, int nq, const void *V, size_t ldv, int nkeys, int d, float *O,
                     int ldo) {
    (void)ldv;
    const bf16_t *p = P, *vp = V;
    for (int i = 0; i < nq; i += 4)
        for (int c = 0; c < d; c += 16) {
            const bf16_t *pi = p + (size_t)i * ldp;
            float *oi = O + (size_t)i * ldo + c;
            switch (nq - i < 4 ? nq - i : 4) {
            case 1: pv_rows_bf(1, pi, ldp, vp + 2 * c, d, nkeys, oi, ldo); break;
            case 2: pv_rows_bf(2, pi, ldp, vp + 2 * c, d, nkeys, oi, ldo); break;
            case 3: pv_rows_bf(3, pi, ldp, vp + 2 * c, d, nkeys, oi, ldo); break;
            default: pv_rows_bf(4, pi, ldp, vp + 2 * c, d, nkeys, oi, ldo); break;
            }
        }
}

/* ---- decode scores ---- */

typedef void (*dot_rows_fn)(const float *q, int G, const void *K, size_t ldk, dots_dtype kdt, int n, int d, int rb,
                            float scale, float *s, size_t lds);
static dot_rows_fn g_dot_rows_below; /* the plain NEON slot: f32 precision or f32 K */

/* s[g,j] = scale * q[g,:] . K[j,:], q as bf16 rows qb[g][d] (d % 8 == 0) */
BF16_INL void dot_rows_bf_T(const int G, const bf16_t *qb, const bf16_t *K, size_t ldk, int n, int d, float scale,
                            float *s, size_t lds) {
    for (int j = 0; j < n; j++) {
        const bf16_t *k = K + (size_t)j * ldk;
        float32x4_t a0[DEC_G], a1[DEC_G];
        UNROLL
        for (int g = 0; g < DEC_G; g++) a0[g] = a1[g] = vdupq_n_f32(0);
        int c = 0;
        for (; c + 16 <= d; c += 16) {
            bfloat16x8_t k0 = ld_bf(k + c), k1 = ld_bf(k + c + 8);
            UNROLL
            for (int g = 0; g < G; g++) {
                a0[g] = vbfdotq_f32(a0[g], k0, ld_bf(qb + (size_t)g * d + c));
                a1[g] = vbfdotq_f32(a1[g], k1, ld_bf(qb + (size_t)g * d + c + 8));
            }
        }
        if (c < d) { /* d % 16 == 8 */
            bfloat16x8_t k0 = ld_bf(k + c);
            UNROLL
            for (int g = 0; g < G; g++) a0[g] = vbfdotq_f32(a0[g], k0, ld_bf(qb + (size_t)g * d + c));
        }
        UNROLL
        for (int g = 0; g < G; g++) s[g * lds + j] = vaddvq_f32(vaddq_f32(a0[g], a1[g])) * scale;
    }
}

BF16_FN void dot_rows_bf(const float *q, int G, const void *K, size_t ldk, dots_dtype kdt, int n, int d, int rb,
                         float scale, float *s, size_t lds) {
    if (kdt != DT_BF16 || !rb || d % 8 || d > 1024 || G > DEC_G) {
        g_dot_rows_below(q, G, K, ldk, kdt, n, d, rb, scale, s, lds);
        return;
    }
    bf16_t qb[DEC_G * 1024]; /* q is bf16-exact here (rb: the caller rounded it) */
    for (size_t i = 0; i < (size_t)G * d; i++) qb[i] = f32_to_bf16(q[i]);
    switch (G) {
    case 1: dot_rows_bf_T(1, qb, K, ldk, n, d, scale, s, lds); break;
    case 2: dot_rows_bf_T(2, qb, K, ldk, n, d, scale, s, lds); break;
    case 3: dot_rows_bf_T(3, qb, K, ldk, n, d, scale, s, lds); break;
    case 4: dot_rows_bf_T(4, qb, K, ldk, n, d, scale, s, lds); break;
    case 5: dot_rows_bf_T(5, qb, K, ldk, n, d, scale, s, lds); break;
    default: dot_rows_bf_T(6, qb, K, ldk, n, d, scale, s, lds); break;
    }
}

void kops_fill_attn_neon_bf16(kern_ops *o) {
    o->qk[1] = qk_bf16;
    o->pv[1] = pv_bf16;
    g_dot_rows_below = o->dot_rows;
    o->dot_rows = dot_rows_bf;
}

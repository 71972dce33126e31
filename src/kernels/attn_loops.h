/* Attention tile pieces in f32 as plain loops that compilers vectorize (the
 * innermost loop runs over 16 keys or over head dims, contiguous, no sums
 * across lanes). Included by generic.c and attn_neon.c, so each gets them
 * compiled for its own ISA. Layouts: attention.c. */
#ifndef DOTS_ATTN_LOOPS_H
#define DOTS_ATTN_LOOPS_H
#include "kernels/kern_impl.h"

/* S[i, 16b + l] = scale * sum_c Q[i,c] Kp[b][c][l] */
static void qk_f32_loops(const void *Q, int ldq, int nq, const void *Kp, int nblk, int d, float *S, int lds,
                         float scale) {
    const float *q = Q, *kp = Kp;
    for (int i = 0; i < nq; i++)
        for (int b = 0; b < nblk; b++) {
            float acc[ATT_KB] = {0};
            const float *kb = kp + (size_t)b * ATT_KB * d;
            for (int c = 0; c < d; c++) {
                float qc = q[(size_t)i * ldq + c];
                for (int l = 0; l < ATT_KB; l++) acc[l] += qc * kb[c * ATT_KB + l];
            }
            for (int l = 0; l < ATT_KB; l++) S[(size_t)i * lds + b * ATT_KB + l] = acc[l] * scale;
        }
}

/* O[i, c] += sum_j P[i,j] V[j,c] */
static void pv_f32_loops(const void *P, int ldp, int nq, const void *V, size_t ldv, int nkeys, int d, float *O,
                         int ldo) {
    const float *p = P, *v = V;
    for (int i = 0; i < nq; i++) {
        float *restrict o = O + (size_t)i * ldo;
        for (int j = 0; j < nkeys; j++) {
            float pj = p[(size_t)i * ldp + j];
            const float *restrict vr = v + j * ldv;
            if (pj == 0) continue;
            for (int c = 0; c < d; c++) o[c] += pj * vr[c];
        }
    }
}

#endif

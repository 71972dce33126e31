/* NEON GEMM (arm64): F32, F16 (fcvtl) and BF16 (shift) weights widened to f32.
 *  - Packed path (M >= PK_MIN_M, see kern_impl.h pk_*): slivers of 8 weight rows
 *    are widened and transposed once per panel to Bp[k][8] (4x4 register
 *    transposes), and an 8x8 outer-product kernel runs over them: 16 q-register
 *    accumulators, A read 4 k at a time per row (8 registers) and used by lane,
 *    2 B loads per k: per 4 k, 8 + 8 loads for 64 FMLAs (4 flops x 2 each).
 *  - Tiles (small M, GEMV): 2 activation rows x 4 weight rows of 4-lane
 *    accumulators along K in two banks, weights read in place: 8 FMLA chains
 *    in flight for GEMV, and one summation order for every M < PK_MIN_M (a 4-row
 *    tile would need 32 accumulators for that order). */
#include <arm_neon.h>
#include "kernels/kern_impl.h"
#include "kernels/vec_neon.h"

#define load4_w load4_dt_neon

/* MRc (1 or 2) and dt are compile-time constants in each instance. Two banks of
 * accumulators (k % 8 < 4, k % 8 >= 4) keep 8 FMLA chains going; the same order
 * for both MRc, so a row's bits do not depend on M (kernels.h). */
AINL void tile_T(const int MRc, const dots_dtype dt, const float *A, size_t lda, const void *W, size_t ldw, int nr,
                 int kc, float *C, size_t ldc, int accumulate, const float *bias) {
    size_t wo[4];
    UNROLL
    for (int j = 0; j < 4; j++) wo[j] = (size_t)(j < nr ? j : 0) * ldw; /* missing rows repeat row 0 */
    float32x4_t c[2][4], c2[2][4];
    UNROLL
    for (int i = 0; i < 2; i++)
        UNROLL
        for (int j = 0; j < 4; j++) c[i][j] = c2[i][j] = vdupq_n_f32(0);
    int k = 0;
    for (; k + 8 <= kc; k += 8) {
        float32x4_t b[4], b2[4];
        UNROLL
        for (int j = 0; j < 4; j++) load8_dt_neon(W, dt, wo[j] + k, &b[j], &b2[j]);
        UNROLL
        for (int i = 0; i < MRc; i++) {
            float32x4_t av = vld1q_f32(A + i * lda + k), av2 = vld1q_f32(A + i * lda + k + 4);
            UNROLL
            for (int j = 0; j < 4; j++) {
                c[i][j] = vfmaq_f32(c[i][j], av, b[j]);
                c2[i][j] = vfmaq_f32(c2[i][j], av2, b2[j]);
            }
        }
    }
    for (; k + 4 <= kc; k += 4) {
        float32x4_t b[4];
        UNROLL
        for (int j = 0; j < 4; j++) b[j] = load4_w(W, dt, wo[j] + k);
        UNROLL
        for (int i = 0; i < MRc; i++) {
            float32x4_t av = vld1q_f32(A + i * lda + k);
            UNROLL
            for (int j = 0; j < 4; j++) c[i][j] = vfmaq_f32(c[i][j], av, b[j]);
        }
    }
    /* sums across lanes with constant indices first: a runtime index into c[][]
     * would keep the accumulators in memory for the whole loop */
    float t[2][4];
    UNROLL
    for (int i = 0; i < MRc; i++)
        UNROLL
        for (int j = 0; j < 4; j++) t[i][j] = vaddvq_f32(vaddq_f32(c[i][j], c2[i][j]));
    for (int i = 0; i < MRc; i++)
        for (int j = 0; j < nr; j++) {
            float s = t[i][j];
            for (int kk = k; kk < kc; kk++) s += A[i * lda + kk] * kern_w_at(W, dt, wo[j] + kk); /* K tail */
            if (bias) s += bias[j];
            C[i * ldc + j] = accumulate ? C[i * ldc + j] + s : s;
        }
}

#define TILE_FN(name, dt) \
    static void name(const void *A, size_t lda, int mr, const void *W, size_t ldw, int nr, int kc, float *C, \
                     size_t ldc, int acc, const float *bias) { \
        if (mr == 1) tile_T(1, dt, A, lda, W, ldw, nr, kc, C, ldc, acc, bias); \
        else tile_T(2, dt, A, lda, W, ldw, nr, kc, C, ldc, acc, bias); \
    }
TILE_FN(tile_f32, DT_F32)
TILE_FN(tile_f16, DT_F16)
TILE_FN(tile_bf16w, DT_BF16)

/* ---- packed path ---- */
#define PMR 8
#define PNR 8
#define PK_MIN_M 16 /* as on AVX2; not measured on arm64 hardware (none here) */

/* r[0..3] (4 rows of 4) -> transposed in place */
AINL void transpose4(float32x4_t r[4]) {
    float32x4_t t0 = vtrn1q_f32(r[0], r[1]), t1 = vtrn2q_f32(r[0], r[1]);
    float32x4_t t2 = vtrn1q_f32(r[2], r[3]), t3 = vtrn2q_f32(r[2], r[3]);
    r[0] = vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(t0), vreinterpretq_f64_f32(t2)));
    r[1] = vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(t1), vreinterpretq_f64_f32(t3)));
    r[2] = vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(t0), vreinterpretq_f64_f32(t2)));
    r[3] = vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(t1), vreinterpretq_f64_f32(t3)));
}

/* Bp[k][8] = W[j][k] for j < nr (0 for nr <= j < 8), k < kc. */
AINL void pack_T(const dots_dtype dt, const void *W, size_t ldw, int nr, int kc, float *Bp) {
    for (int g = 0; g < PNR; g += 4) {
        int live = nr - g; /* rows of this group that exist */
        size_t wo[4];
        UNROLL
        for (int j = 0; j < 4; j++) wo[j] = (size_t)(g + (j < live ? j : 0)) * ldw;
        if (live <= 0) {
            for (int k = 0; k < kc; k++) vst1q_f32(Bp + (size_t)k * PNR + g, vdupq_n_f32(0));
            continue;
        }
        int k = 0;
        for (; k + 4 <= kc; k += 4) {
            float32x4_t r[4];
            UNROLL
            for (int j = 0; j < 4; j++) r[j] = j < live ? load4_w(W, dt, wo[j] + k) : vdupq_n_f32(0);
            transpose4(r);
            UNROLL
            for (int i = 0; i < 4; i++) vst1q_f32(Bp + (size_t)(k + i) * PNR + g, r[i]);
        }
        for (; k < kc; k++) /* K tail */
            UNROLL
            for (int j = 0; j < 4; j++) Bp[(size_t)k * PNR + g + j] = j < live ? kern_w_at(W, dt, wo[j] + k) : 0.0f;
    }
}

static void pk_pack(const void *W, dots_dtype wdt, size_t ldw, int nr, int kc, float *Bp) {
    if (wdt == DT_BF16) pack_T(DT_BF16, W, ldw, nr, kc, Bp);
    else if (wdt == DT_F16) pack_T(DT_F16, W, ldw, nr, kc, Bp);
    else pack_T(DT_F32, W, ldw, nr, kc, Bp);
}

AINL void store_row(float *ci, float32x4_t r0, float32x4_t r1, float32x4_t bv0, float32x4_t bv1, int nr,
                    int accumulate) {
    r0 = vaddq_f32(r0, bv0);
    r1 = vaddq_f32(r1, bv1);
    if (nr == PNR) {
        if (accumulate) { r0 = vaddq_f32(r0, vld1q_f32(ci)); r1 = vaddq_f32(r1, vld1q_f32(ci + 4)); }
        vst1q_f32(ci, r0);
        vst1q_f32(ci + 4, r1);
        return;
    }
    float t[PNR]; /* N tail: nothing written past column nr */
    vst1q_f32(t, r0);
    vst1q_f32(t + 4, r1);
    for (int j = 0; j < nr; j++) ci[j] = accumulate ? ci[j] + t[j] : t[j];
}

/* One k step (A lane p of this 4-k group) of all 8 rows */
#define PK_STEP(p) \
    { \
        const float *b = Bp + (size_t)(k + p) * PNR; \
        float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4); \
        UNROLL \
        for (int i = 0; i < PMR; i++) { \
            c0[i] = vfmaq_laneq_f32(c0[i], b0, av[i], p); \
            c1[i] = vfmaq_laneq_f32(c1[i], b1, av[i], p); \
        } \
    }

/* C[8,8] (= or +=) A[8,kc] Bp[kc,8]; rows past mr read row 0 and are not stored. */
static void pk_kernel(const float *A, size_t lda, int mr, const float *Bp, int kc, float *C, size_t ldc, int nr,
                      int accumulate, const float *bias, const char *pf, int npf) {
    (void)pf; (void)npf; /* A is read in place here: the driver prefetches its rows */
    const float *a[PMR];
    UNROLL
    for (int i = 0; i < PMR; i++) a[i] = A + (i < mr ? (size_t)i * lda : 0);
    float32x4_t c0[PMR], c1[PMR];
    UNROLL
    for (int i = 0; i < PMR; i++) c0[i] = c1[i] = vdupq_n_f32(0);
    int k = 0;
    for (; k + 4 <= kc; k += 4) {
        float32x4_t av[PMR];
        UNROLL
        for (int i = 0; i < PMR; i++) av[i] = vld1q_f32(a[i] + k);
        PK_STEP(0) PK_STEP(1) PK_STEP(2) PK_STEP(3)
    }
    for (; k < kc; k++) { /* K tail */
        const float *b = Bp + (size_t)k * PNR;
        float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
        UNROLL
        for (int i = 0; i < PMR; i++) {
            c0[i] = vfmaq_n_f32(c0[i], b0, a[i][k]);
            c1[i] = vfmaq_n_f32(c1[i], b1, a[i][k]);
        }
    }
    float32x4_t bv0 = vdupq_n_f32(0), bv1 = bv0;
    if (bias) {
        float tb[PNR];
        for (int j = 0; j < PNR; j++) tb[j] = j < nr ? bias[j] : 0.0f;
        bv0 = vld1q_f32(tb); bv1 = vld1q_f32(tb + 4);
    }
    UNROLL
    for (int i = 0; i < PMR; i++)
        if (i < mr) store_row(C + (size_t)i * ldc, c0[i], c1[i], bv0, bv1, nr, accumulate);
}
#undef PK_STEP

void kops_fill_neon(kern_ops *o) {
    o->tile[DT_F32] = tile_f32; o->act[DT_F32] = ACT_F32;
    o->tile[DT_F16] = tile_f16; o->act[DT_F16] = ACT_F32;
    o->tile[DT_BF16] = tile_bf16w; o->act[DT_BF16] = ACT_F32_RBF16;
    /* mr 2: see the tile (kernels.h: row exactness) */
    for (int i = 0; i < 3; i++) { o->mr[i] = 2; o->nr[i] = 4; }
    o->pk = (pk_ops){pk_pack, pk_kernel, NULL, PMR, PNR, PK_MIN_M, 0, 0};
    kops_fill_attn_neon(o);
    kops_fill_vec_neon(o);
}

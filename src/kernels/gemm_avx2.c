/* AVX2 + FMA GEMM (CPUs without AVX-512): F32, F16 (F16C) and BF16 weights by
 * widening to f32.
 *  - Packed path (M >= PK_MIN_M, see kern_impl.h): weight slivers of 16 rows are
 *    widened and transposed once per panel to Bp[k][16] (8x8 register
 *    transposes), and a 6x16 outer-product kernel (12 ymm accumulators, 2 weight
 *    vectors, 1 broadcast) runs over them: 2 loads + 6 broadcasts per 12 FMAs.
 *  - Tiles (small M, GEMV): 4 activation rows x 3 weight rows of 8-lane
 *    accumulators along K (15 of the 16 ymm registers), weights read in place. */
#include <immintrin.h>
#include <stdint.h>
#include "kernels/kern_impl.h"
#include "kernels/simd_avx2.h"
#define NR 3

AINL __m256 load8_w(const void *w, dots_dtype dt, size_t i) {
    if (dt == DT_F32) return _mm256_loadu_ps((const float *)w + i);
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)w + i));
    if (dt == DT_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

AINL float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AINL void tile_T(const int MRc, const dots_dtype dt, const float *A, size_t lda, const void *W, size_t ldw, int nr,
                 int kc, float *C, size_t ldc, int accumulate, const float *bias) {
    size_t wo[NR];
    for (int j = 0; j < NR; j++) wo[j] = (size_t)(j < nr ? j : 0) * ldw; /* missing rows repeat row 0 */
    __m256 c[4][NR];
    for (int i = 0; i < MRc; i++)
        for (int j = 0; j < NR; j++) c[i][j] = _mm256_setzero_ps();
    int k = 0;
    for (; k + 8 <= kc; k += 8) {
        __m256 b[NR];
#pragma GCC unroll 3
        for (int j = 0; j < NR; j++) b[j] = load8_w(W, dt, wo[j] + k);
#pragma GCC unroll 4
        for (int i = 0; i < MRc; i++) {
            __m256 av = _mm256_loadu_ps(A + i * lda + k);
#pragma GCC unroll 3
            for (int j = 0; j < NR; j++) c[i][j] = _mm256_fmadd_ps(av, b[j], c[i][j]);
        }
    }
    for (int i = 0; i < MRc; i++)
        for (int j = 0; j < nr; j++) {
            float s = hsum8(c[i][j]);
            for (int kk = k; kk < kc; kk++) s += A[i * lda + kk] * kern_w_at(W, dt, wo[j] + kk); /* K tail */
            if (bias) s += bias[j];
            C[i * ldc + j] = accumulate ? C[i * ldc + j] + s : s;
        }
}

GEMM_TILE_BY_MR(tile_f32, DT_F32)
GEMM_TILE_BY_MR(tile_f16, DT_F16)
GEMM_TILE_BY_MR(tile_bf16w, DT_BF16)

/* ---- GEMV (one activation row): 4 weight rows, each its own DRAM stream ---- */
#define GEMV_PF 1024 /* prefetch distance along each weight row, in elements */

/* C[0, j] (= or +=) sum_k A[k] W[j, k] (+ bias[j]), j < nr <= 4. Row-exact with
 * tile_T (kernels.h: k_linear_row_exact_rows): one 8-lane accumulator per weight
 * row fed in k order, the same K tail, hsum8, bias and accumulate, so a decode
 * row gets the bits it would get in a batch of up to PK_MIN_M - 1 rows. The loop
 * takes 16 k per step (2 dependent FMAs per row, 4 rows in flight): still far
 * more FMA rate than the DRAM stream needs. */
AINL void gemv4_T(const dots_dtype dt, const float *A, const void *W, size_t ldw, int nr, int kc, float *C,
                  int accumulate, const float *bias) {
    size_t w0 = 0, w1 = (size_t)(nr > 1) * ldw, w2 = (size_t)(nr > 2) * 2 * ldw, w3 = (size_t)(nr > 3) * 3 * ldw;
    size_t es = dt == DT_F32 ? 4 : 2;
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
    int k = 0;
    for (; k + 16 <= kc; k += 16) {
        const char *wb = (const char *)W;
        _mm_prefetch(wb + (w0 + k + GEMV_PF) * es, _MM_HINT_T0);
        _mm_prefetch(wb + (w1 + k + GEMV_PF) * es, _MM_HINT_T0);
        _mm_prefetch(wb + (w2 + k + GEMV_PF) * es, _MM_HINT_T0);
        _mm_prefetch(wb + (w3 + k + GEMV_PF) * es, _MM_HINT_T0);
        __m256 a0 = _mm256_loadu_ps(A + k), a1 = _mm256_loadu_ps(A + k + 8);
        c0 = _mm256_fmadd_ps(a0, load8_w(W, dt, w0 + k), c0); c1 = _mm256_fmadd_ps(a0, load8_w(W, dt, w1 + k), c1);
        c2 = _mm256_fmadd_ps(a0, load8_w(W, dt, w2 + k), c2); c3 = _mm256_fmadd_ps(a0, load8_w(W, dt, w3 + k), c3);
        c0 = _mm256_fmadd_ps(a1, load8_w(W, dt, w0 + k + 8), c0); c1 = _mm256_fmadd_ps(a1, load8_w(W, dt, w1 + k + 8), c1);
        c2 = _mm256_fmadd_ps(a1, load8_w(W, dt, w2 + k + 8), c2); c3 = _mm256_fmadd_ps(a1, load8_w(W, dt, w3 + k + 8), c3);
    }
    if (k + 8 <= kc) { /* the tile's last full 8 */
        __m256 a0 = _mm256_loadu_ps(A + k);
        c0 = _mm256_fmadd_ps(a0, load8_w(W, dt, w0 + k), c0); c1 = _mm256_fmadd_ps(a0, load8_w(W, dt, w1 + k), c1);
        c2 = _mm256_fmadd_ps(a0, load8_w(W, dt, w2 + k), c2); c3 = _mm256_fmadd_ps(a0, load8_w(W, dt, w3 + k), c3);
        k += 8;
    }
    float s[4] = {hsum8(c0), hsum8(c1), hsum8(c2), hsum8(c3)};
    size_t wo[4] = {w0, w1, w2, w3};
    for (int j = 0; j < nr; j++) {
        for (int kk = k; kk < kc; kk++) s[j] += A[kk] * kern_w_at(W, dt, wo[j] + kk); /* K tail */
        if (bias) s[j] += bias[j];
        C[j] = accumulate ? C[j] + s[j] : s[j];
    }
}

#define GEMV_FN(name, dt) \
    static void name(const void *A, size_t lda, int mr, const void *W, size_t ldw, int nr, int kc, float *C, \
                     size_t ldc, int acc, const float *bias) { \
        (void)lda; (void)mr; (void)ldc; \
        gemv4_T(dt, A, W, ldw, nr, kc, C, acc, bias); \
    }
GEMV_FN(gemv_f32, DT_F32)
GEMV_FN(gemv_f16, DT_F16)
GEMV_FN(gemv_bf16w, DT_BF16)

/* ---- packed path ---- */
#define PMR 6
#define PNR 16
#define PF_EVERY 4 /* k steps per prefetched line of the next group's A */
#define PK_MIN_M 16 /* below this, converting a panel (1 per 2M flops) costs more than it saves; not tuned */

/* Bp[k][pnr] = W[j][k] for j < nr (0 for nr <= j < pnr), k < kc; pnr a multiple of 8. */
AINL void pack_T(const dots_dtype dt, const int pnr, const void *W, size_t ldw, int nr, int kc, float *Bp) {
    for (int g = 0; g < pnr; g += 8) {
        size_t wo[8];
        int live = nr - g; /* rows of this group that exist */
        for (int j = 0; j < 8; j++) wo[j] = (size_t)(g + (j < live ? j : 0)) * ldw;
        if (live <= 0) {
            for (int k = 0; k < kc; k++) _mm256_storeu_ps(Bp + (size_t)k * pnr + g, _mm256_setzero_ps());
            continue;
        }
        int k = 0;
        for (; k + 8 <= kc; k += 8) {
            __m256 r[8];
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) r[j] = j < live ? load8_w(W, dt, wo[j] + k) : _mm256_setzero_ps();
            transpose8(r);
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) _mm256_storeu_ps(Bp + (size_t)(k + i) * pnr + g, r[i]);
        }
        for (; k < kc; k++) /* K tail */
            for (int j = 0; j < 8; j++) Bp[(size_t)k * pnr + g + j] = j < live ? kern_w_at(W, dt, wo[j] + k) : 0.0f;
    }
}

#define PACK_FN(name, pnr) \
    void name(const void *W, dots_dtype wdt, size_t ldw, int nr, int kc, float *Bp) { \
        if (wdt == DT_BF16) pack_T(DT_BF16, pnr, W, ldw, nr, kc, Bp); \
        else if (wdt == DT_F16) pack_T(DT_F16, pnr, W, ldw, nr, kc, Bp); \
        else pack_T(DT_F32, pnr, W, ldw, nr, kc, Bp); \
    }
static PACK_FN(pk_pack, PNR)
PACK_FN(pk_pack32_avx2, 32) /* the avx512 level's panels (kern_impl.h) */

/* A block for the kernel (kern_impl.h pk_apack_fn): 6 rows x 8 k per step,
 * rounded in registers, transposed with 2 zero rows, and stored 6 floats per k
 * (8-wide stores that the next k's store overlaps; the last one is split). */
static void pk_apack(const float *x, size_t ldx, int rows, int kc, int rbf16, float *dst) {
    int k = 0;
    for (; k + 8 <= kc; k += 8) {
        __m256 r[8];
        for (int i = 0; i < 8; i++) {
            r[i] = i < rows && i < PMR ? _mm256_loadu_ps(x + i * ldx + k) : _mm256_setzero_ps();
            if (rbf16) r[i] = round8(r[i]);
        }
        transpose8(r);
        float *d = dst + (size_t)k * PMR;
        for (int t = 0; t < 7; t++) _mm256_storeu_ps(d + t * PMR, r[t]);
        _mm_storeu_ps(d + 7 * PMR, _mm256_castps256_ps128(r[7]));
        _mm_storel_pi((__m64 *)(d + 7 * PMR + 4), _mm256_extractf128_ps(r[7], 1));
    }
    for (; k < kc; k++) /* K tail */
        for (int i = 0; i < PMR; i++) {
            float v = i < rows ? x[i * ldx + k] : 0.0f;
            dst[(size_t)k * PMR + i] = rbf16 ? bf16_to_f32(f32_to_bf16(v)) : v;
        }
}

/* One row of the 6x16 block: named accumulators (an array of __m256 makes GCC
 * keep them in memory). */
#define ROW_FMA(i) do { __m256 av = _mm256_broadcast_ss(a##i + k); \
        c##i##0 = _mm256_fmadd_ps(av, b0, c##i##0); c##i##1 = _mm256_fmadd_ps(av, b1, c##i##1); } while (0)

AINL void store_row(float *ci, __m256 r0, __m256 r1, __m256 bv0, __m256 bv1, int nr, int accumulate) {
    r0 = _mm256_add_ps(r0, bv0);
    r1 = _mm256_add_ps(r1, bv1);
    if (nr == PNR) {
        if (accumulate) { r0 = _mm256_add_ps(r0, _mm256_loadu_ps(ci)); r1 = _mm256_add_ps(r1, _mm256_loadu_ps(ci + 8)); }
        _mm256_storeu_ps(ci, r0);
        _mm256_storeu_ps(ci + 8, r1);
        return;
    }
    float t[PNR]; /* N tail: nothing written past column nr */
    _mm256_storeu_ps(t, r0);
    _mm256_storeu_ps(t + 8, r1);
    for (int j = 0; j < nr; j++) ci[j] = accumulate ? ci[j] + t[j] : t[j];
}

/* C[6,16] (= or +=) A[6,kc] Bp[kc,16], A packed as [kc][6] (kern_impl.h
 * pk_apack: rows past mr are zero there and are not stored). */
static void pk_kernel(const float *A, size_t lda, int mr, const float *Bp, int kc, float *C, size_t ldc, int nr,
                      int accumulate, const float *bias, const char *pf, int npf) {
    (void)lda;
    if (accumulate) /* C is read back only after the K loop: ask for it now (it may have left L2 since the last chunk) */
        for (int i = 0; i < mr; i++) {
            _mm_prefetch((const char *)(C + i * ldc), _MM_HINT_T0);
            _mm_prefetch((const char *)(C + i * ldc + PNR - 1), _MM_HINT_T0);
        }
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const float *a0 = A, *a1 = A + 1, *a2 = A + 2, *a3 = A + 3, *a4 = A + 4, *a5 = A + 5;
    /* at most one prefetch per PF_EVERY k: a burst of them fills the L1 miss buffers and stalls */
    int k = 0, kend = kc * PMR;
    for (; npf > 0 && k + PF_EVERY * PMR <= kend; npf--, pf += 64) {
        _mm_prefetch(pf, _MM_HINT_T0);
        for (int e = k + PF_EVERY * PMR; k < e; k += PMR, Bp += PNR) {
            __m256 b0 = _mm256_loadu_ps(Bp), b1 = _mm256_loadu_ps(Bp + 8);
            ROW_FMA(0); ROW_FMA(1); ROW_FMA(2); ROW_FMA(3); ROW_FMA(4); ROW_FMA(5);
        }
    }
    for (; k < kend; k += PMR, Bp += PNR) {
        __m256 b0 = _mm256_loadu_ps(Bp), b1 = _mm256_loadu_ps(Bp + 8);
        ROW_FMA(0); ROW_FMA(1); ROW_FMA(2); ROW_FMA(3); ROW_FMA(4); ROW_FMA(5);
    }
    __m256 bv0 = _mm256_setzero_ps(), bv1 = bv0;
    if (bias) {
        float tb[PNR];
        for (int j = 0; j < PNR; j++) tb[j] = j < nr ? bias[j] : 0.0f;
        bv0 = _mm256_loadu_ps(tb); bv1 = _mm256_loadu_ps(tb + 8);
    }
    store_row(C, c00, c01, bv0, bv1, nr, accumulate);
    if (mr > 1) store_row(C + ldc, c10, c11, bv0, bv1, nr, accumulate);
    if (mr > 2) store_row(C + 2 * ldc, c20, c21, bv0, bv1, nr, accumulate);
    if (mr > 3) store_row(C + 3 * ldc, c30, c31, bv0, bv1, nr, accumulate);
    if (mr > 4) store_row(C + 4 * ldc, c40, c41, bv0, bv1, nr, accumulate);
    if (mr > 5) store_row(C + 5 * ldc, c50, c51, bv0, bv1, nr, accumulate);
}

void kops_fill_avx2(kern_ops *o) {
    o->tile[DT_F32] = tile_f32; o->act[DT_F32] = ACT_F32;
    o->tile[DT_F16] = tile_f16; o->act[DT_F16] = ACT_F32;
    o->tile[DT_BF16] = tile_bf16w; o->act[DT_BF16] = ACT_F32_RBF16;
    for (int i = 0; i < 3; i++) { o->mr[i] = 4; o->nr[i] = NR; }
    o->gemv4[DT_F32] = gemv_f32; o->gemv4[DT_F16] = gemv_f16; o->gemv4[DT_BF16] = gemv_bf16w;
    o->pk = (pk_ops){pk_pack, pk_kernel, pk_apack, PMR, PNR, PK_MIN_M, 0, 0};
    kops_fill_attn_avx2(o);
    kops_fill_vec_avx2(o);
}

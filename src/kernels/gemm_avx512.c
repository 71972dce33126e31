/* AVX-512 GEMM for F32, F16 (vcvtph2ps) and BF16-by-widening weights:
 *  - Packed path (M >= PK_MIN_M, kern_impl.h): a 12 x 32 outer-product kernel
 *    over Bp[k][32] (gemm_avx2.c's pack at 32 columns) and A packed [kc][12]:
 *    per k, 2 weight vectors and 12 broadcasts for 24 FMAs into 24 zmm
 *    accumulators. It had been the AVX2 level's 6 x 16 ymm kernel (43% of the
 *    zmm FMA peak on Sapphire Rapids).
 *  - Tiles (small M, GEMV): 4 activation rows x 4 weight rows of 16-lane f32
 *    accumulators along K. */
#include "kernels/simd_avx512.h"
#include "kernels/simd_avx2.h"

/* MRc (1..4) and dt are compile-time constants in each instantiation. */
AINL void tile_T(const int MRc, const dots_dtype dt, const float *A, size_t lda, const void *W, size_t ldw, int nr,
                 int kc, float *C, size_t ldc, int accumulate, const float *bias) {
    size_t wo[4];
    const float *a[4];
    for (int j = 0; j < 4; j++) wo[j] = (size_t)(j < nr ? j : 0) * ldw; /* missing rows repeat row 0 */
    for (int i = 0; i < 4; i++) a[i] = A + (i < MRc ? i : 0) * lda;
    __m512 c[16];
    for (int i = 0; i < 16; i++) c[i] = _mm512_setzero_ps();
    for (int k = 0; k < kc; k += 16) {
        /* full vectors, then one masked tail (a constant mask lets loads fold into the FMAs) */
        __mmask16 m = tailmask((size_t)(kc - k));
        if (m == 0xffff) {
            __m512 b[4];
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) b[j] = load16_w(W, dt, wo[j] + k, 0xffff);
                if (MRc <= 2) /* weight streaming (GEMV): each row's stream goes on into the next rows */
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++)
                    _mm_prefetch((const char *)W + (wo[j] + k) * (dt == DT_F32 ? 4 : 2) + 2048, _MM_HINT_T1);
#pragma GCC unroll 4
            for (int i = 0; i < MRc; i++) {
                __m512 av = _mm512_loadu_ps(a[i] + k);
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++) c[4 * i + j] = _mm512_fmadd_ps(av, b[j], c[4 * i + j]);
            }
            continue;
        }
        __m512 b[4];
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) b[j] = load16_w(W, dt, wo[j] + k, m);
#pragma GCC unroll 4
        for (int i = 0; i < MRc; i++) {
            __m512 av = _mm512_maskz_loadu_ps(m, a[i] + k);
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) c[4 * i + j] = _mm512_fmadd_ps(av, b[j], c[4 * i + j]);
        }
    }
    store_tile4x4(hsum16(c), MRc, nr, C, ldc, accumulate, bias);
}

GEMM_TILE_BY_MR(tile_f32, DT_F32)
GEMM_TILE_BY_MR(tile_f16, DT_F16)
GEMM_TILE_BY_MR(tile_bf16w, DT_BF16)

/* ---- packed path ----
 * Each output is the AVX2 packed kernel's chain: FMAs over the chunk's k from 0,
 * then + bias (0 without), then + C for chunks after the first; the K chunks
 * and PK_MIN_M are the driver's and gemm_avx2.c's, so both levels give the same
 * bits (test_kernels_linear compares them). */
#define PMR 12
#define PNR 32
#define PK_MIN_M 16 /* gemm_avx2.c's boundary: the same rows take the packed path */
#define PF_EVERY 4  /* k steps per prefetched line of the next group's A */

/* One A block (kern_impl.h pk_apack_fn): per 8 k, rows 0-7 and 8-11 (+4 zero)
 * by 8x8 register transposes (rounded to bf16 first if rbf16), 12 floats per k. */
static void pk_apack(const float *x, size_t ldx, int rows, int kc, int rbf16, float *dst) {
    int k = 0;
    for (; k + 8 <= kc; k += 8)
        for (int g = 0; g < PMR; g += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++) {
                int row = g + i;
                r[i] = row < rows && row < PMR ? _mm256_loadu_ps(x + (size_t)row * ldx + k) : _mm256_setzero_ps();
                if (rbf16) r[i] = round8(r[i]);
            }
            transpose8(r);
            __mmask8 m = g + 8 <= PMR ? (__mmask8)0xff : (__mmask8)((1u << (PMR - g)) - 1);
            float *d = dst + (size_t)k * PMR + g;
            for (int t = 0; t < 8; t++) _mm256_mask_storeu_ps(d + t * PMR, m, r[t]);
        }
    for (; k < kc; k++) /* K tail */
        for (int i = 0; i < PMR; i++) {
            float v = i < rows ? x[(size_t)i * ldx + k] : 0.0f;
            dst[(size_t)k * PMR + i] = rbf16 ? bf16_to_f32(f32_to_bf16(v)) : v;
        }
}

/* Named accumulators per row (an array of vectors makes GCC keep them in memory). */
#define ROWS12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define ACC_DECL(i) __m512 c##i##0 = _mm512_setzero_ps(), c##i##1 = c##i##0;
#define ACC_FMA(i) { __m512 av = _mm512_set1_ps(A[i]); \
        c##i##0 = _mm512_fmadd_ps(av, b0, c##i##0); c##i##1 = _mm512_fmadd_ps(av, b1, c##i##1); }
#define ACC_STORE(i) if (i < mr) store_row32(C + (size_t)i * ldc, c##i##0, c##i##1, bv0, bv1, m0, m1, accumulate);

/* C[mr,nr] (= or +=) A[12,kc] Bp[kc,32] (+ bias), A packed as [kc][12] with rows
 * past mr zero; nothing is written past row mr or column nr. */
static void pk_kernel(const float *A, size_t lda, int mr, const float *Bp, int kc, float *C, size_t ldc, int nr,
                      int accumulate, const float *bias, const char *pf, int npf) {
    (void)lda;
    if (accumulate) /* C is read back only after the K loop: ask for it now */
        for (int i = 0; i < mr; i++) {
            _mm_prefetch((const char *)(C + i * ldc), _MM_HINT_T0);
            _mm_prefetch((const char *)(C + i * ldc + PNR - 1), _MM_HINT_T0);
        }
    ROWS12(ACC_DECL)
    /* at most one prefetch per PF_EVERY k, as gemm_avx2.c */
    int k = 0;
    for (; npf > 0 && k + PF_EVERY <= kc; npf--, pf += 64) {
        _mm_prefetch(pf, _MM_HINT_T0);
        for (int e = k + PF_EVERY; k < e; k++, A += PMR, Bp += PNR) {
            __m512 b0 = _mm512_loadu_ps(Bp), b1 = _mm512_loadu_ps(Bp + 16);
            ROWS12(ACC_FMA)
        }
    }
    for (; k < kc; k++, A += PMR, Bp += PNR) {
        __m512 b0 = _mm512_loadu_ps(Bp), b1 = _mm512_loadu_ps(Bp + 16);
        ROWS12(ACC_FMA)
    }
    __mmask16 m0 = tailmask((size_t)nr), m1 = tailmask(nr > 16 ? (size_t)(nr - 16) : 0);
    __m512 bv0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
    __m512 bv1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
    ROWS12(ACC_STORE)
}

void kops_fill_avx512(kern_ops *o) {
    o->tile[DT_F32] = tile_f32; o->act[DT_F32] = ACT_F32;
    o->tile[DT_F16] = tile_f16; o->act[DT_F16] = ACT_F32;
    o->tile[DT_BF16] = tile_bf16w; o->act[DT_BF16] = ACT_F32_RBF16;
    for (int i = 0; i < 3; i++) o->mr[i] = o->nr[i] = 4;
    o->pk = (pk_ops){pk_pack32_avx2, pk_kernel, pk_apack, PMR, PNR, PK_MIN_M, 0, 0};
    kops_fill_vec_avx512(o);
    kops_fill_attn_avx512(o);
}

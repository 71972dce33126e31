/* AVX-512 GEMM tiles for F32, F16 (vcvtph2ps) and BF16-by-widening weights:
 * 4 activation rows x 4 weight rows of 16-lane f32 accumulators along K. */
#include "kernels/simd_avx512.h"

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

void kops_fill_avx512(kern_ops *o) {
    o->tile[DT_F32] = tile_f32; o->act[DT_F32] = ACT_F32;
    o->tile[DT_F16] = tile_f16; o->act[DT_F16] = ACT_F32;
    o->tile[DT_BF16] = tile_bf16w; o->act[DT_BF16] = ACT_F32_RBF16;
    for (int i = 0; i < 3; i++) o->mr[i] = o->nr[i] = 4;
    /* the AVX2 packed path (kept from kops_fill_avx2) still serves M >= pk.min_m for the
     * f32-activation dtypes: measured ~2x these zmm tiles, whose dot products along K
     * end in a horizontal sum per output */
    kops_fill_vec_avx512(o);
    kops_fill_attn_avx512(o);
}

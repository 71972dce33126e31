/* BF16 GEMM tile with vdpbf16ps: 4 activation rows x 4 weight rows of 16-lane
 * accumulators, each a dot product along K (32 bf16 per instruction), then one
 * transpose-and-add tree for all 16 sums. Works on the stored [N, K] weights. */
#include "kernels/simd_avx512.h"

#define PF_AHEAD 1024 /* GEMV prefetch distance in bf16 elements along each weight stream */

AINL __m512bh ldbh(const bf16_t *p) { return (__m512bh)_mm512_loadu_si512(p); }
AINL __m512bh ldbh_m(const bf16_t *p, __mmask32 m) { return (__m512bh)_mm512_maskz_loadu_epi16(m, p); }

/* MRc (1..4) is a compile-time constant in each instantiation below. */
AINL void tile_bf16_T(const int MRc, const bf16_t *A, size_t lda, const bf16_t *W, size_t ldw, int nr, int kc,
                      float *C, size_t ldc, int accumulate, const float *bias) {
    const bf16_t *w[4], *a[4];
    for (int j = 0; j < 4; j++) w[j] = W + (j < nr ? j : 0) * ldw; /* missing rows repeat row 0, not stored */
    for (int i = 0; i < 4; i++) a[i] = A + (i < MRc ? i : 0) * lda;
    __m512 c[16];
    for (int i = 0; i < 16; i++) c[i] = _mm512_setzero_ps();
    int k = 0;
    for (; k + 32 <= kc; k += 32) {
        __m512bh b[4];
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) b[j] = ldbh(w[j] + k);
        if (MRc <= 2) /* weight streaming (GEMV): each row's stream goes on into the next rows */
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) _mm_prefetch((const char *)(w[j] + k + PF_AHEAD), _MM_HINT_T1);
#pragma GCC unroll 4
        for (int i = 0; i < MRc; i++) {
            __m512bh av = ldbh(a[i] + k);
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) c[4 * i + j] = _mm512_dpbf16_ps(c[4 * i + j], av, b[j]);
        }
    }
    if (k < kc) { /* K tail: masked loads read nothing past the row */
        __mmask32 m = (__mmask32)(0xffffffffu >> (32 - (kc - k)));
        __m512bh b[4];
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) b[j] = ldbh_m(w[j] + k, m);
#pragma GCC unroll 4
        for (int i = 0; i < MRc; i++) {
            __m512bh av = ldbh_m(a[i] + k, m);
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) c[4 * i + j] = _mm512_dpbf16_ps(c[4 * i + j], av, b[j]);
        }
    }
    store_tile4x4(hsum16(c), MRc, nr, C, ldc, accumulate, bias);
}

static void tile_bf16(const void *A, size_t lda, int mr, const void *W, size_t ldw, int nr, int kc, float *C,
                      size_t ldc, int accumulate, const float *bias) {
    switch (mr) {
    case 1: tile_bf16_T(1, A, lda, W, ldw, nr, kc, C, ldc, accumulate, bias); break;
    case 2: tile_bf16_T(2, A, lda, W, ldw, nr, kc, C, ldc, accumulate, bias); break;
    case 3: tile_bf16_T(3, A, lda, W, ldw, nr, kc, C, ldc, accumulate, bias); break;
    default: tile_bf16_T(4, A, lda, W, ldw, nr, kc, C, ldc, accumulate, bias); break;
    }
}

void kops_fill_avx512bf16(kern_ops *o) {
    o->tile[DT_BF16] = tile_bf16;
    o->act[DT_BF16] = ACT_BF16;
    o->mr[DT_BF16] = 4;
    o->nr[DT_BF16] = 4;
    kops_fill_attn_avx512bf16(o);
}

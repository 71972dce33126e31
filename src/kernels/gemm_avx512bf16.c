/* BF16 GEMM with vdpbf16ps.
 *  - Tiles (M < PK16_MIN_M, GEMV): 4 activation rows x 4 weight rows of 16-lane
 *    accumulators, each a dot product along K (32 bf16 per instruction), then one
 *    transpose-and-add tree for all 16 sums. Works on the stored [N, K] weights.
 *  - Packed path (M >= PK16_MIN_M, kern_impl.h kern_ops.pk16): a panel's 32-row slivers
 *    are repacked once per K chunk to Bp[k/2][32] pairs of k (one vdpbf16ps
 *    operand holds 16 columns x 2 k), and an 8 x 32 outer-product kernel (16 zmm
 *    accumulators) broadcasts a k pair of each A row: 2 loads + 8 broadcasts per
 *    16 vdpbf16ps, no horizontal sums. On a CPU with full-rate vdpbf16ps (Zen 5)
 *    the tiles are bound by their loads and sums at ~55% of the bf16 peak. */
#include <string.h>
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

/* ---- packed path ---- */
#define PMR16 8
#define PNR16 32
#define PK16_MIN_M 16 /* as the AVX2 packed path: below it the tiles (and row exactness with GEMV) */

AINL uint32_t ld32(const bf16_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* Bp[kp][j] = (W[j][2kp], W[j][2kp + 1]) for j < nr, 0 for nr <= j < 32; an odd
 * kc (the last chunk of an odd K) pairs its last k with 0. Per 16-column half,
 * 8 pairs of 16 rows at a time by one dword transpose; the last < 8 pairs go
 * through zero-padded copies. (The scalar loop of one dword per load/store had
 * been 10-14% of the amx level's GEMM time.) */
static void pk16_pack(const void *Wv, dots_dtype wdt, size_t ldw, int nr, int kc, float *Bpf) {
    (void)wdt;
    const bf16_t *W = Wv;
    char *Bp = (char *)Bpf;
    const size_t ld = PNR16 * 4; /* bytes per pair row */
    int full = kc / 16 * 8, np = (kc + 1) / 2; /* pairs in whole 8-pair blocks; all pairs */
    for (int h = 0; h < PNR16 / 16; h++) {
        int valid = nr - 16 * h < 0 ? 0 : nr - 16 * h > 16 ? 16 : nr - 16 * h;
        __mmask16 vm = (__mmask16)((1u << valid) - 1);
        const bf16_t *row[16];
        const void *src[16];
        for (int r = 0; r < 16; r++) row[r] = W + (size_t)(r < valid ? 16 * h + r : 0) * ldw; /* rows past nr: row 0, masked */
        for (int kp = 0; kp < full; kp += 8) {
            for (int r = 0; r < 16; r++) src[r] = row[r] + 2 * kp;
            transpose16x8_dw(src, vm, _mm512_setzero_si512(), Bp + (size_t)kp * ld + 64 * h, ld);
        }
        if (full < np) { /* the last 1-7 pairs (an odd k with 0) */
            bf16_t tail[16][16];
            char out[8 * 64];
            int n = kc - 2 * full;
            memset(tail, 0, sizeof tail);
            for (int r = 0; r < valid; r++) memcpy(tail[r], row[r] + 2 * full, (size_t)n * sizeof(bf16_t));
            for (int r = 0; r < 16; r++) src[r] = tail[r];
            transpose16x8_dw(src, vm, _mm512_setzero_si512(), out, 64);
            for (int kp = full; kp < np; kp++) memcpy(Bp + (size_t)kp * ld + 64 * h, out + 64 * (kp - full), 64);
        }
    }
}

/* One k pair (k, k + 1) of the 8 x 32 block; last: k is the odd tail, paired with 0. */
AINL void pair_step(__m512 c[PMR16][2], const bf16_t *const a[PMR16], int k, int last, const uint32_t *Bp) {
    __m512bh b0 = (__m512bh)_mm512_loadu_si512(Bp), b1 = (__m512bh)_mm512_loadu_si512(Bp + 16);
#pragma GCC unroll 8
    for (int i = 0; i < PMR16; i++) {
        __m512bh av = (__m512bh)_mm512_set1_epi32((int)(last ? (uint32_t)a[i][k] : ld32(a[i] + k)));
        c[i][0] = _mm512_dpbf16_ps(c[i][0], av, b0);
        c[i][1] = _mm512_dpbf16_ps(c[i][1], av, b1);
    }
}

/* C[8,32] (= or +=) A[8,kc] Bp (+ bias), A bf16 rows lda apart read in place
 * (rows past mr repeat row 0 and are not stored). */
static void pk16_kernel(const float *Af, size_t lda, int mr, const float *Bpf, int kc, float *C, size_t ldc, int nr,
                        int accumulate, const float *bias, const char *pf, int npf) {
    (void)pf; (void)npf;
    const bf16_t *A = (const bf16_t *)Af;
    const uint32_t *Bp = (const uint32_t *)Bpf;
    const bf16_t *a[PMR16];
    for (int i = 0; i < PMR16; i++) a[i] = A + (size_t)(i < mr ? i : 0) * lda;
    __m512 c[PMR16][2];
    for (int i = 0; i < PMR16; i++) c[i][0] = c[i][1] = _mm512_setzero_ps();
    int np = kc / 2;
    for (int kp = 0; kp < np; kp++, Bp += PNR16) pair_step(c, a, 2 * kp, 0, Bp);
    if (kc & 1) pair_step(c, a, kc - 1, 1, Bp); /* odd tail: (A[kc-1], 0) against (W, 0) */
    __mmask16 m0 = tailmask((size_t)nr), m1 = tailmask(nr > 16 ? (size_t)(nr - 16) : 0);
    __m512 bv0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
    __m512 bv1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
    for (int i = 0; i < mr; i++) store_row32(C + (size_t)i * ldc, c[i][0], c[i][1], bv0, bv1, m0, m1, accumulate);
}

void kops_fill_avx512bf16(kern_ops *o) {
    o->pk16 = (pk_ops){pk16_pack, pk16_kernel, NULL, PMR16, PNR16, PK16_MIN_M, 0, 0};
    o->tile[DT_BF16] = tile_bf16;
    o->act[DT_BF16] = ACT_BF16;
    o->mr[DT_BF16] = 4;
    o->nr[DT_BF16] = 4;
    kops_fill_attn_avx512bf16(o);
}

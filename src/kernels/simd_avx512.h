/* AVX-512 helpers shared by the *_avx512*.c files (included only by them,
 * which are compiled with -mavx512f/bw/dq/vl). */
#ifndef DOTS_SIMD_AVX512_H
#define DOTS_SIMD_AVX512_H
#include <immintrin.h>
#include <stdint.h>
#include "kernels/kern_impl.h"

#define AINL static inline __attribute__((always_inline))

/* Lane k of the result = sum of the 16 lanes of v[k]: a transpose-and-add tree
 * (15 adds) instead of 16 separate reductions. The input permutation puts the
 * results in natural order. */
AINL __m512 hsum16(const __m512 v[16]) {
    static const int map[16] = {0, 2, 1, 3, 8, 10, 9, 11, 4, 6, 5, 7, 12, 14, 13, 15};
    __m512 w[16], s1[8], s2[4], s3[2];
    for (int k = 0; k < 16; k++) w[map[k]] = v[k];
    for (int i = 0; i < 8; i++)
        s1[i] = _mm512_add_ps(_mm512_shuffle_f32x4(w[i], w[i + 8], 0x44), _mm512_shuffle_f32x4(w[i], w[i + 8], 0xEE));
    for (int i = 0; i < 4; i++)
        s2[i] = _mm512_add_ps(_mm512_shuffle_f32x4(s1[i], s1[i + 4], 0x88), _mm512_shuffle_f32x4(s1[i], s1[i + 4], 0xDD));
    for (int i = 0; i < 2; i++)
        s3[i] = _mm512_add_ps(_mm512_unpacklo_ps(s2[i], s2[i + 2]), _mm512_unpackhi_ps(s2[i], s2[i + 2]));
    return _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(s3[0]), _mm512_castps_pd(s3[1]))),
                         _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(s3[0]), _mm512_castps_pd(s3[1]))));
}

/* Store the 4x4 results held in r (lane 4i+j = C[i][j]) for i < mr, j < nr. */
AINL void store_tile4x4(__m512 r, int mr, int nr, float *C, size_t ldc, int accumulate, const float *bias) {
    __mmask8 m = (__mmask8)((1u << nr) - 1);
    __m128 b = bias ? _mm_maskz_loadu_ps(m, bias) : _mm_setzero_ps();
    __m128 q[4] = {_mm512_castps512_ps128(r), _mm512_extractf32x4_ps(r, 1), _mm512_extractf32x4_ps(r, 2),
                   _mm512_extractf32x4_ps(r, 3)};
    for (int i = 0; i < mr; i++) {
        __m128 v = _mm_add_ps(q[i], b);
        if (accumulate) v = _mm_add_ps(v, _mm_maskz_loadu_ps(m, C + i * ldc));
        _mm_mask_storeu_ps(C + i * ldc, m, v);
    }
}

/* The first min(left, 16) of 16 lanes. */
AINL __mmask16 tailmask(size_t left) { return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1); }

/* One row of a 32-column block: (r + bias) (+ C when accumulating), stored for the
 * columns that exist (m0: 0..15, m1: 16..31); the packed kernels' common order. */
AINL void store_row32(float *ci, __m512 r0, __m512 r1, __m512 bv0, __m512 bv1, __mmask16 m0, __mmask16 m1,
                      int accumulate) {
    r0 = _mm512_add_ps(r0, bv0);
    r1 = _mm512_add_ps(r1, bv1);
    if (accumulate) {
        r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, ci));
        r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, ci + 16));
    }
    _mm512_mask_storeu_ps(ci, m0, r0);
    _mm512_mask_storeu_ps(ci + 16, m1, r1);
}

/* Load 16 weights of dtype dt (F32/F16/BF16) as f32; masked lanes read nothing. */
AINL __m512 load16_w(const void *w, dots_dtype dt, size_t i, __mmask16 m) {
    if (dt == DT_F32) return _mm512_maskz_loadu_ps(m, (const float *)w + i);
    __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)w + i);
    if (dt == DT_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* f32 -> bf16 bits, nearest even, NaN kept quiet: exactly f32_to_bf16 (the
 * vcvtneps2bf16 instruction would flush denormals, which the contract does not). */
AINL __m256i cvt16_bf16(__m512 x) {
    __m512i u = _mm512_castps_si512(x);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
    __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    r = _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
    return _mm512_cvtepi32_epi16(r);
}

/* exp(x): x = n ln2 + r, |r| <= ln2/2, Taylor to r^7 (relative error < 1e-8
 * before rounding), scaled by 2^n with vscalefps (no overflow games). */
AINL __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_set1_ps(88.8f), _mm512_max_ps(_mm512_set1_ps(-104.0f), x));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187e-06f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* 16 rows of 32 bytes transposed by dwords, the packed panels' layout:
 * dst[ld s + 4 c + i] = src[c][4 s + i] (s = 0..7, ld bytes a row), columns
 * past `valid` 0, then ^ flip (the int8 packs; the bf16 pack's pairs of k are
 * dwords too). Rows c and c + 8 share a zmm; two unpack rounds and a qword
 * permute. The packs had been 9 (Q8_0) or 64 (Q4_K) gathers a block, ~70
 * cycles each from DRAM: 12% of the vision GEMM, which repacks W per 512-row
 * chunk; this measured 4x faster hot and 3x from DRAM. */
AINL void transpose16x8_dw(const void *const src[16], __mmask16 valid, __m512i flip, char *dst, size_t ld) {
    const __m512i pick_lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), pick_hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    __m512i z[8], t[8], u[8];
    _Pragma("GCC unroll 16")
    for (int j = 0; j < 8; j++) /* z[j]: row j's dwords 0-7 in lanes 0-1, row j + 8's in lanes 2-3 */
        z[j] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)src[j])),
                                  _mm256_loadu_si256((const __m256i *)src[j + 8]), 1);
    _Pragma("GCC unroll 16")
    for (int j = 0; j < 8; j += 2) {
        t[j] = _mm512_unpacklo_epi32(z[j], z[j + 1]); /* per lane: rows j, j+1 at dwords 0, 1 (and 4, 5) */
        t[j + 1] = _mm512_unpackhi_epi32(z[j], z[j + 1]);
    }
    _Pragma("GCC unroll 16")
    for (int h = 0; h < 8; h += 4) /* u[h + s]: per lane 4 rows' dword s (lanes 0, 2) and s + 4 (lanes 1, 3) */
        _Pragma("GCC unroll 16")
        for (int s = 0; s < 4; s++) {
            __m512i x = t[h + (s >> 1)], y = t[h + 2 + (s >> 1)];
            u[h + s] = s & 1 ? _mm512_unpackhi_epi64(x, y) : _mm512_unpacklo_epi64(x, y);
        }
    _Pragma("GCC unroll 16")
    for (int s = 0; s < 4; s++) { /* rows 0-3, 4-7, 8-11, 12-15 of dword s (and s + 4) */
        __m512i lo = _mm512_permutex2var_epi64(u[s], pick_lo, u[4 + s]), hi = _mm512_permutex2var_epi64(u[s], pick_hi, u[4 + s]);
        _mm512_storeu_si512(dst + ld * s, _mm512_xor_si512(_mm512_maskz_mov_epi32(valid, lo), flip));
        _mm512_storeu_si512(dst + ld * (s + 4), _mm512_xor_si512(_mm512_maskz_mov_epi32(valid, hi), flip));
    }
}

#endif

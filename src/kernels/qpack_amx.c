/* Quantized weights (Q8_0, Q4_K, Q6_K), and F16 weights that are all bf16
 * values (llama.cpp's mmproj-f16 files of a bf16 model), on the amx level's bf16 GEMM: the
 * packed driver (linear.c) asks this pack for each sliver of up to 32 weight
 * rows and one K chunk. Each row's blocks are dequantized in zmm registers
 * (w = d * q, or d * sc * q - dmin * m for Q4_K, as base/quant.c's
 * dequant_row_*), rounded to bf16 into a sliver buffer of kc columns, and the
 * avx512bf16 pack turns that into the pairs the tiles read. Only the sliver
 * (<= 32 x 512 bf16, 32 KB) is ever dequantized, never a matrix.
 *
 * Why: AMX-BF16 tiles run 6-7 TFLOP/s here against 1.8 TOP/s of vpdpbusd, so
 * a quantized GEMM is faster on the bf16 tiles than in int8, and activations
 * then stay bf16 instead of being quantized. */
#include <string.h>
#include "base/quant.h"
#include "kernels/amx.h"
#include "kernels/simd_avx512.h"

#define SLIVER_ROWS 32   /* pk16.nr */

static pk_pack_fn pk16_pack_bf16; /* the avx512bf16 pack: bf16 rows -> pairs */

/* f32 -> bf16 by vcvtneps2bf16, not simd_avx512.h's cvt16_bf16: the instruction
 * flushes f32 denormals, and none arise here (d * q of an f16 d, or an f16 value,
 * is 0 or at least 2^-24), so it gives f32_to_bf16's bits in one instruction. */
AINL __m256i bf16x16(__m512 v) { return (__m256i)_mm512_cvtneps_pbh(v); }

static void row_q8_0(const blk_q8_0 *b, int kc, bf16_t *out) {
    for (int i = 0; i < kc / QK8_0; i++, out += QK8_0) {
        __m512 d = _mm512_set1_ps(_cvtsh_ss(b[i].d));
        __m128i q0 = _mm_loadu_si128((const __m128i *)b[i].qs), q1 = _mm_loadu_si128((const __m128i *)(b[i].qs + 16));
        __m512 v0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q0)), v1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q1));
        _mm256_storeu_si256((__m256i *)out, bf16x16(_mm512_mul_ps(d, v0)));
        _mm256_storeu_si256((__m256i *)(out + 16), bf16x16(_mm512_mul_ps(d, v1)));
    }
}

/* 32 elements of Q4_K sub-block j: nibbles (shift 0 or 4) of q[0..31]. */
AINL void q4_sub(const uint8_t *q, int shift, float ds, float dm, bf16_t *out) {
    const __m512i mask = _mm512_set1_epi32(0xF);
    __m512 s = _mm512_set1_ps(ds), m = _mm512_set1_ps(dm);
    for (int h = 0; h < 2; h++) {
        __m512i n = _mm512_and_si512(_mm512_srli_epi32(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(q + 16 * h))), shift), mask);
        __m512 v = _mm512_sub_ps(_mm512_mul_ps(s, _mm512_cvtepi32_ps(n)), m);
        _mm256_storeu_si256((__m256i *)(out + 16 * h), bf16x16(v));
    }
}

static void row_q4_k(const blk_q4_k *b, int kc, bf16_t *out) {
    for (int i = 0; i < kc / QK_K; i++, out += QK_K) {
        float d = _cvtsh_ss(b[i].d), dmin = _cvtsh_ss(b[i].dmin);
        for (int j = 0; j < 8; j++) {
            int sc, m;
            q4k_scale_min(j, b[i].scales, &sc, &m);
            q4_sub(b[i].qs + 32 * (j / 2), (j & 1) * 4, d * sc, dmin * m, out + 32 * j);
        }
    }
}

/* Q6_K: element 128h + 32s + l (l < 32) is ((ql[64h + 32(s&1) + l] >> 4(s>>1)) & 15)
 * | ((qh[32h + l] >> 2s) & 3) << 4, minus 32, times d * scales[8h + 2s + l/16]
 * (base/quant.h q6k_value); 16 lanes of l at a time. */
static void row_q6_k(const blk_q6_k *b, int kc, bf16_t *out) {
    const __m512i m4 = _mm512_set1_epi32(0xF), m2 = _mm512_set1_epi32(3), off = _mm512_set1_epi32(32);
    for (int i = 0; i < kc / QK_K; i++, out += QK_K) {
        float d = _cvtsh_ss(b[i].d);
        for (int h = 0; h < 2; h++)
            for (int l = 0; l < 32; l += 16) {
                __m512i qh = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(b[i].qh + 32 * h + l)));
                for (int s = 0; s < 4; s++) {
                    __m512i ql = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(b[i].ql + 64 * h + 32 * (s & 1) + l)));
                    __m512i lo = _mm512_and_si512(_mm512_srli_epi32(ql, 4 * (s >> 1)), m4);
                    __m512i hi = _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(qh, 2 * s), m2), 4);
                    __m512i q = _mm512_sub_epi32(_mm512_or_si512(lo, hi), off);
                    __m512 v = _mm512_mul_ps(_mm512_set1_ps(d * b[i].scales[8 * h + 2 * s + l / 16]), _mm512_cvtepi32_ps(q));
                    _mm256_storeu_si256((__m256i *)(out + 128 * h + 32 * s + l), bf16x16(v));
                }
            }
    }
}

/* F16 weights as bf16; returns 1 if a normal one is not a bf16 value (low 3
 * mantissa bits set). Subnormal f16 (|w| < 2^-14) are not checked: converting
 * a bf16 checkpoint already rounded them to the f16 grid, and bf16 rounding
 * moves them by at most 2^-23. */
static int row_f16(const f16_t *w, int kc, bf16_t *out) {
    const __m256i expo = _mm256_set1_epi16(0x7C00), low = _mm256_set1_epi16(7);
    __mmask16 off = 0;
    for (int i = 0; i < kc; i += 16) {
        __mmask16 m = tailmask((size_t)(kc - i));
        __m256i h = _mm256_maskz_loadu_epi16(m, w + i);
        off |= _mm256_test_epi16_mask(h, expo) & _mm256_test_epi16_mask(h, low);
        _mm256_mask_storeu_epi16(out + i, m, bf16x16(_mm512_cvtph_ps(h)));
    }
    return off != 0;
}

static int qpack_amx(const void *W, dots_dtype wdt, size_t wrow, int nr, int kc, float *Bp) {
    bf16_t sliver[SLIVER_ROWS * QPACK16_KC_MAX] __attribute__((aligned(64)));
    if (nr > SLIVER_ROWS || kc > QPACK16_KC_MAX) __builtin_trap(); /* linear.c keeps to these */
    for (int r = 0; r < nr; r++) {
        const void *w = (const char *)W + (size_t)r * wrow;
        bf16_t *o = sliver + (size_t)r * kc;
        if (wdt == DT_F16) {
            if (row_f16(w, kc, o)) return 1;
        } else if (wdt == DT_Q8_0) row_q8_0(w, kc, o);
        else if (wdt == DT_Q4_K) row_q4_k(w, kc, o);
        else row_q6_k(w, kc, o);
    }
    pk16_pack_bf16(sliver, DT_BF16, (size_t)kc, nr, kc, Bp);
    return 0;
}

void kops_fill_qpack_amx(kern_ops *o) {
    pk16_pack_bf16 = o->pk16.pack;
    o->qpack16 = qpack_amx;
    o->qpack16_types = 1u << DT_Q8_0 | 1u << DT_Q4_K | 1u << DT_Q6_K | 1u << DT_F16;
}

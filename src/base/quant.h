/* Block-quantized weights, bit-compatible with ggml's Q8_0, Q4_K and Q6_K (GGUF).
 *
 * Q8_0: blocks of 32 values x[i] = d * qs[i]; d is f16.
 * Q4_K: super-blocks of 256 values in 8 sub-blocks of 32; sub-block j has a
 *   6-bit scale sc[j] and 6-bit min m[j] packed in scales[12] (ggml's
 *   get_scale_min_k4 order), and x = d * sc[j] * q - dmin * m[j] with 4-bit q.
 *   qs[128] holds, for each 64-value group g (0..3), 32 bytes whose low
 *   nibbles are values 64g..64g+31 and high nibbles 64g+32..64g+63.
 * Q6_K: super-blocks of 256 values in 16 sub-blocks of 16; x = d * scales[j] *
 *   (q - 32) with 6-bit q and int8 scales[j] for value j*16..j*16+15. For each
 *   128-value half h: ql[64h + l] (l < 64) holds the low 4 bits of values
 *   128h + l (low nibble) and 128h + 64 + l (high nibble); qh[32h + l] (l < 32)
 *   holds the high 2 bits of values 128h + l + 32s at bits 2s..2s+1 (s = 0..3).
 * Q8_K (activations only, never stored in files): 256 values, f32 d, int8
 *   qs[256], int16 bsums[16] (sums of each 16 qs) -- for Q4_K / Q6_K dot products.
 *
 * The reference quantize/dequantize/dot functions live in quant.c;
 * the kernels (src/kernels) are tested against them. */
#ifndef DOTS_QUANT_H
#define DOTS_QUANT_H
#include <stdint.h>
#include <stddef.h>
#include "base/dtype.h"
#include "base/threadpool.h"

#define QK8_0 32
#define QK_K 256
#define K_SCALE_SIZE 12

typedef struct { f16_t d; int8_t qs[QK8_0]; } blk_q8_0;                       /* 34 bytes */
typedef struct { f16_t d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qs[QK_K / 2]; } blk_q4_k; /* 144 bytes */
typedef struct { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; f16_t d; } blk_q6_k; /* 210 bytes */
typedef struct { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; } blk_q8_k; /* 292 bytes */

_Static_assert(sizeof(blk_q8_0) == 34, "Q8_0 block layout");
_Static_assert(sizeof(blk_q4_k) == 144, "Q4_K block layout");
_Static_assert(sizeof(blk_q6_k) == 210, "Q6_K block layout");

/* n must be a multiple of the block size. Q8_0 rounds as ggml's
 * quantize_row_q8_0_ref does (d = amax/127, q = roundf(x/d)), so its bytes
 * equal gguf's. Q4_K follows ggml's reference search for scales and mins,
 * Q6_K its reference search for the sub-block scales (x^2-weighted). */
void quant_row_q8_0(const float *x, blk_q8_0 *y, int64_t n);
void quant_row_q4_k(const float *x, blk_q4_k *y, int64_t n);
void quant_row_q6_k(const float *x, blk_q6_k *y, int64_t n);
void quant_row_q8_k(const float *x, blk_q8_k *y, int64_t n);
/* The scalar searches, one sub-block at a time: the reference the ones above (which
 * run a super-block's sub-blocks in vector lanes) are tested to equal byte for byte. */
void quant_row_q4_k_ref(const float *x, blk_q4_k *y, int64_t n);
void quant_row_q6_k_ref(const float *x, blk_q6_k *y, int64_t n);
void dequant_row_q8_0(const blk_q8_0 *x, float *y, int64_t n);
void dequant_row_q4_k(const blk_q4_k *x, float *y, int64_t n);
void dequant_row_q6_k(const blk_q6_k *x, float *y, int64_t n);
/* Scale and min of sub-block j (0..7) from the 12 packed bytes. */
static inline void q4k_scale_min(int j, const uint8_t *s, int *sc, int *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

/* The 6-bit value q (0..63) of element i (0..255) of a Q6_K block. */
static inline int q6k_value(const blk_q6_k *b, int i) {
    int h = i / 128, r = i % 128, l = r % 32, s = r / 32;
    int lo = (b->ql[64 * h + (s & 1) * 32 + l] >> ((s >> 1) * 4)) & 0xF;
    return lo | (((b->qh[32 * h + l] >> (2 * s)) & 3) << 4);
}

/* Quantize n floats to type t (Q8_0, Q4_K, Q6_K, or F16/BF16/F32 for convenience)
 * into dst (dtype_row_bytes(t, n) bytes). Returns 0, or -1 for a bad n/type. */
int quant_row(dots_dtype t, const float *x, void *dst, int64_t n);
/* Dequantize/convert n elements of any weight type (F32/F16/BF16/Q8_0/Q4_K/Q6_K) to f32. */
int dequant_row(dots_dtype t, const void *src, float *dst, int64_t n);
/* Converts `rows` rows of K elements from any weight type `from` to `to` (quant_row's
 * types), 64 rows a task over pool (NULL: on this thread), one f32 row of scratch a
 * task: the tensor is never widened whole. Returns 0, -1 for a bad type or K, -2 when
 * out of memory. */
int convert_rows(dots_pool *pool, dots_dtype from, const void *src, dots_dtype to, void *dst, int64_t rows, int64_t K);

#endif

/* Block-quantized weights, bit-compatible with ggml's Q8_0 and Q4_K (GGUF).
 *
 * Q8_0: blocks of 32 values x[i] = d * qs[i]; d is f16.
 * Q4_K: super-blocks of 256 values in 8 sub-blocks of 32; sub-block j has a
 *   6-bit scale sc[j] and 6-bit min m[j] packed in scales[12] (ggml's
 *   get_scale_min_k4 order), and x = d * sc[j] * q - dmin * m[j] with 4-bit q.
 *   qs[128] holds, for each 64-value group g (0..3), 32 bytes whose low
 *   nibbles are values 64g..64g+31 and high nibbles 64g+32..64g+63.
 * Q8_K (activations only, never stored in files): 256 values, f32 d, int8
 *   qs[256], int16 bsums[16] (sums of each 16 qs) -- for Q4_K dot products.
 *
 * The reference (scalar) quantize/dequantize/dot functions live in quant.c;
 * the kernels (src/kernels) are tested against them. */
#ifndef DOTS_QUANT_H
#define DOTS_QUANT_H
#include <stdint.h>
#include <stddef.h>
#include "base/dtype.h"

#define QK8_0 32
#define QK_K 256
#define K_SCALE_SIZE 12

typedef struct { f16_t d; int8_t qs[QK8_0]; } blk_q8_0;                       /* 34 bytes */
typedef struct { f16_t d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qs[QK_K / 2]; } blk_q4_k; /* 144 bytes */
typedef struct { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; } blk_q8_k; /* 292 bytes */

_Static_assert(sizeof(blk_q8_0) == 34, "Q8_0 block layout");
_Static_assert(sizeof(blk_q4_k) == 144, "Q4_K block layout");

/* n must be a multiple of the block size. Q8_0 rounds as ggml's
 * quantize_row_q8_0_ref does (d = amax/127, q = roundf(x/d)), so its bytes
 * equal gguf's. Q4_K follows ggml's reference search for scales and mins. */
void quant_row_q8_0(const float *x, blk_q8_0 *y, int64_t n);
void quant_row_q4_k(const float *x, blk_q4_k *y, int64_t n);
void quant_row_q8_k(const float *x, blk_q8_k *y, int64_t n);
void dequant_row_q8_0(const blk_q8_0 *x, float *y, int64_t n);
void dequant_row_q4_k(const blk_q4_k *x, float *y, int64_t n);

/* Quantize n floats to type t (Q8_0, Q4_K, or F16/BF16/F32 for convenience)
 * into dst (dtype_row_bytes(t, n) bytes). Returns 0, or -1 for a bad n/type. */
int quant_row(dots_dtype t, const float *x, void *dst, int64_t n);
/* Dequantize/convert n elements of any weight type (F32/F16/BF16/Q8_0/Q4_K) to f32. */
int dequant_row(dots_dtype t, const void *src, float *dst, int64_t n);

#endif

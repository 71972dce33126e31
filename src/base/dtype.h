/* Element types of stored tensors and the bf16/f16 <-> f32 conversions. */
#ifndef DOTS_DTYPE_H
#define DOTS_DTYPE_H
#include <stdint.h>
#include <stddef.h>
#include <string.h>

typedef enum dots_dtype {
    DT_F32 = 0, DT_F16, DT_BF16, DT_F64, DT_I64, DT_I32, DT_I16, DT_I8, DT_U8, DT_BOOL,
    /* Block-quantized weight types, bit-compatible with ggml's of the same name
     * (GGUF). Only whole blocks exist: rows of these types have a multiple of
     * dtype_block_elems() elements. Layouts: src/base/quant.h. */
    DT_Q8_0,  /* 32 elements: f16 scale d, 32 x int8          -> 34 bytes  */
    DT_Q4_K,  /* 256 elements: f16 d, f16 dmin, 12 B scales, 128 B nibbles -> 144 bytes */
    DT_Q6_K,  /* 256 elements: 128 B low nibbles, 64 B high 2 bits, 16 int8 scales, f16 d -> 210 bytes */
    DT_COUNT
} dots_dtype;

/* Bytes of one element; 0 for block-quantized types (use dtype_row_bytes). */
size_t dtype_size(dots_dtype t);
/* 1 for plain types, 32 for Q8_0, 256 for Q4_K / Q6_K. */
int dtype_block_elems(dots_dtype t);
/* Bytes of one block (= dtype_size for plain types). */
size_t dtype_block_bytes(dots_dtype t);
static inline int dtype_is_quant(dots_dtype t) { return t == DT_Q8_0 || t == DT_Q4_K || t == DT_Q6_K; }
/* Bytes of n elements of type t, or 0 if n is not a whole number of blocks or
 * the size does not fit in 62 bits (callers treat 0 for n > 0 as an error). */
uint64_t dtype_row_bytes(dots_dtype t, uint64_t n);
/* safetensors spelling: "F32", "BF16", ... */
const char *dtype_name(dots_dtype t);
/* Returns -1 when the name is unknown. */
int dtype_from_name(const char *name);

typedef uint16_t bf16_t;
typedef uint16_t f16_t;

static inline float bf16_to_f32(bf16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Round to nearest even, NaN kept quiet (as torch does). */
static inline bf16_t f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (bf16_t)(u >> 16);
}

/* IEEE half <-> float, exact (no hardware needed). */
float f16_to_f32(f16_t h);
f16_t f32_to_f16(float f);

/* Convert n elements of a float-like dtype (F32/F16/BF16) to f32. */
void dtype_to_f32(dots_dtype t, const void *src, float *dst, size_t n);

#endif

/* Element types of stored tensors and the bf16/f16 <-> f32 conversions. */
#ifndef DOTS_DTYPE_H
#define DOTS_DTYPE_H
#include <stdint.h>
#include <stddef.h>
#include <string.h>

typedef enum dots_dtype {
    DT_F32 = 0, DT_F16, DT_BF16, DT_F64, DT_I64, DT_I32, DT_I16, DT_I8, DT_U8, DT_BOOL,
    DT_COUNT
} dots_dtype;

size_t dtype_size(dots_dtype t);
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

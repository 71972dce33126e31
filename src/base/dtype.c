#include "base/dtype.h"
#include <math.h>

/* size: bytes of an element (plain types) or of a block (quantized ones). */
static const struct { const char *name; size_t size; int block; } k_types[DT_COUNT] = {
    [DT_F32] = {"F32", 4, 1},  [DT_F16] = {"F16", 2, 1}, [DT_BF16] = {"BF16", 2, 1},
    [DT_F64] = {"F64", 8, 1},  [DT_I64] = {"I64", 8, 1}, [DT_I32] = {"I32", 4, 1},
    [DT_I16] = {"I16", 2, 1},  [DT_I8] = {"I8", 1, 1},   [DT_U8] = {"U8", 1, 1},
    [DT_BOOL] = {"BOOL", 1, 1},
    [DT_Q8_0] = {"Q8_0", 34, 32}, [DT_Q4_K] = {"Q4_K", 144, 256},
    [DT_Q6_K] = {"Q6_K", 210, 256},
};

size_t dtype_size(dots_dtype t) {
    return (unsigned)t < DT_COUNT && k_types[t].block == 1 ? k_types[t].size : 0;
}
int dtype_block_elems(dots_dtype t) { return (unsigned)t < DT_COUNT ? k_types[t].block : 0; }
size_t dtype_block_bytes(dots_dtype t) { return (unsigned)t < DT_COUNT ? k_types[t].size : 0; }

uint64_t dtype_row_bytes(dots_dtype t, uint64_t n) {
    if ((unsigned)t >= DT_COUNT) return 0;
    uint64_t blk = (uint64_t)k_types[t].block, bytes = k_types[t].size;
    if (n % blk) return 0;
    uint64_t nb = n / blk;
    if (nb > (UINT64_C(1) << 62) / bytes) return 0;
    return nb * bytes;
}
const char *dtype_name(dots_dtype t) { return (unsigned)t < DT_COUNT ? k_types[t].name : "?"; }

int dtype_from_name(const char *name) {
    for (int i = 0; i < DT_COUNT; i++)
        if (strcmp(name, k_types[i].name) == 0) return i;
    return -1;
}

float f16_to_f32(f16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ffu, u;
    if (exp == 0) {
        if (man == 0) u = sign;
        else { /* subnormal: value = man * 2^-24 */
            float f = ldexpf((float)man, -24);
            return sign ? -f : f;
        }
    } else if (exp == 31) u = sign | 0x7f800000u | (man << 13);
    else u = sign | ((exp + 112) << 23) | (man << 13);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

f16_t f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u;
    float a = fabsf(f);
    if (isnan(f)) return (f16_t)(sign | 0x7e00u);
    if (a >= 65520.0f) return (f16_t)(sign | 0x7c00u);
    if (a < 6.103515625e-05f) { /* subnormal half: round man = a * 2^24 to even */
        float m = nearbyintf(a * 16777216.0f);
        return (f16_t)(sign | (uint32_t)m);
    }
    uint32_t au = u & 0x7fffffffu;
    uint32_t r = au + 0xfffu + ((au >> 13) & 1u); /* round to nearest even at bit 13 */
    uint32_t exp = (r >> 23) - 112, man = (r >> 13) & 0x3ffu;
    return (f16_t)(sign | (exp << 10) | man);
}

void dtype_to_f32(dots_dtype t, const void *src, float *dst, size_t n) {
    if (t == DT_F32) { memcpy(dst, src, n * 4); return; }
    const uint16_t *s = (const uint16_t *)src;
    if (t == DT_BF16) for (size_t i = 0; i < n; i++) dst[i] = bf16_to_f32(s[i]);
    else if (t == DT_F16) for (size_t i = 0; i < n; i++) dst[i] = f16_to_f32(s[i]);
}

/* Q6_K at the AVX512-VNNI level: the 256-bit vpmaddubsw tile (quant_q6k_avx2.c).
 * vpdpbusd does not help here: the int8 scale changes every 16 values, so its
 * int32 sums would need a vpmulld each, where vpmaddwd applies it for free. */
#include "kernels/quant_kern.h"

q6_tile_fn q6kern_avx512(void) { return q6kern_avx2(); }

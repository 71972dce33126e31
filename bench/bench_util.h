/* This machine's peaks, measured in the same process as the benchmark so
 * every figure can be printed as a ratio to them. */
#ifndef DOTS_BENCH_UTIL_H
#define DOTS_BENCH_UTIL_H
#include "base/threadpool.h"

/* f32 FMA throughput with every pool thread busy, GFLOP/s. */
double bench_peak_fp32_gflops(dots_pool *pool);
/* bf16 dot-product throughput (AVX512_BF16 vdpbf16ps, or NEON bfdot where built), GFLOP/s; 0 if none. */
double bench_peak_bf16_gflops(dots_pool *pool);
/* DRAM read bandwidth with every pool thread streaming, GB/s. */
double bench_read_bandwidth_gbs(dots_pool *pool);

#endif

/* This machine's peaks, measured in the same process as the benchmark so
 * every figure can be printed as a ratio to them. */
#ifndef DOTS_BENCH_UTIL_H
#define DOTS_BENCH_UTIL_H
#include "base/threadpool.h"

/* DOTS_BENCH_SMOKE=1 in the environment: tiny peak loops (CI smoke runs under emulation). */
/* f32 FMA throughput of the kernel level in use (isa_active(): ymm for avx2,
 * zmm for avx512*, ...) with every pool thread busy, GFLOP/s. */
double bench_peak_fp32_gflops(dots_pool *pool);
/* What bench_peak_fp32_gflops measures, e.g. "fp32 FMA ymm (avx2)". */
const char *bench_peak_fp32_name(void);
/* bf16 dot-product throughput (AVX512_BF16 vdpbf16ps, AMX-BF16 tdpbf16ps at the amx level, or BFMMLA on neonbf16) when that level is in use, GFLOP/s; 0 otherwise. */
double bench_peak_bf16_gflops(dots_pool *pool);
/* What the int8 level serves, for the benches' header lines: "" or, at the amx level, the note that
 * quantized GEMMs of 4 rows or more run on the AMX bf16 tiles. */
const char *bench_int8_scope(void);
/* DRAM read bandwidth with every pool thread streaming, GB/s (best of 4 passes over 1 GB). */
double bench_read_bandwidth_gbs(dots_pool *pool);

/* The same read as a probe to run between the steps of a benchmark: the shared host's bandwidth
 * swings within seconds, so a share of it is fair only against passes of the same seconds.
 * new: a touched buffer of about `bytes` (16 MB at most under DOTS_BENCH_SMOKE; NULL when out of
 * memory); pass: one read with every pool thread, returns its GB/s; gbs: bytes over seconds of
 * all passes so far. */
typedef struct bench_bw_probe bench_bw_probe;
bench_bw_probe *bench_bw_probe_new(size_t bytes);
double bench_bw_probe_pass(dots_pool *pool, bench_bw_probe *p);
double bench_bw_probe_gbs(const bench_bw_probe *p);
void bench_bw_probe_free(bench_bw_probe *p);

/* int8 multiply-accumulate throughput of the int8 kernels' inner step, GOP/s
 * (2 ops per MAC): kind 0 vpmaddubsw+vpmaddwd (AVX2), 1 vpdpbusd ymm (AVX-VNNI),
 * 2 vpdpbusd zmm (AVX512-VNNI); 0 where the CPU lacks it (or not x86). */
double bench_peak_int8_gops(dots_pool *pool, int kind);

/* CPU seconds (user + system) this process has used so far: the share of
 * threads x wall time a phase kept busy tells idle workers (imbalance, serial
 * steps) from slow kernels. */
double bench_cpu_seconds(void);

/* Seconds the hypervisor has stolen so far, per CPU of this machine (/proc/stat
 * "steal" over the online CPUs); -1 where not known. Under a loaded host a
 * decode step waits on its slowest thread, so stolen time shows up as slow steps. */
double bench_steal_seconds(void);

#endif

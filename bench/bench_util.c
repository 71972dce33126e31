/* Peak figures of this machine, measured with every pool thread busy and the
 * best of a few runs (others may be using the CPU). The loops are many small
 * pool tasks so the dynamic scheduler keeps every thread on them. */
#include "bench_util.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

#define PEAK_TASKS 64
#define PEAK_ITERS 200000  /* per task; 12 accumulators each */

typedef struct { int kind; volatile float sink; } peak_job;

#if defined(__x86_64__)
static float fma512(void) {
    __m512 a[12], x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.9999999f);
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps((float)i);
    for (int it = 0; it < PEAK_ITERS; it++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm512_fmadd_ps(a[i], x, y);
    __m512 s = a[0];
    for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, a[i]);
    return _mm512_reduce_add_ps(s);
}
static float fma256(void) {
    __m256 a[12], x = _mm256_set1_ps(1.0000001f), y = _mm256_set1_ps(0.9999999f);
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
    for (int it = 0; it < PEAK_ITERS; it++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], x, y);
    float out[8], s = 0;
    for (int i = 1; i < 12; i++) a[0] = _mm256_add_ps(a[0], a[i]);
    _mm256_storeu_ps(out, a[0]);
    for (int i = 0; i < 8; i++) s += out[i];
    return s;
}
static float dpbf16(void) {
    __m512 a[12];
    __m512bh x = (__m512bh)_mm512_set1_epi16(0x3f80), y = (__m512bh)_mm512_set1_epi16(0x3f80);
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps((float)i);
    for (int it = 0; it < PEAK_ITERS; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm512_dpbf16_ps(a[i], x, y);
        __asm__ volatile("" : "+v"(x)); /* keep the operands opaque */
    }
    __m512 s = a[0];
    for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, a[i]);
    return _mm512_reduce_add_ps(s);
}
static int has512(void) { return __builtin_cpu_supports("avx512f"); }
static int hasbf16(void) { return __builtin_cpu_supports("avx512bf16"); }
#endif

/* flops of one task */
static double task_flops(int kind) {
#if defined(__x86_64__)
    if (kind == 1) return 12.0 * PEAK_ITERS * 64;  /* 32 bf16 pairs x (mul + add) */
    return 12.0 * PEAK_ITERS * (has512() ? 32 : 16);
#elif defined(__aarch64__)
    (void)kind;
    return 12.0 * PEAK_ITERS * 8;
#else
    (void)kind;
    return 12.0 * PEAK_ITERS * 2;
#endif
}

static void peak_task(void *ctx, int t, int thread) {
    (void)t; (void)thread;
    peak_job *j = ctx;
    float r = 0;
#if defined(__x86_64__)
    if (j->kind == 1) r = dpbf16();
    else r = has512() ? fma512() : fma256();
#elif defined(__aarch64__)
    float32x4_t a[12], x = vdupq_n_f32(1.0000001f), y = vdupq_n_f32(0.9999999f);
    for (int i = 0; i < 12; i++) a[i] = vdupq_n_f32((float)i);
    for (int it = 0; it < PEAK_ITERS; it++)
        for (int i = 0; i < 12; i++) a[i] = vfmaq_f32(y, a[i], x);
    for (int i = 1; i < 12; i++) a[0] = vaddq_f32(a[0], a[i]);
    r = vaddvq_f32(a[0]);
#else
    float a[12];
    for (int i = 0; i < 12; i++) a[i] = (float)i;
    for (int it = 0; it < PEAK_ITERS; it++)
        for (int i = 0; i < 12; i++) a[i] = a[i] * 1.0000001f + 0.9999999f;
    for (int i = 0; i < 12; i++) r += a[i];
#endif
    j->sink += r;
}

static double run_peak(dots_pool *pool, int kind) {
    peak_job j = {kind, 0};
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = dots_now();
        pool_run(pool, PEAK_TASKS, peak_task, &j);
        double g = PEAK_TASKS * task_flops(kind) / (dots_now() - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
}

double bench_peak_fp32_gflops(dots_pool *pool) { return run_peak(pool, 0); }

double bench_peak_bf16_gflops(dots_pool *pool) {
#if defined(__x86_64__)
    if (!hasbf16()) return 0;
    return run_peak(pool, 1);
#else
    (void)pool;
    return 0;
#endif
}

#define BW_BYTES ((size_t)1 << 30)
#define BW_CHUNK ((size_t)4 << 20)

typedef struct { const char *buf; volatile uint64_t sink; } bw_job;

static void bw_task(void *ctx, int t, int thread) {
    (void)thread;
    bw_job *j = ctx;
    const char *p = j->buf + (size_t)t * BW_CHUNK;
#if defined(__x86_64__)
    if (has512()) { /* four streams per thread: more misses in flight than one */
        __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
        const size_t q = BW_CHUNK / 4;
        for (size_t i = 0; i < q; i += 64) {
            s0 = _mm512_xor_si512(s0, _mm512_load_si512(p + i));
            s1 = _mm512_xor_si512(s1, _mm512_load_si512(p + q + i));
            s2 = _mm512_xor_si512(s2, _mm512_load_si512(p + 2 * q + i));
            s3 = _mm512_xor_si512(s3, _mm512_load_si512(p + 3 * q + i));
        }
        s0 = _mm512_xor_si512(_mm512_xor_si512(s0, s1), _mm512_xor_si512(s2, s3));
        j->sink += (uint64_t)_mm512_reduce_add_epi64(s0);
        return;
    }
#endif
    uint64_t s[4] = {0, 0, 0, 0};
    const uint64_t *q = (const uint64_t *)p;
    for (size_t i = 0; i < BW_CHUNK / 8; i += 4) { s[0] ^= q[i]; s[1] ^= q[i + 1]; s[2] ^= q[i + 2]; s[3] ^= q[i + 3]; }
    j->sink += s[0] ^ s[1] ^ s[2] ^ s[3];
}

double bench_read_bandwidth_gbs(dots_pool *pool) {
    char *buf = dots_alloc(BW_BYTES, "bandwidth buffer", NULL);
    if (!buf) return 0;
    memset(buf, 1, BW_BYTES);
    bw_job j = {buf, 0};
    double best = 0;
    for (int rep = 0; rep < 4; rep++) {
        double t0 = dots_now();
        pool_run(pool, (int)(BW_BYTES / BW_CHUNK), bw_task, &j);
        double g = BW_BYTES / (dots_now() - t0) / 1e9;
        if (g > best) best = g;
    }
    dots_free(buf);
    return best;
}

/* ---- int8 dot-product peak of the int8 kernels' inner step (in-run) --------
 * kind: 0 vpmaddubsw + vpmaddwd + vpaddd (AVX2, 32 MACs), 1 vpdpbusd ymm
 * (AVX-VNNI, 32 MACs), 2 vpdpbusd zmm (AVX512-VNNI, 64 MACs); 12 chains. */
#if defined(__x86_64__)
static int32_t i8_maddubs(void) {
    __m256i a[12], x = _mm256_set1_epi8(3), y = _mm256_set1_epi8(5), one = _mm256_set1_epi16(1);
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_epi32(i);
    for (int it = 0; it < PEAK_ITERS; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm256_add_epi32(a[i], _mm256_madd_epi16(_mm256_maddubs_epi16(x, y), one));
        __asm__ volatile("" : "+x"(x));
    }
    for (int i = 1; i < 12; i++) a[0] = _mm256_add_epi32(a[0], a[i]);
    return _mm256_extract_epi32(a[0], 0);
}
__attribute__((target("avxvnni"))) static int32_t i8_avxvnni(void) {
    __m256i a[12], x = _mm256_set1_epi8(3), y = _mm256_set1_epi8(5);
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_epi32(i);
    for (int it = 0; it < PEAK_ITERS; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm256_dpbusd_avx_epi32(a[i], x, y);
        __asm__ volatile("" : "+x"(x));
    }
    for (int i = 1; i < 12; i++) a[0] = _mm256_add_epi32(a[0], a[i]);
    return _mm256_extract_epi32(a[0], 0);
}
__attribute__((target("avx512vnni"))) static int32_t i8_avx512vnni(void) {
    __m512i a[12], x = _mm512_set1_epi8(3), y = _mm512_set1_epi8(5);
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_epi32(i);
    for (int it = 0; it < PEAK_ITERS; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm512_dpbusd_epi32(a[i], x, y);
        __asm__ volatile("" : "+v"(x));
    }
    for (int i = 1; i < 12; i++) a[0] = _mm512_add_epi32(a[0], a[i]);
    return _mm512_reduce_add_epi32(a[0]);
}
#endif

typedef struct { int kind; volatile int32_t sink; } i8_job;

static void i8_task(void *ctx, int t, int thread) {
    (void)t; (void)thread;
    i8_job *j = ctx;
#if defined(__x86_64__)
    j->sink += j->kind == 2 ? i8_avx512vnni() : j->kind == 1 ? i8_avxvnni() : i8_maddubs();
#endif
}

double bench_peak_int8_gops(dots_pool *pool, int kind) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (kind == 1 && !__builtin_cpu_supports("avxvnni")) return 0;
    if (kind == 2 && !__builtin_cpu_supports("avx512vnni")) return 0;
    if (!__builtin_cpu_supports("avx2")) return 0;
    i8_job j = {kind, 0};
    double best = 0, ops = 12.0 * PEAK_ITERS * (kind == 2 ? 128 : 64);
    for (int rep = 0; rep < 3; rep++) {
        double t0 = dots_now();
        pool_run(pool, PEAK_TASKS, i8_task, &j);
        double g = PEAK_TASKS * ops / (dots_now() - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
#else
    (void)pool; (void)kind;
    return 0;
#endif
}

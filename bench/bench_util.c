/* Peak figures of this machine, measured with every pool thread busy and the
 * best of a few runs (others may be using the CPU). The loops are many small
 * pool tasks so the dynamic scheduler keeps every thread on them.
 *
 * The peaks are those of the kernel level in use (isa_active(): $DOTS_ISA or
 * the best the CPU has), so DOTS_ISA=avx2 on an AVX-512 machine gives AVX2
 * figures against the ymm FMA peak. This file is compiled for the baseline
 * CPU: the SIMD loops are __attribute__((target)) functions called only after
 * a run-time check, so every bench runs on every CPU (no SIGILL). */
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>
#include "bench_util.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "kernels/cpu_x86.h"
#include "kernels/kern_impl.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

#define PEAK_TASKS 64
/* iterations per task (12 accumulators each); DOTS_BENCH_SMOKE=1 (CI smoke runs
 * under qemu) shrinks them and the bandwidth buffer: figures then mean nothing */
static int smoke(void) { const char *s = getenv("DOTS_BENCH_SMOKE"); return s && *s && strcmp(s, "0"); }
static int g_peak_iters = 200000;
#define PEAK_ITERS g_peak_iters
#define AMX_PEAK_ITERS (PEAK_ITERS / 16) /* one amx_peak iteration is 4 tile products, 64 vdpbf16ps' work each */

enum { PEAK_SCALAR, PEAK_FMA256, PEAK_FMA512, PEAK_DPBF16, PEAK_NEON, PEAK_BFMMLA, PEAK_AMXBF16 };
typedef struct { int kind; volatile float sink; } peak_job;

#if defined(__x86_64__)
#define T512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,avx2")))
#define T512BF16 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,fma,avx2")))
#define T256 __attribute__((target("avx2,fma")))
T512 static float fma512(void) {
    __m512 a[12], x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.9999999f);
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps((float)i);
    for (int it = 0, n_it = PEAK_ITERS; it < n_it; it++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm512_fmadd_ps(a[i], x, y);
    __m512 s = a[0];
    for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, a[i]);
    return _mm512_reduce_add_ps(s);
}
T256 static float fma256(void) {
    __m256 a[12], x = _mm256_set1_ps(1.0000001f), y = _mm256_set1_ps(0.9999999f);
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
    for (int it = 0, n_it = PEAK_ITERS; it < n_it; it++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], x, y);
    float out[8], s = 0;
    for (int i = 1; i < 12; i++) a[0] = _mm256_add_ps(a[0], a[i]);
    _mm256_storeu_ps(out, a[0]);
    for (int i = 0; i < 8; i++) s += out[i];
    return s;
}
#if defined(__clang__) || __GNUC__ >= 11
#define HAVE_BF16_PEAK 1
T512BF16 static float dpbf16(void) {
    __m512 a[12];
    __m512bh x = (__m512bh)_mm512_set1_epi16(0x3f80), y = (__m512bh)_mm512_set1_epi16(0x3f80);
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps((float)i);
    for (int it = 0, n_it = PEAK_ITERS; it < n_it; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm512_dpbf16_ps(a[i], x, y);
        __asm__ volatile("" : "+v"(x)); /* keep the operands opaque */
    }
    __m512 s = a[0];
    for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, a[i]);
    return _mm512_reduce_add_ps(s);
}
#endif
#if defined(__clang__) || __GNUC__ >= 11
#define HAVE_AMX_PEAK 1
/* tdpbf16ps throughput: 4 independent 16 x 16 accumulator tiles; run only at the
 * amx level (isa_detect asked the OS for the tile state). */
__attribute__((target("amx-tile,amx-bf16"))) static float amx_peak(void) {
    amx_tiles_configure(); /* the library's configuration: 8 tiles of 16 rows x 64 bytes */
    static const uint16_t ones[16 * 32] = {0}; /* zeros: the value does not change the rate */
    static float out[16 * 16];
    _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
    _tile_loadd(4, ones, 64); _tile_loadd(5, ones, 64); _tile_loadd(6, ones, 64); _tile_loadd(7, ones, 64);
    for (int it = 0, n_it = AMX_PEAK_ITERS; it < n_it; it++) {
        _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(1, 4, 7); _tile_dpbf16ps(2, 5, 6); _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, out, 64);
    return out[0];
}
#endif
#endif

/* The fp32 peak loop that matches the active kernel level. */
static int fp32_kind(void) {
    dots_isa isa = isa_active();
#if defined(__x86_64__)
    if (isa >= ISA_AVX512 && isa <= ISA_AMX) return PEAK_FMA512;
    if (isa == ISA_AVX2) return PEAK_FMA256;
#elif defined(__aarch64__)
    if (isa == ISA_NEON || isa == ISA_NEONBF16) return PEAK_NEON;
#endif
    (void)isa;
    return PEAK_SCALAR;
}

/* flops of one task */
static double task_flops(int kind) {
    switch (kind) {
    case PEAK_DPBF16: return 12.0 * PEAK_ITERS * 64; /* 32 bf16 pairs x (mul + add) */
    case PEAK_FMA512: return 12.0 * PEAK_ITERS * 32;
    case PEAK_FMA256: return 12.0 * PEAK_ITERS * 16;
    case PEAK_NEON: return 12.0 * PEAK_ITERS * 8;
    case PEAK_BFMMLA: return 12.0 * PEAK_ITERS * 32; /* 2x2 outputs x 4 bf16 pairs x (mul + add) */
    case PEAK_AMXBF16: return 4.0 * AMX_PEAK_ITERS * 16 * 16 * 32 * 2; /* 4 tiles of 16 x 16 outputs, 16 pairs */
    default: return 12.0 * PEAK_ITERS * 2;
    }
}

static float scalar_peak_loop(void) {
    float a[12], r = 0;
    for (int i = 0; i < 12; i++) a[i] = (float)i;
    for (int it = 0, n_it = PEAK_ITERS; it < n_it; it++)
        for (int i = 0; i < 12; i++) a[i] = a[i] * 1.0000001f + 0.9999999f;
    for (int i = 0; i < 12; i++) r += a[i];
    return r;
}

#if defined(__aarch64__)
/* FEAT_BF16 BFMMLA throughput (the neonbf16 GEMM tile's instruction); called
 * only when that level is active, i.e. HWCAP2_BF16 is set. */
__attribute__((target("arch=armv8.2-a+bf16"))) static float bfmmla_peak(void) {
    /* operands through volatiles: GCC folds constant ones into an FP16 fmov,
     * which FEAT_BF16 alone does not allow */
    volatile uint16_t one = 0x3f80, small = 0x3c00; /* 1, 2^-7 */
    float32x4_t a[12];
    bfloat16x8_t x = vreinterpretq_bf16_u16(vdupq_n_u16(one)), y = vreinterpretq_bf16_u16(vdupq_n_u16(small));
    for (int i = 0; i < 12; i++) a[i] = vdupq_n_f32((float)i);
    for (int it = 0, n_it = PEAK_ITERS; it < n_it; it++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = vbfmmlaq_f32(a[i], x, y);
    for (int i = 1; i < 12; i++) a[0] = vaddq_f32(a[0], a[i]);
    return vaddvq_f32(a[0]);
}
#endif

static void peak_task(void *ctx, int t, int thread) {
    (void)t; (void)thread;
    peak_job *j = ctx;
    float r = 0;
    switch (j->kind) {
#if defined(__x86_64__)
    case PEAK_FMA512: r = fma512(); break;
    case PEAK_FMA256: r = fma256(); break;
#ifdef HAVE_BF16_PEAK
    case PEAK_DPBF16: r = dpbf16(); break;
#endif
#ifdef HAVE_AMX_PEAK
    case PEAK_AMXBF16: r = amx_peak(); break;
#endif
#endif
#if defined(__aarch64__)
    case PEAK_NEON: {
        float32x4_t a[12], x = vdupq_n_f32(1.0000001f), y = vdupq_n_f32(0.9999999f);
        for (int i = 0; i < 12; i++) a[i] = vdupq_n_f32((float)i);
        for (int it = 0, n_it = PEAK_ITERS; it < n_it; it++)
            for (int i = 0; i < 12; i++) a[i] = vfmaq_f32(y, a[i], x);
        for (int i = 1; i < 12; i++) a[0] = vaddq_f32(a[0], a[i]);
        r = vaddvq_f32(a[0]);
        break;
    }
#endif
#if defined(__aarch64__)
    case PEAK_BFMMLA: r = bfmmla_peak(); break;
#endif
    default: r = scalar_peak_loop(); break;
    }
    j->sink += r;
}

static double run_peak(dots_pool *pool, int kind) {
    peak_job j = {kind, 0};
    g_peak_iters = smoke() ? 500 : 200000;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = dots_now();
        pool_run(pool, PEAK_TASKS, peak_task, &j);
        double g = PEAK_TASKS * task_flops(kind) / (dots_now() - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
}

const char *bench_peak_fp32_name(void) {
    switch (fp32_kind()) {
    case PEAK_FMA512: return "fp32 FMA zmm (avx512)";
    case PEAK_FMA256: return "fp32 FMA ymm (avx2)";
    case PEAK_NEON: return "fp32 FMLA (neon)";
    default: return "fp32 mul+add (baseline compiler code)";
    }
}

double bench_peak_fp32_gflops(dots_pool *pool) { return run_peak(pool, fp32_kind()); }

const char *bench_int8_scope(void) {
    return isa_active() == ISA_AMX ? " below 4 rows; quantized GEMMs on the AMX bf16 tiles" : "";
}

double bench_peak_bf16_gflops(dots_pool *pool) {
#ifdef HAVE_BF16_PEAK
    if (isa_active() == ISA_AVX512BF16) return run_peak(pool, PEAK_DPBF16);
#endif
#ifdef HAVE_AMX_PEAK
    if (isa_active() == ISA_AMX) return run_peak(pool, PEAK_AMXBF16);
#endif
#if defined(__aarch64__)
    if (isa_active() == ISA_NEONBF16) return run_peak(pool, PEAK_BFMMLA);
#endif
    (void)pool;
    return 0;
}

#define BW_BYTES (smoke() ? (size_t)16 << 20 : (size_t)1 << 30)
#define BW_CHUNK ((size_t)4 << 20)

typedef struct { const char *buf; int wide; volatile uint64_t sink; } bw_job;

#if defined(__x86_64__)
/* four streams per thread: more misses in flight than one */
T512 static uint64_t bw_chunk512(const char *p) {
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    const size_t q = BW_CHUNK / 4;
    for (size_t i = 0; i < q; i += 64) {
        s0 = _mm512_xor_si512(s0, _mm512_load_si512(p + i));
        s1 = _mm512_xor_si512(s1, _mm512_load_si512(p + q + i));
        s2 = _mm512_xor_si512(s2, _mm512_load_si512(p + 2 * q + i));
        s3 = _mm512_xor_si512(s3, _mm512_load_si512(p + 3 * q + i));
    }
    s0 = _mm512_xor_si512(_mm512_xor_si512(s0, s1), _mm512_xor_si512(s2, s3));
    return (uint64_t)_mm512_reduce_add_epi64(s0);
}
T256 static uint64_t bw_chunk256(const char *p) {
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    const size_t q = BW_CHUNK / 4;
    for (size_t i = 0; i < q; i += 64) { /* two loads per stream per line */
        s0 = _mm256_xor_si256(s0, _mm256_xor_si256(_mm256_load_si256((const __m256i *)(p + i)),
                                                   _mm256_load_si256((const __m256i *)(p + i + 32))));
        s1 = _mm256_xor_si256(s1, _mm256_xor_si256(_mm256_load_si256((const __m256i *)(p + q + i)),
                                                   _mm256_load_si256((const __m256i *)(p + q + i + 32))));
        s2 = _mm256_xor_si256(s2, _mm256_xor_si256(_mm256_load_si256((const __m256i *)(p + 2 * q + i)),
                                                   _mm256_load_si256((const __m256i *)(p + 2 * q + i + 32))));
        s3 = _mm256_xor_si256(s3, _mm256_xor_si256(_mm256_load_si256((const __m256i *)(p + 3 * q + i)),
                                                   _mm256_load_si256((const __m256i *)(p + 3 * q + i + 32))));
    }
    s0 = _mm256_xor_si256(_mm256_xor_si256(s0, s1), _mm256_xor_si256(s2, s3));
    uint64_t out[4];
    _mm256_storeu_si256((__m256i *)out, s0);
    return out[0] ^ out[1] ^ out[2] ^ out[3];
}
#endif

static void bw_task(void *ctx, int t, int thread) {
    (void)thread;
    bw_job *j = ctx;
    const char *p = j->buf + (size_t)t * BW_CHUNK;
#if defined(__x86_64__)
    if (j->wide == 512) { j->sink += bw_chunk512(p); return; }
    if (j->wide == 256) { j->sink += bw_chunk256(p); return; }
#endif
    uint64_t s[4] = {0, 0, 0, 0};
    const uint64_t *q = (const uint64_t *)p;
    for (size_t i = 0; i < BW_CHUNK / 8; i += 4) { s[0] ^= q[i]; s[1] ^= q[i + 1]; s[2] ^= q[i + 2]; s[3] ^= q[i + 3]; }
    j->sink += s[0] ^ s[1] ^ s[2] ^ s[3];
}

struct bench_bw_probe {
    char *buf;
    size_t bytes;        /* a whole number of BW_CHUNKs */
    double read, secs;   /* totals over the passes so far */
};

bench_bw_probe *bench_bw_probe_new(size_t bytes) {
    bench_bw_probe *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    if (smoke() && bytes > BW_BYTES) bytes = BW_BYTES; /* emulation: a few MB are enough to run the code */
    p->bytes = bytes < BW_CHUNK ? BW_CHUNK : bytes / BW_CHUNK * BW_CHUNK;
    p->buf = dots_alloc(p->bytes, "bandwidth buffer", NULL);
    if (!p->buf) { free(p); return NULL; }
    memset(p->buf, 1, p->bytes); /* touched: the passes read DRAM, not the zero page */
    return p;
}

double bench_bw_probe_pass(dots_pool *pool, bench_bw_probe *p) {
    int kind = fp32_kind();
    bw_job j = {p->buf, kind == PEAK_FMA512 ? 512 : kind == PEAK_FMA256 ? 256 : 0, 0};
    double t0 = dots_now();
    pool_run(pool, (int)(p->bytes / BW_CHUNK), bw_task, &j);
    double dt = dots_now() - t0;
    p->read += (double)p->bytes;
    p->secs += dt;
    return (double)p->bytes / dt / 1e9;
}

double bench_bw_probe_gbs(const bench_bw_probe *p) { return p->secs > 0 ? p->read / p->secs / 1e9 : 0; }

void bench_bw_probe_free(bench_bw_probe *p) {
    if (!p) return;
    dots_free(p->buf);
    free(p);
}

double bench_read_bandwidth_gbs(dots_pool *pool) {
    bench_bw_probe *p = bench_bw_probe_new(BW_BYTES);
    if (!p) return 0;
    double best = 0;
    for (int rep = 0; rep < 4; rep++) {
        double g = bench_bw_probe_pass(pool, p);
        if (g > best) best = g;
    }
    bench_bw_probe_free(p);
    return best;
}

/* ---- int8 dot-product peak of the int8 kernels' inner step (in-run) --------
 * kind: 0 vpmaddubsw + vpmaddwd + vpaddd (AVX2, 32 MACs), 1 vpdpbusd ymm
 * (AVX-VNNI, 32 MACs), 2 vpdpbusd zmm (AVX512-VNNI, 64 MACs); 12 chains. */
#if defined(__x86_64__)
T256 static int32_t i8_maddubs(void) {
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
__attribute__((target("avx2,avxvnni"))) static int32_t i8_avxvnni(void) {
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
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static int32_t i8_avx512vnni(void) {
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

#if defined(__x86_64__)
typedef struct { int kind; volatile int32_t sink; } i8_job;

static void i8_task(void *ctx, int t, int thread) {
    (void)t; (void)thread;
    i8_job *j = ctx;
    j->sink += j->kind == 2 ? i8_avx512vnni() : j->kind == 1 ? i8_avxvnni() : i8_maddubs();
}
#endif

double bench_peak_int8_gops(dots_pool *pool, int kind) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (kind == 1 && !cpu_has_avxvnni()) return 0;
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

double bench_steal_seconds(void) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    long hz = sysconf(_SC_CLK_TCK), ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    return n == 8 && hz > 0 && ncpu > 0 ? (double)v[7] / (double)hz / (double)ncpu : -1;
}

double bench_cpu_seconds(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

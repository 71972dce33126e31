/* ISA detection and the public kernel entry points. Until the SIMD kernels
 * land, every entry point runs the scalar reference split over threads. */
#include <stdlib.h>
#include <string.h>
#include "kernels/kernels.h"

static const char *k_isa_names[ISA_COUNT] = {"scalar", "avx2", "avx512", "avx512bf16", "neon"};
const char *isa_name(dots_isa isa) { return (unsigned)isa < ISA_COUNT ? k_isa_names[isa] : "?"; }

dots_isa isa_detect(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq")) {
#if defined(__clang__) || __GNUC__ >= 11
        if (__builtin_cpu_supports("avx512bf16")) return ISA_AVX512BF16;
#endif
        return ISA_AVX512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ISA_AVX2;
    return ISA_SCALAR;
#elif defined(__aarch64__)
    return ISA_NEON;
#else
    return ISA_SCALAR;
#endif
}

static int g_isa = -1;

dots_isa isa_select(dots_isa isa) {
    dots_isa best = isa_detect();
    if ((unsigned)isa >= ISA_COUNT) isa = best;
    /* x86 levels are ordered; NEON only where detected */
    if (isa == ISA_NEON ? best != ISA_NEON : (best != ISA_NEON && isa > best)) isa = best;
    if (best == ISA_NEON && isa != ISA_SCALAR) isa = ISA_NEON;
    g_isa = isa;
    return isa;
}

dots_isa isa_active(void) {
    if (g_isa < 0) {
        const char *env = getenv("DOTS_ISA");
        dots_isa want = isa_detect();
        if (env)
            for (int i = 0; i < ISA_COUNT; i++)
                if (strcmp(env, k_isa_names[i]) == 0) want = (dots_isa)i;
        isa_select(want);
    }
    return (dots_isa)g_isa;
}

typedef struct {
    const float *x; int M, K; const void *W; dots_dtype wdt; const void *bias; dots_dtype bdt; float *y; int N;
    int rows_per_task;
} linear_job;

static void linear_task(void *ctx, int t, int thread) {
    (void)thread;
    linear_job *j = ctx;
    int m0 = t * j->rows_per_task, m1 = m0 + j->rows_per_task;
    if (m1 > j->M) m1 = j->M;
    ref_linear(j->x + (size_t)m0 * j->K, m1 - m0, j->K, j->W, j->wdt, j->bias, j->bdt, j->y + (size_t)m0 * j->N, j->N);
}

void k_linear(dots_pool *pool, const float *x, int M, int K, const void *W, dots_dtype wdt, const void *bias,
              dots_dtype bdt, float *y, int N) {
    linear_job j = {x, M, K, W, wdt, bias, bdt, y, N, 0};
    int nt = pool_threads(pool) * 4;
    j.rows_per_task = (M + nt - 1) / nt;
    if (j.rows_per_task < 1) j.rows_per_task = 1;
    pool_run(pool, (M + j.rows_per_task - 1) / j.rows_per_task, linear_task, &j);
}

int k_attention(dots_pool *pool, const dots_attn *a) {
    (void)pool;
    return ref_attention(a);
}

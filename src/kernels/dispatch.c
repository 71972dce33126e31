/* ISA detection, the kernel table of the selected level, and the small
 * entry points that go straight to it (linear.c and attention.c hold the
 * drivers of the two big ones). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/kern_impl.h"
#include "kernels/cpu_arm.h"

static const char *k_isa_names[ISA_COUNT] = {"scalar", "avx2", "avx512", "avx512bf16", "amx", "neon", "neonbf16"};
const char *isa_name(dots_isa isa) { return (unsigned)isa < ISA_COUNT ? k_isa_names[isa] : "?"; }

dots_isa isa_detect(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq")) {
#if defined(__clang__) || __GNUC__ >= 11
        if (__builtin_cpu_supports("avx512bf16")) return amx_bf16_usable() ? ISA_AMX : ISA_AVX512BF16;
#endif
        return ISA_AVX512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ISA_AVX2;
    return ISA_SCALAR;
#elif defined(__aarch64__)
    return cpu_has_arm_bf16() ? ISA_NEONBF16 : ISA_NEON;
#else
    return ISA_SCALAR;
#endif
}

/* The table is built once, thread-safely (pthread_once), from $DOTS_ISA or
 * the detected level; isa_select (tests, benches) rebuilds it and must not run
 * while other threads are inside kernels. */
static int g_isa = -1;
static kern_ops g_ops;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* Each level overlays the slots it implements on the levels below it. */
static void build_table(dots_isa isa) {
    kern_ops o;
    memset(&o, 0, sizeof o);
    kops_fill_generic(&o);
#if DOTS_X86
    if (isa >= ISA_AVX2 && isa <= ISA_AMX) kops_fill_avx2(&o);
    if (isa >= ISA_AVX512 && isa <= ISA_AMX) kops_fill_avx512(&o);
    if (isa >= ISA_AVX512BF16 && isa <= ISA_AMX) kops_fill_avx512bf16(&o);
    if (isa == ISA_AMX) kops_fill_amx(&o);
#endif
#if DOTS_ARM64
    if (isa == ISA_NEON || isa == ISA_NEONBF16) kops_fill_neon(&o);
    if (isa == ISA_NEONBF16) kops_fill_neon_bf16(&o);
#endif
    g_ops = o;
}

/* Whether level isa runs where isa_detect() gives best: levels are ordered
 * within one architecture (scalar < avx2 < avx512 < avx512bf16 < amx; scalar < neon
 * < neonbf16), and the other architecture's levels never run. */
static int isa_runs(dots_isa isa, dots_isa best) {
    if (isa == ISA_SCALAR) return 1;
#if defined(__aarch64__)
    return (isa == ISA_NEON || isa == ISA_NEONBF16) && isa <= best;
#else
    return isa >= ISA_AVX2 && isa <= ISA_AMX && isa <= best;
#endif
}

static dots_isa set_level(dots_isa isa) {
    dots_isa best = isa_detect();
    if ((unsigned)isa >= ISA_COUNT || !isa_runs(isa, best)) isa = best;
    build_table(isa);
    g_isa = isa;
    return isa;
}

static void init_default(void) {
    const char *env = getenv("DOTS_ISA");
    dots_isa want = isa_detect();
    if (env)
        for (int i = 0; i < ISA_COUNT; i++)
            if (strcmp(env, k_isa_names[i]) == 0) want = (dots_isa)i;
    set_level(want);
}

dots_isa isa_select(dots_isa isa) {
    pthread_once(&g_once, init_default); /* so a later first use cannot undo this choice */
    return set_level(isa);
}

dots_isa isa_active(void) {
    pthread_once(&g_once, init_default);
    return (dots_isa)g_isa;
}

const kern_ops *kops(void) {
    pthread_once(&g_once, init_default);
    return &g_ops;
}

void k_rmsnorm(const float *x, const void *w, dots_dtype wdt, float eps, float *y, int rows, int dim) {
    kops()->rmsnorm(x, w, wdt, eps, y, rows, dim);
}
void k_layernorm(const float *x, const void *w, const void *b, dots_dtype wdt, float eps, float *y, int rows,
                 int dim) {
    kops()->layernorm(x, w, b, wdt, eps, y, rows, dim);
}
void k_silu_mul(float *g, const float *u, size_t n) { kops()->silu_mul(g, u, n); }
void k_gelu(float *x, size_t n) { kops()->gelu(x, n); }
void k_add(float *y, const float *x, size_t n) { kops()->add(y, x, n); }
void k_f32_to_bf16(const float *x, bf16_t *y, size_t n) { kops()->to_bf16(x, y, n); }
void k_bf16_to_f32(const bf16_t *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = bf16_to_f32(x[i]); /* compilers vectorize this */
}

/* x86 CPU features that __builtin_cpu_supports does not name on every
 * compiler we build with (clang 14 has no "avxvnni"): read CPUID directly. */
#ifndef DOTS_CPU_X86_H
#define DOTS_CPU_X86_H
#if defined(__x86_64__)
#include <cpuid.h>

/* AVX-VNNI (VEX-encoded vpdpbusd on ymm): CPUID.(EAX=7,ECX=1):EAX bit 4. The
 * caller also checks AVX2, which covers the OS saving ymm state. */
static inline int cpu_has_avxvnni(void) {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 1, a, b, c, d);
    (void)b; (void)c; (void)d;
    return (a >> 4) & 1;
}

/* AMX-BF16 with its tile state saved by the OS: CPUID.(7,0):EDX bits 22
 * (AMX-BF16) and 24 (AMX-TILE), then XCR0 bits 17-18 (XTILECFG, XTILEDATA).
 * Linux also asks each process to request the state (gemm_amx.c does). */
static inline int cpu_has_amx_bf16(void) {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    (void)a; (void)b;
    if (!((d >> 22) & 1) || !((d >> 24) & 1)) return 0;
    __cpuid(1, a, b, c, d);
    if (!((c >> 27) & 1)) return 0; /* OSXSAVE: xgetbv is allowed */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    return (lo & (3u << 17)) == (3u << 17);
}
#else
static inline int cpu_has_avxvnni(void) { return 0; }
static inline int cpu_has_amx_bf16(void) { return 0; }
#endif
#endif

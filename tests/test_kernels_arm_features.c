/* Which kernel path runs: the Arm feature bits (cpu_arm.h) and the level that
 * dispatch picks from them. tools/arm64_cross_test.sh runs this under qemu
 * with -cpu max (FEAT_BF16) and -cpu cortex-a72 (none), telling it what the
 * CPU model has through DOTS_EXPECT_ARM_BF16=1/0; the test then checks that
 * the BFDOT/BFMMLA slots are installed exactly where the CPU has BF16, and that
 * DOTS_ISA-style requests for a level the CPU lacks fall back. On x86 the Arm
 * bits must read 0 and no NEON level may be selected. */
#include <stdio.h>
#include <stdlib.h>
#include "testutil.h"
#include "kernels/cpu_arm.h"
#include "kernels/kern_impl.h"

int main(void) {
    int bf16 = cpu_has_arm_bf16(), dot = cpu_has_arm_dotprod(), i8mm = cpu_has_arm_i8mm();
    dots_isa best = isa_detect();
    printf("arm features: bf16=%d dotprod=%d i8mm=%d; detected level: %s\n", bf16, dot, i8mm, isa_name(best));
#if defined(__aarch64__)
    const char *want = getenv("DOTS_EXPECT_ARM_BF16");
    if (want) CHECK(bf16 == atoi(want), "HWCAP2_BF16 reads %d, the CPU model has %s", bf16, want);
    CHECK(best == (bf16 ? ISA_NEONBF16 : ISA_NEON), "detected %s with bf16=%d", isa_name(best), bf16);
    /* plain NEON: no bf16 instruction may be reachable from the table */
    CHECK(isa_select(ISA_NEON) == ISA_NEON, "neon not selectable");
    const kern_ops *o = kops();
    CHECK(o->act[DT_BF16] != ACT_BF16 && o->qk[1] == NULL && o->pv[1] == NULL,
          "neon level has bf16 slots (act %d, qk %p)", (int)o->act[DT_BF16], (void *)o->qk[1]);
    CHECK(o->pk.kernel != NULL, "neon level has no packed f32 GEMM");
    dots_isa got = isa_select(ISA_NEONBF16);
    o = kops();
    if (bf16) {
        CHECK(got == ISA_NEONBF16, "neonbf16 not selected on a BF16 CPU (%s)", isa_name(got));
        CHECK(o->act[DT_BF16] == ACT_BF16 && o->qk[1] && o->pv[1], "neonbf16 level lacks the BFMMLA/BFDOT slots");
    } else {
        CHECK(got == ISA_NEON, "neonbf16 selected on a CPU without BF16 (%s)", isa_name(got));
        CHECK(o->act[DT_BF16] != ACT_BF16 && o->qk[1] == NULL, "bf16 slots installed without BF16");
    }
    CHECK(isa_select(ISA_AVX2) == best, "an x86 level on arm64 did not fall back");
    printf("bf16 path %s\n", bf16 ? "selected" : "not selected");
#else
    CHECK(bf16 == 0 && dot == 0 && i8mm == 0, "arm feature bits set on a non-arm CPU");
    CHECK(best != ISA_NEON && best != ISA_NEONBF16, "neon detected on a non-arm CPU");
    CHECK(isa_select(ISA_NEONBF16) == best && isa_select(ISA_NEON) == best, "neon level selected on a non-arm CPU");
#endif
    return test_finish("test_kernels_arm_features");
}

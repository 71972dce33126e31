/* Arm64 feature bits from the kernel's auxiliary vector (see cpu_arm.h). The bit
 * values are the Linux uapi ones (asm/hwcap.h); older libcs lack the names. */
#include "kernels/cpu_arm.h"

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>

#define ARM_HWCAP_ASIMDDP (1ul << 20)
#define ARM_HWCAP2_I8MM (1ul << 13)
#define ARM_HWCAP2_BF16 (1ul << 14)

int cpu_has_arm_bf16(void) { return (getauxval(AT_HWCAP2) & ARM_HWCAP2_BF16) != 0; }
int cpu_has_arm_dotprod(void) { return (getauxval(AT_HWCAP) & ARM_HWCAP_ASIMDDP) != 0; }
int cpu_has_arm_i8mm(void) { return (getauxval(AT_HWCAP2) & ARM_HWCAP2_I8MM) != 0; }
#else
int cpu_has_arm_bf16(void) { return 0; }
int cpu_has_arm_dotprod(void) { return 0; }
int cpu_has_arm_i8mm(void) { return 0; }
#endif

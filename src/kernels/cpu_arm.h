/* Arm64 CPU features read at run time (getauxval: AT_HWCAP / AT_HWCAP2), so one
 * binary built for baseline ARMv8-A picks the BF16 / dot-product kernels only on
 * CPUs that have them. Each returns 0 on other architectures. */
#ifndef DOTS_CPU_ARM_H
#define DOTS_CPU_ARM_H

int cpu_has_arm_bf16(void);     /* FEAT_BF16: BFDOT, BFMMLA, BFCVT (HWCAP2_BF16) */
int cpu_has_arm_dotprod(void);  /* FEAT_DotProd: SDOT/UDOT (HWCAP_ASIMDDP) */
int cpu_has_arm_i8mm(void);     /* FEAT_I8MM: SMMLA/USMMLA (HWCAP2_I8MM) */

#endif

/* NEON attention tile pieces: the plain f32 loops of attn_loops.h, compiled
 * for arm64 (NEON is baseline there, so the compiler vectorizes them 4 wide). */
#include "kernels/attn_loops.h"

void kops_fill_attn_neon(kern_ops *o) {
    o->qk[0] = qk_f32_loops;
    o->pv[0] = pv_f32_loops;
}

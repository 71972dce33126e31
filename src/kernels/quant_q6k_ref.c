/* Scalar reference Q6_K x Q8_K dot products (the tiles of every ISA are tested
 * against it): per super-block the exact int32 sum over 16 sub-blocks of
 * scale * sum((q - 32) * a), then s += d_w * d_a * isum in block order.
 * |isum| <= 16 * 128 * 16 * 32 * 127 < 2^31. */
#include "kernels/quant_kern.h"

static void ref_q6(const blk_q8_k *A, size_t lda, int mr, const blk_q6_k *W, size_t ldw, int nr, int nsb, float *C,
                   size_t ldc) {
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            const blk_q8_k *a = A + (size_t)i * lda;
            const blk_q6_k *w = W + (size_t)j * ldw;
            float s = 0;
            for (int b = 0; b < nsb; b++) {
                int32_t isum = 0;
                for (int sb = 0; sb < 16; sb++) {
                    int dot = 0;
                    for (int l = 0; l < 16; l++) dot += (q6k_value(&w[b], 16 * sb + l) - 32) * a[b].qs[16 * sb + l];
                    isum += w[b].scales[sb] * dot;
                }
                s += f16_to_f32(w[b].d) * a[b].d * (float)isum;
            }
            C[(size_t)i * ldc + j] = s;
        }
}

q6_tile_fn q6kern_ref(void) { return ref_q6; }

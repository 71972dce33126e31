/* Internal: the table of ISA-specific kernel pieces that the generic drivers
 * (linear.c, attention.c, dispatch.c) call. Each ISA file fills the slots it
 * implements on top of the levels below it, so a slot an ISA lacks keeps the
 * portable version. Not part of the public API. */
#ifndef DOTS_KERN_IMPL_H
#define DOTS_KERN_IMPL_H
#include "kernels/kernels.h"

/* How a GEMM tile wants its activation rows. */
typedef enum {
    ACT_F32 = 0,     /* the caller's f32 rows as they are */
    ACT_F32_RBF16,   /* f32 rows whose values were rounded to bf16 (widening kernels) */
    ACT_BF16         /* bf16 rows (native bf16 dot products) */
} kact;

/* C[i,j] (= or +=) sum_{k<kc} A[i,k] * W[j,k] (+ bias[j]) for i < mr, j < nr.
 * mr <= the slot's MR, nr <= NR; A in the slot's activation format, W in the weight
 * dtype; lda/ldw/ldc in elements. accumulate: add to C instead of storing.
 * bias (f32, may be NULL) is added once, on this call. */
typedef void (*gemm_tile_fn)(const void *A, size_t lda, int mr, const void *W, size_t ldw, int nr, int kc,
                             float *C, size_t ldc, int accumulate, const float *bias);

/* Packed GEMM (optional: slots NULL where an ISA has none; the driver then uses
 * the tiles above). linear.c, per (M block, N panel) task and per K chunk of kc:
 *  1. pack converts the panel's weights once to f32 slivers in per-thread
 *     scratch (L2-resident): sliver s holds weight rows n0 + s*nr .. as
 *     Bp[k][nr] (k < kc), rows past the panel's nr (<= pk nr) zero;
 *  2. for each group of mr activation rows (f32, read in place: the act[]
 *     format, so bf16-weight rows arrive already rounded to bf16) and each sliver,
 *     kernel computes C[i,j] (= or +=) sum_k A[i*lda + k] * Bp[k*nr + j]
 *     (+ bias[j]) for i < mr, j < nr. A rows i >= mr are never read. pf, npf:
 *     a hint, npf cache lines from pf wanted in L1 soon (the next group's packed
 *     A), to prefetch spread over the K loop (an ISA may ignore it).
 * Used for M >= min_m; below that the unpacked tiles win (packing W costs
 * one conversion per 2M flops).
 * apack set: A is packed too, once per call (with the bf16 rounding where the
 * act[] format asks it): per K chunk and mr-row group, [kc][mr] contiguous
 * (A[i][k] at A[k * mr + i], rows past M zero); kernel then gets that
 * group's block and ignores lda. One contiguous stream per group: no strided
 * rows (TLB, short prefetch streams) in the kernel. apack writes one block:
 * dst[k * mr + i] = x[i * ldx + k] (rounded to bf16 if rbf16, as round_bf16
 * does) for i < rows (<= mr), 0 for rows <= i < mr, k < kc.
 * The bf16 flavour (kern_ops.pk16, act[] ACT_BF16) is the same driver: pack
 * writes Bp as [kc/2][nr] pairs of k (uint32: the weights of k and k + 1; an odd
 * kc pairs its last k with 0), kernel reads A as bf16 rows in place (lda
 * elements apart, the pointers cast to float *), the K chunks are even, and
 * apack is NULL. */
typedef void (*pk_pack_fn)(const void *W, dots_dtype wdt, size_t ldw, int nr, int kc, float *Bp);
typedef void (*pk_apack_fn)(const float *x, size_t ldx, int rows, int kc, int rbf16, float *dst);
typedef void (*pk_kernel_fn)(const float *A, size_t lda, int mr, const float *Bp, int kc, float *C, size_t ldc,
                             int nr, int accumulate, const float *bias, const char *pf, int npf);
typedef struct pk_ops {
    pk_pack_fn pack;      /* NULL: no packed path for this flavour */
    pk_kernel_fn kernel;
    pk_apack_fn apack;    /* NULL: the kernel reads A in place */
    int mr, nr, min_m;
    int kc;               /* K chunk this kernel wants (0: the driver's); set, every chunk
                           * but the last is a multiple of 32 */
    int no_a_prefetch;    /* the driver does not prefetch the next group's A (the amx level:
                           * its tile loads measured 3-20% faster without) */
} pk_ops;

/* Quantized weights into the bf16 packed flavour (pk16): the same Bp as
 * pk16.pack, of nr (<= pk16.nr) rows wrow bytes apart whose first block is at W,
 * dequantized (w = d * q per the dtype's layout, base/quant.h) and rounded to
 * bf16. kc is a whole number of the dtype's blocks. Set where a level runs
 * quantized (and bf16-valued F16) GEMMs on its bf16 kernel (amx); NULL elsewhere. */
typedef int (*pk_qpack_fn)(const void *W, dots_dtype wdt, size_t wrow, int nr, int kc, float *Bp);
/* (returns 0; or, for F16, 1 when a normal weight is not a bf16 value: the call
 * then runs on the F16 contract's f32 path instead, linear.c) */
#define QUANT_PACKED_MIN_M 4 /* quantized GEMMs of fewer rows run the int8 tiles and GEMV (qlinear.c) */
#define QPACK16_KC_MAX 512   /* longest K chunk a qpack16 takes */

/* Attention tile pieces; KV is pre-packed (see attention.c for the layouts). */
typedef void (*qk_fn)(const void *Q, int ldq, int nq, const void *Kp, int nblk, int d, float *S, int lds, float scale);
typedef void (*pv_fn)(const void *P, int ldp, int nq, const void *V, size_t ldv, int nkeys, int d, float *O, int ldo);

typedef struct kern_ops {
    gemm_tile_fn tile[3];  /* by weight dtype: DT_F32, DT_F16, DT_BF16 (dtype enum order) */
    kact act[3];
    int mr[3], nr[3];
    /* optional GEMV tiles (mr = 1, nr <= 4) for ISAs whose nr[] is not 4: the
     * GEMV path (M = 1, linear.c gemv_task) runs 4 weight rows as 4 streams */
    gemm_tile_fn gemv4[3];
    /* packed GEMM (see pk_pack_fn): pk for the weight dtypes whose act[] is f32,
     * pk16 for those whose act[] is ACT_BF16 */
    pk_ops pk, pk16;
    pk_qpack_fn qpack16;    /* quantized weights on pk16 (NULL: qlinear.c's int8 kernels serve them) */
    unsigned qpack16_types; /* bit t set: qpack16 takes dtype t */
    /* attention tiles: [0] f32 operands, [1] native bf16 operands (NULL where the
     * ISA has no bf16 dot: bf16 precision then runs [0] on bf16-rounded values) */
    qk_fn qk[2];
    pv_fn pv[2];
    /* pv[0]'s V layout: 0 rows [j][d] (ldv apart); W > 0 chunks of W head dims,
     * [d/W][j][W] (the last chunk padded to W), pv[0] then gets ldv = the chunk
     * stride: a chunk's keys are contiguous, so a tile's chunk spreads over every
     * L1 set instead of the few that rows d floats apart map to */
    int pv_vchunk;
    /* elementwise */
    void (*rmsnorm)(const float *x, const void *w, dots_dtype wdt, float eps, float *y, int rows, int dim);
    void (*layernorm)(const float *x, const void *w, const void *b, dots_dtype wdt, float eps, float *y, int rows,
                      int dim);
    void (*silu_mul)(float *g, const float *u, size_t n);
    void (*gelu)(float *x, size_t n);
    void (*add)(float *y, const float *x, size_t n);
    void (*to_bf16)(const float *x, bf16_t *y, size_t n);
    void (*round_bf16)(const float *x, float *y, size_t n);
    /* e[i] = exp(s[i] - shift) for i < n, stored to pf (f32) or pb (bf16, rounded)
     * whichever is not NULL; returns the sum of the f32 e[i]. */
    float (*exp_sum)(const float *s, int n, float shift, float *pf, bf16_t *pb);
    /* Decode attention: G <= DEC_G query heads that share one KV head, KV rows used
     * in place and read once for all G (kdt F32 or BF16; rb: round f32 K/V values
     * to bf16 first). q, acc: G rows of d; s, p: G rows of lds.
     * s[g,j] = scale * sum_c q[g,c] K[j,c];  acc[g,c] += sum_j p[g,j] V[j,c]. */
    void (*dot_rows)(const float *q, int G, const void *K, size_t ldk, dots_dtype kdt, int n, int d, int rb,
                     float scale, float *s, size_t lds);
    void (*axpy_rows)(const float *p, size_t ldp, int G, const void *V, size_t ldv, dots_dtype vdt, int n, int d,
                      int rb, float *acc);
    /* max s[i] (n >= 1) */
    float (*vmax)(const float *s, int n);
    void (*erf)(const float *x, float *y, size_t n); /* NULL: erff (used by tests) */
} kern_ops;

/* One weight element as f32, whatever its stored dtype (F32, F16 or BF16):
 * the scalar reference and the SIMD tiles' K tails read weights through this. */
static inline float kern_w_at(const void *w, dots_dtype dt, size_t i) {
    if (dt == DT_BF16) return bf16_to_f32(((const bf16_t *)w)[i]);
    if (dt == DT_F16) return f16_to_f32(((const f16_t *)w)[i]);
    return ((const float *)w)[i];
}

/* Defines `name` as a gemm_tile_fn that calls the including file's
 * tile_T(MRc, dt, ...) with MRc (1..4) and dt as compile-time constants. */
#define GEMM_TILE_BY_MR(name, dt) \
    static void name(const void *A, size_t lda, int mr, const void *W, size_t ldw, int nr, int kc, float *C, \
                     size_t ldc, int acc, const float *bias) { \
        switch (mr) { \
        case 1: tile_T(1, dt, A, lda, W, ldw, nr, kc, C, ldc, acc, bias); break; \
        case 2: tile_T(2, dt, A, lda, W, ldw, nr, kc, C, ldc, acc, bias); break; \
        case 3: tile_T(3, dt, A, lda, W, ldw, nr, kc, C, ldc, acc, bias); break; \
        default: tile_T(4, dt, A, lda, W, ldw, nr, kc, C, ldc, acc, bias); break; \
        } \
    }

/* Per-thread growable scratch (scratch.c): one buffer per slot and OS thread,
 * kept between calls (no allocation per call once sizes are seen), so two
 * callers on different threads never share one. NULL if out of memory.
 * kern_scratch_done gives back a buffer grown past a few tens of MB. */
typedef enum { KS_LINEAR, KS_PANEL, KS_ATTN, KS_ATTN_SEG, KS_QLINEAR, KS_QPANELS, KS_COUNT } kern_slot;
void *kern_scratch(kern_slot slot, size_t bytes);
void kern_scratch_done(kern_slot slot);

/* The table for the active ISA (dispatch.c). */
const kern_ops *kops(void);

void kops_fill_generic(kern_ops *o);
#if DOTS_X86
void kops_fill_avx2(kern_ops *o);
void kops_fill_avx512(kern_ops *o);
/* gemm_avx2.c's panel pack at 32 columns, Bp[k][32] (pk_pack_fn): the avx512 packed kernel's B */
void pk_pack32_avx2(const void *W, dots_dtype wdt, size_t ldw, int nr, int kc, float *Bp);
void kops_fill_avx512bf16(kern_ops *o);
void kops_fill_amx(kern_ops *o);              /* gemm_amx.c: AMX-BF16 packed kernel, on top of avx512bf16 */
int amx_bf16_usable(void);                    /* CPU has AMX-BF16 and the OS let this process use it */
void amx_tiles_configure(void);               /* the calling thread's tiles: 8 of 16 rows x 64 bytes (once per thread) */
void kops_fill_attn_avx2(kern_ops *o);        /* attn_avx2.c */
void kops_fill_vec_avx2(kern_ops *o);         /* vec_avx2.c */
void kops_fill_vec_avx512(kern_ops *o);       /* elementwise, vec_avx512.c */
void kops_fill_attn_avx512(kern_ops *o);      /* attn_avx512.c */
void kops_fill_attn_avx512bf16(kern_ops *o);  /* attn_avx512bf16.c */
void kops_fill_attn_amx(kern_ops *o);         /* attn_amx.c: qk/pv of bf16 precision on tiles */
void kops_fill_qpack_amx(kern_ops *o);        /* qpack_amx.c: quantized weights into the bf16 pack */
#endif
#if DOTS_ARM64
void kops_fill_neon(kern_ops *o);
void kops_fill_attn_neon(kern_ops *o);        /* attn_neon.c */
void kops_fill_vec_neon(kern_ops *o);         /* vec_neon.c */
void kops_fill_neon_bf16(kern_ops *o);        /* FEAT_BF16 slots: gemm_bf16_neon.c, attn_bf16_neon.c */
void kops_fill_attn_neon_bf16(kern_ops *o);
#endif

/* Attention pack block: keys are packed in groups of 16 (one 512-bit vector of f32). */
#define ATT_KB 16
#define DEC_G 6

#endif

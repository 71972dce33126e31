/* Hot kernels, dispatched at run time to the best ISA the CPU has.
 *
 * Numeric contract (every ISA computes the same thing, up to summation order):
 *  - linear / gemm with F32 weights: f32 products, f32 sums.
 *  - with F16 weights: weights widened to f32, f32 products and sums. At the amx
 *    level, calls of M >= 16 whose normal weights are all bf16 values (files
 *    converted from bf16, as llama.cpp's mmproj-f16) run as BF16 weights.
 *  - with BF16 weights: the activations are rounded to bf16 (nearest even) first,
 *    products exact in f32, sums in f32 (what AVX512_BF16's vdpbf16ps does).
 *  - with quantized weights (Q8_0, Q4_K, Q6_K): the activations quantized per
 *    block (Q8_0 / Q8_K), int8 products, exact int32 block sums, f32 scaling and
 *    sums. At the amx level, calls of M >= 4 rows instead take the BF16 route:
 *    weights dequantized (base/quant.c's formulas) and rounded to bf16 in the
 *    panel pack, then as BF16 weights (qpack_amx.c). Fewer rows keep int8.
 *  - attention in DT_F32 precision: all f32. In DT_BF16 precision: q, k, v and the
 *    softmax probabilities are rounded to bf16 before the products, the online
 *    softmax itself (max, exp, sums, rescaling) is f32.
 * Row exactness (k_linear, k_linear_multi): y row m depends only on x row m,
 * W, bias, K and on which of two M classes the call falls in -- never on the
 * other rows, on m's place in the call, on N blocking or on the thread count.
 * Class 1 is M in [1, R], R = k_linear_row_exact_rows(wdt) (decode GEMV and the
 * small-M tiles, one reduction order); class 2 is M > R (the packed kernel,
 * another order). So a row gives the same bits alone (M = 1) and batched with
 * up to R - 1 others, and a prefill chunk of more than R rows the same bits
 * whatever other chunks of more than R rows share its call. R per level:
 * scalar: unlimited (INT_MAX); avx2, avx512, neon, avx512bf16: 15 (PK_MIN_M - 1,
 * PK16_MIN_M - 1 for BF16 weights on avx512bf16), with any weight dtype;
 * neonbf16: unlimited for BF16 weights (one bf16 tile serves every M), 15 for
 * F32/F16. Quantized weights (Q8_0, Q4_K, Q6_K):
 * 3 (QUANT_PACKED_MIN_M - 1) where the int8 level has a packed GEMM for the
 * dtype or the level routes M >= 4 to the bf16 tiles (amx), else unlimited; on i8mm 1 (its smmla tiles pair A rows: a row
 * alone is one class; class 2 there is not checked).
 * All matrices are row-major; "NT" means C[m,n] = sum_k A[m,k] * B[n,k], which
 * is how Hugging Face stores Linear weights ([out, in]), so weights are used
 * straight from the memory map. */
#ifndef DOTS_KERNELS_H
#define DOTS_KERNELS_H
#include <stddef.h>
#include "base/dtype.h"
#include "base/threadpool.h"

typedef enum dots_isa {
    ISA_SCALAR = 0,
    ISA_AVX2,        /* AVX2 + FMA + F16C */
    ISA_AVX512,      /* AVX-512 F/BW/DQ/VL */
    ISA_AVX512BF16,  /* + AVX512_BF16 (vdpbf16ps) */
    ISA_AMX,         /* + AMX-BF16 tiles (tdpbf16ps): packed GEMM of bf16 and (M >= 4) quantized weights, attention */
    ISA_NEON,        /* ARMv8 NEON */
    ISA_NEONBF16,    /* + FEAT_BF16 (BFDOT/BFMMLA), detected from HWCAP2 */
    ISA_COUNT
} dots_isa;

const char *isa_name(dots_isa isa);
/* Best level this CPU supports (and this build compiled in). */
dots_isa isa_detect(void);
/* Level in use. Defaults to isa_detect(), or to $DOTS_ISA (scalar|avx2|avx512|avx512bf16|amx|neon|neonbf16) if set. */
dots_isa isa_active(void);
/* Select a level (tests use this to compare each ISA with the scalar one).
 * Returns the level actually selected: a level the CPU lacks falls back to the detected one. */
dots_isa isa_select(dots_isa isa);

/* y[M,N] = x[M,K] @ W[N,K]^T + bias[N] (bias may be NULL; it has dtype bdt).
 * W (dtype F32, F16 or BF16) is used in place. x and y must not alias. Threads
 * split the work over the pool. Returns 0, or -1 if scratch memory could not be
 * allocated or the arguments are invalid (y untouched). */
int k_linear(dots_pool *pool, const float *x, int M, int K, const void *W, dots_dtype wdt,
              const void *bias, dots_dtype bdt, float *y, int N);

/* Several linears over the same x (q/k/v, gate/up): part p computes
 * y = x @ W^T + bias with its own W [N, K] (dtype wdt) and bias (dtype bdt, may be
 * NULL). One activation conversion and one pass of the pool for all parts; each
 * part gives the same result as k_linear. At most 4 parts; same returns as k_linear. */
/* 1 if k_linear takes weights (or biases) of this dtype: a -1 from it is then out of memory. */
int k_linear_supports(dots_dtype t);
/* R of the row-exactness contract above for weights of dtype wdt on the active
 * level (INT_MAX: every M is one class); 0 for a dtype k_linear does not take. */
int k_linear_row_exact_rows(dots_dtype wdt);
typedef struct dots_lin_part { const void *W; const void *bias; float *y; int N; } dots_lin_part;
int k_linear_multi(dots_pool *pool, const float *x, int M, int K, dots_dtype wdt, dots_dtype bdt,
                   const dots_lin_part *parts, int n_parts);

/* Linears with block-quantized weights (DT_Q8_0, DT_Q4_K, DT_Q6_K; K a whole
 * number of blocks): same contract as k_linear_multi (k_linear and
 * k_linear_multi send these dtypes here, except the amx level's M >= 4 calls,
 * which they run on the bf16 tiles). Activations are quantized per block on the
 * fly (Q8_0 for Q8_0 weights, Q8_K for Q4_K / Q6_K) and multiplied in int8; no
 * dequantized copy of W (the bf16 route dequantizes one L2 panel at a time). */
int k_qlinear_multi(dots_pool *pool, const float *x, int M, int K, dots_dtype wdt, dots_dtype bdt,
                    const dots_lin_part *parts, int n_parts);
/* k_linear_row_exact_rows for a quantized dtype on the active int8 level. */
int k_qlinear_row_exact_rows(dots_dtype wdt);
/* Int8 kernel levels, detected at run time. By default the best one within the
 * active level (DOTS_ISA): avx2 -> AVX-VNNI if present, else vpmaddubsw; avx512*
 * -> AVX512-VNNI; neon -> i8mm / dotprod. $DOTS_QISA or qisa_select overrides
 * (QISA_COUNT: follow DOTS_ISA again). */
typedef enum dots_qisa {
    QISA_SCALAR = 0, QISA_AVX2, QISA_AVXVNNI, QISA_AVX512VNNI, QISA_NEON, QISA_DOTPROD, QISA_I8MM, QISA_COUNT
} dots_qisa;
const char *qisa_name(dots_qisa q);
int qisa_supported(dots_qisa q);
dots_qisa qisa_select(dots_qisa q);
dots_qisa qisa_active(void);

/* y[r,:] = x[r,:] * rsqrt(mean(x[r,:]^2) + eps) * w, for rows r < rows; y may equal x. */
void k_rmsnorm(const float *x, const void *w, dots_dtype wdt, float eps, float *y, int rows, int dim);
/* LayerNorm with weight and bias (both dtype wdt); y may equal x. */
void k_layernorm(const float *x, const void *w, const void *b, dots_dtype wdt, float eps, float *y, int rows, int dim);
/* g[i] = silu(g[i]) * u[i] */
void k_silu_mul(float *g, const float *u, size_t n);
/* x[i] = gelu(x[i]), exact erf form */
void k_gelu(float *x, size_t n);
/* y[i] += x[i] */
void k_add(float *y, const float *x, size_t n);
/* y[i] = x[i] rounded to bf16 (nearest even), the activation rounding of the contract. */
void k_f32_to_bf16(const float *x, bf16_t *y, size_t n);
/* y[i] = bf16 -> f32 (exact) */
void k_bf16_to_f32(const bf16_t *x, float *y, size_t n);

/* Multi-head attention, tiled with an online softmax: memory O(rows), never
 * an N x N matrix. Rows of q/k/v/out hold heads back to back (head h at
 * columns h*head_dim ..). Query head h uses KV head h / (n_heads / n_kv_heads).
 *
 * Masking: if seq_bounds != NULL, rows are split into n_seqs packed sequences
 * (cu_seqlens style: sequence s is rows [seq_bounds[s], seq_bounds[s+1]) of both q
 * and kv, so n_q == n_kv) and each query sees only keys of its own sequence.
 * If causal, query i (absolute position q_pos0 + i) sees key j iff j <= q_pos0 + i.
 * k and v have dtype kv_dtype (F32 or BF16: the LM's bf16 KV cache). */
typedef struct dots_attn {
    int n_q, n_kv;
    int n_heads, n_kv_heads, head_dim;
    const float *q; size_t ldq;
    const void *k; size_t ldk;
    const void *v; size_t ldv;
    dots_dtype kv_dtype;
    float *out; size_t ldo;
    float scale;
    int causal, q_pos0;
    const int *seq_bounds; int n_seqs;
    dots_dtype precision;  /* DT_F32 or DT_BF16: see the numeric contract */
} dots_attn;

/* Returns 0, or -1 if scratch memory could not be allocated or the arguments are
 * invalid (bad dtypes, n_heads not a multiple of n_kv_heads, seq_bounds not
 * non-decreasing within [0, n_kv]); out is then untouched. */
int k_attention(dots_pool *pool, const dots_attn *a);

/* The scalar reference versions (always available; tests compare against them). */
void ref_linear(const float *x, int M, int K, const void *W, dots_dtype wdt, const void *bias, dots_dtype bdt,
                float *y, int N);
int ref_attention(const dots_attn *a);
void ref_rmsnorm(const float *x, const void *w, dots_dtype wdt, float eps, float *y, int rows, int dim);
void ref_layernorm(const float *x, const void *w, const void *b, dots_dtype wdt, float eps, float *y, int rows,
                   int dim);
void ref_silu_mul(float *g, const float *u, size_t n);
void ref_gelu(float *x, size_t n);
void ref_add(float *y, const float *x, size_t n);

#endif

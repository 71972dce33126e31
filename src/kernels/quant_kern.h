/* Internal: int8 kernels for block-quantized weights (qlinear.c drives them).
 *
 * Activations are quantized per block on the fly, per row:
 *  - for Q8_0 weights into "qact8": int8 qs[K] (q = roundf(x / d), d = amax/127,
 *    one f32 d per 32 values) and, per block, c = -128 * sum(qs of the block):
 *    VNNI kernels compute vpdpbusd(w ^ 0x80, a) = sum w a + 128 sum a and start
 *    from {c, 0 x 7} to cancel it. One d and one c per block (not 8 copies for
 *    vector loads): at K = 8960 the row's qs + d + c stay 11 KB, in L1 beside
 *    the weight streams.
 *  - for Q4_K and Q6_K weights into Q8_K blocks (blk_q8_k, quant_row_q8_k).
 * Numeric contract: every block's integer dot product is exact; the f32 sum over
 * blocks of (weight scale * activation scale * integer dot) is in any order. */
#ifndef DOTS_QUANT_KERN_H
#define DOTS_QUANT_KERN_H
#include <stdint.h>
#include "base/quant.h"
#include "kernels/kernels.h"

typedef struct qact8 {
    int8_t *qs; size_t ldq;        /* [M][ldq], ldq >= K */
    float *d; int32_t *corr;       /* [M][ldb] each, ldb = K/32: each block's d and c */
    size_t ldb;
} qact8;

/* C[i, j] = sum over K of A[m0 + i] . W[j] for i < mr (<= 4), j < nr (any).
 * W rows have ldw blocks; nb blocks are summed; ldc in floats. */
typedef void (*q8_tile_fn)(const qact8 *A, int m0, int mr, const blk_q8_0 *W, size_t ldw, int nr, int nb, float *C,
                           size_t ldc);
typedef void (*q4_tile_fn)(const blk_q8_k *A, size_t lda, int mr, const blk_q4_k *W, size_t ldw, int nr, int nsb,
                           float *C, size_t ldc);

/* GEMM with a packed W panel (optional): pack lays ncols W rows (nb blocks
 * each) out column-interleaved for outer-product dot products into P (see
 * quant_avx512.c); gemm then computes C[i, j] for i < mr (<= pmr), j < ncols. */
typedef void (*q8_pack_fn)(const blk_q8_0 *W, size_t ldw, int ncols, int nb, void *P);
/* The panel may be a K chunk: its nb blocks are A's blocks k0 .. k0+nb-1, and
 * k0 > 0 adds to C (the driver packs K chunks so that a panel of 256 columns
 * fits in L2 whatever K). */
typedef void (*q8_pgemm_fn)(const qact8 *A, int m0, int mr, const void *P, int ncols, int nb, int k0, float *C,
                            size_t ldc);

/* Activation quantizers of a level; each is bit-equal to the scalar one
 * (qact8_quant_row, quant_row_q8_k). */
typedef struct qkern_act {
    void (*q8)(const float *x, int K, int8_t *qs, float *d, int32_t *c);
    void (*q8k)(const float *x, blk_q8_k *y, int64_t n);
} qkern_act;

typedef struct qkern {
    q8_tile_fn q8;
    q4_tile_fn q4;
    int mr;  /* most A rows per tile call */
    q8_pack_fn q8_pack;     /* NULL: no packed GEMM at this level */
    q8_pgemm_fn q8_pgemm;
    int pmr;                /* most A rows per q8_pgemm call */
    size_t (*q8_pack_bytes)(int ncols, int nb);
    /* the same for Q4_K weights (Q8_K activations; nsb super-blocks) */
    void (*q4_pack)(const blk_q4_k *W, size_t ldw, int ncols, int nsb, void *P);
    void (*q4_pgemm)(const blk_q8_k *A, size_t lda, int mr, const void *P, int ncols, int nsb, float *C, size_t ldc);
    int pmr4;
    size_t (*q4_pack_bytes)(int ncols, int nsb);
    const qkern_act *act;   /* NULL: the scalar quantizers */
} qkern;

/* Software prefetch for the GEMV tiles, whose W rows stream from DRAM: each
 * step asks for `lines` cache lines `ahead` bytes past where a row is read
 * (past a row's end that is a later row, read by the next tile; a prefetch
 * never faults, and the address is formed as an integer, not a pointer past
 * the array). The hardware prefetcher alone left 5-15% of the bandwidth unused
 * at 4 rows a core (K = 8960 rows, alternated A/B in docs/NOTES.md). */
#define GEMV_AHEAD_BLOCKS 8 /* blocks (Q8_0) or super-blocks (Q4_K, Q6_K) */
/* Rows of at most 28 super-blocks that lie back to back read as one stream:
 * the hardware follows it, and per-row prefetch there measured 7-23% slower
 * (Q6_K zmm tile); the 256-bit Q4_K tile prefetches the next group instead. */
static inline int gemv_long_rows(size_t ldw, int nsb) { return nsb > 28 || ldw != (size_t)nsb; }
static inline void gemv_prefetch(const void *at, size_t ahead, int lines) {
    uintptr_t a = (uintptr_t)at + ahead;
    for (int l = 0; l < lines; l++) __builtin_prefetch((const void *)(a + 64 * (uintptr_t)l), 0, 3);
}

/* One activation row (K = 32 * nb) into qs[K], d[nb], c[nb]. */
void qact8_quant_row(const float *x, int K, int8_t *qs, float *d, int32_t *c);

/* The 256-bit Q4_K tiles (quant_avx2.c) for any mr, nr, shared with the AVX-512
 * level, which passes its own 1 x 4 GEMV tile (vpdpbusd ymm, EVEX form). */
typedef void (*q4g_fn)(const blk_q8_k *A, const blk_q4_k *W, size_t ldw, int nsb, float *C);
q4g_fn qkern_q4_gemv4_vnni_vl(void); /* tests: the avxvnni GEMV source, EVEX-encoded; NULL without AVX512-VNNI */
void qkern_q4_tiles(q4g_fn gemv4, const blk_q8_k *A, size_t lda, int mr, const blk_q4_k *W, size_t ldw, int nr,
                    int nsb, float *C, size_t ldc);

extern const qkern_act qkern_act_avx2; /* quant_avx2.c, also used by the AVX-512 level */

/* The row driver of the arm64 Q4_K / Q6_K tiles (quant_neon.c, quant_q6k_neon.c), W blocks of
 * type WT: every A row runs the 1 x 4 GEMV tile NAME##_4 over W rows in groups of 4 and the
 * 1 x 1 tile NAME##_1 over the rest (the two do a row's operations alike: the same bits). */
#define QK_ROWS_DRIVER(NAME, ATTR, WT) \
    ATTR static void NAME(const blk_q8_k *A, size_t lda, int mr, const WT *W, size_t ldw, int nr, int nsb, float *C, \
                          size_t ldc) { \
        for (int i = 0; i < mr; i++) { \
            const blk_q8_k *a = A + (size_t)i * lda; \
            float *c = C + (size_t)i * ldc; \
            int j = 0; \
            for (; j + 4 <= nr; j += 4) NAME##_4(a, W + (size_t)j * ldw, ldw, nsb, c + j); \
            for (; j < nr; j++) c[j] = NAME##_1(a, W + (size_t)j * ldw, nsb); \
        } \
    }

/* Q6_K x Q8_K tiles (quant_q6k_*.c), the same contract as q4_tile_fn. One tile
 * family serves every M, and each output's f32 sum runs in one order whatever
 * mr/nr, so Q6_K rows are exact for every M (R unlimited). */
typedef void (*q6_tile_fn)(const blk_q8_k *A, size_t lda, int mr, const blk_q6_k *W, size_t ldw, int nr, int nsb,
                           float *C, size_t ldc);
q6_tile_fn q6kern_ref(void);
q6_tile_fn q6kern_avx2(void);      /* vpmaddubsw; also serves avxvnni / avx512vnni */
q6_tile_fn q6kern_avx512(void);    /* zmm vpmaddubsw (AVX512BW); NULL without it */
q6_tile_fn q6kern_neon(void);
q6_tile_fn q6kern_dotprod(void);   /* sdot; NULL without it */
/* Packed Q6_K GEMM (as qkern's q4_pack / q4_pgemm); its rows equal the tiles' bit
 * for bit, so the M classes stay one. NULL where the level has none. */
typedef struct q6_packed {
    void (*pack)(const blk_q6_k *W, size_t ldw, int ncols, int nsb, void *P);
    void (*pgemm)(const blk_q8_k *A, size_t lda, int mr, const void *P, int ncols, int nsb, float *C, size_t ldc);
    int pmr;
    size_t (*pack_bytes)(int ncols, int nsb);
} q6_packed;
const q6_packed *q6kern_avx512_packed(void);

/* Tables per level; NULL where this build or CPU lacks the level. */
const qkern *qkern_ref(void);
const qkern *qkern_avx2(void);
const qkern *qkern_avxvnni(void);
const qkern *qkern_avx512vnni(void);
const qkern *qkern_neon(void);
const qkern *qkern_dotprod(void);
const qkern *qkern_i8mm(void);

#endif

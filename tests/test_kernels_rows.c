/* The row-exactness contract of k_linear (kernels.h): on every ISA level this
 * CPU has and for F32/F16/BF16 weights (and every int8 level for Q8_0, Q4_K,
 * Q6_K weights), a row's bits are the same for every M in
 * [1, R] (R = k_linear_row_exact_rows: decode alone vs batched), and the same for
 * every M > R whatever the row's place in the call (offsets within the packed
 * micro tile, row and column tails) and the thread count. Batched generation
 * relies on it to give every sequence the tokens it gets alone. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "base/dtype.h"
#include "base/quant.h"
#include "base/threadpool.h"
#include "kernels/kernels.h"

#define MMAX 40 /* rows of x: past R = 15 and several 6- and 8-row micro tiles */

/* rows x K quantized row by row (K a whole number of blocks) */
static void *make_qw(const float *src, int rows, int K, dots_dtype dt) {
    size_t rb = (size_t)dtype_row_bytes(dt, (uint64_t)K);
    char *w = malloc(rb * rows);
    for (int r = 0; r < rows; r++) quant_row(dt, src + (size_t)r * K, w + rb * r, K);
    return w;
}

static void *make_w(const float *src, size_t n, dots_dtype dt) {
    void *w = malloc(n * (dt == DT_F32 ? 4 : 2));
    for (size_t i = 0; i < n; i++) {
        if (dt == DT_F32) ((float *)w)[i] = src[i];
        else if (dt == DT_F16) ((f16_t *)w)[i] = f32_to_f16(src[i]);
        else ((bf16_t *)w)[i] = f32_to_bf16(src[i]);
    }
    return w;
}

/* First row of y [M][N] that differs bitwise from want [M][N], or -1. */
static int first_diff(const float *want, const float *y, int M, int N) {
    for (int r = 0; r < M; r++)
        if (memcmp(want + (size_t)r * N, y + (size_t)r * N, (size_t)N * sizeof(float))) return r;
    return -1;
}

typedef struct {
    dots_pool *pool;
    const float *x; int K; const void *W; dots_dtype wdt; const void *B; dots_dtype bdt; int N;
    const char *level;
} lin_case;

/* Class 1: every row of every M in [1, min(R, MMAX)] equals that row run alone. */
static void check_small(const lin_case *c, int R, float *alone, float *y) {
    for (int r = 0; r < MMAX; r++)
        k_linear(c->pool, c->x + (size_t)r * c->K, 1, c->K, c->W, c->wdt, c->B, c->bdt, alone + (size_t)r * c->N, c->N);
    int top = R < MMAX ? R : MMAX;
    for (int M = 2; M <= top; M += M < 16 ? 1 : 8) /* every M of the avx2/neon class, then a few */
        for (int off = 0; off + M <= MMAX; off += off == 0 && MMAX - M > 0 ? MMAX - M : MMAX) { /* first, last rows */
            k_linear(c->pool, c->x + (size_t)off * c->K, M, c->K, c->W, c->wdt, c->B, c->bdt, y, c->N);
            int d = first_diff(alone + (size_t)off * c->N, y, M, c->N);
            CHECK(d < 0, "%s w=%s K=%d bias=%d: row %d of an M=%d call (rows %d..) differs from it alone (R=%d)",
                  c->level, dtype_name(c->wdt), c->K, c->B != NULL, d, M, off, R);
        }
}

/* Class 2 (M > R): rows of any such call equal those of one call over all MMAX rows,
 * and a single-threaded call gives the same bits. */
static void check_packed(const lin_case *c, int R, float *all, float *y) {
    if (R >= MMAX - 1) return;
    k_linear(c->pool, c->x, MMAX, c->K, c->W, c->wdt, c->B, c->bdt, all, c->N);
    k_linear(NULL, c->x, MMAX, c->K, c->W, c->wdt, c->B, c->bdt, y, c->N);
    int d = first_diff(all, y, MMAX, c->N);
    CHECK(d < 0, "%s w=%s K=%d: row %d of M=%d differs with one thread", c->level, dtype_name(c->wdt), c->K, d, MMAX);
    static const int Ms[] = {1, 2, 5, 13, 24}; /* M = R + this */
    static const int offs[] = {0, 1, 5}; /* places within the 6- (avx2) and 8-row (neon) micro tiles */
    for (int mi = 0; mi < (int)(sizeof Ms / sizeof *Ms); mi++)
        for (int oi = 0; oi < (int)(sizeof offs / sizeof *offs); oi++) {
            int M = R + Ms[mi], off = offs[oi];
            if (off + M > MMAX) continue;
            k_linear(c->pool, c->x + (size_t)off * c->K, M, c->K, c->W, c->wdt, c->B, c->bdt, y, c->N);
            d = first_diff(all + (size_t)off * c->N, y, M, c->N);
            CHECK(d < 0, "%s w=%s K=%d bias=%d: row %d of an M=%d call (rows %d..) differs from M=%d", c->level,
                  dtype_name(c->wdt), c->K, c->B != NULL, d, M, off, MMAX);
        }
}

int main(void) {
    dots_error e;
    dots_pool *pool = pool_create(2, &e);
    CHECK(pool != NULL, "pool_create");
    /* N = 38: GEMV 4-stream split plus leftover rows, N tails of the 3-, 4-, 8- and 16-wide
     * tiles; K = 1536 (the LM's hidden size) and an odd K past one K chunk (4352) */
    int N = 38, Ks[2] = {1536, getenv("DOTS_TEST_SMALL") ? 777 : 4501};
    static const dots_dtype wdts[] = {DT_F32, DT_F16, DT_BF16};
    static const dots_isa levels[] = {ISA_SCALAR, ISA_AVX2, ISA_AVX512, ISA_AVX512BF16, ISA_AMX, ISA_NEON, ISA_NEONBF16};
    float *alone = malloc(sizeof(float) * MMAX * N), *all = malloc(sizeof(float) * MMAX * N);
    float *y = malloc(sizeof(float) * MMAX * N), *bf = malloc(sizeof(float) * N);
    test_fill_random(bf, (size_t)N, 3);
    for (int ki = 0; ki < 2; ki++) {
        int K = Ks[ki];
        float *x = malloc(sizeof(float) * MMAX * K), *wf = malloc(sizeof(float) * (size_t)N * K);
        test_fill_random(x, (size_t)MMAX * K, 1 + ki);
        test_fill_random(wf, (size_t)N * K, 10 + ki);
        for (int wi = 0; wi < 3; wi++) {
            dots_dtype wdt = wdts[wi], bdt = wdt == DT_BF16 ? DT_BF16 : DT_F32;
            void *W = make_w(wf, (size_t)N * K, wdt), *B = make_w(bf, (size_t)N, bdt);
            for (int li = 0; li < ISA_COUNT; li++) {
                if (isa_select(levels[li]) != levels[li]) continue;
                int R = k_linear_row_exact_rows(wdt);
                CHECK(R >= 1, "%s w=%s: R=%d", isa_name(levels[li]), dtype_name(wdt), R);
                /* with bias (the GEMV path adds it apart from the tiles); without, K = 1536 only */
                for (int bias_mode = 1; bias_mode >= (ki == 0 ? 0 : 1); bias_mode--) {
                    lin_case c = {pool, x, K, W, wdt, bias_mode ? B : NULL, bdt, N, isa_name(levels[li])};
                    check_small(&c, R, alone, y);
                    check_packed(&c, R, all, y);
                }
            }
            free(W);
            free(B);
        }
        free(x);
        free(wf);
    }
    /* quantized weights on every int8 level: K = 1536, and 4608 (K-chunked Q8_0 panels) */
    static const dots_dtype qdts[] = {DT_Q8_0, DT_Q4_K, DT_Q6_K};
    int qK[2] = {1536, 4608};
    for (int ki = 0; ki < 2; ki++) {
        int K = qK[ki];
        float *x = malloc(sizeof(float) * MMAX * K), *wf = malloc(sizeof(float) * (size_t)N * K);
        test_fill_random(x, (size_t)MMAX * K, 21 + ki);
        test_fill_random(wf, (size_t)N * K, 30 + ki);
        for (int wi = 0; wi < 3; wi++) {
            void *W = make_qw(wf, N, K, qdts[wi]);
            for (int q = 0; q < QISA_COUNT; q++) {
                if (qisa_select((dots_qisa)q) != (dots_qisa)q) continue;
                int R = k_linear_row_exact_rows(qdts[wi]);
                CHECK(R >= 1, "%s w=%s: R=%d", qisa_name((dots_qisa)q), dtype_name(qdts[wi]), R);
                lin_case c = {pool, x, K, W, qdts[wi], bf, DT_F32, N, qisa_name((dots_qisa)q)};
                check_small(&c, R, alone, y);
                if (q != QISA_I8MM) check_packed(&c, R, all, y);
            }
            qisa_select(QISA_COUNT);
            free(W);
        }
        free(x);
        free(wf);
    }
    isa_select(isa_detect());
    CHECK(k_linear_row_exact_rows(DT_I32) == 0, "R of a dtype k_linear does not take");
    free(alone); free(all); free(y); free(bf);
    pool_destroy(pool);
    return test_finish("test_kernels_rows");
}

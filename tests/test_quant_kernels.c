/* Int8 kernels for Q8_0 / Q4_K / Q6_K weights through k_linear / k_linear_multi:
 *  1. every int8 level this CPU has (vpmaddubsw, AVX-VNNI, AVX512-VNNI, NEON,
 *     dotprod, i8mm) against the scalar reference, GEMV (M = 1) and GEMM
 *     (M = 2..300), K = 1536 and 8960, awkward N, with bias, over a 2-thread pool;
 *  2. the whole quantized linear against an f32 matmul of the dequantized weights
 *     (relative error bound from quantizing the activations to 8 bits);
 *  3. the Q4_K / Q6_K weight quantizers (scale searches in vector lanes) against
 *     their scalar references, byte for byte, and convert_rows over the pool;
 *  4. on a CPU with AMX, the amx level's route for M >= 4 (the weights
 *     dequantized into the bf16 pack, qpack_amx.c, then the bf16 tiles) against
 *     a double matmul of the bf16-rounded activations and dequantized weights.
 * 1-3 run at avx512bf16 where the CPU has AMX: at amx, M >= 4 leaves the int8 kernels. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/quant.h"
#include "base/threadpool.h"
#include "kernels/kernels.h"
#include "kernels/quant_kern.h"
#include "testutil.h"

typedef struct {
    dots_dtype wdt;
    int M, K, N;
    float *x, *bias, *wdq;  /* x [M,K], bias [N], dequantized W [N,K] */
    void *W;                /* quantized W [N rows] */
} qcase;

static void make_case(qcase *c, dots_dtype wdt, int M, int K, int N, unsigned seed) {
    c->wdt = wdt; c->M = M; c->K = K; c->N = N;
    c->x = malloc(sizeof(float) * M * K);
    c->bias = malloc(sizeof(float) * N);
    c->wdq = malloc(sizeof(float) * N * K);
    size_t row = dtype_row_bytes(wdt, (uint64_t)K);
    c->W = malloc(row * N);
    test_fill_random(c->x, (size_t)M * K, seed);
    test_fill_random(c->bias, (size_t)N, seed + 1);
    float *w = malloc(sizeof(float) * K);
    for (int n = 0; n < N; n++) {
        test_fill_random(w, (size_t)K, seed + 7 + n);
        if (n % 5 == 0) w[(n * 131) % K] *= 40; /* an outlier weight in some rows */
        quant_row(wdt, w, (char *)c->W + row * n, K);
        dequant_row(wdt, (char *)c->W + row * n, c->wdq + (size_t)n * K, K);
    }
    if (wdt == DT_Q8_0) /* -128: a valid int8 our quantizer never writes (other writers may) */
        for (int n = 1; n < N; n += 4) ((blk_q8_0 *)((char *)c->W + row * n))[0].qs[n % 32] = -128;
    for (int n = 0; n < N; n++) dequant_row(wdt, (char *)c->W + row * n, c->wdq + (size_t)n * K, K);
    for (int m = 0; m < M; m += 3) c->x[(size_t)m * K + (m * 17) % K] = 25.0f; /* outlier channel */
    free(w);
}

static void free_case(qcase *c) { free(c->x); free(c->bias); free(c->wdq); free(c->W); }

static int run_linear(dots_pool *pool, const qcase *c, float *y) {
    return k_linear(pool, c->x, c->M, c->K, c->W, c->wdt, c->bias, DT_F32, y, c->N);
}


/* |y - ref| <= tol * sum_k |x w| for every element */
static int check_close(const qcase *c, const float *y, const float *ref, double tol, const char *what) {
    int bad = 0;
    double worst = 0;
    for (int m = 0; m < c->M; m++)
        for (int n = 0; n < c->N; n++) {
            double mag = 1e-3;
            for (int k = 0; k < c->K; k++) mag += fabs((double)c->x[(size_t)m * c->K + k] * c->wdq[(size_t)n * c->K + k]);
            double e = fabs((double)y[(size_t)m * c->N + n] - ref[(size_t)m * c->N + n]) / mag;
            if (e > worst) worst = e;
            if (!(e <= tol)) bad++;
        }
    CHECK(bad == 0, "%s: %d of %d outputs off (worst %.3g of sum|xw|, bound %.1g)", what, bad, c->M * c->N, worst, tol);
    return bad;
}

/* One case (wdt, M x K x N, seed) on every int8 level against the scalar one;
 * returns the number of levels compared. */
static int levels_vs_scalar(dots_pool *pool, dots_dtype wdt, int M, int K, int N, unsigned seed) {
    qcase c;
    make_case(&c, wdt, M, K, N, seed);
    float *ref = malloc(sizeof(float) * M * N), *y = malloc(sizeof(float) * M * N);
    qisa_select(QISA_SCALAR);
    CHECK(run_linear(pool, &c, ref) == 0, "scalar qlinear ran");
    int tested = 0;
    for (int q = QISA_SCALAR + 1; q < QISA_COUNT; q++) {
        if (!qisa_supported((dots_qisa)q)) continue;
        qisa_select((dots_qisa)q);
        memset(y, 0xff, sizeof(float) * M * N);
        CHECK(run_linear(pool, &c, y) == 0, "qlinear ran");
        char what[128];
        snprintf(what, sizeof what, "%s %s M=%d K=%d N=%d vs scalar", qisa_name((dots_qisa)q), dtype_name(c.wdt), M,
                 K, N);
        check_close(&c, y, ref, 2e-5, what);
        tested++;
    }
    free(ref); free(y); free_case(&c);
    return tested;
}

static void test_levels_vs_ref(dots_pool *pool) {
    static const int Ms[] = {1, 2, 3, 4, 5, 7, 64, 67, 300};
    static const int Ks[] = {1536, 8960};
    static const int Ns[] = {1, 3, 37, 130};
    static const dots_dtype types[] = {DT_Q8_0, DT_Q4_K, DT_Q6_K};
    int tested = 0;
    for (int ti = 0; ti < 3; ti++)
        for (int ki = 0; ki < 2; ki++)
            for (int mi = 0; mi < (int)(sizeof Ms / sizeof *Ms); mi++) {
                int M = Ms[mi], K = Ks[ki], N = Ns[(mi + ki) % 4];
                if (M == 300 && K == 8960) N = 37;
                tested += levels_vs_scalar(pool, types[ti], M, K, N, 100 + mi * 7 + ki);
            }
    qisa_select(QISA_COUNT);
    printf("level comparisons: %d (active int8 level: %s)\n", tested, qisa_name(qisa_active()));
}

/* Short K (a few blocks), every M from 1 to 20 and N around the tile widths
 * (4-row GEMV groups, 8/16-column panels, 32-column pairs): every level
 * against the scalar one. */
static void test_awkward_shapes(dots_pool *pool) {
    static const int Ns[] = {1, 5, 9, 17, 33, 47};
    static const dots_dtype types[] = {DT_Q8_0, DT_Q4_K};
    int tested = 0;
    for (int ti = 0; ti < 2; ti++)
        for (int kb = 1; kb <= 3; kb++)
            for (int M = 1; M <= 20; M++) {
                int K = kb * (types[ti] == DT_Q8_0 ? 3 * QK8_0 : QK_K), N = Ns[(M + kb) % 6];
                tested += levels_vs_scalar(pool, types[ti], M, K, N, 900 + M * 5 + kb);
            }
    qisa_select(QISA_COUNT);
    printf("awkward-shape comparisons: %d\n", tested);
}

/* Below the packed GEMM (M <= 3) a row's bits do not depend on M or on its
 * place in the call (kernels.h row exactness), at every level but i8mm, whose
 * Q8_0 smmla tiles pair A rows (k_linear_row_exact_rows does not cover
 * quantized weights yet). */
static void test_small_m_rows(dots_pool *pool) {
    static const dots_dtype types[] = {DT_Q8_0, DT_Q4_K};
    int bad = 0, tested = 0;
    for (int ti = 0; ti < 2; ti++) {
        qcase c;
        make_case(&c, types[ti], 3, 1536, 38, 321);
        float y1[38], y3[3 * 38];
        for (int q = QISA_SCALAR; q < QISA_COUNT; q++) {
            if (!qisa_supported((dots_qisa)q) || q == QISA_I8MM) continue;
            qisa_select((dots_qisa)q);
            CHECK(run_linear(pool, &c, y3) == 0, "qlinear M=3 ran");
            for (int m = 0; m < 3; m++) {
                CHECK(k_linear(pool, c.x + (size_t)m * c.K, 1, c.K, c.W, c.wdt, c.bias, DT_F32, y1, c.N) == 0, "M=1 ran");
                bad += memcmp(y1, y3 + m * c.N, sizeof y1) != 0;
                tested++;
            }
        }
        free_case(&c);
    }
    qisa_select(QISA_COUNT);
    CHECK(bad == 0, "rows of M=3 bit-equal to M=1 (%d of %d differ)", bad, tested);
}

/* against x @ dequant(W)^T + bias in double: the only error is the 8-bit activations */
static void test_vs_dequant_matmul(dots_pool *pool) {
    static const dots_dtype types[] = {DT_Q8_0, DT_Q4_K, DT_Q6_K};
    for (int ti = 0; ti < 3; ti++) {
        qcase c;
        make_case(&c, types[ti], 9, 1536, 96, 7);
        float *y = malloc(sizeof(float) * c.M * c.N), *ref = malloc(sizeof(float) * c.M * c.N);
        CHECK(run_linear(pool, &c, y) == 0, "qlinear ran");
        double num = 0, den = 0;
        for (int m = 0; m < c.M; m++)
            for (int n = 0; n < c.N; n++) {
                double s = c.bias[n];
                for (int k = 0; k < c.K; k++) s += (double)c.x[(size_t)m * c.K + k] * c.wdq[(size_t)n * c.K + k];
                ref[(size_t)m * c.N + n] = (float)s;
                double d = y[(size_t)m * c.N + n] - s;
                num += d * d;
                den += s * s;
            }
        double rel = sqrt(num / den);
        /* 8-bit activations: ~0.4% relative RMS error on these rows (Q8_0: one scale
         * per 32 values); Q8_K has one per 256, so the outlier channel in every
         * third row coarsens its whole block: ~1.3% */
        CHECK(rel < (c.wdt == DT_Q8_0 ? 0.008 : 0.02), "%s linear vs f32 matmul of dequantized W: relative RMS error %.4g", dtype_name(c.wdt), rel);
        printf("%s (%s) vs dequantized f32 matmul: relative RMS error %.4g\n", dtype_name(c.wdt),
               qisa_name(qisa_active()), rel);
        /* multi: two parts equal two single calls */
        float *y2 = malloc(sizeof(float) * c.M * 40);
        dots_lin_part parts[2] = {{c.W, c.bias, y, 56}, {(char *)c.W + dtype_row_bytes(c.wdt, c.K) * 56, c.bias + 56, y2, 40}};
        CHECK(k_linear_multi(pool, c.x, c.M, c.K, c.wdt, DT_F32, parts, 2) == 0, "multi ran");
        float *s1 = malloc(sizeof(float) * c.M * 56);
        k_linear(pool, c.x, c.M, c.K, c.W, c.wdt, c.bias, DT_F32, s1, 56);
        CHECK(memcmp(s1, y, sizeof(float) * c.M * 56) == 0, "multi part 0 == k_linear");
        /* bad shapes are refused */
        CHECK(k_linear(pool, c.x, c.M, c.K - 16, c.W, c.wdt, NULL, DT_F32, y, c.N) == -1, "K not whole blocks refused");
        free(y); free(y2); free(s1); free(ref); free_case(&c);
    }
}

/* Q6_K specifics: (a) the scalar tile against the double dot of the dequantized
 * weights with the Q8_K-dequantized activations (only f32 rounding differs),
 * on random-byte blocks (every q / int8 scale pattern, -128 included) and on
 * quantized rows; (b) every level against scalar on small shapes (K = 256,
 * one block); (c) rows bit-identical for every M (one tile family). */
static void test_q6k(dots_pool *pool) {
    enum { K = 512, N = 13, M = 41 };
    size_t row = dtype_row_bytes(DT_Q6_K, K);
    blk_q6_k *W = malloc(row * N);
    float *x = malloc(sizeof(float) * M * K), *wdq = malloc(sizeof(float) * N * K);
    float *y = malloc(sizeof(float) * M * N), *y1 = malloc(sizeof(float) * N), *ref = malloc(sizeof(float) * M * N);
    blk_q8_k *a8 = malloc(sizeof(blk_q8_k) * (K / QK_K));
    unsigned r = 12345;
    for (int n = 0; n < N; n++) {
        if (n % 2) { /* random bytes, d in [2^-10, 2^-6) */
            unsigned char *p = (unsigned char *)W + row * n;
            for (size_t i = 0; i < row; i++) p[i] = (unsigned char)((r = r * 1103515245u + 12345u) >> 16);
            for (int b = 0; b < K / QK_K; b++) W[(size_t)n * (K / QK_K) + b].d = (f16_t)(0x1400 + (((r = r * 1103515245u + 12345u) >> 16) & 0xFFF));
        } else {
            test_fill_random(y, K, 40 + n);
            quant_row(DT_Q6_K, y, (char *)W + row * n, K);
        }
    }
    W[1 * (K / QK_K)].scales[3] = -128;
    for (int n = 0; n < N; n++) dequant_row(DT_Q6_K, (char *)W + row * n, wdq + (size_t)n * K, K);
    test_fill_random(x, (size_t)M * K, 77);
    qisa_select(QISA_SCALAR);
    CHECK(k_linear(pool, x, M, K, W, DT_Q6_K, NULL, DT_F32, ref, N) == 0, "Q6_K scalar ran");
    int bad = 0;
    for (int m = 0; m < M; m++) {
        quant_row_q8_k(x + (size_t)m * K, a8, K);
        for (int n = 0; n < N; n++) {
            double s = 0, mag = 1e-6;
            for (int k = 0; k < K; k++) {
                double t = (double)a8[k / QK_K].d * a8[k / QK_K].qs[k % QK_K] * wdq[(size_t)n * K + k];
                s += t;
                mag += fabs(t);
            }
            if (!(fabs(ref[(size_t)m * N + n] - s) <= 1e-6 * mag)) bad++;
        }
    }
    CHECK(bad == 0, "Q6_K scalar tile == dequantized dot in double (%d of %d off)", bad, M * N);
    for (int q = QISA_SCALAR; q < QISA_COUNT; q++) {
        if (!qisa_supported((dots_qisa)q)) continue;
        qisa_select((dots_qisa)q);
        static const int Ms[] = {1, 2, 3, 5, 8};
        for (int mi = 0; mi < 5; mi++) { /* K = 256: one block per row */
            float sref[8 * N], sy[8 * N];
            qisa_select(QISA_SCALAR);
            k_linear(pool, x, Ms[mi], 256, W, DT_Q6_K, NULL, DT_F32, sref, 1);
            qisa_select((dots_qisa)q);
            k_linear(pool, x, Ms[mi], 256, W, DT_Q6_K, NULL, DT_F32, sy, 1);
            double e = 0;
            for (int i = 0; i < Ms[mi]; i++) e = fmax(e, fabs(sy[i] - sref[i]) / (1e-3 + fabs(sref[i])));
            CHECK(e < 1e-5, "%s Q6_K K=256 M=%d N=1 vs scalar: rel err %.3g", qisa_name((dots_qisa)q), Ms[mi], e);
        }
        CHECK(k_linear(pool, x, M, K, W, DT_Q6_K, NULL, DT_F32, y, N) == 0, "Q6_K level ran");
        int rows_bad = 0, close_bad = 0;
        for (int m = 0; m < M; m++) {
            k_linear(pool, x + (size_t)m * K, 1, K, W, DT_Q6_K, NULL, DT_F32, y1, N);
            rows_bad += memcmp(y1, y + (size_t)m * N, sizeof(float) * N) != 0;
            for (int n = 0; n < N; n++) {
                double d = fabs(y[(size_t)m * N + n] - ref[(size_t)m * N + n]);
                close_bad += !(d <= 2e-5 * (1e-3 + fabs(ref[(size_t)m * N + n])) + 1e-4);
            }
        }
        CHECK(rows_bad == 0, "%s Q6_K: rows of M=%d bit-identical to M=1 (%d differ)", qisa_name((dots_qisa)q), M, rows_bad);
        CHECK(close_bad == 0, "%s Q6_K M=%d K=%d N=%d vs scalar (%d off)", qisa_name((dots_qisa)q), M, K, N, close_bad);
    }
    qisa_select(QISA_COUNT);
    free(W); free(x); free(wdq); free(y); free(y1); free(ref); free(a8);
}
#if DOTS_X86
/* A level's activation quantizers must write the scalar ones' bytes (the
 * kernels' results then differ from scalar only in the f32 sum order). */
static void test_act_quant(const qkern *k, const char *name) {
    if (!k || !k->act) return;
    enum { K = 1024 };
    float *x = malloc(sizeof(float) * K);
    int8_t q0[K], q1[K];
    float d0[K / 32], d1[K / 32];
    int32_t c0[K / 32], c1[K / 32];
    blk_q8_k *y0 = malloc(sizeof(blk_q8_k) * (K / QK_K)), *y1 = malloc(sizeof(blk_q8_k) * (K / QK_K));
    int bad = 0;
    for (int rep = 0; rep < 40; rep++) {
        test_fill_random(x, K, 500 + rep);
        for (int i = 0; i < K; i++) {
            int kind = (i + rep) % 7;
            if (kind == 1) x[i] = (float)((i % 9) - 4) + 0.5f;  /* ties: x / d lands on .5 where d = 1 */
            if (kind == 2) x[i] *= 1e-30f;
            if (kind == 3 && rep % 3 == 0) x[i] = 0;
        }
        if (rep % 4 == 1) for (int i = 0; i < K; i++) x[i] = (float)((i % 255) - 127); /* d = 1: exact ties */
        if (rep % 4 == 2) for (int i = 0; i < K; i++) x[i] = ((float)((i * 37) % 255) - 127.0f) * 0.5f; /* .5 steps */
        if (rep == 3) memset(x, 0, sizeof(float) * K);
        qact8_quant_row(x, K, q0, d0, c0);
        k->act->q8(x, K, q1, d1, c1);
        bad += memcmp(q0, q1, sizeof q0) != 0 || memcmp(d0, d1, sizeof d0) != 0 || memcmp(c0, c1, sizeof c0) != 0;
        memset(y1, 0x55, sizeof(blk_q8_k) * (K / QK_K));
        quant_row_q8_k(x, y0, K);
        k->act->q8k(x, y1, K);
        bad += memcmp(y0, y1, sizeof(blk_q8_k) * (K / QK_K)) != 0;
    }
    CHECK(bad == 0, "%s activation quantizers bit-equal to scalar (%d of 80 rows differ)", name, bad);
    free(x); free(y0); free(y1);
}
#endif

/* The Q4_K GEMV tiles of the x86 levels (256-bit vpmaddubsw, AVX-VNNI, zmm
 * AVX512-VNNI) form the same exact int32 sums and share the f32 tail, so their
 * outputs are the same bits: a tile that drops a sub-block's scale or pairs
 * the wrong activations differs here even where it stays within the tolerance
 * of the scalar comparison. */
static void test_q4k_gemv_levels_agree(dots_pool *pool) {
#if DOTS_X86
    static const int Ks[] = {256, 1536, 8960};
    for (int t = 0; t < 3; t++) {
        qcase c;
        make_case(&c, DT_Q4_K, 1, Ks[t], 37, 900 + (unsigned)t);
        float *y0 = malloc(sizeof(float) * c.N), *y1 = malloc(sizeof(float) * c.N);
        qisa_select(QISA_AVX2);
        int ok = run_linear(pool, &c, y0) == 0;
        for (int q = QISA_AVXVNNI; q <= QISA_AVX512VNNI; q++) {
            if (!qisa_supported((dots_qisa)q)) continue;
            qisa_select((dots_qisa)q);
            ok = ok && run_linear(pool, &c, y1) == 0;
            CHECK(ok && memcmp(y0, y1, sizeof(float) * c.N) == 0, "Q4_K GEMV K=%d: %s bits equal avx2's", c.K,
                  qisa_name((dots_qisa)q));
        }
        qisa_select(QISA_COUNT); /* back to the default level */
        /* the avxvnni tile's source with EVEX vpdpbusd, on CPUs without AVX-VNNI */
        q4g_fn vl = qkern_q4_gemv4_vnni_vl();
        const qkern *k2 = qkern_avx2();
        if (vl && k2) {
            int nsb = c.K / QK_K;
            blk_q8_k *a = malloc(sizeof(blk_q8_k) * (size_t)nsb);
            quant_row_q8_k(c.x, a, c.K);
            k2->q4(a, (size_t)nsb, 1, c.W, (size_t)nsb, c.N, nsb, y0, (size_t)c.N);
            qkern_q4_tiles(vl, a, (size_t)nsb, 1, c.W, (size_t)nsb, c.N, nsb, y1, (size_t)c.N);
            CHECK(memcmp(y0, y1, sizeof(float) * c.N) == 0, "Q4_K GEMV K=%d: the avxvnni tile (EVEX) bits equal avx2's", c.K);
            free(a);
        }
        free(y0); free(y1); free_case(&c);
    }
#else
    (void)pool;
#endif
}

/* Rows that reach every branch of the scale searches: Gaussian, outliers, tiny and
 * huge magnitudes, denormals, constant / zero / signed-zero / one-value sub-blocks,
 * all-positive and all-negative sub-blocks, values on rounding ties. */
static void weight_row(float *x, int K, int kind, unsigned seed) {
    test_fill_random(x, (size_t)K, seed);
    for (int i = 0; i < K; i++) {
        int sb = i / 16; /* Q6_K sub-block; Q4_K's are pairs of them */
        switch (kind) {
        case 1: if (i % 97 == 3) x[i] *= 60; break;
        case 2: x[i] *= 1e-6f; break;
        case 3: x[i] *= 3e4f; break;
        case 4: x[i] *= 1e-39f; break; /* denormal */
        case 5: if (sb % 3 == 0) x[i] = 0.25f; else if (sb % 3 == 1) x[i] = 0; break;
        case 6: if (sb % 2) x[i] = (i % 2) ? 0.0f : -0.0f; break;
        case 7: if (sb % 4 == 1) x[i] = (i % 16 == 5) ? 0.7f : 0; break;
        case 8: x[i] = sb % 2 ? fabsf(x[i]) + 0.01f : -fabsf(x[i]) - 0.01f; break;
        case 9: x[i] = (float)((int)(x[i] * 8)) * 0.125f; break; /* a grid: ties at half steps */
        default: break;
        }
    }
}

static void test_weight_quantizers(dots_pool *pool) {
    enum { K = 256 * 12, KINDS = 10, ROWS = 8 };
    float *x = malloc(sizeof(float) * K * ROWS);
    size_t r4 = dtype_row_bytes(DT_Q4_K, K), r6 = dtype_row_bytes(DT_Q6_K, K);
    char *a = malloc(r6 * ROWS), *b = malloc(r6 * ROWS);
    for (int kind = 0; kind < KINDS; kind++) {
        int bad4 = 0, bad6 = 0;
        for (int r = 0; r < ROWS; r++) {
            float *xr = x + (size_t)r * K;
            weight_row(xr, K, kind, 1000u * kind + r);
            quant_row_q4_k(xr, (blk_q4_k *)a, K);
            quant_row_q4_k_ref(xr, (blk_q4_k *)b, K);
            bad4 += memcmp(a, b, r4) != 0;
            quant_row_q6_k(xr, (blk_q6_k *)a, K);
            quant_row_q6_k_ref(xr, (blk_q6_k *)b, K);
            bad6 += memcmp(a, b, r6) != 0;
        }
        CHECK(bad4 == 0 && bad6 == 0, "row kind %d: lane searches == scalar (Q4_K %d, Q6_K %d of %d rows differ)", kind,
              bad4, bad6, ROWS);
    }
    /* convert_rows over the pool (bf16 in, 6 tasks of 64 rows and a short one) == row by row */
    enum { N = 64 * 6 + 5, KC = 512 };
    bf16_t *w = malloc(sizeof(bf16_t) * N * KC);
    float *f = malloc(sizeof(float) * KC);
    size_t rc = dtype_row_bytes(DT_Q4_K, KC);
    char *p = malloc(rc * N), *q = malloc(rc * N);
    for (int n = 0; n < N; n++) {
        test_fill_random(f, KC, 77 + n);
        for (int k = 0; k < KC; k++) w[(size_t)n * KC + k] = f32_to_bf16(f[k]);
    }
    CHECK(convert_rows(pool, DT_BF16, w, DT_Q4_K, p, N, KC) == 0, "convert_rows bf16 -> Q4_K ran");
    for (int n = 0; n < N; n++) {
        dequant_row(DT_BF16, w + (size_t)n * KC, f, KC);
        quant_row(DT_Q4_K, f, q + rc * n, KC);
    }
    CHECK(memcmp(p, q, rc * N) == 0, "convert_rows over the pool == row by row");
    CHECK(convert_rows(pool, DT_BF16, w, DT_Q4_K, p, N, KC - 32) == -1, "convert_rows: K not whole Q4_K blocks refused");
    CHECK(convert_rows(pool, DT_COUNT, w, DT_Q4_K, p, N, KC) == -1, "convert_rows: unknown source type refused");
    CHECK(convert_rows(pool, DT_BF16, w, DT_COUNT, p, N, KC) == -1, "convert_rows: unknown destination type refused");
    CHECK(convert_rows(pool, DT_BF16, w, DT_F16, p, 0, KC) == 0, "convert_rows: no rows is nothing to do");
    free(w); free(f); free(p); free(q);
    free(x); free(a); free(b);
}

static double bf16r(float v) { return (double)bf16_to_f32(f32_to_bf16(v)); }

static void test_amx_route(dots_pool *pool) {
    if (isa_select(ISA_AMX) != ISA_AMX) {
        printf("amx route: no AMX on this CPU, skipped\n");
        return;
    }
    /* K: whole chunks, a tail chunk (1600 = 4 x 384 + 64; 2304 = 4 x 512 + 256), and long K */
    static const struct { dots_dtype t; int M, K, N; } cs[] = {
        {DT_Q8_0, 4, 1600, 56}, {DT_Q8_0, 33, 1536, 96}, {DT_Q8_0, 100, 8960, 37}, {DT_Q8_0, 300, 1536, 130},
        {DT_Q4_K, 4, 2304, 47}, {DT_Q4_K, 70, 1536, 130}, {DT_Q4_K, 33, 8960, 33},
        {DT_Q6_K, 9, 2304, 33}, {DT_Q6_K, 41, 8960, 64},
    };
    int fails = 0;
    for (size_t i = 0; i < sizeof cs / sizeof *cs; i++) {
        qcase c;
        make_case(&c, cs[i].t, cs[i].M, cs[i].K, cs[i].N, 500 + (unsigned)i);
        float *ref = malloc(sizeof(float) * c.M * c.N), *y = malloc(sizeof(float) * c.M * c.N);
        for (int m = 0; m < c.M; m++)
            for (int n = 0; n < c.N; n++) {
                double sum = c.bias[n];
                for (int k = 0; k < c.K; k++) sum += bf16r(c.x[(size_t)m * c.K + k]) * bf16r(c.wdq[(size_t)n * c.K + k]);
                ref[(size_t)m * c.N + n] = (float)sum;
            }
        memset(y, 0xff, sizeof(float) * c.M * c.N);
        CHECK(run_linear(pool, &c, y) == 0, "amx route ran");
        char what[128];
        snprintf(what, sizeof what, "amx %s M=%d K=%d N=%d vs bf16 matmul of dequantized W", dtype_name(c.wdt), c.M,
                 c.K, c.N);
        fails += check_close(&c, y, ref, 2e-5, what) != 0;
        free(ref); free(y); free_case(&c);
    }
    /* M = 3 stays on the int8 kernels: the same bits as at avx512bf16 */
    qcase c;
    make_case(&c, DT_Q8_0, 3, 1536, 40, 77);
    float *y = malloc(sizeof(float) * 3 * 40), *y8 = malloc(sizeof(float) * 3 * 40);
    CHECK(run_linear(pool, &c, y) == 0, "amx M=3 ran");
    isa_select(ISA_AVX512BF16);
    CHECK(run_linear(pool, &c, y8) == 0, "avx512bf16 M=3 ran");
    CHECK(memcmp(y, y8, sizeof(float) * 3 * 40) == 0, "amx M=3: the int8 kernels' bits");
    free(y); free(y8); free_case(&c);
    isa_select(ISA_AMX);
    make_case(&c, DT_Q4_K, 8, 512, 16, 78);
    y = malloc(sizeof(float) * 8 * 16);
    CHECK(k_linear(pool, c.x, 8, 512 - 32, c.W, c.wdt, NULL, DT_F32, y, 16) == -1, "amx route: K not whole blocks refused");
    free(y); free_case(&c);
    /* F16 weights that are all bf16 values take the route (as BF16 weights: activations
     * rounded to bf16); one weight off the bf16 grid keeps the f32 path (f32 activations) */
    {
        int M = 40, K = 1000, N = 72;
        float *x = malloc(sizeof(float) * M * K), *wf = malloc(sizeof(float) * N * K);
        f16_t *w = malloc(sizeof(f16_t) * N * K);
        float *yr = malloc(sizeof(float) * M * N), *yf = malloc(sizeof(float) * M * N), *out = malloc(sizeof(float) * M * N);
        test_fill_random(x, (size_t)M * K, 91);
        test_fill_random(wf, (size_t)N * K, 92);
        for (size_t i = 0; i < (size_t)N * K; i++) w[i] = f32_to_f16(bf16_to_f32(f32_to_bf16(wf[i])));
        for (int pass = 0; pass < 2; pass++) { /* 0: all bf16 values; 1: one weight off the grid */
            if (pass) { /* a normal weight's last mantissa bit */
                size_t i = 123;
                while (fabsf(f16_to_f32(w[i])) < 0.01f) i++;
                w[i] = (f16_t)(w[i] ^ 1);
            }
            double worst_b = 0, worst_f = 0;
            for (int m = 0; m < M; m++)
                for (int n = 0; n < N; n++) {
                    double sb = 0, sf = 0;
                    for (int k = 0; k < K; k++) {
                        double wv = f16_to_f32(w[(size_t)n * K + k]);
                        sb += bf16r(x[(size_t)m * K + k]) * wv;
                        sf += (double)x[(size_t)m * K + k] * wv;
                    }
                    yr[(size_t)m * N + n] = (float)sb;
                    yf[(size_t)m * N + n] = (float)sf;
                }
            CHECK(k_linear(pool, x, M, K, w, DT_F16, NULL, DT_F32, out, N) == 0, "amx F16 ran");
            for (size_t i = 0; i < (size_t)M * N; i++) {
                double eb = fabs(out[i] - yr[i]), ef = fabs(out[i] - yf[i]);
                if (eb > worst_b) worst_b = eb;
                if (ef > worst_f) worst_f = ef;
            }
            /* |sum| ~ 10 here; f32 sums ~1e-5; bf16 rounding of x moves outputs by ~1e-2 */
            if (!pass) CHECK(worst_b < 2e-4 && worst_f > 1e-3, "amx F16 of bf16 values: bf16 route (off %.3g vs the bf16 sum, %.3g vs f32)", worst_b, worst_f);
            else CHECK(worst_f < 2e-4 && worst_b > 1e-3, "amx F16 off the bf16 grid: f32 path (off %.3g vs the f32 sum, %.3g vs bf16)", worst_f, worst_b);
        }
        free(x); free(wf); free(w); free(yr); free(yf); free(out);
    }
    printf("amx route: %zu cases (%d off)\n", sizeof cs / sizeof *cs, fails);
}

int main(void) {
    dots_pool *pool = pool_create(2, NULL);
    dots_isa top = isa_active();
    if (top == ISA_AMX) isa_select(ISA_AVX512BF16); /* 1-3: the int8 kernels at every M */
    CHECK(pool != NULL, "pool");
    for (int q = 0; q < QISA_COUNT; q++) printf("int8 level %-10s %s\n", qisa_name((dots_qisa)q), qisa_supported((dots_qisa)q) ? "yes" : "no");
#if DOTS_X86
    test_act_quant(qkern_avx2(), "avx2");
#endif
    test_levels_vs_ref(pool);
    test_awkward_shapes(pool);
    test_small_m_rows(pool);
    test_vs_dequant_matmul(pool);
    test_q6k(pool);
    test_q4k_gemv_levels_agree(pool);
    test_weight_quantizers(pool);
    test_amx_route(pool);
    isa_select(top);
    pool_destroy(pool);
    return test_finish("test_quant_kernels");
}

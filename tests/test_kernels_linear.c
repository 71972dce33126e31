/* k_linear on every ISA level this CPU has, against the scalar reference
 * (ref_linear), for awkward shapes, every weight dtype, with and without bias. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "base/dtype.h"
#include "base/threadpool.h"
#include "kernels/kernels.h"

static void *make_w(const float *src, size_t n, dots_dtype dt) {
    void *w = malloc(n * (dt == DT_F32 ? 4 : 2));
    for (size_t i = 0; i < n; i++) {
        if (dt == DT_F32) ((float *)w)[i] = src[i];
        else if (dt == DT_F16) ((f16_t *)w)[i] = f32_to_f16(src[i]);
        else ((bf16_t *)w)[i] = f32_to_bf16(src[i]);
    }
    return w;
}

typedef struct { int M, N, K; } shape;

int main(void) {
    dots_error e;
    dots_pool *pool = pool_create(2, &e);
    CHECK(pool != NULL, "pool_create");
    static const shape shapes[] = {
        {1, 1, 1}, {1, 3, 17}, {3, 17, 31}, {17, 31, 65}, {31, 65, 130}, {65, 130, 33}, {130, 7, 1},
        {2, 129, 63}, {5, 5, 97}, {4, 8, 32}, {64, 64, 64}, {1, 300, 1536}, {3, 70, 513},
        {200, 37, 2100}, /* > one K chunk and > one M block */
        {9, 600, 4224},  /* K = F, many N panels */
        {1, 50, 9000},   /* GEMV over 3 K chunks (LM down_proj-like) */
        {2, 67, 8960},
        {20, 21, 800},   /* packed path (M >= 16): row and column tails, 3 K chunks, K % 8 tail */
        {48, 40, 385},   /* packed: whole row groups, K one past a chunk */
        {1601, 19, 70},  /* packed: two balanced M blocks (<= 1536 rows each), row tail in the packed A */
        {43, 47, 144},   /* amx: a whole 32 x 32 block, a K tail of 16 (zero-padded step), row and column tails */
        {32, 32, 16},    /* amx: a K shorter than one 32-k step */
        {96, 96, 1600},  /* amx: whole blocks over 3 K chunks (768 + 768 + 64) */
    };
    static const dots_dtype wdts[] = {DT_F32, DT_F16, DT_BF16};
    static const dots_isa levels[] = {ISA_SCALAR, ISA_AVX2, ISA_AVX512, ISA_AVX512BF16, ISA_AMX, ISA_NEON, ISA_NEONBF16};
    int nshapes = (int)(sizeof shapes / sizeof *shapes);
    for (int s = 0; s < nshapes; s++) {
        int M = shapes[s].M, N = shapes[s].N, K = shapes[s].K;
        if (getenv("DOTS_TEST_SMALL") && (double)M * N * K > 1e6) continue; /* under emulation (qemu_x86.cmake) */
        float *x = malloc((size_t)M * K * 4), *wf = malloc((size_t)N * K * 4), *bf = malloc((size_t)N * 4);
        float *ref = malloc((size_t)M * N * 4), *y = malloc((size_t)(M * N + 1) * 4), *y2 = malloc((size_t)M * N * 4);
        test_fill_random(x, (size_t)M * K, 1 + s);
        test_fill_random(wf, (size_t)N * K, 100 + s);
        test_fill_random(bf, (size_t)N, 200 + s);
        for (int wi = 0; wi < 3; wi++)
            for (int bias_mode = 0; bias_mode < 2; bias_mode++) {
                dots_dtype wdt = wdts[wi], bdt = wi == 2 ? DT_BF16 : DT_F32;
                void *W = make_w(wf, (size_t)N * K, wdt), *B = bias_mode ? make_w(bf, (size_t)N, bdt) : NULL;
                ref_linear(x, M, K, W, wdt, B, bdt, ref, N);
                int have_avx2 = 0;
                for (int li = 0; li < ISA_COUNT; li++) {
                    if (isa_select(levels[li]) != levels[li]) continue;
                    for (int i = 0; i <= M * N; i++) y[i] = NAN;
                    y[M * N] = 12345.0f; /* guard: nothing written past y */
                    int rc = k_linear(pool, x, M, K, W, wdt, B, bdt, y, N);
                    t_diff d = test_compare(ref, y, (size_t)M * N);
                    /* Same products, only the summation order differs (and FMA skips
                     * one rounding per product): terms are < 1 in size, so the f32
                     * rounding error of a K-term sum stays well under 1e-6 K. A kernel
                     * that skipped the bf16 rounding of activations, lost a term or
                     * read a neighbouring row would be off by > 1e-3. */
                    double tol = 1e-6 * K + 1e-5;
                    CHECK(rc == 0 && d.max_abs <= tol && y[M * N] == 12345.0f,
                          "%s M=%d N=%d K=%d w=%s bias=%d: rc=%d max_abs=%g (tol %g)", isa_name(levels[li]), M, N, K,
                          dtype_name(wdt), bias_mode, rc, d.max_abs, tol);
                    /* The AVX-512 levels' packed kernel (12 x 32 zmm) does each output's
                     * arithmetic in the AVX2 packed kernel's order: the same bits for
                     * the f32-activation dtypes (BF16 weights only at plain avx512;
                     * above it they run the bf16 kernels). */
                    if (levels[li] == ISA_AVX2) { memcpy(y2, y, (size_t)M * N * 4); have_avx2 = 1; }
                    int f32_path = wdt != DT_BF16 || levels[li] == ISA_AVX512;
                    if (have_avx2 && M >= 16 && f32_path && levels[li] >= ISA_AVX512 && levels[li] <= ISA_AMX)
                        CHECK(!memcmp(y, y2, (size_t)M * N * 4), "%s M=%d N=%d K=%d w=%s bias=%d: not the avx2 bits",
                              isa_name(levels[li]), M, N, K, dtype_name(wdt), bias_mode);
                }
                free(W);
                free(B);
            }
        free(x); free(wf); free(bf); free(ref); free(y); free(y2);
    }
    /* k_linear_multi: parts of different N over one x (q/k/v- and gate/up-like), each
     * against the reference and bit-identical to its own k_linear call */
    {
        int Ms[] = {1, 3, getenv("DOTS_TEST_SMALL") ? 20 : 200}; /* 20: still the packed path, under qemu */
        static const int Ns[3] = {70, 13, 29};
        int K = 513;
        for (int mi = 0; mi < 3; mi++) {
            int M = Ms[mi];
            float *x = malloc((size_t)M * K * 4);
            test_fill_random(x, (size_t)M * K, 300 + mi);
            for (int wi = 0; wi < 3; wi++) {
                dots_dtype wdt = wdts[wi], bdt = wi == 2 ? DT_BF16 : DT_F32;
                void *W[3], *B[3];
                float *ref[3], *one[3], *y[3];
                dots_lin_part parts[3];
                for (int p = 0; p < 3; p++) {
                    int N = Ns[p];
                    float *wf = malloc((size_t)N * K * 4), bf[70];
                    test_fill_random(wf, (size_t)N * K, 400 + p);
                    test_fill_random(bf, (size_t)N, 500 + p);
                    W[p] = make_w(wf, (size_t)N * K, wdt);
                    B[p] = p == 1 ? NULL : make_w(bf, (size_t)N, bdt);
                    free(wf);
                    ref[p] = malloc((size_t)M * N * 4); one[p] = malloc((size_t)M * N * 4);
                    y[p] = malloc((size_t)(M * N + 1) * 4);
                    ref_linear(x, M, K, W[p], wdt, B[p], bdt, ref[p], N);
                    parts[p] = (dots_lin_part){W[p], B[p], y[p], N};
                }
                for (int li = 0; li < ISA_COUNT; li++) {
                    if (isa_select(levels[li]) != levels[li]) continue;
                    for (int p = 0; p < 3; p++) {
                        for (int i = 0; i <= M * Ns[p]; i++) y[p][i] = NAN;
                        y[p][M * Ns[p]] = 12345.0f;
                        k_linear(pool, x, M, K, W[p], wdt, B[p], bdt, one[p], Ns[p]);
                    }
                    int rc = k_linear_multi(pool, x, M, K, wdt, bdt, parts, 3);
                    for (int p = 0; p < 3; p++) {
                        size_t n = (size_t)M * Ns[p];
                        t_diff d = test_compare(ref[p], y[p], n);
                        double tol = 1e-6 * K + 1e-5;
                        CHECK(rc == 0 && d.max_abs <= tol && y[p][n] == 12345.0f && !memcmp(one[p], y[p], n * 4),
                              "multi %s M=%d part %d w=%s: rc=%d max_abs=%g (tol %g), same as k_linear: %d",
                              isa_name(levels[li]), M, p, dtype_name(wdt), rc, d.max_abs, tol,
                              !memcmp(one[p], y[p], n * 4));
                    }
                }
                for (int p = 0; p < 3; p++) { free(W[p]); free(B[p]); free(ref[p]); free(one[p]); free(y[p]); }
            }
            free(x);
        }
        isa_select(isa_detect());
        float x1 = 1, w1 = 1, y1 = 7;
        dots_lin_part bad[5] = {{&w1, NULL, &y1, 1}, {&w1, NULL, &y1, 1}, {&w1, NULL, &y1, 1}, {&w1, NULL, &y1, 1},
                                {&w1, NULL, &y1, 1}};
        CHECK(k_linear_multi(pool, &x1, 1, 1, DT_F32, DT_F32, bad, 5) == -1 && y1 == 7, "multi: 5 parts accepted");
        CHECK(k_linear_multi(pool, &x1, 1, 1, DT_I32, DT_F32, bad, 1) == -1 && y1 == 7, "multi: bad dtype accepted");
    }
    /* invalid weight dtype: refused, nothing written */
    float x1 = 1, w1 = 1, y1 = 7;
    CHECK(k_linear(pool, &x1, 1, 1, &w1, DT_I32, NULL, DT_F32, &y1, 1) == -1 && y1 == 7, "bad dtype accepted");
    /* K = 0: y = bias */
    float b2[2] = {0.5f, -2}, y2[2] = {9, 9};
    CHECK(k_linear(pool, &x1, 1, 0, &w1, DT_F32, b2, DT_F32, y2, 2) == 0 && y2[0] == 0.5f && y2[1] == -2, "K=0");
    /* pool == NULL runs inline */
    float xs[6], ws[6], ys[4], rs[4];
    test_fill_random(xs, 6, 7);
    test_fill_random(ws, 6, 8);
    isa_select(isa_detect());
    ref_linear(xs, 2, 3, ws, DT_F32, NULL, DT_F32, rs, 2);
    CHECK(k_linear(NULL, xs, 2, 3, ws, DT_F32, NULL, DT_F32, ys, 2) == 0 && test_compare(rs, ys, 4).max_abs < 1e-6,
          "no pool");
    pool_destroy(pool);
    return test_finish("test_kernels_linear");
}

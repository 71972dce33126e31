/* Base layer: bf16/f16 conversions (exhaustive against the IEEE definitions),
 * the thread pool (every task exactly once, repeated jobs), error formatting. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "base/dtype.h"
#include "base/error.h"
#include "base/mem.h"
#include "base/threadpool.h"
#include "testutil.h"

/* f16 -> f32 by the definition: (-1)^s * 2^(e-15) * (1 + m/1024), subnormals 2^-14 * m/1024. */
static double f16_by_definition(unsigned h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 0) v = ldexp(m / 1024.0, -14);
    else if (e == 31) v = m ? NAN : INFINITY;
    else v = ldexp(1 + m / 1024.0, e - 15);
    return s ? -v : v;
}

static atomic_int hits[1000];
static void count_task(void *ctx, int t, int thread) {
    (void)ctx; (void)thread;
    atomic_fetch_add(&hits[t], 1);
}

int main(void) {
    /* f16 -> f32 exhaustive; f32 -> f16 round trip exact for every finite half */
    int bad = 0, bad_rt = 0;
    for (unsigned h = 0; h < 65536; h++) {
        double want = f16_by_definition(h);
        float got = f16_to_f32((f16_t)h);
        if (isnan(want) ? !isnan(got) : (double)got != want) bad++;
        if (!isnan(want) && f32_to_f16(got) != h) bad_rt++;
    }
    CHECK(bad == 0, "%d f16 values decode wrongly", bad);
    CHECK(bad_rt == 0, "%d f16 values do not round-trip", bad_rt);
    /* f32 -> f16 rounds to nearest even: halfway between 1 and 1+2^-10 goes to 1 */
    CHECK(f32_to_f16(1.0f + ldexpf(1, -11)) == 0x3c00, "tie to even (down)");
    CHECK(f32_to_f16(1.0f + 3 * ldexpf(1, -11)) == 0x3c02, "tie to even (up)");
    CHECK(f32_to_f16(70000.0f) == 0x7c00, "overflow to inf");
    CHECK(f32_to_f16(ldexpf(1, -25)) == 0, "half of the smallest subnormal rounds to 0 (even)");
    CHECK(f32_to_f16(ldexpf(3, -26)) == 1, "3/4 of the smallest subnormal rounds up");
    /* bf16: exact for values with 8 significant bits, RNE otherwise */
    CHECK(bf16_to_f32(f32_to_bf16(1.5f)) == 1.5f, "bf16 exact");
    CHECK(f32_to_bf16(1.0f + ldexpf(1, -8)) == 0x3f80, "bf16 tie to even (down)");
    CHECK(f32_to_bf16(1.0f + 3 * ldexpf(1, -8)) == 0x3f82, "bf16 tie to even (up)");
    CHECK(isnan(bf16_to_f32(f32_to_bf16(NAN))), "bf16 NaN stays NaN");
    CHECK(dtype_from_name("BF16") == DT_BF16 && dtype_from_name("F8") == -1 && dtype_size(DT_F32) == 4, "dtype names");

    /* thread pool: each task runs exactly once, over many jobs of varied size */
    dots_error e = {0};
    dots_pool *p = pool_create(4, &e);
    CHECK(p != NULL, "%s", e.msg);
    if (p) {
        int ok = 1;
        for (int job = 0; job < 300; job++) {
            int n = 1 + (job * 37) % 1000;
            for (int i = 0; i < n; i++) atomic_store(&hits[i], 0);
            pool_run(p, n, count_task, NULL);
            for (int i = 0; i < n; i++) ok &= atomic_load(&hits[i]) == 1;
        }
        CHECK(ok, "every task ran exactly once");
        CHECK(pool_threads(p) == 4, "pool size");
        pool_destroy(p);
    }
    /* a job posted right after creation, before the workers got to run, must not be missed
     * (regression: workers once read the generation at start-up and waited forever) */
    int fresh_ok = 1;
    for (int rep = 0; rep < 200 && fresh_ok; rep++) {
        dots_pool *q = pool_create(3, &e);
        if (!q) { fresh_ok = 0; break; }
        for (int i = 0; i < 64; i++) atomic_store(&hits[i], 0);
        pool_run(q, 64, count_task, NULL);
        for (int i = 0; i < 64; i++) fresh_ok &= atomic_load(&hits[i]) == 1;
        pool_destroy(q);
    }
    CHECK(fresh_ok, "jobs posted right after pool_create run once each");
    /* errors */
    dots_fail(&e, DOTS_E_FORMAT, "file %s at byte %d", "x.bin", 12);
    dots_context(&e, "loading %s", "model");
    CHECK(e.code == DOTS_E_FORMAT && strcmp(e.msg, "loading model: file x.bin at byte 12") == 0, "%s", e.msg);
    CHECK(strcmp(dots_status_name(DOTS_E_NOMEM), "out-of-memory") == 0, "status name");
    void *big = dots_alloc((size_t)1 << 62, "a test buffer", &e);
    CHECK(big == NULL && e.code == DOTS_E_NOMEM && strstr(e.msg, "a test buffer"), "%s", e.msg);
    CHECK(dots_peak_rss() > 0, "peak RSS readable");
    return test_finish("base");
}

#include "testutil.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

int t_pass, t_fail;

int test_finish(const char *name) {
    printf("%s: %d passed, %d failed\n", name, t_pass, t_fail);
    return t_fail ? 1 : (t_pass ? 0 : 1); /* a test that checked nothing fails */
}

static const char *join(const char *var, const char *fallback, const char *rel) {
    static char bufs[8][4096];
    static int k;
    const char *base = getenv(var);
    if (!base) base = fallback;
    char *b = bufs[k++ & 7];
    snprintf(b, 4096, "%s/%s", base, rel);
    return b;
}

const char *test_data(const char *rel) { return join("DOTS_TEST_DATA", "../../tests/data", rel); }
const char *test_shared(const char *rel) { return join("DOTS_SHARED", "../../../shared", rel); }

t_diff test_compare(const float *a, const float *b, size_t n) {
    t_diff d = {0, 0, 0};
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (e > d.max_abs || isnan(e)) d.max_abs = isnan(e) ? INFINITY : e;
        d.mean_abs += e;
        dot += (double)a[i] * b[i];
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
    }
    d.mean_abs = n ? d.mean_abs / n : 0;
    d.cosine = (na > 0 && nb > 0) ? dot / sqrt(na * nb) : (na == nb ? 1 : 0);
    return d;
}

void test_fill_random(float *x, size_t n, unsigned seed) {
    uint64_t s = 0x9E3779B97F4A7C15ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        x[i] = (float)((double)(s >> 11) / (double)(1ull << 53) * 2.0 - 1.0);
    }
}

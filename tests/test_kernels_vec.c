/* Elementwise kernels (norms, activations, bf16 rounding, erf) on every ISA
 * level this CPU has, against the scalar reference and libm. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "base/dtype.h"
#include "kernels/kern_impl.h"

static void *conv(const float *src, size_t n, dots_dtype dt) {
    void *w = malloc(n * 4);
    for (size_t i = 0; i < n; i++) {
        if (dt == DT_F32) ((float *)w)[i] = src[i];
        else if (dt == DT_F16) ((f16_t *)w)[i] = f32_to_f16(src[i]);
        else ((bf16_t *)w)[i] = f32_to_bf16(src[i]);
    }
    return w;
}

/* |a-b| <= abs + rel*|b| for all i; returns the worst excess ratio */
static double worst(const float *a, const float *b, size_t n, double abs_tol, double rel) {
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]), t = abs_tol + rel * fabs((double)b[i]);
        if (isnan(a[i]) != isnan(b[i])) return INFINITY;
        if (!isnan(e) && e / t > w) w = e / t;
    }
    return w;
}

int main(void) {
    static const dots_isa levels[] = {ISA_SCALAR, ISA_AVX2, ISA_AVX512, ISA_AVX512BF16, ISA_AMX, ISA_NEON, ISA_NEONBF16};
    static const int dims[] = {1, 3, 17, 31, 65, 130, 1536};
    enum { ROWS = 3, MAXD = 1536, NV = 5000 };
    float *x = malloc(ROWS * MAXD * 4), *y = malloc(ROWS * MAXD * 4), *r = malloc(ROWS * MAXD * 4);
    float *wf = malloc(MAXD * 4), *bf = malloc(MAXD * 4);
    float *g = malloc(NV * 4), *u = malloc(NV * 4), *g2 = malloc(NV * 4), *tmp = malloc(NV * 4);
    for (int li = 0; li < ISA_COUNT; li++) {
        if (isa_select(levels[li]) != levels[li]) continue;
        const char *isa = isa_name(levels[li]);
        for (int di = 0; di < 7; di++)
            for (int dt = 0; dt < 3; dt++) {
                int dim = dims[di];
                test_fill_random(x, ROWS * (size_t)dim, 5 + di);
                for (int i = 0; i < ROWS * dim; i++) x[i] *= 3;
                test_fill_random(wf, (size_t)dim, 6 + di);
                test_fill_random(bf, (size_t)dim, 7 + di);
                void *w = conv(wf, (size_t)dim, (dots_dtype)dt), *b = conv(bf, (size_t)dim, (dots_dtype)dt);
                /* f32 vs double sums of <= 1536 squares, then the same products:
                 * a few ulps (1e-6 relative) */
                ref_rmsnorm(x, w, (dots_dtype)dt, 1e-6f, r, ROWS, dim);
                memcpy(y, x, ROWS * (size_t)dim * 4);
                k_rmsnorm(y, w, (dots_dtype)dt, 1e-6f, y, ROWS, dim); /* in place */
                double wr = worst(y, r, ROWS * (size_t)dim, 1e-6, 2e-6);
                CHECK(wr <= 1, "rmsnorm %s dim=%d dt=%d: %g of tolerance", isa, dim, dt, wr);
                ref_layernorm(x, w, b, (dots_dtype)dt, 1e-5f, r, ROWS, dim);
                k_layernorm(x, w, b, (dots_dtype)dt, 1e-5f, y, ROWS, dim);
                wr = worst(y, r, ROWS * (size_t)dim, 2e-6, 4e-6);
                CHECK(wr <= 1, "layernorm %s dim=%d dt=%d: %g of tolerance", isa, dim, dt, wr);
                free(w); free(b);
            }
        for (size_t n = 1; n <= NV; n = n * 3 + 2) {
            test_fill_random(g, n, 40 + (unsigned)n);
            test_fill_random(u, n, 41 + (unsigned)n);
            for (size_t i = 0; i < n; i++) g[i] *= 12; /* covers the tails of exp/erf */
            /* vector exp and division: a few ulps */
            memcpy(g2, g, n * 4);
            ref_silu_mul(g2, u, n);
            memcpy(tmp, g, n * 4);
            k_silu_mul(tmp, u, n);
            double wr = worst(tmp, g2, n, 1e-7, 1e-6);
            CHECK(wr <= 1, "silu_mul %s n=%zu: %g of tolerance", isa, n, wr);
            /* gelu: the reference's 1 + erff(x) cancels for x << 0 (absolute
             * error ~ |x| 6e-8); elsewhere ~1e-6 relative */
            memcpy(g2, g, n * 4);
            ref_gelu(g2, n);
            memcpy(tmp, g, n * 4);
            k_gelu(tmp, n);
            wr = worst(tmp, g2, n, 1e-6, 2e-6);
            CHECK(wr <= 1, "gelu %s n=%zu: %g of tolerance", isa, n, wr);
            memcpy(tmp, g, n * 4);
            k_add(tmp, u, n);
            for (size_t i = 0; i < n; i++) g2[i] = g[i] + u[i];
            CHECK(memcmp(tmp, g2, n * 4) == 0, "add %s n=%zu", isa, n);
        }
        /* erf against libm's erff, over small, medium and tail arguments */
        const kern_ops *o = kops();
        if (o->erf) {
            int bad = 0;
            double wr = 0;
            for (int i = 0; i < NV; i++) g[i] = (i % 2 ? -1 : 1) * powf(10.0f, -6.0f + 7.0f * (float)i / NV);
            o->erf(g, tmp, NV);
            for (int i = 0; i < NV; i++) {
                double ref = erf((double)g[i]), e = fabs(tmp[i] - ref) / (fabs(ref) + 1e-30);
                if (e > wr) wr = e;
                if (e > 1e-6) bad++;
            }
            CHECK(bad == 0, "erf %s: %d values off by > 1e-6 relative (worst %g)", isa, bad, wr);
        }
        /* bf16 rounding: bit-exact with f32_to_bf16, ties, denormals, inf, NaN */
        uint32_t bits[] = {0x3f808000u, 0x3f818000u, 0x3f80ffffu, 0x00000001u, 0x00018000u, 0x80400000u,
                           0x7f7fffffu, 0x7f800000u, 0xff800000u, 0x7fc00001u, 0x7f800001u, 0xffa00000u, 0, 0x80000000u};
        enum { NB = sizeof bits / sizeof *bits };
        float fv[NB + 20];
        bf16_t hb[NB + 20];
        float fr[NB + 20];
        memcpy(fv, bits, sizeof bits);
        test_fill_random(fv + NB, 20, 99);
        k_f32_to_bf16(fv, hb, NB + 20);
        o->round_bf16(fv, fr, NB + 20);
        int mism = 0;
        for (int i = 0; i < NB + 20; i++) {
            bf16_t want = f32_to_bf16(fv[i]);
            uint32_t fb;
            memcpy(&fb, &fr[i], 4);
            if (hb[i] != want || fb != (uint32_t)want << 16) mism++;
        }
        CHECK(mism == 0, "bf16 rounding %s: %d mismatches", isa, mism);
        /* softmax pieces */
        for (int n = 1; n < 300; n += 37) {
            test_fill_random(g, (size_t)n, 77 + n);
            for (int i = 0; i < n; i++) g[i] *= 5;
            float mx = o->vmax(g, n), want = -INFINITY;
            for (int i = 0; i < n; i++) want = fmaxf(want, g[i]);
            float sum = o->exp_sum(g, n, mx, tmp, NULL);
            bf16_t pb[300];
            float sum2 = o->exp_sum(g, n, mx, NULL, pb);
            double rs = 0, wr = 0;
            int bfbad = 0;
            for (int i = 0; i < n; i++) {
                double e = exp((double)g[i] - mx);
                rs += e;
                wr = fmax(wr, fabs(tmp[i] - e) / e);
                bfbad += pb[i] != f32_to_bf16(tmp[i]); /* same exp, then the contract's rounding */
            }
            CHECK(mx == want && wr < 1e-6 && fabs(sum - rs) < 1e-6 * rs && sum2 == sum && !bfbad,
                  "softmax pieces %s n=%d: %g, %d bf16 mismatches", isa, n, wr, bfbad);
        }
    }
    free(x); free(y); free(r); free(wf); free(bf); free(g); free(u); free(g2); free(tmp);
    return test_finish("test_kernels_vec");
}

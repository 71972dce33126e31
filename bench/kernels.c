/* Kernel benchmark: GEMM (vision and LM shapes), decode GEMV, attention, each
 * as a ratio to this machine's peaks measured in the same run. Prints figures;
 * never passes or fails. Usage: kernels [threads] [quick|full|smoke] [gemm|gemv|quant|qgemm|qgemv|attn|decode]
 * smoke: every shape shrunk (CI runs it under qemu to catch illegal instructions). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench_util.h"
#include "base/mem.h"
#include "kernels/kernels.h"
#include "base/quant.h"

static int g_smoke; /* shrink every shape: a run that only checks each path executes */
static int shrink(int n, int div) { return g_smoke ? n / div + 3 : n; }

static double best_of(int reps, void (*fn)(void *), void *ctx) {
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = dots_now();
        fn(ctx);
        double t = dots_now() - t0;
        if (t < best) best = t;
    }
    return best;
}

typedef struct { dots_pool *pool; float *x, *y; void *w; dots_dtype wdt; int M, K, N; } gemm_ctx;
static void run_gemm(void *c) {
    gemm_ctx *g = c;
    if (k_linear(g->pool, g->x, g->M, g->K, g->w, g->wdt, NULL, DT_F32, g->y, g->N)) fprintf(stderr, "k_linear failed\n");
}

static void *rand_weights(size_t n, dots_dtype dt) {
    size_t es = dt == DT_F32 ? 4 : 2;
    char *w = dots_alloc(n * es, "bench weights", NULL);
    if (!w) return NULL;
    uint32_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        float v = ((s >> 8) / 16777216.0f - 0.5f) * 0.1f;
        if (dt == DT_F32) ((float *)w)[i] = v;
        else if (dt == DT_F16) ((f16_t *)w)[i] = f32_to_f16(v);
        else ((bf16_t *)w)[i] = f32_to_bf16(v);
    }
    return w;
}

static void bench_gemm(dots_pool *pool, const char *name, int M, int K, int N, dots_dtype wdt, double peak,
                       const char *peak_name) {
    M = shrink(M, 64); K = shrink(K, 32); N = shrink(N, 32);
    gemm_ctx g = {pool, NULL, NULL, NULL, wdt, M, K, N};
    g.x = dots_alloc((size_t)M * K * 4, "x", NULL);
    g.y = dots_alloc((size_t)M * N * 4, "y", NULL);
    g.w = rand_weights((size_t)N * K, wdt);
    if (!g.x || !g.y || !g.w) { printf("%-22s out of memory\n", name); goto out; }
    for (size_t i = 0; i < (size_t)M * K; i++) g.x[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
    run_gemm(&g);
    double t = best_of(3, run_gemm, &g), gf = 2.0 * M * K * N / t / 1e9;
    printf("%-22s M=%-5d K=%-5d N=%-6d %-4s %8.1f GFLOP/s  %5.1f%% of %s peak  (%.1f ms)\n", name, M, K, N,
           dtype_name(wdt), gf, peak > 0 ? 100 * gf / peak : 0, peak_name, t * 1e3);
out:
    dots_free(g.x); dots_free(g.y); dots_free(g.w);
}

/* Decode: M=1 over a weight set larger than every cache, streamed once per pass. */
typedef struct { dots_pool *pool; float *x, *y; void **w; int n, K, N; } gemv_ctx;
static void run_gemv(void *c) {
    gemv_ctx *g = c;
    for (int i = 0; i < g->n; i++) k_linear(g->pool, g->x, 1, g->K, g->w[i], DT_BF16, NULL, DT_F32, g->y, g->N);
}

static void bench_gemv(dots_pool *pool, int K, int N, int nmat, double bw) {
    K = shrink(K, 32); N = shrink(N, 256); nmat = g_smoke ? 1 : nmat;
    gemv_ctx g = {pool, NULL, NULL, NULL, nmat, K, N};
    g.x = dots_alloc((size_t)K * 4, "x", NULL);
    g.y = dots_alloc((size_t)N * 4, "y", NULL);
    g.w = calloc((size_t)nmat, sizeof *g.w);
    int ok = g.x && g.y && g.w;
    for (int i = 0; ok && i < nmat; i++) ok = (g.w[i] = rand_weights((size_t)N * K, DT_BF16)) != NULL;
    if (ok) {
        for (int i = 0; i < K; i++) g.x[i] = (float)(i % 7) * 0.1f;
        run_gemv(&g);
        double t = best_of(3, run_gemv, &g), bytes = 2.0 * K * N * nmat, gbs = bytes / t / 1e9;
        printf("GEMV decode (M=1)       K=%-5d N=%-6d x%d bf16 (%.2f GB): %6.1f GB/s  %5.1f%% of read bandwidth  "
               "(%.2f ms per matrix)\n", K, N, nmat, bytes / 1e9, gbs, bw > 0 ? 100 * gbs / bw : 0, t / nmat * 1e3);
    } else {
        printf("GEMV: out of memory\n");
    }
    for (int i = 0; g.w && i < nmat; i++) dots_free(g.w[i]);
    free(g.w); dots_free(g.x); dots_free(g.y);
}

/* ---- block-quantized weights (Q8_0, Q4_K, Q6_K): int8 kernels ------------ */
/* One quantized [N, K] matrix of random values (ref quantizer), copied to n_copies buffers. */
static void **rand_qweights(dots_dtype wdt, int K, int N, int n_copies) {
    size_t row = dtype_row_bytes(wdt, (uint64_t)K);
    void **w = calloc((size_t)n_copies, sizeof *w);
    float *f = malloc(sizeof(float) * (size_t)K);
    int ok = w && f;
    for (int i = 0; ok && i < n_copies; i++) ok = (w[i] = dots_alloc(row * N, "bench q weights", NULL)) != NULL;
    uint32_t s = 777;
    for (int n = 0; ok && n < N; n++) {
        for (int k = 0; k < K; k++) { s = s * 1664525u + 1013904223u; f[k] = ((s >> 8) / 16777216.0f - 0.5f) * 0.1f; }
        quant_row(wdt, f, (char *)w[0] + row * n, K);
    }
    for (int i = 1; ok && i < n_copies; i++) memcpy(w[i], w[0], row * N);
    free(f);
    if (!ok && w) { for (int i = 0; i < n_copies; i++) dots_free(w[i]); free(w); w = NULL; }
    return w;
}

/* peak, peak_name: the int8 level's, or at the amx level (M >= 4 runs the bf16
 * tiles on weights dequantized into the pack) the AMX-BF16 tile peak */
static void bench_qgemm(dots_pool *pool, const char *name, int M, int K, int N, dots_dtype wdt, double peak,
                        const char *peak_name) {
    if (g_smoke) { M = shrink(M, 64); K = 256; N = shrink(N, 32); } /* K: whole Q4_K blocks */
    void **w = rand_qweights(wdt, K, N, 1), *bf16w = NULL;
    gemm_ctx g = {pool, NULL, NULL, NULL, wdt, M, K, N};
    g.x = dots_alloc((size_t)M * K * 4, "x", NULL);
    g.y = dots_alloc((size_t)M * N * 4, "y", NULL);
    if (!w || !g.x || !g.y) { printf("%-22s out of memory\n", name); goto out; }
    g.w = w[0];
    for (size_t i = 0; i < (size_t)M * K; i++) g.x[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
    run_gemm(&g);
    double t = best_of(3, run_gemm, &g), gf = 2.0 * M * K * N / t / 1e9;
    /* the same shape with bf16 weights right after: the ratio is what the targets ask */
    gemm_ctx gb = g;
    gb.wdt = DT_BF16;
    gb.w = bf16w = rand_weights((size_t)N * K, DT_BF16);
    double tb = bf16w ? (run_gemm(&gb), best_of(3, run_gemm, &gb)) : 0;
    printf("%-22s M=%-5d K=%-5d N=%-6d %-4s %8.1f GOP/s  %5.1f%% of %s  %.2fx bf16 (%.1f ms)\n", name, M, K, N,
           dtype_name(wdt), gf, peak > 0 ? 100 * gf / peak : 0, peak_name, tb > 0 ? tb / t : 0, t * 1e3);
out:
    dots_free(bf16w);
    if (w) dots_free(w[0]);
    free(w); dots_free(g.x); dots_free(g.y);
}

typedef struct { dots_pool *pool; float *x, *y; void **w; int n, K, N; dots_dtype wdt; } qgemv_ctx;
static void run_qgemv(void *c) {
    qgemv_ctx *g = c;
    for (int i = 0; i < g->n; i++) k_linear(g->pool, g->x, 1, g->K, g->w[i], g->wdt, NULL, DT_F32, g->y, g->N);
}

static void bench_qgemv(dots_pool *pool, int K, int N, int nmat, dots_dtype wdt, double bw) {
    if (g_smoke) { K = 256; N = shrink(N, 256); nmat = 1; }
    qgemv_ctx g = {pool, NULL, NULL, rand_qweights(wdt, K, N, nmat), nmat, K, N, wdt};
    g.x = dots_alloc((size_t)K * 4, "x", NULL);
    g.y = dots_alloc((size_t)N * 4, "y", NULL);
    if (g.w && g.x && g.y) {
        for (int i = 0; i < K; i++) g.x[i] = (float)(i % 7) * 0.1f;
        run_qgemv(&g);
        double t = best_of(3, run_qgemv, &g), bytes = (double)dtype_row_bytes(wdt, K) * N * nmat, gbs = bytes / t / 1e9;
        printf("GEMV decode (M=1)       K=%-5d N=%-6d x%d %s (%.2f GB): %6.1f GB/s  %5.1f%% of read bandwidth  "
               "(%.2f ms per matrix, %s)\n", K, N, nmat, dtype_name(wdt), bytes / 1e9, gbs, bw > 0 ? 100 * gbs / bw : 0,
               t / nmat * 1e3, qisa_name(qisa_active()));
    } else {
        printf("GEMV %s: out of memory\n", dtype_name(wdt));
    }
    for (int i = 0; g.w && i < nmat; i++) dots_free(g.w[i]);
    free(g.w); dots_free(g.x); dots_free(g.y);
}

/* parts: 1 GEMM rows, 2 GEMV rows, 3 both */
static void bench_quant(dots_pool *pool, int quick, int parts) {
    dots_qisa q = qisa_active();
    int kind = q == QISA_AVX512VNNI ? 2 : q == QISA_AVXVNNI ? 1 : 0;
    double pk = bench_peak_int8_gops(pool, kind);
    printf("int8 level %s; int8 peak (same run, %s): %.1f GOP/s\n", qisa_name(q),
           kind == 2 ? "vpdpbusd zmm" : kind == 1 ? "vpdpbusd ymm" : "vpmaddubsw+vpmaddwd", pk);
    int M = quick ? 1024 : 4096;
    char pname[64];
    snprintf(pname, sizeof pname, "int8 peak (%s)", qisa_name(q));
    double gpk = pk;
    if (isa_active() == ISA_AMX) {
        gpk = bench_peak_bf16_gflops(pool);
        snprintf(pname, sizeof pname, "amx bf16 peak (%.0f GFLOP/s)", gpk);
        printf("amx level: GEMMs of quantized weights (M >= 4) run the bf16 tiles on weights dequantized into the pack\n");
    }
    static const dots_dtype types[] = {DT_Q8_0, DT_Q4_K};
    for (int t = 0; t < 2; t++) {
        dots_dtype wdt = types[t];
        if (parts & 1) {
            bench_qgemm(pool, "vision qkv", M, 1536, 4608, wdt, gpk, pname);
            bench_qgemm(pool, "vision fc2", M, wdt == DT_Q4_K ? 4096 : 4224, 1536, wdt, gpk, pname); /* Q4_K: K % 256 == 0 */
            bench_qgemm(pool, "LM prefill gate/up", 512, 1536, 8960, wdt, gpk, pname);
            bench_qgemm(pool, "LM prefill down", 512, 8960, 1536, wdt, gpk, pname);
        }
        if (!(parts & 2)) continue;
        double bw = bench_read_bandwidth_gbs(pool);
        bench_qgemv(pool, 1536, 8960, quick ? 20 : 40, wdt, bw);
        bw = bench_read_bandwidth_gbs(pool);
        bench_qgemv(pool, 8960, 1536, quick ? 20 : 40, wdt, bw);
    }
    /* Q6_K (llama.cpp's Q4_K_M files: ffn_down / attn_v / output); one tile for every M */
    bench_qgemm(pool, "LM prefill down", 512, 8960, 1536, DT_Q6_K, gpk, pname);
    double bw6 = bench_read_bandwidth_gbs(pool);
    bench_qgemv(pool, 8960, 1536, quick ? 20 : 40, DT_Q6_K, bw6);
}

typedef struct { dots_pool *pool; dots_attn a; } attn_ctx;
static void run_attn(void *c) {
    attn_ctx *x = c;
    if (k_attention(x->pool, &x->a)) fprintf(stderr, "k_attention failed\n");
}

static void bench_attn(dots_pool *pool, const char *name, int nq, int nkv, int heads, int kvh, int causal,
                       dots_dtype kvdt, dots_dtype prec, double peak, double bw) {
    int d = 128;
    nq = nq == 1 ? 1 : shrink(nq, 128); nkv = shrink(nkv, 128);
    attn_ctx c;
    memset(&c, 0, sizeof c);
    c.pool = pool;
    size_t es = kvdt == DT_BF16 ? 2 : 4;
    float *q = dots_alloc((size_t)nq * heads * d * 4, "q", NULL), *o = dots_alloc((size_t)nq * heads * d * 4, "o", NULL);
    char *k = dots_alloc((size_t)nkv * kvh * d * es, "k", NULL), *v = dots_alloc((size_t)nkv * kvh * d * es, "v", NULL);
    if (!q || !o || !k || !v) { printf("%s: out of memory\n", name); goto out; }
    for (size_t i = 0; i < (size_t)nq * heads * d; i++) q[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
    for (size_t i = 0; i < (size_t)nkv * kvh * d; i++) {
        float x = (float)((i * 40503u) % 1000) * 1e-3f - 0.5f;
        if (kvdt == DT_BF16) { ((bf16_t *)k)[i] = f32_to_bf16(x); ((bf16_t *)v)[i] = f32_to_bf16(-x); }
        else { ((float *)k)[i] = x; ((float *)v)[i] = -x; }
    }
    dots_attn *a = &c.a;
    a->n_q = nq; a->n_kv = nkv; a->n_heads = heads; a->n_kv_heads = kvh; a->head_dim = d;
    a->q = q; a->ldq = (size_t)heads * d; a->k = k; a->ldk = (size_t)kvh * d; a->v = v; a->ldv = (size_t)kvh * d;
    a->kv_dtype = kvdt; a->out = o; a->ldo = (size_t)heads * d; a->scale = 1.0f / sqrtf((float)d);
    a->causal = causal; a->q_pos0 = causal ? nkv - nq : 0; a->precision = prec;
    run_attn(&c);
    double t = best_of(3, run_attn, &c);
    /* QK^T and PV: 2 * 2 * d flops per visible (query, key) pair */
    double pairs = causal ? (double)nq * nkv - (double)nq * (nq - 1) / 2 : (double)nq * nkv;
    double gf = 4.0 * d * pairs * heads / t / 1e9;
    double kvbytes = 2.0 * nkv * kvh * d * es;
    printf("%-22s nq=%-5d nkv=%-5d h=%d/%d %s kv=%s: %8.1f GFLOP/s  %5.1f%% of peak  %6.1f GB/s of KV  (%.2f ms)\n",
           name, nq, nkv, heads, kvh, prec == DT_BF16 ? "bf16" : "f32 ", dtype_name(kvdt), gf,
           peak > 0 ? 100 * gf / peak : 0, kvbytes / t / 1e9, t * 1e3);
    (void)bw;
out:
    dots_free(q); dots_free(o); dots_free(k); dots_free(v);
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 0, quick = argc > 2 && strcmp(argv[2], "quick") == 0;
    g_smoke = argc > 2 && strcmp(argv[2], "smoke") == 0;
    const char *only = argc > 3 ? argv[3] : NULL; /* run only "gemm", "gemv", "quant" (qgemm / qgemv: its GEMM / GEMV rows), "attn" or "decode" (attention) */
#define RUN(kind) (!only || !strcmp(only, kind))
    dots_error e;
    dots_pool *pool = pool_create(threads, &e);
    if (!pool) { fprintf(stderr, "%s\n", e.msg); return 1; }
    printf("ISA %s, %d threads\n", isa_name(isa_active()), pool_threads(pool));
    double p32 = bench_peak_fp32_gflops(pool), pbf = bench_peak_bf16_gflops(pool), bw = bench_read_bandwidth_gbs(pool);
    printf("peaks (best of runs): %s %.1f GFLOP/s, bf16 dot %.1f GFLOP/s, DRAM read %.1f GB/s\n",
           bench_peak_fp32_name(), p32, pbf, bw);
    double pk = pbf > 0 ? pbf : p32;
    const char *pkn = pbf > 0 ? "bf16" : "fp32";
    int M = quick ? 1024 : 4096;
    if (RUN("gemm")) bench_gemm(pool, "vision qkv", M, 1536, 4608, DT_BF16, pk, pkn);
    if (RUN("gemm")) bench_gemm(pool, "vision proj", M, 1536, 1536, DT_BF16, pk, pkn);
    if (RUN("gemm")) bench_gemm(pool, "vision fc1/fc3", M, 1536, 4224, DT_BF16, pk, pkn);
    if (RUN("gemm")) bench_gemm(pool, "vision fc2", M, 4224, 1536, DT_BF16, pk, pkn);
    if (RUN("gemm")) bench_gemm(pool, "LM prefill gate/up", 512, 1536, 8960, DT_BF16, pk, pkn);
    if (RUN("gemm")) bench_gemm(pool, "LM prefill down", 512, 8960, 1536, DT_BF16, pk, pkn);
    if (RUN("gemm")) bench_gemm(pool, "f32 weights (goldens)", 1024, 1536, 1536, DT_F32, p32, "fp32");
    if (RUN("gemm")) bench_gemm(pool, "f16 weights", 1024, 1536, 1536, DT_F16, p32, "fp32");
    /* bandwidth drifts with other load: measure it again right before each GEMV */
    if (RUN("gemv")) {
        bw = bench_read_bandwidth_gbs(pool);
        bench_gemv(pool, 1536, 8960, quick ? 20 : 40, bw);
        bw = bench_read_bandwidth_gbs(pool);
        bench_gemv(pool, 1536, 151936, quick ? 1 : 3, bw);
    }
    if (RUN("quant")) bench_quant(pool, quick, 3);
    if (only && !strcmp(only, "qgemm")) bench_quant(pool, quick, 1);
    if (only && !strcmp(only, "qgemv")) bench_quant(pool, quick, 2);
    if (RUN("attn")) bench_attn(pool, "attention vision", quick ? 1024 : 4096, quick ? 1024 : 4096, 12, 12, 0, DT_F32, DT_BF16, pk, bw);
    if (RUN("attn")) bench_attn(pool, "attention f32", 1024, 1024, 12, 12, 0, DT_F32, DT_F32, p32, bw);
    if (RUN("attn")) bench_attn(pool, "attention LM prefill", 512, 512, 12, 2, 1, DT_BF16, DT_BF16, pk, bw);
    if (RUN("attn") || RUN("decode")) bench_attn(pool, "attention decode", 1, 4096, 12, 2, 1, DT_BF16, DT_BF16, pk, bw);
    pool_destroy(pool);
    return 0;
}

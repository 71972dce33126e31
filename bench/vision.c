/* Vision tower benchmark: seconds per image, GFLOP/s (vision_flops) and the
 * ratio to this machine's bf16 / fp32 peaks measured in the same run.
 *
 *   vision --model DIR [--patches 1024,4096] [--threads N] [--repeat R] [--type q8_0|q4_k|bf16]
 * --type q8_0|q4_k quantizes the tower's Linear weights in memory at load
 * (ckpt_quantize_linears; Q4_K leaves fc2, whose K = 4224 is not whole blocks).
 *
 * DIR: a full-size checkpoint, e.g. made by
 *   tools/make_random_checkpoint.py --preset full --vision-only --out DIR
 * Each patch count N runs one image of grid h x w (h*w = N, as square as possible). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "bench_util.h"
#include "io/checkpoint.h"
#include "io/ckpt_quant.h"
#include "kernels/kernels.h"
#include "model/vision.h"

static int usage(FILE *f) {
    fprintf(f, "usage: vision --model DIR [--patches 1024,4096] [--threads N] [--repeat R] [--type q8_0|q4_k|bf16]\n"
               "  DIR from: tools/make_random_checkpoint.py --preset full --vision-only --out DIR\n");
    return f == stdout ? 0 : 2;
}

static void fill(float *x, size_t n, unsigned seed) {
    unsigned long long s = 0x9E3779B97F4A7C15ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        x[i] = (float)((double)(s >> 11) / (double)(1ull << 53) * 4.0 - 2.0);
    }
}

int main(int argc, char **argv) {
    const char *model = NULL, *plist = "1024,4096";
    int threads = 0, repeat = 1;
    dots_dtype qtype = DT_COUNT; /* as stored */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return usage(stdout);
        if (i + 1 >= argc) { fprintf(stderr, "vision: %s needs a value\n", argv[i]); return usage(stderr); }
        if (!strcmp(argv[i], "--model")) model = argv[++i];
        else if (!strcmp(argv[i], "--patches")) plist = argv[++i];
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeat")) repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--type")) {
            const char *t = argv[++i];
            if (strcmp(t, "q8_0") && strcmp(t, "q4_k") && strcmp(t, "bf16")) { fprintf(stderr, "vision: --type q8_0|q4_k|bf16\n"); return 2; }
            qtype = !strcmp(t, "q8_0") ? DT_Q8_0 : !strcmp(t, "q4_k") ? DT_Q4_K : DT_COUNT;
        }
        else { fprintf(stderr, "vision: unknown option '%s'\n", argv[i]); return usage(stderr); }
    }
    if (!model) { fprintf(stderr, "vision: --model DIR is required\n"); return usage(stderr); }
    if (repeat < 1) repeat = 1;
    dots_error e = {0};
    dots_ckpt *ck = NULL;
    dots_vision *v = NULL;
    double t0 = dots_now();
    void *qweights = NULL;
    dots_pool *pool = pool_create(threads, &e);
    if (!pool) { fprintf(stderr, "vision: %s\n", e.msg); return 1; }
    if (ckpt_open(model, &ck, &e) || (qtype != DT_COUNT && ckpt_quantize_linears(ck, DT_COUNT, qtype, pool, &qweights, &e)) ||
        vision_load(ck, &v, &e) || ckpt_check_unclaimed(ck, "vision_tower.", &e)) {
        fprintf(stderr, "vision: %s\n", e.msg);
        vision_free(v);
        ckpt_close(ck);
        return 1;
    }
    const dots_vision_config *vc = &ck->config.vision;
    printf("vision bench: %s: E=%d, %d blocks, F=%d, weights %s%s%s; ISA %s (int8 %s%s); %d threads; open %.2f s\n",
           model, vc->embed_dim, vc->num_hidden_layers, vc->intermediate_size, dtype_name(vision_mode(v)),
           qtype != DT_COUNT ? ", Linear weights quantized at load to " : "", qtype != DT_COUNT ? dtype_name(qtype) : "",
           isa_name(isa_active()), qisa_name(qisa_active()),
           bench_int8_scope(), pool_threads(pool), dots_now() - t0);
    double peak_bf16 = bench_peak_bf16_gflops(pool), peak_f32 = bench_peak_fp32_gflops(pool);
    printf("machine peaks (same run): bf16 %.1f GFLOP/s, fp32 %.1f GFLOP/s\n", peak_bf16, peak_f32);
    const char *p = plist;
    while (*p) {
        char *end;
        long n = strtol(p, &end, 10);
        if (end == p || n < 4) { fprintf(stderr, "vision: bad --patches list '%s'\n", plist); break; }
        p = *end == ',' ? end + 1 : end;
        int h = (int)sqrt((double)n);
        h -= h % 2;
        while (h >= 2 && (n % h || (n / h) % 2)) h -= 2;
        if (h < 2) { fprintf(stderr, "vision: %ld patches cannot form an even grid\n", n); continue; }
        int grid[1][3] = {{1, h, (int)(n / h)}};
        float *pix = dots_alloc((size_t)n * 588 * sizeof(float), "bench pixels", &e);
        float *out = pix ? dots_alloc((size_t)n / 4 * vision_out_dim(v) * sizeof(float), "bench output", &e) : NULL;
        if (!out) { fprintf(stderr, "vision: %s\n", e.msg); dots_free(pix); break; }
        fill(pix, (size_t)n * 588, 1);
        double best = 1e30, busy = 0;
        for (int r = 0; r < repeat; r++) {
            double t = dots_now(), cpu0 = bench_cpu_seconds();
            if (vision_forward(v, pool, pix, (const int(*)[3])grid, 1, out, NULL, NULL, &e)) {
                fprintf(stderr, "vision: %s\n", e.msg);
                break;
            }
            t = dots_now() - t;
            if (t < best) { best = t; busy = (bench_cpu_seconds() - cpu0) / (t * pool_threads(pool)); }
        }
        double gf = vision_flops(v, (const int(*)[3])grid, 1) / best / 1e9;
        printf("%6ld patches (%dx%d): %8.2f s/image  %8.1f GFLOP/s  %.3f of bf16 peak  %.3f of fp32 peak  (%.2f TFLOP, "
               "threads busy %.0f%%)\n", n, h, (int)(n / h), best, gf, peak_bf16 > 0 ? gf / peak_bf16 : 0,
               peak_f32 > 0 ? gf / peak_f32 : 0, vision_flops(v, (const int(*)[3])grid, 1) / 1e12, 100.0 * busy);
        fflush(stdout);
        dots_free(pix);
        dots_free(out);
    }
    printf("peak RSS %.1f MB\n", dots_peak_rss() / 1e6);
    pool_destroy(pool);
    vision_free(v);
    ckpt_close(ck);
    dots_free(qweights);
    return 0;
}

/* bench/lm: the Qwen2 language model alone on a checkpoint (a full-size random one from
 * tools/make_random_checkpoint.py --preset full, or any dots.ocr folder).
 * Prints prefill tokens/s at each --prefill length, decode tokens/s, and decode as a
 * fraction of the memory-bandwidth limit: (read bandwidth measured in this run) /
 * (bytes of weights one decode step reads); then as many decode steps again, each between
 * two passes of a read probe, for the decode's share of the bandwidth of the same seconds.
 *
 *   lm --model DIR [--threads N] [--prefill 512,4096] [--decode 32] [--chunk 512] [--batch 1,2,4,8,16]
 *      [--type q8_0|q4_k|bf16]
 *
 * --batch: B sequences decoded together (lm_forward_batch: one GEMM per weight for all B
 * rows) after a short prompt each; aggregate and per-sequence tok/s, against the bandwidth
 * limit (B tokens per read of the weights) and the compute limit (peak GFLOP/s of the
 * active ISA measured here / FLOPs per token).
 * --type q8_0|q4_k quantizes the Linear weights in memory at load (ckpt_quantize_linears);
 * the default (bf16) uses them as stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "bench_util.h"
#include "io/checkpoint.h"
#include "io/ckpt_quant.h"
#include "kernels/kernels.h"
#include "model/lm.h"

static int fail(const dots_error *e) {
    fprintf(stderr, "lm: %s\n", e->msg);
    return 1;
}

/* Parses "1,2,4" into up to max positive ints. */
static int parse_list(const char *s, int *out, int max) {
    int n = 0;
    for (const char *p = s; p && *p && n < max;) {
        int v = atoi(p);
        if (v > 0) out[n++] = v;
        p = strchr(p, ',');
        if (p) p++;
    }
    return n;
}

#define BATCH_PROMPT 4  /* prompt tokens per sequence before the timed decode steps */

/* Weights one token multiplies by in the decoder's Linears (q/k/v/o, gate/up/down),
 * from the config: FLOPs are 2 per weight whatever the stored type (a Q8_0 or Q4_K
 * byte count would undercount them). */
static double linear_params(const dots_text_config *c) {
    double D = c->hidden_size, q = (double)c->num_attention_heads * c->head_dim,
           kv = (double)c->num_key_value_heads * c->head_dim;
    return c->num_hidden_layers * (D * (q + 2 * kv) + q * D + 3.0 * D * c->intermediate_size);
}

#define BENCH_MAX_STEPS (1 << 24) /* --decode and --prefill lengths: positions stay well inside int */

/* The greedy next token: the first index of the largest logit. */
static int greedy_token(const float *logits, int V) {
    int b = 0;
    for (int v = 1; v < V; v++) if (logits[v] > logits[b]) b = v;
    return b;
}

/* Decode of B sequences together at each B of the list. */
static int bench_batch(const dots_lm *lm, dots_pool *pool, const char *list, int n_decode, double bw, double bytes) {
    const dots_text_config *c = lm_config(lm);
    int Bs[16], nb = parse_list(list, Bs, 16), maxb = 1, D = c->hidden_size, V = c->vocab_size;
    for (int i = 0; i < nb; i++) if (Bs[i] > maxb) maxb = Bs[i];
    /* bf16 weights meet vdpbf16ps/bfdot only at those ISA levels; below, f32 FMAs */
    dots_isa isa = isa_active();
    double peak = isa == ISA_AVX512BF16 || isa == ISA_AMX || isa == ISA_NEON ? bench_peak_bf16_gflops(pool) : 0;
    if (peak <= 0) peak = bench_peak_fp32_gflops(pool);
    double flops = 2.0 * (linear_params(c) + (double)V * D); /* per token, lm_head included (attention over a few keys is noise) */
    printf("batch decode: peak %.0f GFLOP/s (%s), %.1f GFLOP per token; limits per step: bandwidth %.3f s, "
           "compute %.3f s per sequence\n", peak, isa_name(isa_active()), flops / 1e9, bytes / (bw * 1e9),
           flops / (peak * 1e9));
    dots_error e = {0};
    dots_lm_work *w = NULL;
    dots_lm_state **st = calloc((size_t)maxb, sizeof *st);
    int *rows = malloc(sizeof(int) * (size_t)maxb), *ids = malloc(sizeof(int) * (size_t)maxb * BATCH_PROMPT);
    float *x = dots_alloc(sizeof(float) * (size_t)maxb * BATCH_PROMPT * D, "bench rows", &e);
    float *logits = x ? dots_alloc(sizeof(float) * (size_t)maxb * V, "bench logits", &e) : NULL;
    if (!st || !rows || !ids || !logits || lm_work_new(lm, maxb * BATCH_PROMPT, &w, &e)) return fail(&e);
    for (int i = 0; i < maxb * BATCH_PROMPT; i++) ids[i] = (int)((i * 2654435761u) % (unsigned)V);
    double base = 0;
    for (int bi = 0; bi < nb; bi++) {
        int B = Bs[bi];
        for (int q = 0; q < B; q++) {
            if (lm_state_new_kv(lm, BATCH_PROMPT + n_decode + 1, &st[q], &e) ||
                lm_state_reserve(st[q], BATCH_PROMPT + n_decode + 1, &e))
                return fail(&e);
            rows[q] = BATCH_PROMPT;
        }
        if (lm_embed(lm, ids, B * BATCH_PROMPT, x, &e) || lm_forward_batch(lm, w, pool, st, rows, B, x, logits, &e))
            return fail(&e);
        for (int q = 0; q < B; q++) rows[q] = 1;
        double t0 = dots_now();
        for (int k = 0; k < n_decode; k++) {
            for (int q = 0; q < B; q++) ids[q] = greedy_token(logits + (size_t)q * V, V); /* each sequence's next token */
            if (lm_embed(lm, ids, B, x, &e) || lm_forward_batch(lm, w, pool, st, rows, B, x, logits, &e))
                return fail(&e);
        }
        double dt = dots_now() - t0, agg = (double)B * n_decode / dt;
        if (B == 1 || base == 0) base = agg / B;
        double bw_lim = B * bw * 1e9 / bytes, fl_lim = peak * 1e9 / flops;
        printf("batch %2d: %7.2f tok/s aggregate (%5.2fx batch 1), %6.2f tok/s per sequence; %3.0f%% of the "
               "bandwidth limit %.1f, %3.0f%% of the compute limit %.1f -> %s bound\n", B, agg, agg / base, agg / B,
               100 * agg / bw_lim, bw_lim, 100 * agg / fl_lim, fl_lim, bw_lim < fl_lim ? "bandwidth" : "compute");
        for (int q = 0; q < B; q++) { lm_state_free(st[q]); st[q] = NULL; }
    }
    lm_work_free(w);
    dots_free(x);
    dots_free(logits);
    free(st);
    free(rows);
    free(ids);
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* n decode steps more, each between two passes of a 256 MB read probe: the decode's GB/s against
 * the probes' over the same seconds (time-weighted), and the median of each step's GB/s over the
 * mean of the passes either side of it. The host's bandwidth swings within seconds, so this share
 * is steadier than one against the probe taken before the run. */
static int decode_vs_probes(const dots_lm *lm, dots_lm_state *st, dots_pool *pool, int tok, float *logits, int n,
                            double bytes, dots_error *e) {
    bench_bw_probe *probe = bench_bw_probe_new((size_t)256 << 20);
    double *ratio = malloc(sizeof(double) * (size_t)n);
    if (!probe || !ratio) {
        bench_bw_probe_free(probe);
        free(ratio);
        return dots_fail(e, DOTS_E_NOMEM, "out of memory for the bandwidth probe");
    }
    int V = lm_config(lm)->vocab_size;
    double before = bench_bw_probe_pass(pool, probe), dec_secs = 0;
    for (int k = 0; k < n; k++) {
        double ts = dots_now();
        if (lm_decode(lm, st, pool, tok, logits, e)) { bench_bw_probe_free(probe); free(ratio); return -1; }
        double step = dots_now() - ts, after = bench_bw_probe_pass(pool, probe);
        dec_secs += step;
        ratio[k] = bytes / step / 1e9 / ((before + after) / 2);
        before = after;
        tok = greedy_token(logits, V);
    }
    qsort(ratio, (size_t)n, sizeof *ratio, cmp_double);
    double dec = n * bytes / dec_secs / 1e9, pr = bench_bw_probe_gbs(probe);
    printf("decode  %5d steps, each between two read probe passes: %.1f GB/s effective, the probes %.1f GB/s over the same "
           "seconds = %.0f%% (median step %.0f%%)\n", n, dec, pr, 100 * dec / pr, 100 * ratio[n / 2]);
    bench_bw_probe_free(probe);
    free(ratio);
    return 0;
}

int main(int argc, char **argv) {
    const char *model = NULL, *prefill_s = "512,4096", *batch_s = NULL;
    int threads = 0, n_decode = 32, chunk = 512;
    dots_dtype qtype = DT_COUNT; /* as stored */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--prefill") && i + 1 < argc) prefill_s = argv[++i];
        else if (!strcmp(argv[i], "--decode") && i + 1 < argc) n_decode = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--chunk") && i + 1 < argc) chunk = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch_s = argv[++i];
        else if (!strcmp(argv[i], "--type") && i + 1 < argc && (!strcmp(argv[i + 1], "q8_0") || !strcmp(argv[i + 1], "q4_k") || !strcmp(argv[i + 1], "bf16"))) {
            i++;
            qtype = !strcmp(argv[i], "q8_0") ? DT_Q8_0 : !strcmp(argv[i], "q4_k") ? DT_Q4_K : DT_COUNT;
        }
        else {
            fprintf(stderr, "usage: lm --model DIR [--threads N] [--prefill 512,4096] [--decode 32] [--chunk 512] "
                            "[--batch 1,2,4,8,16] [--type q8_0|q4_k|bf16]\n");
            return 2;
        }
    }
    if (!model) {
        fprintf(stderr, "lm: --model DIR is required (tools/make_random_checkpoint.py --preset full --out DIR)\n");
        return 2;
    }
    int lens[16], n_lens = 0, max_len = 1;
    for (const char *p = prefill_s; *p && n_lens < 16;) {
        lens[n_lens] = atoi(p);
        if (lens[n_lens] > 0) { if (lens[n_lens] > max_len) max_len = lens[n_lens]; n_lens++; }
        const char *c = strchr(p, ',');
        if (!c) break;
        p = c + 1;
    }
    /* the state holds max_len + 2 * n_decode positions (plain decode, then decode between probes) */
    if (n_decode < 0 || n_decode > BENCH_MAX_STEPS || max_len > BENCH_MAX_STEPS) {
        fprintf(stderr, "lm: --decode %d / --prefill up to %d: each must be 0 to %d tokens\n", n_decode, max_len,
                BENCH_MAX_STEPS);
        return 2;
    }
    dots_error e = {0};
    dots_ckpt *ck = NULL;
    dots_lm *lm = NULL;
    void *qweights = NULL;
    dots_pool *pool = pool_create(threads, &e);
    if (!pool) return fail(&e);
    double tq = dots_now();
    if (ckpt_open(model, &ck, &e) || (qtype != DT_COUNT && ckpt_quantize_linears(ck, qtype, DT_COUNT, pool, &qweights, &e)) ||
        lm_load(ck, &lm, &e))
        return fail(&e);
    if (qtype != DT_COUNT) printf("LM Linear weights quantized to %s at load (%.1f s)\n", dtype_name(qtype), dots_now() - tq);
    const dots_text_config *c = lm_config(lm);
    printf("model %s: text D=%d I=%d layers=%d heads=%d/%d vocab=%d; isa %s (int8 %s%s), %d threads\n", model,
           c->hidden_size, c->intermediate_size, c->num_hidden_layers, c->num_attention_heads, c->num_key_value_heads,
           c->vocab_size, isa_name(isa_active()), qisa_name(qisa_active()),
           bench_int8_scope(), pool_threads(pool));
    double bw = bench_read_bandwidth_gbs(pool);
    double bytes = lm_decode_weight_bytes(lm);
    printf("read bandwidth %.1f GB/s; one decode step reads %.3f GB of weights -> limit %.2f tok/s\n", bw, bytes / 1e9,
           bw * 1e9 / bytes);
    double pk = bench_peak_bf16_gflops(pool), p32 = bench_peak_fp32_gflops(pool);
    if (pk <= 0) pk = p32; /* prefill is measured against the peak of the level in use */
    printf("peaks (same run): %s %.1f GFLOP/s, bf16 dot %.1f GFLOP/s\n", bench_peak_fp32_name(), p32, pk == p32 ? 0 : pk);

    if (batch_s) {
        int rc = bench_batch(lm, pool, batch_s, n_decode, bw, bytes);
        pool_destroy(pool);
        lm_free(lm);
        ckpt_close(ck);
        return rc;
    }
    int D = c->hidden_size, V = c->vocab_size;
    int total = max_len + n_decode + 1;
    int *ids = malloc(sizeof(int) * (size_t)total);
    float *x = dots_alloc(sizeof(float) * (size_t)max_len * D, "bench embeddings", &e);
    float *logits = dots_alloc(sizeof(float) * (size_t)V, "bench logits", &e);
    if (!ids || !x || !logits) return fail(&e);
    unsigned s = 12345;
    for (int i = 0; i < total; i++) { s = s * 1103515245u + 12345u; ids[i] = (int)((s >> 8) % (unsigned)V); }
    double lin = 2.0 * linear_params(c), head = 2.0 * (double)V * D; /* per token; lm_head once per forward */
    for (int li = 0; li < n_lens; li++) {
        int L = lens[li];
        dots_lm_state *st = NULL;
        if (lm_state_new(lm, L + 2 * n_decode + 1, chunk, &st, &e) || lm_embed(lm, ids, L, x, &e)) return fail(&e);
        double t0 = dots_now(), cpu0 = bench_cpu_seconds();
        if (lm_forward(lm, st, pool, x, L, logits, 0, &e)) return fail(&e);
        double dt = dots_now() - t0, busy = (bench_cpu_seconds() - cpu0) / (dt * pool_threads(pool));
        double attn = 2.0 * 2.0 * c->num_hidden_layers * (double)c->num_attention_heads * c->head_dim * L * (L + 1) / 2.0;
        printf("prefill %5d tokens: %8.3f s  %9.1f tok/s  ~%.1f GFLOP/s = %.0f%% of the %s peak  (threads busy %.0f%%)\n", L,
               dt, L / dt, (lin * L + head + attn) / dt / 1e9, 100.0 * (lin * L + head + attn) / dt / 1e9 / pk,
               pk == p32 ? "fp32" : "bf16", 100.0 * busy);
        if (li == 0 && n_decode > 0) {
            int tok = ids[L];
            t0 = dots_now();
            double steal0 = bench_steal_seconds();
            double fastest = 1e30; /* the shared machine's bandwidth comes and goes: the best step shows the code's own rate */
            for (int k = 0; k < n_decode; k++) {
                double ts = dots_now();
                if (lm_decode(lm, st, pool, tok, logits, &e)) return fail(&e);
                double step = dots_now() - ts;
                if (step < fastest) fastest = step;
                tok = greedy_token(logits, V);
            }
            dt = dots_now() - t0;
            double steal1 = bench_steal_seconds(), tps = n_decode / dt;
            printf("decode  %5d tokens after %d: %8.3f s  %9.2f tok/s  = %.0f%% of the bandwidth limit (%.1f GB/s "
                   "effective)\n", n_decode, L, dt, tps, 100.0 * tps / (bw * 1e9 / bytes), tps * bytes / 1e9);
            printf("decode  fastest step: %.1f ms = %.2f tok/s = %.0f%% of the bandwidth limit (%.1f GB/s effective)\n",
                   fastest * 1e3, 1 / fastest, 100.0 / fastest / (bw * 1e9 / bytes), bytes / fastest / 1e9);
            if (steal0 >= 0 && steal1 >= steal0)
                printf("decode  CPU time stolen by the hypervisor meanwhile: %.0f%%\n", 100.0 * (steal1 - steal0) / dt);
            if (decode_vs_probes(lm, st, pool, tok, logits, n_decode, bytes, &e)) return fail(&e);
        }
        lm_state_free(st);
    }
    printf("peak RSS %.2f GB\n", dots_peak_rss() / 1e9);
    free(ids);
    dots_free(x);
    dots_free(logits);
    pool_destroy(pool);
    lm_free(lm);
    ckpt_close(ck);
    dots_free(qweights);
    return 0;
}

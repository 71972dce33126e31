/* Memory is O(N): one 128x128-patch image (16,384 patches in a single attention
 * block) on a tiny-width checkpoint; the process peak RSS must stay far below
 * the N^2 * 4 bytes that one materialized score matrix would take. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "base/mem.h"
#include "io/checkpoint.h"
#include "model/vision.h"
#include "testutil.h"

enum { E = 8, NH = 1, F = 8, HID = 8, GH = 128, GW = 128 };

static void add(st_writer *w, const char *name, int ndim, const int64_t *shape, float **keep, int *nk, float scale,
                float base) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    float *b = malloc((size_t)n * sizeof(float));
    test_fill_random(b, (size_t)n, (unsigned)(*nk * 13 + 3));
    for (int64_t i = 0; i < n; i++) b[i] = base + scale * b[i];
    keep[(*nk)++] = b;
    dots_error e = {0};
    CHECK(st_writer_add(w, name, DT_F32, ndim, shape, b, &e) == DOTS_OK, "%s", e.msg);
}

static const char *make_ckpt(void) {
    static char dir[1100];
    const char *b = getenv("DOTS_BUILD");
    snprintf(dir, sizeof dir, "%s/vision_memory_ckpt", b ? b : ".");
    mkdir(dir, 0755);
    char path[1200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "wb");
    if (!f) return dir;
    fprintf(f, "{\"hidden_size\":%d,\"intermediate_size\":16,\"num_attention_heads\":2,\"num_hidden_layers\":1,"
               "\"num_key_value_heads\":1,\"vocab_size\":64,\"vision_config\":{\"embed_dim\":%d,\"hidden_size\":%d,"
               "\"intermediate_size\":%d,\"num_hidden_layers\":1,\"num_attention_heads\":%d,\"rms_norm_eps\":1e-05,"
               "\"post_norm\":true}}", HID, E, HID, F, NH);
    fclose(f);
    dots_error e = {0};
    st_writer *w = st_writer_new(&e);
    float *keep[32];
    int nk = 0;
    const float s = 0.35f;
    add(w, "vision_tower.patch_embed.patchifier.proj.weight", 4, (int64_t[]){E, 3, 14, 14}, keep, &nk, 0.04f, 0);
    add(w, "vision_tower.patch_embed.patchifier.proj.bias", 1, (int64_t[]){E}, keep, &nk, 0.05f, 0);
    add(w, "vision_tower.patch_embed.patchifier.norm.weight", 1, (int64_t[]){E}, keep, &nk, 0.1f, 1);
    add(w, "vision_tower.blocks.0.norm1.weight", 1, (int64_t[]){E}, keep, &nk, 0.1f, 1);
    add(w, "vision_tower.blocks.0.norm2.weight", 1, (int64_t[]){E}, keep, &nk, 0.1f, 1);
    add(w, "vision_tower.blocks.0.attn.qkv.weight", 2, (int64_t[]){3 * E, E}, keep, &nk, s, 0);
    add(w, "vision_tower.blocks.0.attn.proj.weight", 2, (int64_t[]){E, E}, keep, &nk, s, 0);
    add(w, "vision_tower.blocks.0.mlp.fc1.weight", 2, (int64_t[]){F, E}, keep, &nk, s, 0);
    add(w, "vision_tower.blocks.0.mlp.fc3.weight", 2, (int64_t[]){F, E}, keep, &nk, s, 0);
    add(w, "vision_tower.blocks.0.mlp.fc2.weight", 2, (int64_t[]){E, F}, keep, &nk, s, 0);
    add(w, "vision_tower.post_trunk_norm.weight", 1, (int64_t[]){E}, keep, &nk, 0.1f, 1);
    add(w, "vision_tower.merger.ln_q.weight", 1, (int64_t[]){E}, keep, &nk, 0.1f, 1);
    add(w, "vision_tower.merger.ln_q.bias", 1, (int64_t[]){E}, keep, &nk, 0.05f, 0);
    add(w, "vision_tower.merger.mlp.0.weight", 2, (int64_t[]){4 * E, 4 * E}, keep, &nk, 0.18f, 0);
    add(w, "vision_tower.merger.mlp.0.bias", 1, (int64_t[]){4 * E}, keep, &nk, 0.05f, 0);
    add(w, "vision_tower.merger.mlp.2.weight", 2, (int64_t[]){HID, 4 * E}, keep, &nk, 0.18f, 0);
    add(w, "vision_tower.merger.mlp.2.bias", 1, (int64_t[]){HID}, keep, &nk, 0.05f, 0);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(st_writer_write(w, path, &e) == DOTS_OK, "%s", e.msg);
    st_writer_free(w);
    for (int i = 0; i < nk; i++) free(keep[i]);
    return dir;
}

int main(void) {
    dots_error e = {0};
    dots_ckpt *ck = NULL;
    dots_vision *v = NULL;
    const char *dir = make_ckpt();
    CHECK(ckpt_open(dir, &ck, &e) == DOTS_OK, "%s", e.msg);
    if (ck) CHECK(vision_load(ck, &v, &e) == DOTS_OK, "%s", e.msg);
    if (!v) { ckpt_close(ck); return test_finish("test_vision_memory"); }
    const int N = GH * GW;
    int grid[1][3] = {{1, GH, GW}};
    float *pix = malloc((size_t)N * 588 * sizeof(float));
    float *out = malloc((size_t)N / 4 * HID * sizeof(float));
    test_fill_random(pix, (size_t)N * 588, 77);
    dots_pool *pool = pool_create(2, &e);
    size_t before = dots_peak_rss();
    double t0 = dots_now();
    dots_status st = vision_forward(v, pool, pix, (const int(*)[3])grid, 1, out, NULL, NULL, &e);
    double secs = dots_now() - t0;
    size_t peak = dots_peak_rss();
    CHECK(st == DOTS_OK, "forward: %s", e.msg);
    double n2 = (double)N * N * 4;
    printf("  %d patches (%dx%d, one attention block), E=%d: %.2f s; peak RSS %.1f MB (before the forward %.1f MB); "
           "N^2*4 = %.1f MB\n", N, GH, GW, E, secs, peak / 1e6, before / 1e6, n2 / 1e6);
    CHECK(peak > 0, "peak RSS unknown on this system");
    CHECK(peak > 0 && (double)peak < n2 / 8, "peak RSS %.1f MB is not far below N^2*4 = %.1f MB", peak / 1e6, n2 / 1e6);
    int finite = 1;
    double sum = 0;
    for (size_t i = 0; i < (size_t)N / 4 * HID; i++) { finite &= isfinite(out[i]) != 0; sum += fabs(out[i]); }
    CHECK(finite && sum > 0, "output must be finite and non-zero");
    pool_destroy(pool);
    free(pix); free(out);
    vision_free(v);
    ckpt_close(ck);
    return test_finish("test_vision_memory");
}

/* Sizes from a crafted model folder or a caller: the review's two crafted checkpoints (the tiny
 * test checkpoint with head_dim 2^30; hidden = heads = head_dim = 65536 with zero-size q/k/v, whose
 * heads * head_dim wraps to 0 in int) must be refused at config.json naming the field, never run;
 * image_patch_count with caller-given max_pixels must not wrap; a missing config.json with no
 * dots_error stays an I/O error. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/fileio.h"
#include "image/image.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "model/lm.h"
#include "model/vision.h"
#include "testutil.h"

static char g_dir[2048];

static void write_text(const char *dir, const char *name, const char *text) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    CHECK(f != NULL, "cannot write %s", p);
    if (f) { fputs(text, f); fclose(f); }
}

/* Replaces the first `from` in s (malloc'd result). */
static char *replace(const char *s, const char *from, const char *to) {
    const char *at = strstr(s, from);
    CHECK(at != NULL, "fixture lacks %s", from);
    if (!at) return strdup(s);
    size_t pre = (size_t)(at - s), n = strlen(s) - strlen(from) + strlen(to) + 1;
    char *r = malloc(n);
    memcpy(r, s, pre);
    strcpy(r + pre, to);
    strcat(r, at + strlen(from));
    return r;
}

/* Open, load both towers, run one token through the LM: what a crafted folder would reach. */
static dots_status load_and_run(const char *dir, dots_error *e) {
    dots_ckpt *ck = NULL;
    dots_vision *v = NULL;
    dots_lm *lm = NULL;
    dots_lm_state *s = NULL;
    dots_status st = ckpt_open(dir, &ck, e);
    if (!st) st = vision_load(ck, &v, e);
    if (!st) st = lm_load(ck, &lm, e);
    if (!st) st = lm_state_new(lm, 8, 8, &s, e);
    if (!st) {
        size_t D = (size_t)ck->config.text.hidden_size, V = (size_t)ck->config.text.vocab_size;
        float *x = calloc(D, sizeof *x), *logits = calloc(V, sizeof *logits);
        int id = 0;
        st = lm_embed(lm, &id, 1, x, e);
        if (!st) st = lm_forward(lm, s, NULL, x, 1, logits, 0, e);
        free(x); free(logits);
    }
    lm_state_free(s);
    lm_free(lm);
    vision_free(v);
    ckpt_close(ck);
    return st;
}

/* Case 1: tests/data/tiny-dots with 4 heads of 2^30 (4 * 2^30 wraps to 0 in int). */
static void crafted_head_dim(void) {
    char dir[2100], *cfg = NULL;
    snprintf(dir, sizeof dir, "%s/huge-head-dim", g_dir);
    mkdir(dir, 0755);
    dots_error e = {0};
    CHECK(read_file(test_data("tiny-dots/config.json"), 1 << 20, &cfg, NULL, &e) == DOTS_OK, "%s", e.msg);
    if (!cfg) return;
    char *a = replace(cfg, "\"num_attention_heads\": 2,\n  \"num_hidden_layers\"",
                      "\"num_attention_heads\": 4, \"head_dim\": 1073741824,\n  \"num_hidden_layers\"");
    char *b = replace(a, "\"num_key_value_heads\": 1", "\"num_key_value_heads\": 4");
    write_text(dir, "config.json", b);
    char src[4096], dst[4200];
    snprintf(src, sizeof src, "%s", test_data("tiny-dots/model.safetensors"));
    snprintf(dst, sizeof dst, "%s/model.safetensors", dir);
    unlink(dst);
    CHECK(symlink(src, dst) == 0, "symlink %s", dst);
    dots_status st = load_and_run(dir, &e);
    CHECK(st == DOTS_E_MODEL && strstr(e.msg, "config.json") && strstr(e.msg, "head_dim"),
          "head_dim 2^30: status %d, %s", st, e.msg);
    free(cfg); free(a); free(b);
}

typedef struct { const char *name; int ndim; int64_t shape[4]; } tdesc;

/* Case 2: hidden = heads = head_dim = 65536 with q/k/v of shape [0, 65536], a tiny vision tower. */
static void crafted_wide_heads(void) {
    char dir[2100];
    snprintf(dir, sizeof dir, "%s/wide-heads", g_dir);
    mkdir(dir, 0755);
    write_text(dir, "config.json",
               "{\"hidden_size\":65536,\"intermediate_size\":1,\"num_hidden_layers\":1,\"num_attention_heads\":65536,"
               "\"num_key_value_heads\":65536,\"head_dim\":65536,\"vocab_size\":1,\"tie_word_embeddings\":false,"
               "\"vision_config\":{\"embed_dim\":8,\"hidden_size\":65536,\"intermediate_size\":8,\"num_hidden_layers\":1,"
               "\"num_attention_heads\":2}}");
    const int64_t H = 65536, E = 8;
    const tdesc t[] = {
        {"vision_tower.patch_embed.patchifier.proj.weight", 4, {E, 3, 14, 14}},
        {"vision_tower.patch_embed.patchifier.proj.bias", 1, {E}},
        {"vision_tower.patch_embed.patchifier.norm.weight", 1, {E}},
        {"vision_tower.blocks.0.norm1.weight", 1, {E}}, {"vision_tower.blocks.0.norm2.weight", 1, {E}},
        {"vision_tower.blocks.0.attn.qkv.weight", 2, {3 * E, E}}, {"vision_tower.blocks.0.attn.proj.weight", 2, {E, E}},
        {"vision_tower.blocks.0.mlp.fc1.weight", 2, {8, E}}, {"vision_tower.blocks.0.mlp.fc3.weight", 2, {8, E}},
        {"vision_tower.blocks.0.mlp.fc2.weight", 2, {E, 8}},
        {"vision_tower.post_trunk_norm.weight", 1, {E}},
        {"vision_tower.merger.ln_q.weight", 1, {E}}, {"vision_tower.merger.ln_q.bias", 1, {E}},
        {"vision_tower.merger.mlp.0.weight", 2, {4 * E, 4 * E}}, {"vision_tower.merger.mlp.0.bias", 1, {4 * E}},
        {"vision_tower.merger.mlp.2.weight", 2, {H, 4 * E}}, {"vision_tower.merger.mlp.2.bias", 1, {H}},
        {"model.embed_tokens.weight", 2, {1, H}},
        {"model.layers.0.input_layernorm.weight", 1, {H}},
        {"model.layers.0.self_attn.q_proj.weight", 2, {0, H}}, {"model.layers.0.self_attn.k_proj.weight", 2, {0, H}},
        {"model.layers.0.self_attn.v_proj.weight", 2, {0, H}},
        {"model.layers.0.self_attn.q_proj.bias", 1, {0}}, {"model.layers.0.self_attn.k_proj.bias", 1, {0}},
        {"model.layers.0.self_attn.v_proj.bias", 1, {0}},
        {"model.layers.0.self_attn.o_proj.weight", 2, {H, 0}},
        {"model.layers.0.post_attention_layernorm.weight", 1, {H}},
        {"model.layers.0.mlp.gate_proj.weight", 2, {1, H}}, {"model.layers.0.mlp.up_proj.weight", 2, {1, H}},
        {"model.layers.0.mlp.down_proj.weight", 2, {H, 1}},
        {"model.norm.weight", 1, {H}}, {"lm_head.weight", 2, {1, H}},
    };
    enum { NT = sizeof t / sizeof *t };
    dots_error e = {0};
    st_writer *w = st_writer_new(&e);
    float *data = calloc((size_t)H * 4 * E, sizeof(float)); /* the largest tensor; zeros */
    for (int i = 0; i < NT; i++) {
        CHECK(st_writer_add(w, t[i].name, DT_F32, t[i].ndim, t[i].shape, data, &e) == DOTS_OK, "%s", e.msg);
    }
    char path[2200];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(st_writer_write(w, path, &e) == DOTS_OK, "%s", e.msg);
    st_writer_free(w);
    free(data);
    dots_status st = load_and_run(dir, &e);
    CHECK(st == DOTS_E_MODEL && strstr(e.msg, "config.json") && strstr(e.msg, "hidden_size = 65536"),
          "hidden = heads = head_dim = 65536: status %d, %s", st, e.msg);
}

static void patch_count(void) {
    dots_error e = {0};
    int n = -1;
    /* 10^6 x 10^6 pixels within a caller's max_pixels of 2^50: 71428^2 patches, above 2^31 */
    dots_status st = image_patch_count(1000000, 1000000, 3136, 1L << 50, &n, &e);
    CHECK(st == DOTS_E_LIMIT && strstr(e.msg, "patches"), "a 10^12-pixel image: status %d, n %d, %s", st, n, e.msg);
    CHECK(image_patch_count(1000, 700, 3136, 11289600, &n, &e) == DOTS_OK && n == 50 * 72, "1000x700: %d patches", n);
}

static void missing_config_without_error(void) {
    dots_ckpt *ck = NULL;
    dots_status st = ckpt_open("/nonexistent/model/folder", &ck, NULL);
    CHECK(st == DOTS_E_IO, "a missing config.json with no dots_error gives status %d (%s), not io", st,
          dots_status_name(st));
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s/model_limits", getenv("DOTS_BUILD") ? getenv("DOTS_BUILD") : ".");
    mkdir(g_dir, 0755);
    crafted_head_dim();
    crafted_wide_heads();
    patch_count();
    missing_config_without_error();
    return test_finish("test_model_limits");
}

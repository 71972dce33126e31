/* Checkpoint validation as the vision tower loads it: one failing checkpoint
 * per rule (missing / unexpected / wrong-shape / bad-dtype tensor, inconsistent
 * config, truncated or overlapping shard, bad index.json, duplicate tensor),
 * plus what must load: both qkv spellings, sharded folders (same output as
 * the single-file folder). Checkpoints are written into the build dir. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io/checkpoint.h"
#include "model/vision.h"
#include "testutil.h"

enum { E = 8, NH = 2, F = 12, HID = 8, L = 2 };

static const char *k_config_fmt =
    "{\"architectures\":[\"DotsOCRForCausalLM\"],\"model_type\":\"dots_ocr\",\"hidden_size\":%d,"
    "\"intermediate_size\":16,\"num_attention_heads\":2,\"num_hidden_layers\":1,\"num_key_value_heads\":1,"
    "\"vocab_size\":64,\"rms_norm_eps\":1e-06,\"rope_theta\":1000000,\"tie_word_embeddings\":false,"
    "\"vision_config\":{\"embed_dim\":%d,\"hidden_size\":%d,\"intermediate_size\":%d,\"num_hidden_layers\":%d,"
    "\"num_attention_heads\":%d,\"num_channels\":3,\"patch_size\":14,\"post_norm\":true,\"rms_norm_eps\":1e-05,"
    "\"spatial_merge_size\":2,\"temporal_patch_size\":1,\"use_bias\":false,\"is_causal\":false}}";

typedef struct {
    char name[96];
    dots_dtype dt;
    int ndim;
    int64_t shape[4];
} tdesc;

/* The tensor list of a valid tiny vision checkpoint. */
static int tensor_list(tdesc *t, int alt_spelling) {
    int n = 0;
#define ADD(nm, d, nd, ...) do { snprintf(t[n].name, sizeof t[n].name, "%s", nm); t[n].dt = d; t[n].ndim = nd; \
    int64_t s_[] = {__VA_ARGS__}; memcpy(t[n].shape, s_, sizeof s_); n++; } while (0)
    ADD("vision_tower.patch_embed.patchifier.proj.weight", DT_F32, 4, E, 3, 14, 14);
    ADD("vision_tower.patch_embed.patchifier.proj.bias", DT_F32, 1, E);
    ADD("vision_tower.patch_embed.patchifier.norm.weight", DT_F32, 1, E);
    for (int i = 0; i < L; i++) {
        char b[96];
#define BLK(s) (snprintf(b, sizeof b, "vision_tower.blocks.%d.%s", i, s), b)
        ADD(BLK("norm1.weight"), DT_F32, 1, E);
        ADD(BLK("norm2.weight"), DT_F32, 1, E);
        ADD(BLK(alt_spelling ? "attn.qkv_proj.weight" : "attn.qkv.weight"), DT_F32, 2, 3 * E, E);
        ADD(BLK(alt_spelling ? "attn.out_proj.weight" : "attn.proj.weight"), DT_F32, 2, E, E);
        ADD(BLK("mlp.fc1.weight"), DT_F32, 2, F, E);
        ADD(BLK("mlp.fc3.weight"), DT_F32, 2, F, E);
        ADD(BLK("mlp.fc2.weight"), DT_F32, 2, E, F);
#undef BLK
    }
    ADD("vision_tower.post_trunk_norm.weight", DT_F32, 1, E);
    ADD("vision_tower.merger.ln_q.weight", DT_F32, 1, E);
    ADD("vision_tower.merger.ln_q.bias", DT_F32, 1, E);
    ADD("vision_tower.merger.mlp.0.weight", DT_F32, 2, 4 * E, 4 * E);
    ADD("vision_tower.merger.mlp.0.bias", DT_F32, 1, 4 * E);
    ADD("vision_tower.merger.mlp.2.weight", DT_F32, 2, HID, 4 * E);
    ADD("vision_tower.merger.mlp.2.bias", DT_F32, 1, HID);
#undef ADD
    return n;
}

static int64_t numel(const tdesc *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); return; }
    fputs(text, f);
    fclose(f);
}

static char g_root[1024];

/* Writes tensors t[lo..hi) into dir/file. Data are deterministic random (norm weights near 1). */
static void write_shard(const char *dir, const char *file, const tdesc *t, int lo, int hi) {
    dots_error e = {0};
    st_writer *w = st_writer_new(&e);
    void **bufs = calloc((size_t)(hi - lo), sizeof *bufs);
    for (int i = lo; i < hi; i++) {
        int64_t n = numel(&t[i]);
        size_t es = dtype_size(t[i].dt);
        void *b = calloc((size_t)n, es > 4 ? es : 4);
        float *tmp = malloc((size_t)n * sizeof(float));
        test_fill_random(tmp, (size_t)n, (unsigned)i * 7 + 1);
        int is_norm = strstr(t[i].name, "norm") || strstr(t[i].name, "ln_q.weight");
        for (int64_t k = 0; k < n; k++) tmp[k] = is_norm ? 1.0f + 0.1f * tmp[k] : 0.3f * tmp[k];
        if (t[i].dt == DT_F32) memcpy(b, tmp, (size_t)n * 4);
        else if (t[i].dt == DT_BF16) for (int64_t k = 0; k < n; k++) ((bf16_t *)b)[k] = f32_to_bf16(tmp[k]);
        else if (t[i].dt == DT_F16) for (int64_t k = 0; k < n; k++) ((f16_t *)b)[k] = f32_to_f16(tmp[k]);
        /* other dtypes: zeros of the right size */
        free(tmp);
        bufs[i - lo] = b;
        CHECK(st_writer_add(w, t[i].name, t[i].dt, t[i].ndim, t[i].shape, b, &e) == DOTS_OK, "%s", e.msg);
    }
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    CHECK(st_writer_write(w, path, &e) == DOTS_OK, "%s", e.msg);
    st_writer_free(w);
    for (int i = 0; i < hi - lo; i++) free(bufs[i]);
    free(bufs);
}

/* A fresh folder root/name with config.json (cfg or the default) and, unless
 * n_shards < 0, the tensors in n_shards files (0 = model.safetensors). */
static const char *make_ckpt(const char *name, const char *cfg, const tdesc *t, int n, int n_shards) {
    static char dir[1100];
    snprintf(dir, sizeof dir, "%s/%s", g_root, name);
    mkdir(dir, 0755);
    char path[2048], buf[4096];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (!cfg) { snprintf(buf, sizeof buf, k_config_fmt, HID, E, HID, F, L, NH); cfg = buf; }
    write_text(path, cfg);
    if (n_shards == 0) write_shard(dir, "model.safetensors", t, 0, n);
    if (n_shards > 0) {
        size_t cap = 65536, k = 0;
        char *idx = malloc(cap);
        k += (size_t)snprintf(idx + k, cap - k, "{\"metadata\":{\"total_size\":0},\"weight_map\":{");
        for (int s = 0; s < n_shards; s++) {
            int lo = n * s / n_shards, hi = n * (s + 1) / n_shards;
            char file[128];
            snprintf(file, sizeof file, "model-%05d-of-%05d.safetensors", s + 1, n_shards);
            write_shard(dir, file, t, lo, hi);
            for (int i = lo; i < hi; i++)
                k += (size_t)snprintf(idx + k, cap - k, "%s\"%s\":\"%s\"", k && idx[k - 1] == '{' ? "" : ",", t[i].name, file);
        }
        snprintf(idx + k, cap - k, "}}");
        snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
        write_text(path, idx);
        free(idx);
    }
    return dir;
}

/* Open + vision_load + unclaimed check; returns the first failure (DOTS_OK if none), message in e. */
static dots_status load_all(const char *dir, dots_vision **keep, dots_ckpt **keep_ck, dots_error *e) {
    dots_ckpt *ck = NULL;
    dots_vision *v = NULL;
    dots_status st = ckpt_open(dir, &ck, e);
    if (!st) st = vision_load(ck, &v, e);
    if (!st) st = ckpt_check_unclaimed(ck, "vision_tower.", e);
    if (!st && keep) { *keep = v; *keep_ck = ck; return st; }
    vision_free(v);
    ckpt_close(ck);
    return st;
}

static void expect_fail(const char *what, const char *dir, const char *needle1, const char *needle2) {
    dots_error e = {0};
    dots_status st = load_all(dir, NULL, NULL, &e);
    CHECK(st != DOTS_OK, "%s: should fail to load", what);
    CHECK(strstr(e.msg, needle1) != NULL, "%s: message lacks '%s': %s", what, needle1, e.msg);
    if (needle2) CHECK(strstr(e.msg, needle2) != NULL, "%s: message lacks '%s': %s", what, needle2, e.msg);
    printf("  %-28s -> %s\n", what, e.msg);
}

static void run_tiny(dots_vision *v, float *out) {
    int grid[2][3] = {{1, 2, 4}, {1, 2, 2}};
    float pix[12 * 588];
    test_fill_random(pix, 12 * 588, 5);
    dots_error e = {0};
    CHECK(vision_forward(v, NULL, pix, (const int(*)[3])grid, 2, out, NULL, NULL, &e) == DOTS_OK, "%s", e.msg);
}

int main(void) {
    const char *b = getenv("DOTS_BUILD");
    snprintf(g_root, sizeof g_root, "%s/ckpt_cases", b ? b : ".");
    mkdir(g_root, 0755);
    tdesc t[64];
    int n = tensor_list(t, 0);
    char cfg[4096];
    dots_error e = {0};

    /* valid single file; reference output for the sharded/alt-spelling variants */
    float ref[3 * HID], out[3 * HID];
    {
        dots_vision *v = NULL;
        dots_ckpt *ck = NULL;
        dots_status st = load_all(make_ckpt("ok", NULL, t, n, 0), &v, &ck, &e);
        CHECK(st == DOTS_OK, "valid checkpoint: %s", e.msg);
        if (!st) { run_tiny(v, ref); vision_free(v); ckpt_close(ck); }
    }
    /* sharded (3 shards + index) loads and computes the same */
    {
        dots_vision *v = NULL;
        dots_ckpt *ck = NULL;
        dots_status st = load_all(make_ckpt("sharded", NULL, t, n, 3), &v, &ck, &e);
        CHECK(st == DOTS_OK, "sharded checkpoint: %s", e.msg);
        if (!st) {
            CHECK(ck->n_shards == 3, "3 shards, got %d", ck->n_shards);
            run_tiny(v, out);
            CHECK(test_compare(ref, out, 3 * HID).max_abs == 0, "sharded output differs");
            vision_free(v); ckpt_close(ck);
        }
    }
    /* the qkv_proj / out_proj spelling loads and computes the same */
    {
        tdesc ta[64];
        int na = tensor_list(ta, 1);
        dots_vision *v = NULL;
        dots_ckpt *ck = NULL;
        dots_status st = load_all(make_ckpt("alt_spelling", NULL, ta, na, 2), &v, &ck, &e);
        CHECK(st == DOTS_OK, "qkv_proj/out_proj spelling: %s", e.msg);
        if (!st) {
            run_tiny(v, out);
            CHECK(test_compare(ref, out, 3 * HID).max_abs == 0, "alt-spelling output differs");
            vision_free(v); ckpt_close(ck);
        }
    }
    /* a text tensor beside the vision ones is not the vision loader's business */
    {
        tdesc tt[64];
        memcpy(tt, t, sizeof(tdesc) * (size_t)n);
        snprintf(tt[n].name, sizeof tt[n].name, "model.norm.weight");
        tt[n].dt = DT_F32; tt[n].ndim = 1; tt[n].shape[0] = HID;
        dots_status st = load_all(make_ckpt("with_text", NULL, tt, n + 1, 0), NULL, NULL, &e);
        CHECK(st == DOTS_OK, "text tensors are ignored by the vision check: %s", e.msg);
    }

    /* missing tensor */
    {
        tdesc tm[64];
        int k = 0;
        for (int i = 0; i < n; i++) if (!strstr(t[i].name, "blocks.1.mlp.fc3")) tm[k++] = t[i];
        expect_fail("missing tensor", make_ckpt("missing", NULL, tm, k, 0), "vision_tower.blocks.1.mlp.fc3.weight", "missing");
    }
    /* unexpected tensor (a third block that config.json does not describe) */
    {
        tdesc tu[64];
        memcpy(tu, t, sizeof(tdesc) * (size_t)n);
        snprintf(tu[n].name, sizeof tu[n].name, "vision_tower.blocks.2.norm1.weight");
        tu[n].dt = DT_F32; tu[n].ndim = 1; tu[n].shape[0] = E;
        expect_fail("unexpected tensor", make_ckpt("unexpected", NULL, tu, n + 1, 0), "vision_tower.blocks.2.norm1.weight",
                    "unexpected");
    }
    /* wrong shape */
    {
        tdesc tw[64];
        memcpy(tw, t, sizeof(tdesc) * (size_t)n);
        for (int i = 0; i < n; i++)
            if (strstr(tw[i].name, "blocks.0.mlp.fc1")) tw[i].shape[0] = F + 1;
        expect_fail("wrong shape", make_ckpt("shape", NULL, tw, n, 0), "vision_tower.blocks.0.mlp.fc1.weight", "[13, 8]");
    }
    /* bad dtype (an integer weight) */
    {
        tdesc td[64];
        memcpy(td, t, sizeof(tdesc) * (size_t)n);
        for (int i = 0; i < n; i++)
            if (strstr(td[i].name, "merger.mlp.2.weight")) td[i].dt = DT_I32;
        expect_fail("bad dtype", make_ckpt("dtype", NULL, td, n, 0), "merger.mlp.2.weight", "I32");
    }
    /* inconsistent config fields */
    snprintf(cfg, sizeof cfg, k_config_fmt, HID, E, HID, F, L, 3);
    expect_fail("heads do not divide embed", make_ckpt("cfg_heads", cfg, t, n, -1), "num_attention_heads", "embed_dim");
    snprintf(cfg, sizeof cfg, k_config_fmt, HID + 4, E, HID, F, L, NH);
    expect_fail("merger vs text width", make_ckpt("cfg_hidden", cfg, t, n, -1), "vision_config.hidden_size", NULL);
    snprintf(cfg, sizeof cfg, k_config_fmt, HID, E, HID, F, L, 4); /* head_dim 2: not a multiple of 4 */
    expect_fail("head_dim for 2D RoPE", make_ckpt("cfg_hd", cfg, t, n, -1), "head_dim", NULL);
    snprintf(cfg, sizeof cfg, k_config_fmt, HID, E, HID, F, 3, NH); /* config says 3 blocks, weights have 2 */
    expect_fail("layers vs weights", make_ckpt("cfg_layers", cfg, t, n, 0), "vision_tower.blocks.2.", "missing");
    expect_fail("config not JSON", make_ckpt("cfg_json", "{\"hidden_size\": 8,", t, n, -1), "malformed JSON", NULL);
    {
        const char *nv = "{\"hidden_size\":8,\"intermediate_size\":16,\"num_attention_heads\":2,\"num_hidden_layers\":1,"
                         "\"vocab_size\":64}";
        expect_fail("no vision_config", make_ckpt("cfg_novision", nv, t, n, -1), "vision_config", NULL);
    }
    /* no weights at all */
    expect_fail("no weights", make_ckpt("noweights", NULL, t, n, -1), "model.safetensors", NULL);

    /* truncated shard: cut the last shard of a sharded folder */
    {
        const char *dir = make_ckpt("truncated", NULL, t, n, 2);
        char path[2048];
        snprintf(path, sizeof path, "%s/model-00002-of-00002.safetensors", dir);
        struct stat sb;
        if (stat(path, &sb) == 0) CHECK(truncate(path, sb.st_size - 100) == 0, "truncate");
        expect_fail("truncated shard", dir, "model-00002-of-00002.safetensors", "truncated");
    }
    /* overlapping tensors inside a shard (hand-made header) */
    {
        const char *dir = make_ckpt("overlap", NULL, t, n, -1);
        char path[2048];
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        const char *hdr = "{\"vision_tower.merger.ln_q.weight\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]},"
                          "\"vision_tower.merger.ln_q.bias\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[16,48]}}";
        FILE *f = fopen(path, "wb");
        uint64_t hl = strlen(hdr);
        unsigned char len[8];
        for (int i = 0; i < 8; i++) len[i] = (unsigned char)(hl >> (8 * i));
        fwrite(len, 1, 8, f);
        fwrite(hdr, 1, hl, f);
        char zeros[48] = {0};
        fwrite(zeros, 1, sizeof zeros, f);
        fclose(f);
        expect_fail("overlapping tensors", dir, "model.safetensors", "overlap");
    }
    /* bad index.json variants */
    {
        const char *dir = make_ckpt("index_bad", NULL, t, n, 2);
        char path[2048];
        snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
        write_text(path, "{\"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\",");
        expect_fail("index.json not JSON", dir, "model.safetensors.index.json", NULL);
        write_text(path, "{\"metadata\": {}}");
        expect_fail("index.json without weight_map", dir, "weight_map", NULL);
        write_text(path, "{\"weight_map\": {\"vision_tower.merger.ln_q.bias\": 3}}");
        expect_fail("index.json non-string file", dir, "vision_tower.merger.ln_q.bias", NULL);
        write_text(path, "{\"weight_map\": {\"vision_tower.merger.ln_q.bias\": \"../x.safetensors\"}}");
        expect_fail("index.json path escape", dir, "../x.safetensors", NULL);
        write_text(path, "{\"weight_map\": {\"vision_tower.merger.ln_q.bias\": \"model-00009-of-00009.safetensors\"}}");
        expect_fail("index.json names a missing shard", dir, "model-00009-of-00009.safetensors", NULL);
        /* only one of the two shards listed: the other's tensors are missing */
        write_text(path, "{\"weight_map\": {\"vision_tower.patch_embed.patchifier.proj.weight\": "
                         "\"model-00001-of-00002.safetensors\"}}");
        expect_fail("index.json lists one shard", dir, "missing", NULL);
    }
    /* the same tensor in two shards */
    {
        const char *dir = make_ckpt("duplicate", NULL, t, n, 2);
        char path[2048];
        write_shard(dir, "model-00002-of-00002.safetensors", t, 0, n); /* second shard now holds everything */
        snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
        (void)path;
        expect_fail("tensor in two shards", dir, "stored twice", NULL);
    }
    return test_finish("test_checkpoint");
}

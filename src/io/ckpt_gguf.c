/* GGUF as a checkpoint source: llama.cpp's dots.ocr layout (LM file, arch
 * qwen2; mmproj file, arch clip, projector dots_ocr). Tensors get our Hugging
 * Face names (so src/model claims them unchanged); the config is synthesized
 * as config.json text from the metadata and checked by config_parse. */
#include <dirent.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "io/checkpoint.h"
#include "io/gguf.h"

/* GGUF suffix -> HF suffix inside a block ("blk.N." / "v.blk.N.") and at top level. */
static const char *const lm_blk[][2] = {
    {"attn_norm", "input_layernorm"},        {"attn_q", "self_attn.q_proj"},  {"attn_k", "self_attn.k_proj"},
    {"attn_v", "self_attn.v_proj"},          {"attn_output", "self_attn.o_proj"},
    {"ffn_norm", "post_attention_layernorm"}, {"ffn_gate", "mlp.gate_proj"},   {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"},
};
static const char *const lm_top[][2] = {
    {"token_embd", "model.embed_tokens"}, {"output_norm", "model.norm"}, {"output", "lm_head"},
};
static const char *const v_blk[][2] = {
    {"ln1", "norm1"}, {"ln2", "norm2"}, {"attn_qkv", "attn.qkv"}, {"attn_out", "attn.proj"},
    {"ffn_gate", "mlp.fc1"}, {"ffn_up", "mlp.fc3"}, {"ffn_down", "mlp.fc2"},
};
static const char *const v_top[][2] = {
    {"v.patch_embd", "vision_tower.patch_embed.patchifier.proj"},
    {"v.pre_ln", "vision_tower.patch_embed.patchifier.norm"},
    {"mm.post_norm", "vision_tower.post_trunk_norm"}, /* gguf-py's name */
    {"v.post_ln", "vision_tower.post_trunk_norm"},    /* llama.cpp's clip graph's name for it */
    {"mm.input_norm", "vision_tower.merger.ln_q"},
    {"mm.0", "vision_tower.merger.mlp.0"},
    {"mm.2", "vision_tower.merger.mlp.2"},
};
#define COUNT(a) (sizeof a / sizeof *a)

/* Splits "base.weight" / "base.bias"; returns the suffix or NULL. */
static const char *param_suffix(const char *g, size_t *base_len) {
    const char *dot = strrchr(g, '.');
    if (!dot || (strcmp(dot, ".weight") && strcmp(dot, ".bias"))) return NULL;
    *base_len = (size_t)(dot - g);
    return dot;
}

static int lookup(const char *const (*tab)[2], size_t n, const char *s, size_t len) {
    for (size_t i = 0; i < n; i++)
        if (strlen(tab[i][0]) == len && !strncmp(tab[i][0], s, len)) return (int)i;
    return -1;
}

/* Our name for GGUF tensor g; names we do not know stay as they are (so the
 * unclaimed-tensor check lists them). */
static void hf_name(const char *g, int vision, char *out, size_t cap) {
    size_t bl;
    const char *suf = param_suffix(g, &bl);
    const char *pre = vision ? "v.blk." : "blk.";
    size_t pl = strlen(pre);
    snprintf(out, cap, "%s", g);
    if (!suf) return;
    if (!strncmp(g, pre, pl)) {
        char *end;
        long n = strtol(g + pl, &end, 10);
        if (end == g + pl || *end != '.' || n < 0 || n > 100000) return;
        const char *rest = end + 1;
        const char *const (*tab)[2] = vision ? v_blk : lm_blk;
        int k = lookup(tab, vision ? COUNT(v_blk) : COUNT(lm_blk), rest, (size_t)(g + bl - rest));
        if (k >= 0)
            snprintf(out, cap, vision ? "vision_tower.blocks.%ld.%s%s" : "model.layers.%ld.%s%s", n, tab[k][1], suf);
        return;
    }
    const char *const (*tab)[2] = vision ? v_top : lm_top;
    int k = lookup(tab, vision ? COUNT(v_top) : COUNT(lm_top), g, bl);
    if (k >= 0) snprintf(out, cap, "%s%s", tab[k][1], suf);
}

/* ------------------------------------------------------------ metadata -> config.json */
static int64_t token_id(const gguf_file *f, const char *text) {
    const gguf_kv *kv = gguf_find_kv(f, "tokenizer.ggml.tokens");
    if (!kv || kv->type != GGUF_ARRAY || kv->elem_type != GGUF_STRING) return -1;
    size_t tl = strlen(text);
    for (uint64_t i = 0; i < kv->n; i++) {
        uint64_t l;
        const char *s = gguf_arr_str(kv, i, &l);
        if (l == tl && !memcmp(s, text, tl)) return (int64_t)i;
    }
    return -1;
}


/* Copies integer/float metadata `key` into obj[name]; absent keys are skipped when optional. */
static dots_status put_num(const gguf_file *f, const char *key, json_object *obj, const char *name, int is_float,
                           int optional, dots_error *e) {
    if (optional && !gguf_find_kv(f, key)) return DOTS_OK;
    dots_status st;
    if (is_float) {
        double d;
        if ((st = gguf_get_float(f, key, &d, e))) return st;
        json_object_object_add(obj, name, json_object_new_double(d));
    } else {
        int64_t v;
        if ((st = gguf_get_int(f, key, &v, e))) return st;
        json_object_object_add(obj, name, json_object_new_int64(v));
    }
    return DOTS_OK;
}

static dots_status check_str(const gguf_file *f, const char *key, const char *want, const char *what, dots_error *e) {
    const char *s;
    uint64_t l;
    dots_status st = gguf_get_str(f, key, &s, &l, e);
    if (st) return dots_context(e, "%s is not %s", f->path, what);
    if (l != strlen(want) || memcmp(s, want, l))
        return dots_fail(e, DOTS_E_MODEL, "%s: %s is \"%.*s\", expected \"%s\": this is not %s", f->path, key,
                         (int)(l > 64 ? 64 : l), s, want, what);
    return DOTS_OK;
}

static dots_status text_config(const gguf_file *lm, json_object *root, dots_error *e) {
    dots_status st = check_str(lm, "general.architecture", "qwen2", "a dots.ocr language model GGUF (Qwen2)", e);
    static const struct { const char *key, *name; int is_float, optional; } keys[] = {
        {"qwen2.embedding_length", "hidden_size", 0, 0}, {"qwen2.feed_forward_length", "intermediate_size", 0, 0},
        {"qwen2.block_count", "num_hidden_layers", 0, 0}, {"qwen2.attention.head_count", "num_attention_heads", 0, 0},
        {"qwen2.attention.head_count_kv", "num_key_value_heads", 0, 1},
        {"qwen2.context_length", "max_position_embeddings", 0, 1},
        {"qwen2.attention.layer_norm_rms_epsilon", "rms_norm_eps", 1, 0}, {"qwen2.rope.freq_base", "rope_theta", 1, 1},
    };
    for (size_t i = 0; !st && i < COUNT(keys); i++)
        st = put_num(lm, keys[i].key, root, keys[i].name, keys[i].is_float, keys[i].optional, e);
    if (st) return st;
    const st_tensor *emb = gguf_find_tensor(lm, "token_embd.weight");
    if (!emb || emb->ndim != 2)
        return dots_fail(e, DOTS_E_MODEL, "%s: tensor token_embd.weight is missing or not 2-D", lm->path);
    json_object_object_add(root, "vocab_size", json_object_new_int64(emb->shape[0]));
    json_object_object_add(root, "tie_word_embeddings", json_object_new_boolean(!gguf_find_tensor(lm, "output.weight")));
    json_object_object_add(root, "attention_bias", json_object_new_boolean(gguf_find_tensor(lm, "blk.0.attn_q.bias") != NULL));
    int64_t pad = token_id(lm, "<|imgpad|>");
    if (pad < 0)
        return dots_fail(e, DOTS_E_MODEL, "%s: the tokenizer (tokenizer.ggml.tokens) has no <|imgpad|> token: "
                         "this is not a dots.ocr model", lm->path);
    json_object_object_add(root, "image_token_id", json_object_new_int64(pad));
    return DOTS_OK;
}

static dots_status vision_config(const gguf_file *mm, json_object *vc, dots_error *e) {
    const char *what = "a dots.ocr mmproj GGUF";
    dots_status st = check_str(mm, "general.architecture", "clip", what, e);
    if (!st) st = check_str(mm, gguf_find_kv(mm, "clip.projector_type") ? "clip.projector_type" : "clip.vision.projector_type",
                            "dots_ocr", what, e);
    static const struct { const char *key, *name; int is_float, optional; } keys[] = {
        {"clip.vision.embedding_length", "embed_dim", 0, 0}, {"clip.vision.projection_dim", "hidden_size", 0, 0},
        {"clip.vision.feed_forward_length", "intermediate_size", 0, 0}, {"clip.vision.block_count", "num_hidden_layers", 0, 0},
        {"clip.vision.attention.head_count", "num_attention_heads", 0, 0}, {"clip.vision.patch_size", "patch_size", 0, 0},
        {"clip.vision.attention.layer_norm_epsilon", "rms_norm_eps", 1, 0},
        {"clip.vision.spatial_merge_size", "spatial_merge_size", 0, 1},
        {"clip.vision.projector.scale_factor", "spatial_merge_size", 0, 1},
    };
    for (size_t i = 0; !st && i < COUNT(keys); i++)
        st = put_num(mm, keys[i].key, vc, keys[i].name, keys[i].is_float, keys[i].optional, e);
    if (st) return st;
    json_object_object_add(vc, "post_norm", json_object_new_boolean(gguf_find_tensor(mm, "mm.post_norm.weight") ||
                                                                    gguf_find_tensor(mm, "v.post_ln.weight")));
    return DOTS_OK;
}

static dots_status preproc_config(const gguf_file *mm, json_object *pre, dots_error *e) {
    dots_status st = put_num(mm, "clip.vision.image_min_pixels", pre, "min_pixels", 0, 1, e);
    if (!st) st = put_num(mm, "clip.vision.image_max_pixels", pre, "max_pixels", 0, 1, e);
    if (!st) st = put_num(mm, "clip.vision.patch_size", pre, "patch_size", 0, 0, e);
    if (!st) st = put_num(mm, "clip.vision.projector.scale_factor", pre, "merge_size", 0, 1, e);
    const char *keys[2] = {"clip.vision.image_mean", "clip.vision.image_std"}, *names[2] = {"image_mean", "image_std"};
    for (int k = 0; !st && k < 2; k++) {
        const gguf_kv *kv = gguf_find_kv(mm, keys[k]);
        if (!kv) continue;
        if (kv->type != GGUF_ARRAY || kv->n != 3 || (kv->elem_type != GGUF_F32 && kv->elem_type != GGUF_F64))
            return dots_fail(e, DOTS_E_MODEL, "%s: %s (byte %llu) must be an array of 3 floats", mm->path, keys[k],
                             (unsigned long long)kv->offset);
        json_object *a = json_object_new_array();
        for (int i = 0; i < 3; i++) json_object_array_add(a, json_object_new_double(gguf_arr_float(kv, (uint64_t)i)));
        json_object_object_add(pre, names[k], a);
    }
    return st;
}

/* End-of-generation ids: the tokenizer's eos/eot/eom ids and dots.ocr's <|endofassistant|>
 * (its generation_config lists <|endoftext|> and <|endofassistant|>). */
static void gen_config(const gguf_file *lm, json_object *gen) {
    json_object *ids = json_object_new_array();
    const char *keys[3] = {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"};
    int64_t seen[4];
    int n = 0;
    for (int k = 0; k < 4; k++) {
        int64_t v = -1;
        dots_error ignore;
        if (k < 3 && gguf_get_int(lm, keys[k], &v, &ignore)) continue;
        if (k == 3) v = token_id(lm, "<|endofassistant|>");
        int dup = v < 0;
        for (int i = 0; i < n; i++) dup |= seen[i] == v;
        if (dup) continue;
        seen[n++] = v;
        json_object_array_add(ids, json_object_new_int64(v));
    }
    if (n) json_object_object_add(gen, "eos_token_id", ids);
    else json_object_put(ids);
}

static dots_status config_from_gguf(dots_ckpt *c, dots_error *e) {
    json_object *root = json_object_new_object(), *vc = json_object_new_object(), *pre = json_object_new_object(),
                *gen = json_object_new_object();
    json_object_object_add(root, "vision_config", vc);
    dots_status st = text_config(c->lm_gguf, root, e);
    if (!st) st = vision_config(c->mm_gguf, vc, e);
    if (!st) st = preproc_config(c->mm_gguf, pre, e);
    if (!st) {
        gen_config(c->lm_gguf, gen);
        st = config_parse(c->lm_gguf->path, json_object_to_json_string(root), json_object_to_json_string(gen),
                          json_object_to_json_string(pre), &c->config, e);
    }
    json_object_put(root);
    json_object_put(pre);
    json_object_put(gen);
    return st;
}

/* ------------------------------------------------------------ finding the files */
static int arch_is(const char *path, const char *want) {
    gguf_file *f = NULL;
    dots_error ignore;
    if (gguf_open(path, &f, &ignore)) return 0;
    const char *s;
    uint64_t l;
    int yes = !gguf_get_str(f, "general.architecture", &s, &l, &ignore) && l == strlen(want) && !memcmp(s, want, l);
    gguf_close(f);
    return yes;
}

/* The one GGUF file in dir of architecture arch (error if none or several). */
static dots_status find_arch(const char *dir, const char *arch, const char *role, char *out, size_t cap, dots_error *e) {
    DIR *d = opendir(dir);
    if (!d) return dots_fail(e, DOTS_E_IO, "%s: cannot open the folder to look for the %s GGUF", dir, role);
    struct dirent *de;
    int found = 0;
    char p[4096];
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l <= 5 || strcmp(de->d_name + l - 5, ".gguf")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (!arch_is(p, arch)) continue;
        if (found++) break;
        snprintf(out, cap, "%s", p);
    }
    closedir(d);
    if (found == 1) return DOTS_OK;
    return dots_fail(e, DOTS_E_MODEL, "%s: %s GGUF file (general.architecture \"%s\") in the folder; %s", dir,
                     found ? "more than one" : "no", arch,
                     found ? "keep one pair, or pass the LM file as --model and the vision file as --mmproj"
                           : "download both the LM GGUF and the mmproj GGUF, or pass them as --model FILE --mmproj FILE");
}

/* Copies f's tensors, renamed, into c->gtensors[*k...]. */
static void add_tensors(dots_ckpt *c, const gguf_file *f, int vision, int *k, char **np) {
    for (int i = 0; i < f->n; i++) {
        st_tensor *t = &c->gtensors[*k];
        *t = f->tensors[i];
        char nm[512];
        hf_name(f->tensors[i].name, vision, nm, sizeof nm);
        size_t l = strlen(nm);
        memcpy(*np, nm, l + 1);
        t->name = *np;
        *np += l + 1;
        c->gtype[*k] = f->ggml_type[i];
        c->index[*k] = t;
        (*k)++;
    }
}

dots_status ckpt_open_gguf(const char *lm_path, const char *mmproj_path, dots_ckpt **out, dots_error *e) {
    *out = NULL;
    char lm[4096], mm[4096];
    struct stat sb;
    dots_status st = DOTS_OK;
    if (stat(lm_path, &sb) != 0) return dots_fail(e, DOTS_E_IO, "%s: no such file or folder", lm_path);
    if (S_ISDIR(sb.st_mode)) st = find_arch(lm_path, "qwen2", "language model", lm, sizeof lm, e);
    else if (!gguf_is_gguf_file(lm_path))
        return dots_fail(e, DOTS_E_FORMAT, "%s: not a GGUF file (its first bytes are not \"GGUF\"); pass a Hugging Face "
                         "checkpoint folder, a folder of GGUF files or the LM GGUF file", lm_path);
    else snprintf(lm, sizeof lm, "%s", lm_path);
    if (!st && mmproj_path) snprintf(mm, sizeof mm, "%s", mmproj_path);
    else if (!st) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", lm);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = 0; else snprintf(dir, sizeof dir, ".");
        st = find_arch(dir, "clip", "mmproj (vision)", mm, sizeof mm, e);
    }
    if (st) return st;
    dots_ckpt *c = calloc(1, sizeof *c);
    if (!c || !(c->dir = strdup(lm))) { free(c); return dots_fail(e, DOTS_E_NOMEM, "out of memory"); }
    if ((st = gguf_open(lm, &c->lm_gguf, e)) || (st = gguf_open(mm, &c->mm_gguf, e)) || (st = config_from_gguf(c, e))) {
        ckpt_close(c);
        return st;
    }
    c->n = c->lm_gguf->n + c->mm_gguf->n;
    size_t nb = 0;
    for (int i = 0; i < c->lm_gguf->n; i++) nb += strlen(c->lm_gguf->tensors[i].name) + 64;
    for (int i = 0; i < c->mm_gguf->n; i++) nb += strlen(c->mm_gguf->tensors[i].name) + 64;
    c->gtensors = calloc((size_t)c->n + 1, sizeof *c->gtensors);
    c->gtype = calloc((size_t)c->n + 1, sizeof *c->gtype);
    c->gnames = malloc(nb + 1);
    c->index = calloc((size_t)c->n + 1, sizeof *c->index);
    c->claimed = calloc((size_t)c->n + 1, 1);
    if (!c->gtensors || !c->gtype || !c->gnames || !c->index || !c->claimed) {
        ckpt_close(c);
        return dots_fail(e, DOTS_E_NOMEM, "out of memory");
    }
    int k = 0;
    char *np = c->gnames;
    add_tensors(c, c->lm_gguf, 0, &k, &np);
    add_tensors(c, c->mm_gguf, 1, &k, &np);
    if ((st = ckpt_index(c, e))) { ckpt_close(c); return st; }
    *out = c;
    return DOTS_OK;
}

dots_status ckpt_load_config(const char *model, const char *mmproj, dots_config *cfg, dots_error *e) {
    char cj[4096];
    struct stat sb;
    snprintf(cj, sizeof cj, "%s/config.json", model);
    if (!mmproj && stat(cj, &sb) == 0) return config_load(model, cfg, e);
    dots_ckpt *c = NULL;
    dots_status st = mmproj ? ckpt_open_gguf(model, mmproj, &c, e) : ckpt_open(model, &c, e);
    if (!st) *cfg = c->config;
    ckpt_close(c);
    return st;
}

/* Reverse of hf_name over the same tables: 0 and the GGUF name, or -1 if hf is not ours. */
int ckpt_gguf_name(const char *hf, char *out, size_t cap, int *vision) {
    size_t bl;
    const char *suf = param_suffix(hf, &bl);
    if (!suf) return -1;
    for (int v = 0; v < 2; v++) {
        const char *pre = v ? "vision_tower.blocks." : "model.layers.";
        size_t pl = strlen(pre);
        if (strncmp(hf, pre, pl)) continue;
        char *end;
        long n = strtol(hf + pl, &end, 10);
        if (end == hf + pl || *end != '.') return -1;
        const char *rest = end + 1;
        const char *const (*tab)[2] = v ? v_blk : lm_blk;
        size_t cnt = v ? COUNT(v_blk) : COUNT(lm_blk), rl = (size_t)(hf + bl - rest);
        for (size_t i = 0; i < cnt; i++)
            if (strlen(tab[i][1]) == rl && !strncmp(tab[i][1], rest, rl)) {
                snprintf(out, cap, v ? "v.blk.%ld.%s%s" : "blk.%ld.%s%s", n, tab[i][0], suf);
                *vision = v;
                return 0;
            }
        return -1;
    }
    for (int v = 0; v < 2; v++) {
        const char *const (*tab)[2] = v ? v_top : lm_top;
        size_t cnt = v ? COUNT(v_top) : COUNT(lm_top);
        for (size_t i = 0; i < cnt; i++)
            if (strlen(tab[i][1]) == bl && !strncmp(tab[i][1], hf, bl)) {
                snprintf(out, cap, "%s%s", tab[i][0], suf);
                *vision = v;
                return 0;
            }
    }
    return -1;
}

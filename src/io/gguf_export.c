/* Writing a checkpoint as llama.cpp's dots.ocr GGUF pair (dotsocr quantize):
 * Linear weights in the chosen types, norms and biases as F32, the patch-embed
 * kernel as F16/F32 (what llama.cpp's conv takes); one row is converted at a
 * time, so the model is never widened to f32 whole. */
#include "io/gguf_export.h"
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/quant.h"
#include "io/config.h"

typedef struct {
    const st_tensor *src[2048];
    dots_dtype dst[2048];
    int n;
    int done, total;
    gguf_progress_fn progress;
    void *pctx;
    dots_pool *pool; /* converts a tensor's rows */
} export_job;

/* Type to store tensor t in: Linear weights (2-D) get `want` when their rows are whole blocks
 * (else F16, as llama.cpp falls back), 1-D tensors F32, the 4-D patch kernel F16 unless F32. */
static dots_dtype pick_type(const st_tensor *t, dots_dtype want) {
    if (t->ndim == 1) return DT_F32;
    if (t->ndim == 4) return t->dtype == DT_F32 ? DT_F32 : DT_F16;
    if (want == DT_COUNT) return t->dtype == DT_BF16 || t->dtype == DT_F16 || t->dtype == DT_F32 ? t->dtype : DT_F16;
    if (dtype_row_bytes(want, (uint64_t)t->shape[t->ndim - 1]) == 0) return DT_F16;
    return want;
}

static dots_status fill_tensor(void *ctx, int i, void *dst, size_t nbytes, dots_error *e) {
    export_job *j = ctx;
    const st_tensor *t = j->src[i];
    int64_t K = t->shape[t->ndim - 1], rows = K ? (int64_t)(st_numel(t) / K) : 0;
    int rc = convert_rows(j->pool, t->dtype, t->data, j->dst[i], dst, rows, K);
    if (rc == -2) return dots_fail(e, DOTS_E_NOMEM, "out of memory converting %s", t->name);
    if (rc) return dots_fail(e, DOTS_E_INTERNAL, "%s: cannot convert %s to %s", t->name, dtype_name(t->dtype), dtype_name(j->dst[i]));
    (void)nbytes;
    if (j->progress) j->progress(j->pctx, ++j->done, j->total, t->name);
    return DOTS_OK;
}

/* ------------------------------------------------------------ tokenizer metadata */
static dots_status tokenizer_from_gguf(gguf_writer *w, const gguf_file *f, dots_error *e) {
    dots_status st = DOTS_OK;
    for (int64_t i = 0; !st && i < f->n_kv; i++)
        if (!strncmp(f->kv[i].key, "tokenizer.", 10)) st = gguf_add_kv_from(w, &f->kv[i], e);
    return st;
}

/* tokenizer.ggml.* from tokenizer.json, as llama.cpp's converter: ids without a token become
 * [PADn] (UNUSED), added tokens CONTROL (special or <|...|>) or USER_DEFINED. */
static dots_status tokenizer_from_json(gguf_writer *w, const char *dir, int vocab_size, dots_error *e) {
    char path[4096], *text = NULL;
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    dots_status st = read_file(path, 256u << 20, &text, NULL, e);
    if (st) return st;
    json_object *root = json_tokener_parse(text), *model, *vocab, *merges, *added;
    free(text);
    if (!root || !json_object_object_get_ex(root, "model", &model) || !json_object_object_get_ex(model, "vocab", &vocab) ||
        !json_object_object_get_ex(model, "merges", &merges) || !json_object_object_get_ex(root, "added_tokens", &added)) {
        if (root) json_object_put(root);
        return dots_fail(e, DOTS_E_FORMAT, "%s: not a BPE tokenizer.json (model.vocab, model.merges, added_tokens)", path);
    }
    int n = vocab_size;
    json_object_object_foreach(vocab, k0, v0) { (void)k0; if (json_object_get_int(v0) >= n) n = json_object_get_int(v0) + 1; }
    for (size_t i = 0; i < json_object_array_length(added); i++) {
        json_object *id;
        if (json_object_object_get_ex(json_object_array_get_idx(added, i), "id", &id) && json_object_get_int(id) >= n)
            n = json_object_get_int(id) + 1;
    }
    const char **toks = calloc((size_t)n, sizeof *toks);
    char (*pads)[24] = calloc((size_t)n, sizeof *pads);
    int32_t *types = calloc((size_t)n, sizeof *types);
    size_t nm = json_object_array_length(merges);
    const char **ms = calloc(nm + 1, sizeof *ms);
    char **joined = calloc(nm + 1, sizeof *joined);
    if (!toks || !pads || !types || !ms || !joined) { st = dots_fail(e, DOTS_E_NOMEM, "out of memory"); goto done; }
    json_object_object_foreach(vocab, k, v) {
        int id = json_object_get_int(v);
        if (id >= 0 && id < n) { toks[id] = k; types[id] = 1; }
    }
    int eos = -1;
    for (size_t i = 0; i < json_object_array_length(added); i++) {
        json_object *a = json_object_array_get_idx(added, i), *id, *content, *special;
        if (!json_object_object_get_ex(a, "id", &id) || !json_object_object_get_ex(a, "content", &content)) continue;
        int x = json_object_get_int(id);
        if (x < 0 || x >= n) continue;
        const char *s = json_object_get_string(content);
        size_t l = strlen(s);
        int looks = l >= 4 && !strncmp(s, "<|", 2) && !strcmp(s + l - 2, "|>");
        toks[x] = s;
        types[x] = (json_object_object_get_ex(a, "special", &special) && json_object_get_boolean(special)) || looks ? 3 : 4;
        if (!strcmp(s, "<|endoftext|>")) eos = x;
    }
    for (int i = 0; i < n; i++)
        if (!toks[i]) { snprintf(pads[i], sizeof pads[i], "[PAD%d]", i); toks[i] = pads[i]; types[i] = 5; }
    for (size_t r = 0; r < nm; r++) {
        json_object *m = json_object_array_get_idx(merges, r);
        if (json_object_is_type(m, json_type_string)) { ms[r] = json_object_get_string(m); continue; }
        const char *a = json_object_get_string(json_object_array_get_idx(m, 0)), *b = json_object_get_string(json_object_array_get_idx(m, 1));
        size_t la = a ? strlen(a) : 0, lb = b ? strlen(b) : 0;
        if (!(joined[r] = malloc(la + lb + 2))) { st = dots_fail(e, DOTS_E_NOMEM, "out of memory"); goto done; }
        snprintf(joined[r], la + lb + 2, "%s %s", a ? a : "", b ? b : "");
        ms[r] = joined[r];
    }
    if (!st) st = gguf_add_str(w, "tokenizer.ggml.model", "gpt2", e);
    if (!st) st = gguf_add_str(w, "tokenizer.ggml.pre", "qwen2", e);
    if (!st) st = gguf_add_arr_str(w, "tokenizer.ggml.tokens", toks, NULL, (uint64_t)n, e);
    if (!st) st = gguf_add_arr(w, "tokenizer.ggml.token_type", GGUF_I32, types, (uint64_t)n, e);
    if (!st) st = gguf_add_arr_str(w, "tokenizer.ggml.merges", ms, NULL, nm, e);
    if (!st && eos >= 0) st = gguf_add_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)eos, e);
    if (!st && eos >= 0) st = gguf_add_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)eos, e);
    if (!st) st = gguf_add_bool(w, "tokenizer.ggml.add_bos_token", 0, e);
done:
    for (size_t r = 0; joined && r < nm; r++) free(joined[r]);
    free(joined); free(ms); free(types); free(pads); free(toks);
    json_object_put(root);
    return st;
}

/* ------------------------------------------------------------ metadata */
static dots_status lm_metadata(gguf_writer *w, const dots_ckpt *c, dots_dtype t, dots_error *e) {
    const dots_text_config *x = &c->config.text;
    dots_status st = gguf_add_str(w, "general.architecture", "qwen2", e);
    if (!st) st = gguf_add_str(w, "general.name", "dots.ocr", e);
    if (!st) st = gguf_add_u32(w, "general.file_type", t == DT_Q8_0 ? 7 : t == DT_Q4_K ? 15 : t == DT_Q6_K ? 18 : t == DT_BF16 ? 32 : 1, e);
    if (!st) st = gguf_add_u32(w, "qwen2.context_length", (uint32_t)x->max_position_embeddings, e);
    if (!st) st = gguf_add_u32(w, "qwen2.embedding_length", (uint32_t)x->hidden_size, e);
    if (!st) st = gguf_add_u32(w, "qwen2.block_count", (uint32_t)x->num_hidden_layers, e);
    if (!st) st = gguf_add_u32(w, "qwen2.feed_forward_length", (uint32_t)x->intermediate_size, e);
    if (!st) st = gguf_add_u32(w, "qwen2.attention.head_count", (uint32_t)x->num_attention_heads, e);
    if (!st) st = gguf_add_u32(w, "qwen2.attention.head_count_kv", (uint32_t)x->num_key_value_heads, e);
    if (!st) st = gguf_add_f32(w, "qwen2.rope.freq_base", (float)x->rope_theta, e);
    if (!st) st = gguf_add_f32(w, "qwen2.attention.layer_norm_rms_epsilon", x->rms_norm_eps, e);
    if (st) return st;
    return c->lm_gguf ? tokenizer_from_gguf(w, c->lm_gguf, e) : tokenizer_from_json(w, c->dir, x->vocab_size, e);
}

static dots_status mm_metadata(gguf_writer *w, const dots_ckpt *c, dots_error *e) {
    const dots_vision_config *v = &c->config.vision;
    const dots_preproc_config *p = &c->config.preproc;
    dots_status st = gguf_add_str(w, "general.architecture", "clip", e);
    if (!st) st = gguf_add_bool(w, "clip.has_vision_encoder", 1, e);
    if (!st) st = gguf_add_str(w, "clip.projector_type", "dots_ocr", e);
    if (!st) st = gguf_add_u32(w, "clip.vision.image_size", 0, e);
    if (!st) st = gguf_add_u32(w, "clip.vision.patch_size", (uint32_t)v->patch_size, e);
    if (!st) st = gguf_add_u32(w, "clip.vision.embedding_length", (uint32_t)v->embed_dim, e);
    if (!st) st = gguf_add_u32(w, "clip.vision.feed_forward_length", (uint32_t)v->intermediate_size, e);
    if (!st) st = gguf_add_u32(w, "clip.vision.projection_dim", (uint32_t)v->hidden_size, e);
    if (!st) st = gguf_add_u32(w, "clip.vision.block_count", (uint32_t)v->num_hidden_layers, e);
    if (!st) st = gguf_add_u32(w, "clip.vision.attention.head_count", (uint32_t)v->num_attention_heads, e);
    if (!st) st = gguf_add_f32(w, "clip.vision.attention.layer_norm_epsilon", v->rms_norm_eps, e);
    if (!st) st = gguf_add_arr(w, "clip.vision.image_mean", GGUF_F32, p->mean, 3, e);
    if (!st) st = gguf_add_arr(w, "clip.vision.image_std", GGUF_F32, p->std, 3, e);
    if (!st) st = gguf_add_u32(w, "clip.vision.image_min_pixels", (uint32_t)p->min_pixels, e);
    if (!st) st = gguf_add_u32(w, "clip.vision.image_max_pixels", (uint32_t)p->max_pixels, e);
    if (!st) st = gguf_add_u32(w, "clip.vision.projector.scale_factor", (uint32_t)v->spatial_merge_size, e);
    if (!st) st = gguf_add_bool(w, "clip.use_silu", 1, e);
    return st;
}

/* ------------------------------------------------------------ one file */
static dots_status write_one(const dots_ckpt *c, int vision, dots_dtype want, const char *path, export_job *j,
                             dots_error *e) {
    gguf_writer *w = gguf_writer_new(e);
    if (!w) return DOTS_E_NOMEM;
    dots_status st = vision ? mm_metadata(w, c, e) : lm_metadata(w, c, want, e);
    j->n = 0;
    for (int i = 0; !st && i < c->n; i++) {
        const st_tensor *t = c->index[i];
        char g[512];
        int is_v;
        if (ckpt_gguf_name(t->name, g, sizeof g, &is_v) || is_v != vision) continue;
        if (j->n == (int)(sizeof j->src / sizeof *j->src)) { st = dots_fail(e, DOTS_E_LIMIT, "too many tensors"); break; }
        dots_dtype dt = pick_type(t, want);
        j->src[j->n] = t;
        j->dst[j->n++] = dt;
        st = gguf_add_tensor(w, g, (uint32_t)gguf_type_of_dtype(dt), t->ndim, t->shape, e);
    }
    if (!st) st = gguf_writer_write(w, path, fill_tensor, j, e);
    gguf_writer_free(w);
    return st;
}

static const char *type_label(dots_dtype t) {
    return t == DT_Q8_0 ? "q8_0" : t == DT_Q4_K ? "q4_k" : t == DT_Q6_K ? "q6_k" : t == DT_BF16 ? "bf16" : t == DT_F32 ? "f32" : "f16";
}

dots_status gguf_export(const dots_ckpt *c, const char *out_dir, dots_dtype lm_type, dots_dtype vision_type,
                        gguf_progress_fn progress, void *pctx, dots_pool *pool, char *lm_path, char *mm_path, size_t cap,
                        dots_error *e) {
    if (lm_type != DT_Q8_0 && lm_type != DT_Q4_K && lm_type != DT_Q6_K && lm_type != DT_F16 && lm_type != DT_BF16)
        return dots_fail(e, DOTS_E_ARG, "the LM type must be q8_0, q4_k, q6_k, f16 or bf16");
    if (vision_type != DT_Q8_0 && vision_type != DT_F16 && vision_type != DT_BF16 && vision_type != DT_Q4_K &&
        vision_type != DT_Q6_K)
        return dots_fail(e, DOTS_E_ARG, "the vision type must be q8_0, q4_k, q6_k, f16 or bf16");
    export_job *j = calloc(1, sizeof *j);
    if (!j) return dots_fail(e, DOTS_E_NOMEM, "out of memory");
    j->progress = progress;
    j->pctx = pctx;
    j->pool = pool;
    for (int i = 0; i < c->n; i++) {
        char g[512];
        int v;
        if (!ckpt_gguf_name(c->index[i]->name, g, sizeof g, &v)) j->total++;
    }
    snprintf(lm_path, cap, "%s/dots.ocr-%s.gguf", out_dir, type_label(lm_type));
    snprintf(mm_path, cap, "%s/mmproj-dots.ocr-%s.gguf", out_dir, type_label(vision_type));
    dots_status st = write_one(c, 0, lm_type, lm_path, j, e);
    if (!st) st = write_one(c, 1, vision_type, mm_path, j, e);
    free(j);
    return st;
}

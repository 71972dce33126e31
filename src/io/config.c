#include "io/config.h"
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/json.h"

/* The field's value in *v, or NULL when absent or null: an error then unless has_def. */
static dots_status field(json_object *o, const char *path, const char *sect, const char *key, int has_def,
                         json_object **v, dots_error *e) {
    if (!json_object_object_get_ex(o, key, v) || json_object_is_type(*v, json_type_null)) {
        *v = NULL;
        if (!has_def) return dots_fail(e, DOTS_E_MODEL, "%s: required field %s%s is missing", path, sect, key);
    }
    return DOTS_OK;
}

/* Integer field in [lo, hi]; required unless has_def (then def when absent or null). */
static dots_status get_int(json_object *o, const char *path, const char *sect, const char *key, int has_def,
                           int def, int lo, int hi, int *out, dots_error *e) {
    json_object *v;
    dots_status st = field(o, path, sect, key, has_def, &v, e);
    if (st || !v) { if (!st) *out = def; return st; }
    int64_t x;
    if (json_object_is_type(v, json_type_boolean)) x = json_object_get_boolean(v);
    else if (json_object_is_type(v, json_type_int)) x = json_object_get_int64(v);
    else return dots_fail(e, DOTS_E_MODEL, "%s: field %s%s must be an integer", path, sect, key);
    if (x < lo || x > hi)
        return dots_fail(e, DOTS_E_MODEL, "%s: field %s%s = %lld is out of range (%d..%d); the checkpoint is corrupt or not "
                         "a model this engine runs", path, sect, key, (long long)x, lo, hi);
    *out = (int)x;
    return DOTS_OK;
}

/* Number field in [lo, hi]; required unless has_def. */
static dots_status get_num(json_object *o, const char *path, const char *sect, const char *key, int has_def,
                           double def, double lo, double hi, double *out, dots_error *e) {
    json_object *v;
    dots_status st = field(o, path, sect, key, has_def, &v, e);
    if (st || !v) { if (!st) *out = def; return st; }
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return dots_fail(e, DOTS_E_MODEL, "%s: field %s%s must be a number", path, sect, key);
    *out = json_object_get_double(v);
    if (!isfinite(*out)) return dots_fail(e, DOTS_E_MODEL, "%s: field %s%s is not finite", path, sect, key);
    if (!(*out >= lo && *out <= hi))
        return dots_fail(e, DOTS_E_MODEL, "%s: field %s%s = %g is out of range (%g..%g)", path, sect, key, *out, lo, hi);
    return DOTS_OK;
}

#define TRY(x) do { dots_status s_ = (x); if (s_) return s_; } while (0)
#define CHECK(cond, ...) do { if (!(cond)) return dots_fail(e, DOTS_E_MODEL, __VA_ARGS__); } while (0)

/* Bounds on every size read from config.json. They are far above any Qwen2 / dots.ocr model
 * (hidden 1536, 12 heads of 128, vocab 151936) and keep every product the loader and the
 * kernels form (heads * head_dim, layers * positions * kv width, ...) well inside 64 bits and
 * the per-row ints of the kernels. */
enum {
    MAX_HIDDEN = 1 << 15, MAX_HEADS = 1024, MAX_HEAD_DIM = 1024, MAX_LAYERS = 1024, MAX_FFN = 1 << 18,
    MAX_VOCAB = 1 << 22, MAX_POSITIONS = 1 << 24, MAX_EOS_ID = (1 << 22) - 1,
};

static dots_status parse_text(json_object *root, const char *path, dots_text_config *t, dots_error *e) {
    double d;
    TRY(get_int(root, path, "", "hidden_size", 0, 0, 1, MAX_HIDDEN, &t->hidden_size, e));
    TRY(get_int(root, path, "", "intermediate_size", 0, 0, 1, MAX_FFN, &t->intermediate_size, e));
    TRY(get_int(root, path, "", "num_hidden_layers", 0, 0, 0, MAX_LAYERS, &t->num_hidden_layers, e));
    TRY(get_int(root, path, "", "num_attention_heads", 0, 0, 1, MAX_HEADS, &t->num_attention_heads, e));
    TRY(get_int(root, path, "", "num_key_value_heads", 1, t->num_attention_heads, 1, MAX_HEADS, &t->num_key_value_heads, e));
    TRY(get_int(root, path, "", "vocab_size", 0, 0, 1, MAX_VOCAB, &t->vocab_size, e));
    TRY(get_int(root, path, "", "max_position_embeddings", 1, 32768, 1, MAX_POSITIONS, &t->max_position_embeddings, e));
    TRY(get_int(root, path, "", "tie_word_embeddings", 1, 0, 0, 1, &t->tie_word_embeddings, e));
    TRY(get_int(root, path, "", "attention_bias", 1, 1, 0, 1, &t->attention_bias, e));
    TRY(get_int(root, path, "", "image_token_id", 1, 151665, 0, MAX_VOCAB - 1, &t->image_token_id, e));
    TRY(get_num(root, path, "", "rms_norm_eps", 1, 1e-6, 1e-30, 1.0, &d, e)); t->rms_norm_eps = (float)d;
    /* theta^(2j/d) must stay a finite float frequency above 1 */
    TRY(get_num(root, path, "", "rope_theta", 1, 1e6, 1.0 + 1e-6, 1e30, &t->rope_theta, e));
    CHECK(t->hidden_size % t->num_attention_heads == 0 || json_object_object_get_ex(root, "head_dim", NULL),
          "%s: hidden_size %d is not divisible by num_attention_heads %d (and no head_dim is given)", path,
          t->hidden_size, t->num_attention_heads);
    TRY(get_int(root, path, "", "head_dim", 1, t->hidden_size / t->num_attention_heads, 2, MAX_HEAD_DIM, &t->head_dim, e));
    CHECK(t->head_dim % 2 == 0, "%s: text head_dim %d must be even for RoPE", path, t->head_dim);
    CHECK(t->num_key_value_heads <= t->num_attention_heads && t->num_attention_heads % t->num_key_value_heads == 0,
          "%s: num_attention_heads %d is not a multiple of num_key_value_heads %d", path, t->num_attention_heads,
          t->num_key_value_heads);
    /* q_proj maps hidden_size to heads * head_dim (equal in dots.ocr, but transformers' Qwen2 allows
     * them to differ); bound the attention width like the hidden size */
    CHECK((int64_t)t->num_attention_heads * t->head_dim <= 2 * MAX_HIDDEN,
          "%s: num_attention_heads %d * head_dim %d = %lld is above the supported attention width %d", path,
          t->num_attention_heads, t->head_dim, (long long)t->num_attention_heads * t->head_dim, 2 * MAX_HIDDEN);
    json_object *rs;
    if (json_object_object_get_ex(root, "rope_scaling", &rs) && !json_object_is_type(rs, json_type_null))
        CHECK(0, "%s: rope_scaling is set; dots.ocr uses none and this engine does not support it", path);
    return DOTS_OK;
}

static dots_status parse_vision(json_object *root, const char *path, const dots_text_config *t, dots_vision_config *v,
                                dots_error *e) {
    json_object *vc = NULL;
    CHECK(json_object_object_get_ex(root, "vision_config", &vc) && json_object_is_type(vc, json_type_object),
          "%s: required object vision_config is missing (is this a dots.ocr checkpoint?)", path);
    const char *vs = "vision_config.";
    double d;
    TRY(get_int(vc, path, vs, "embed_dim", 0, 0, 1, MAX_HIDDEN, &v->embed_dim, e));
    TRY(get_int(vc, path, vs, "hidden_size", 0, 0, 1, MAX_HIDDEN, &v->hidden_size, e));
    TRY(get_int(vc, path, vs, "intermediate_size", 0, 0, 1, MAX_FFN, &v->intermediate_size, e));
    TRY(get_int(vc, path, vs, "num_hidden_layers", 0, 0, 1, MAX_LAYERS, &v->num_hidden_layers, e));
    TRY(get_int(vc, path, vs, "num_attention_heads", 0, 0, 1, MAX_HEADS, &v->num_attention_heads, e));
    TRY(get_int(vc, path, vs, "num_channels", 1, 3, 1, 16, &v->num_channels, e));
    TRY(get_int(vc, path, vs, "patch_size", 1, 14, 1, 1024, &v->patch_size, e));
    TRY(get_int(vc, path, vs, "spatial_merge_size", 1, 2, 1, 64, &v->spatial_merge_size, e));
    TRY(get_int(vc, path, vs, "temporal_patch_size", 1, 1, 1, 64, &v->temporal_patch_size, e));
    TRY(get_int(vc, path, vs, "post_norm", 1, 1, 0, 1, &v->post_norm, e));
    TRY(get_int(vc, path, vs, "use_bias", 1, 0, 0, 1, &v->use_bias, e));
    TRY(get_int(vc, path, vs, "is_causal", 1, 0, 0, 1, &v->is_causal, e));
    TRY(get_num(vc, path, vs, "rms_norm_eps", 1, 1e-5, 1e-30, 1.0, &d, e)); v->rms_norm_eps = (float)d;
    CHECK(v->embed_dim % v->num_attention_heads == 0,
          "%s: vision_config.embed_dim %d is not divisible by num_attention_heads %d", path, v->embed_dim, v->num_attention_heads);
    int vhd = v->embed_dim / v->num_attention_heads;
    CHECK(vhd % 4 == 0 && vhd <= MAX_HEAD_DIM,
          "%s: vision head_dim %d (embed_dim / num_attention_heads) must be a multiple of 4 (the 2D rotary embedding) "
          "and at most %d", path, vhd, MAX_HEAD_DIM);
    CHECK(v->patch_size == 14, "%s: vision_config.patch_size is %d; dots.ocr uses 14 and this engine supports only 14", path, v->patch_size);
    CHECK(v->spatial_merge_size == 2, "%s: vision_config.spatial_merge_size is %d; only 2 is supported", path, v->spatial_merge_size);
    CHECK(v->temporal_patch_size == 1, "%s: vision_config.temporal_patch_size is %d; only 1 (images) is supported", path, v->temporal_patch_size);
    CHECK(v->num_channels == 3, "%s: vision_config.num_channels is %d; only 3 (RGB) is supported", path, v->num_channels);
    CHECK(!v->is_causal, "%s: vision_config.is_causal is true; the dots.ocr vision tower is bidirectional", path);
    CHECK(!v->use_bias, "%s: vision_config.use_bias is true; dots.ocr's vision linears have no bias and this engine does not load them", path);
    CHECK(v->hidden_size == t->hidden_size,
          "%s: vision_config.hidden_size %d (merger output) must equal the text hidden_size %d", path, v->hidden_size, t->hidden_size);
    return DOTS_OK;
}

static dots_status parse_generation(json_object *gen, dots_config *c, dots_error *e) {
    const char *gp = "generation_config.json";
    json_object *eo;
    if (json_object_object_get_ex(gen, "eos_token_id", &eo) && !json_object_is_type(eo, json_type_null)) {
        size_t n = json_object_is_type(eo, json_type_array) ? json_object_array_length(eo) : 1;
        CHECK(n >= 1 && n <= DOTS_MAX_EOS, "%s: eos_token_id has %zu entries (1..%d)", gp, n, DOTS_MAX_EOS);
        for (size_t i = 0; i < n; i++) {
            json_object *id = json_object_is_type(eo, json_type_array) ? json_object_array_get_idx(eo, i) : eo;
            int64_t x = json_object_is_type(id, json_type_int) ? json_object_get_int64(id) : -1;
            CHECK(x >= 0 && x <= MAX_EOS_ID, "%s: eos_token_id entry %zu is not a token id (0..%d)", gp, i, MAX_EOS_ID);
            c->eos_ids[i] = (int)x;
        }
        c->n_eos = (int)n;
    }
    return get_int(gen, gp, "", "max_length", 1, 0, 0, MAX_POSITIONS, &c->max_length, e);
}

static dots_status parse_preproc(json_object *pre, const dots_vision_config *v, dots_preproc_config *p, dots_error *e) {
    const char *pp = "preprocessor_config.json";
    double x;
    /* 2^40 pixels: any real page is far below; keeps the patch arithmetic in range */
    TRY(get_num(pre, pp, "", "min_pixels", 1, 3136, 0, 1099511627776.0, &x, e)); p->min_pixels = (long)x;
    TRY(get_num(pre, pp, "", "max_pixels", 1, 11289600, 784, 1099511627776.0, &x, e)); p->max_pixels = (long)x;
    CHECK(p->min_pixels <= p->max_pixels, "%s: min_pixels %ld is above max_pixels %ld", pp, p->min_pixels, p->max_pixels);
    TRY(get_int(pre, pp, "", "patch_size", 1, 14, 1, 1024, &p->patch_size, e));
    TRY(get_int(pre, pp, "", "merge_size", 1, 2, 1, 64, &p->merge_size, e));
    const char *names[2] = {"image_mean", "image_std"};
    float *dst[2] = {p->mean, p->std};
    for (int k = 0; k < 2; k++) {
        json_object *a;
        if (!json_object_object_get_ex(pre, names[k], &a)) continue;
        CHECK(json_object_is_type(a, json_type_array) && json_object_array_length(a) == 3,
              "%s: %s must be an array of 3 numbers", pp, names[k]);
        for (int i = 0; i < 3; i++) {
            json_object *n = json_object_array_get_idx(a, (size_t)i);
            double val = json_object_get_double(n);
            CHECK((json_object_is_type(n, json_type_double) || json_object_is_type(n, json_type_int)) && isfinite(val) &&
                  fabs(val) < 1e6, "%s: %s[%d] must be a finite number", pp, names[k], i);
            dst[k][i] = (float)val;
        }
    }
    CHECK(p->std[0] > 0 && p->std[1] > 0 && p->std[2] > 0, "%s: image_std must be positive", pp);
    CHECK(p->patch_size == v->patch_size && p->merge_size == v->spatial_merge_size,
          "%s: patch_size %d / merge_size %d disagree with config.json's vision_config (%d / %d)", pp, p->patch_size,
          p->merge_size, v->patch_size, v->spatial_merge_size);
    return DOTS_OK;
}

#undef TRY
#undef CHECK

dots_status config_parse(const char *path, const char *json, const char *gen_json, const char *pre_json,
                         dots_config *c, dots_error *e) {
    memset(c, 0, sizeof *c);
    json_object *root = NULL, *gen = NULL, *pre = NULL;
    dots_status st = dots_json_parse(json, strlen(json), path, 0, DOTS_JSON_OBJECT, &root, e);
    if (!st) st = parse_text(root, path, &c->text, e);
    if (!st) st = parse_vision(root, path, &c->text, &c->vision, e);
    c->eos_ids[0] = 151643; c->eos_ids[1] = 151673; c->n_eos = 2;
    if (!st && gen_json) {
        st = dots_json_parse(gen_json, strlen(gen_json), "generation_config.json", 0, DOTS_JSON_OBJECT, &gen, e);
        if (!st) st = parse_generation(gen, c, e);
    }
    dots_preproc_config *p = &c->preproc;
    static const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f}, sd[3] = {0.26862954f, 0.26130258f, 0.27577711f};
    p->min_pixels = 3136; p->max_pixels = 11289600; p->patch_size = 14; p->merge_size = 2; p->temporal_patch_size = 1;
    memcpy(p->mean, mean, sizeof mean);
    memcpy(p->std, sd, sizeof sd);
    if (!st && pre_json) {
        st = dots_json_parse(pre_json, strlen(pre_json), "preprocessor_config.json", 0, DOTS_JSON_OBJECT, &pre, e);
        if (!st) st = parse_preproc(pre, &c->vision, p, e);
    }
    if (root) json_object_put(root);
    if (gen) json_object_put(gen);
    if (pre) json_object_put(pre);
    return st;
}

dots_status config_load(const char *dir, dots_config *c, dots_error *e) {
    char path[4096], gp[4096], pp[4096];
    if (snprintf(path, sizeof path, "%s/config.json", dir) >= (int)sizeof path ||
        snprintf(gp, sizeof gp, "%s/generation_config.json", dir) >= (int)sizeof gp ||
        snprintf(pp, sizeof pp, "%s/preprocessor_config.json", dir) >= (int)sizeof pp)
        return dots_fail(e, DOTS_E_ARG, "model folder path is too long (%zu bytes)", strlen(dir));
    char *j = NULL, *g = NULL, *p = NULL;
    dots_status st = read_file(path, 1 << 20, &j, NULL, e);
    if (st) return dots_context(e, "loading the model config (is %s a dots.ocr checkpoint folder?)", dir);
    dots_error ignore;
    if (read_file(gp, 1 << 20, &g, NULL, &ignore) != DOTS_OK) g = NULL;
    if (read_file(pp, 1 << 20, &p, NULL, &ignore) != DOTS_OK) p = NULL;
    st = config_parse(path, j, g, p, c, e);
    free(j); free(g); free(p);
    return st;
}

#include "io/config.h"
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dots_status read_file(const char *path, size_t max_bytes, char **out, size_t *len, dots_error *e) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return dots_fail(e, DOTS_E_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (n == cap) {
            if (cap >= max_bytes) { free(buf); fclose(f); return dots_fail(e, DOTS_E_LIMIT, "%s: larger than %zu bytes", path, max_bytes); }
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf) return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory reading", path);
    if (err) { free(buf); return dots_fail(e, DOTS_E_IO, "%s: read error", path); }
    if (n > max_bytes) { free(buf); return dots_fail(e, DOTS_E_LIMIT, "%s: larger than %zu bytes", path, max_bytes); }
    buf[n] = 0;
    *out = buf;
    if (len) *len = n;
    return DOTS_OK;
}

static json_object *parse_json(const char *path, const char *text, dots_error *e) {
    json_tokener *tok = json_tokener_new();
    json_object *o = tok ? json_tokener_parse_ex(tok, text, (int)strlen(text)) : NULL;
    if (!o || json_tokener_get_error(tok) != json_tokener_success || !json_object_is_type(o, json_type_object)) {
        dots_fail(e, DOTS_E_FORMAT, "%s: malformed JSON near byte %zu: %s", path,
                  tok ? json_tokener_get_parse_end(tok) : 0,
                  tok ? json_tokener_error_desc(json_tokener_get_error(tok)) : "out of memory");
        if (o) json_object_put(o);
        o = NULL;
    }
    if (tok) json_tokener_free(tok);
    return o;
}

/* Integer field; required unless def >= INT32_MIN+1 given via has_def. */
static dots_status get_int(json_object *o, const char *path, const char *sect, const char *key, int has_def,
                           int def, int *out, dots_error *e) {
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
        if (has_def) { *out = def; return DOTS_OK; }
        return dots_fail(e, DOTS_E_MODEL, "%s: required field %s%s is missing", path, sect, key);
    }
    if (json_object_is_type(v, json_type_boolean)) { *out = json_object_get_boolean(v); return DOTS_OK; }
    if (!json_object_is_type(v, json_type_int))
        return dots_fail(e, DOTS_E_MODEL, "%s: field %s%s must be an integer", path, sect, key);
    int64_t x = json_object_get_int64(v);
    if (x < -2147483647 || x > 2147483647)
        return dots_fail(e, DOTS_E_MODEL, "%s: field %s%s = %lld is out of range", path, sect, key, (long long)x);
    *out = (int)x;
    return DOTS_OK;
}

static dots_status get_num(json_object *o, const char *path, const char *sect, const char *key, int has_def,
                           double def, double *out, dots_error *e) {
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
        if (has_def) { *out = def; return DOTS_OK; }
        return dots_fail(e, DOTS_E_MODEL, "%s: required field %s%s is missing", path, sect, key);
    }
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return dots_fail(e, DOTS_E_MODEL, "%s: field %s%s must be a number", path, sect, key);
    *out = json_object_get_double(v);
    if (!isfinite(*out)) return dots_fail(e, DOTS_E_MODEL, "%s: field %s%s is not finite", path, sect, key);
    return DOTS_OK;
}

#define TRY(x) do { dots_status s_ = (x); if (s_) { st = s_; goto done; } } while (0)
#define CHECK(cond, ...) do { if (!(cond)) { st = dots_fail(e, DOTS_E_MODEL, __VA_ARGS__); goto done; } } while (0)

dots_status config_parse(const char *path, const char *json, const char *gen_json, const char *pre_json,
                         dots_config *c, dots_error *e) {
    dots_status st = DOTS_OK;
    memset(c, 0, sizeof *c);
    json_object *root = parse_json(path, json, e), *vc = NULL, *gen = NULL, *pre = NULL;
    if (!root) return e ? e->code : DOTS_E_FORMAT;
    double d;
    /* text */
    dots_text_config *t = &c->text;
    TRY(get_int(root, path, "", "hidden_size", 0, 0, &t->hidden_size, e));
    TRY(get_int(root, path, "", "intermediate_size", 0, 0, &t->intermediate_size, e));
    TRY(get_int(root, path, "", "num_hidden_layers", 0, 0, &t->num_hidden_layers, e));
    TRY(get_int(root, path, "", "num_attention_heads", 0, 0, &t->num_attention_heads, e));
    TRY(get_int(root, path, "", "num_key_value_heads", 1, t->num_attention_heads, &t->num_key_value_heads, e));
    TRY(get_int(root, path, "", "vocab_size", 0, 0, &t->vocab_size, e));
    TRY(get_int(root, path, "", "max_position_embeddings", 1, 32768, &t->max_position_embeddings, e));
    TRY(get_int(root, path, "", "tie_word_embeddings", 1, 0, &t->tie_word_embeddings, e));
    TRY(get_int(root, path, "", "attention_bias", 1, 1, &t->attention_bias, e));
    TRY(get_int(root, path, "", "image_token_id", 1, 151665, &t->image_token_id, e));
    TRY(get_num(root, path, "", "rms_norm_eps", 1, 1e-6, &d, e)); t->rms_norm_eps = (float)d;
    TRY(get_num(root, path, "", "rope_theta", 1, 1e6, &t->rope_theta, e));
    CHECK(t->hidden_size > 0 && t->num_attention_heads > 0 && t->num_hidden_layers >= 0 && t->intermediate_size > 0 &&
          t->vocab_size > 0, "%s: text sizes must be positive (hidden_size %d, num_attention_heads %d, intermediate_size %d, vocab_size %d)",
          path, t->hidden_size, t->num_attention_heads, t->intermediate_size, t->vocab_size);
    TRY(get_int(root, path, "", "head_dim", 1, t->hidden_size / t->num_attention_heads, &t->head_dim, e));
    CHECK(t->hidden_size % t->num_attention_heads == 0, "%s: hidden_size %d is not divisible by num_attention_heads %d",
          path, t->hidden_size, t->num_attention_heads);
    CHECK(t->num_key_value_heads > 0 && t->num_attention_heads % t->num_key_value_heads == 0,
          "%s: num_attention_heads %d is not a multiple of num_key_value_heads %d", path, t->num_attention_heads,
          t->num_key_value_heads);
    CHECK(t->head_dim % 2 == 0, "%s: text head_dim %d must be even for RoPE", path, t->head_dim);
    {
        json_object *rs;
        if (json_object_object_get_ex(root, "rope_scaling", &rs) && !json_object_is_type(rs, json_type_null))
            CHECK(0, "%s: rope_scaling is set; dots.ocr uses none and this engine does not support it", path);
    }
    /* vision */
    CHECK(json_object_object_get_ex(root, "vision_config", &vc) && json_object_is_type(vc, json_type_object),
          "%s: required object vision_config is missing (is this a dots.ocr checkpoint?)", path);
    dots_vision_config *v = &c->vision;
    const char *vs = "vision_config.";
    TRY(get_int(vc, path, vs, "embed_dim", 0, 0, &v->embed_dim, e));
    TRY(get_int(vc, path, vs, "hidden_size", 0, 0, &v->hidden_size, e));
    TRY(get_int(vc, path, vs, "intermediate_size", 0, 0, &v->intermediate_size, e));
    TRY(get_int(vc, path, vs, "num_hidden_layers", 0, 0, &v->num_hidden_layers, e));
    TRY(get_int(vc, path, vs, "num_attention_heads", 0, 0, &v->num_attention_heads, e));
    TRY(get_int(vc, path, vs, "num_channels", 1, 3, &v->num_channels, e));
    TRY(get_int(vc, path, vs, "patch_size", 1, 14, &v->patch_size, e));
    TRY(get_int(vc, path, vs, "spatial_merge_size", 1, 2, &v->spatial_merge_size, e));
    TRY(get_int(vc, path, vs, "temporal_patch_size", 1, 1, &v->temporal_patch_size, e));
    TRY(get_int(vc, path, vs, "post_norm", 1, 1, &v->post_norm, e));
    TRY(get_int(vc, path, vs, "use_bias", 1, 0, &v->use_bias, e));
    TRY(get_int(vc, path, vs, "is_causal", 1, 0, &v->is_causal, e));
    TRY(get_num(vc, path, vs, "rms_norm_eps", 1, 1e-5, &d, e)); v->rms_norm_eps = (float)d;
    CHECK(v->embed_dim > 0 && v->num_attention_heads > 0 && v->intermediate_size > 0 && v->num_hidden_layers > 0 &&
          v->hidden_size > 0, "%s: vision_config sizes must be positive", path);
    CHECK(v->embed_dim % v->num_attention_heads == 0,
          "%s: vision_config.embed_dim %d is not divisible by num_attention_heads %d", path, v->embed_dim, v->num_attention_heads);
    CHECK((v->embed_dim / v->num_attention_heads) % 4 == 0,
          "%s: vision head_dim %d (embed_dim / num_attention_heads) must be a multiple of 4 for the 2D rotary embedding",
          path, v->embed_dim / v->num_attention_heads);
    CHECK(v->patch_size == 14, "%s: vision_config.patch_size is %d; dots.ocr uses 14 and this engine supports only 14", path, v->patch_size);
    CHECK(v->spatial_merge_size == 2, "%s: vision_config.spatial_merge_size is %d; only 2 is supported", path, v->spatial_merge_size);
    CHECK(v->temporal_patch_size == 1, "%s: vision_config.temporal_patch_size is %d; only 1 (images) is supported", path, v->temporal_patch_size);
    CHECK(v->num_channels == 3, "%s: vision_config.num_channels is %d; only 3 (RGB) is supported", path, v->num_channels);
    CHECK(!v->is_causal, "%s: vision_config.is_causal is true; the dots.ocr vision tower is bidirectional", path);
    CHECK(!v->use_bias, "%s: vision_config.use_bias is true; dots.ocr's vision linears have no bias and this engine does not load them", path);
    CHECK(v->hidden_size == t->hidden_size,
          "%s: vision_config.hidden_size %d (merger output) must equal the text hidden_size %d", path, v->hidden_size, t->hidden_size);
    /* generation config */
    c->eos_ids[0] = 151643; c->eos_ids[1] = 151673; c->n_eos = 2;
    if (gen_json) {
        gen = parse_json("generation_config.json", gen_json, e);
        if (!gen) { st = DOTS_E_FORMAT; goto done; }
        json_object *eo;
        if (json_object_object_get_ex(gen, "eos_token_id", &eo)) {
            if (json_object_is_type(eo, json_type_int)) { c->eos_ids[0] = json_object_get_int(eo); c->n_eos = 1; }
            else if (json_object_is_type(eo, json_type_array)) {
                size_t n = json_object_array_length(eo);
                CHECK(n >= 1 && n <= DOTS_MAX_EOS, "generation_config.json: eos_token_id has %zu entries (1..%d)", n, DOTS_MAX_EOS);
                for (size_t i = 0; i < n; i++) c->eos_ids[i] = json_object_get_int(json_object_array_get_idx(eo, i));
                c->n_eos = (int)n;
            }
        }
        TRY(get_int(gen, "generation_config.json", "", "max_length", 1, 0, &c->max_length, e));
    }
    /* preprocessor config */
    dots_preproc_config *p = &c->preproc;
    static const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f}, sd[3] = {0.26862954f, 0.26130258f, 0.27577711f};
    p->min_pixels = 3136; p->max_pixels = 11289600; p->patch_size = 14; p->merge_size = 2; p->temporal_patch_size = 1;
    memcpy(p->mean, mean, sizeof mean);
    memcpy(p->std, sd, sizeof sd);
    if (pre_json) {
        const char *pp = "preprocessor_config.json";
        pre = parse_json(pp, pre_json, e);
        if (!pre) { st = DOTS_E_FORMAT; goto done; }
        double x;
        TRY(get_num(pre, pp, "", "min_pixels", 1, 3136, &x, e)); p->min_pixels = (long)x;
        TRY(get_num(pre, pp, "", "max_pixels", 1, 11289600, &x, e)); p->max_pixels = (long)x;
        TRY(get_int(pre, pp, "", "patch_size", 1, 14, &p->patch_size, e));
        TRY(get_int(pre, pp, "", "merge_size", 1, 2, &p->merge_size, e));
        const char *names[2] = {"image_mean", "image_std"};
        float *dst[2] = {p->mean, p->std};
        for (int k = 0; k < 2; k++) {
            json_object *a;
            if (!json_object_object_get_ex(pre, names[k], &a)) continue;
            CHECK(json_object_is_type(a, json_type_array) && json_object_array_length(a) == 3,
                  "%s: %s must be an array of 3 numbers", pp, names[k]);
            for (int i = 0; i < 3; i++) dst[k][i] = (float)json_object_get_double(json_object_array_get_idx(a, (size_t)i));
        }
        CHECK(p->std[0] > 0 && p->std[1] > 0 && p->std[2] > 0, "%s: image_std must be positive", pp);
        CHECK(p->patch_size == v->patch_size && p->merge_size == v->spatial_merge_size,
              "%s: patch_size %d / merge_size %d disagree with config.json's vision_config (%d / %d)", pp, p->patch_size,
              p->merge_size, v->patch_size, v->spatial_merge_size);
    }
done:
    if (root) json_object_put(root);
    if (gen) json_object_put(gen);
    if (pre) json_object_put(pre);
    return st;
}

dots_status config_load(const char *dir, dots_config *c, dots_error *e) {
    char path[4096], gp[4096], pp[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    snprintf(gp, sizeof gp, "%s/generation_config.json", dir);
    snprintf(pp, sizeof pp, "%s/preprocessor_config.json", dir);
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

/* The model's config.json (text fields + vision_config), plus the optional
 * generation_config.json and preprocessor_config.json of the same folder. */
#ifndef DOTS_CONFIG_H
#define DOTS_CONFIG_H
#include "base/error.h"
#include "base/fileio.h" /* read_file, used with the config by many callers */

typedef struct dots_vision_config {
    int embed_dim;            /* E */
    int hidden_size;          /* merger output = text hidden size */
    int intermediate_size;    /* F */
    int num_hidden_layers;
    int num_attention_heads;
    int num_channels;
    int patch_size;
    int spatial_merge_size;
    int temporal_patch_size;
    int post_norm;
    int use_bias;
    int is_causal;
    float rms_norm_eps;
} dots_vision_config;

typedef struct dots_text_config {
    int hidden_size;          /* D */
    int intermediate_size;    /* I */
    int num_hidden_layers;
    int num_attention_heads;
    int num_key_value_heads;
    int head_dim;             /* hidden_size / num_attention_heads unless given */
    int vocab_size;
    int max_position_embeddings;
    int tie_word_embeddings;
    int attention_bias;
    float rms_norm_eps;
    double rope_theta;
    int image_token_id;
} dots_text_config;

typedef struct dots_preproc_config {
    long min_pixels, max_pixels;
    int patch_size, merge_size, temporal_patch_size;
    float mean[3], std[3];
} dots_preproc_config;

#define DOTS_MAX_EOS 8
typedef struct dots_config {
    dots_text_config text;
    dots_vision_config vision;
    dots_preproc_config preproc;
    int eos_ids[DOTS_MAX_EOS];
    int n_eos;
    int max_length;           /* generation_config max_length, 0 if absent */
} dots_config;

/* Reads DIR/config.json (required) and DIR/generation_config.json,
 * DIR/preprocessor_config.json (optional; spec defaults when absent).
 * Checks the vision consistency rules (MODEL_SPEC section 2). */
dots_status config_load(const char *dir, dots_config *c, dots_error *e);
/* Same from JSON text (path used in messages); gen/pre may be NULL. */
dots_status config_parse(const char *path, const char *json, const char *gen_json, const char *pre_json,
                         dots_config *c, dots_error *e);


#endif

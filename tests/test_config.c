/* config.json parsing: the published dots.ocr config loads with the right
 * values; each consistency rule fails with a message naming the field. */
#include <stdlib.h>
#include <string.h>
#include "io/config.h"
#include "testutil.h"

static char *g_base;

/* Replace the first occurrence of `from` in the published config by `to`. */
static void expect_fail(const char *from, const char *to, const char *needle) {
    char *s = strstr(g_base, from);
    CHECK(s != NULL, "fixture lacks '%s'", from);
    if (!s) return;
    size_t n = strlen(g_base) + strlen(to) + 1;
    char *m = malloc(n);
    size_t pre = (size_t)(s - g_base);
    memcpy(m, g_base, pre);
    strcpy(m + pre, to);
    strcat(m, s + strlen(from));
    dots_config c;
    dots_error e = {0};
    dots_status st = config_parse("config.json", m, NULL, NULL, &c, &e);
    if (!needle) { /* must load: a valid variation */
        CHECK(st == DOTS_OK, "'%s' -> '%s' should load: %s", from, to, e.msg);
        free(m);
        return;
    }
    CHECK(st != DOTS_OK, "'%s' -> '%s' should fail", from, to);
    CHECK(strstr(e.msg, needle) != NULL && strstr(e.msg, "config.json") != NULL, "message for '%s' lacks '%s': %s", to, needle, e.msg);
    free(m);
}

int main(void) {
    dots_error e = {0};
    char *gen = NULL, *pre = NULL;
    CHECK(read_file(test_shared("reference/dots.ocr/config.json"), 1 << 20, &g_base, NULL, &e) == DOTS_OK, "%s", e.msg);
    CHECK(read_file(test_shared("reference/dots.ocr/generation_config.json"), 1 << 20, &gen, NULL, &e) == DOTS_OK, "%s", e.msg);
    CHECK(read_file(test_shared("reference/dots.ocr/preprocessor_config.json"), 1 << 20, &pre, NULL, &e) == DOTS_OK, "%s", e.msg);
    if (!g_base || !gen || !pre) return test_finish("config");
    dots_config c;
    CHECK(config_parse("config.json", g_base, gen, pre, &c, &e) == DOTS_OK, "%s", e.msg);
    /* values as published (shared/reference/dots.ocr) */
    CHECK(c.text.hidden_size == 1536 && c.text.intermediate_size == 8960 && c.text.num_hidden_layers == 28, "text sizes");
    CHECK(c.text.num_attention_heads == 12 && c.text.num_key_value_heads == 2 && c.text.head_dim == 128, "heads");
    CHECK(c.text.vocab_size == 151936 && c.text.rope_theta == 1000000.0 && c.text.rms_norm_eps == 1e-6f, "vocab/rope/eps");
    CHECK(!c.text.tie_word_embeddings && c.text.image_token_id == 151665, "tie/image token");
    CHECK(c.vision.embed_dim == 1536 && c.vision.num_hidden_layers == 42 && c.vision.intermediate_size == 4224, "vision sizes");
    CHECK(c.vision.num_attention_heads == 12 && c.vision.rms_norm_eps == 1e-5f && c.vision.post_norm, "vision heads");
    CHECK(c.n_eos == 2 && c.eos_ids[0] == 151643 && c.eos_ids[1] == 151673 && c.max_length == 32768, "generation config");
    CHECK(c.preproc.min_pixels == 3136 && c.preproc.max_pixels == 11289600 && c.preproc.mean[0] == 0.48145466f &&
          c.preproc.std[2] == 0.27577711f, "preprocessor config");
    /* each rule */
    expect_fail("\"embed_dim\": 1536", "\"embed_dim\": 1530", "divisible");
    expect_fail("\"patch_size\": 14", "\"patch_size\": 16", "patch_size");
    expect_fail("\"spatial_merge_size\": 2", "\"spatial_merge_size\": 4", "spatial_merge_size");
    expect_fail("\"temporal_patch_size\": 1", "\"temporal_patch_size\": 2", "temporal_patch_size");
    expect_fail("\"hidden_size\": 1536,\n        \"intermediate_size\": 4224", "\"hidden_size\": 1024,\n        \"intermediate_size\": 4224",
                "must equal the text hidden_size");
    expect_fail("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 5", "num_key_value_heads");
    expect_fail("\"num_hidden_layers\": 28", "\"num_hidden_layers\": \"28\"", "num_hidden_layers must be an integer");
    expect_fail("\"vocab_size\": 151936,", "", "vocab_size is missing");
    expect_fail("\"is_causal\": false", "\"is_causal\": true", "bidirectional");
    expect_fail("\"rope_scaling\": null", "\"rope_scaling\": {\"type\": \"yarn\"}", "rope_scaling");
    /* 1536 / 256 = head_dim 6: not a multiple of 4, so no 2D rotary split */
    expect_fail("\"num_attention_heads\": 12,\n        \"num_channels\"", "\"num_attention_heads\": 256,\n        \"num_channels\"",
                "multiple of 4");
    expect_fail("{", "{,", "malformed JSON");
    /* bounds on every size (the review's crafted configs), each naming the field */
    expect_fail("\"num_attention_heads\": 12,\n    \"num_hidden_layers\"", "\"num_attention_heads\": 65536,\n    \"num_hidden_layers\"",
                "num_attention_heads = 65536 is out of range");
    expect_fail("\"hidden_size\": 1536,\n    \"initializer_range\"", "\"hidden_size\": 1536, \"head_dim\": 1073741824,\n    \"initializer_range\"",
                "head_dim = 1073741824 is out of range");
    expect_fail("\"hidden_size\": 1536,\n    \"initializer_range\"", "\"hidden_size\": 65536,\n    \"initializer_range\"",
                "hidden_size = 65536 is out of range");
    expect_fail("\"num_hidden_layers\": 28", "\"num_hidden_layers\": 100000", "num_hidden_layers = 100000");
    expect_fail("\"vocab_size\": 151936", "\"vocab_size\": 2000000000", "vocab_size = 2000000000");
    expect_fail("\"vocab_size\": 151936", "\"vocab_size\": 0", "vocab_size = 0 is out of range");
    expect_fail("\"intermediate_size\": 8960", "\"intermediate_size\": -5", "intermediate_size = -5");
    expect_fail("\"max_position_embeddings\": 131072", "\"max_position_embeddings\": 2147483647", "max_position_embeddings");
    expect_fail("\"rope_theta\": 1000000", "\"rope_theta\": 0.5", "rope_theta");
    expect_fail("\"rms_norm_eps\": 1e-06", "\"rms_norm_eps\": -1", "rms_norm_eps");
    expect_fail("\"embed_dim\": 1536", "\"embed_dim\": 1000000", "vision_config.embed_dim = 1000000");
    expect_fail("\"num_hidden_layers\": 42", "\"num_hidden_layers\": 0", "vision_config.num_hidden_layers = 0");
    expect_fail("\"hidden_size\": 1536,\n    \"initializer_range\"", "\"hidden_size\": 1536, \"head_dim\": 64,\n    \"initializer_range\"",
                NULL);
    free(g_base); free(gen); free(pre);
    return test_finish("config");
}

/* Prompt texts (embedded from prompts.json) and the chat framing of MODEL_SPEC section 5. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dotsocr.h"
#include "text/prompts_data.h"
#include "text/tok_internal.h"

static const char *const k_mode_names[DOTS_PROMPT_COUNT] = {
    "layout-all", "layout-only", "ocr", "grounding", "web", "scene", "svg", "general"};

const char *dots_prompt_mode_name(dots_prompt_mode m) {
    return (unsigned)m < DOTS_PROMPT_COUNT ? k_mode_names[m] : "unknown";
}

int dots_prompt_mode_from_name(const char *name) {
    if (!name) return -1;
    for (int i = 0; i < DOTS_PROMPT_COUNT; i++)
        if (!strcmp(name, k_mode_names[i]) || !strcmp(name, k_prompt_data[i][0])) return i;
    return -1;
}

/* Replaces every occurrence of key in s by val (malloc'd). */
static char *replace_all(const char *s, const char *key, const char *val) {
    size_t kl = strlen(key), vl = strlen(val), cnt = 0;
    for (const char *p = strstr(s, key); p; p = strstr(p + kl, key)) cnt++;
    char *out = malloc(strlen(s) + cnt * vl + 1), *o = out;
    if (!out) return NULL;
    for (const char *p = s;;) {
        const char *q = strstr(p, key);
        if (!q) { strcpy(o, p); break; }
        memcpy(o, p, (size_t)(q - p)); o += q - p;
        memcpy(o, val, vl); o += vl;
        p = q + kl;
    }
    return out;
}

dots_status dots_prompt_text(dots_prompt_mode m, const int bbox[4], int width, int height, char **out, dots_error *e) {
    *out = NULL;
    if ((unsigned)m >= DOTS_PROMPT_COUNT) return dots_fail(e, DOTS_E_ARG, "prompt mode %d is unknown (0..%d)", (int)m, DOTS_PROMPT_COUNT - 1);
    const char *base = k_prompt_data[m][1];
    char *res = NULL;
    if (m == DOTS_PROMPT_GROUNDING) {
        if (!bbox) return dots_fail(e, DOTS_E_ARG, "prompt mode grounding needs a bbox [x1, y1, x2, y2]");
        if (bbox[0] < 0 || bbox[1] < 0 || bbox[2] <= bbox[0] || bbox[3] <= bbox[1])
            return dots_fail(e, DOTS_E_ARG, "grounding bbox [%d, %d, %d, %d] must have 0 <= x1 < x2 and 0 <= y1 < y2",
                             bbox[0], bbox[1], bbox[2], bbox[3]);
        size_t n = strlen(base) + 64;
        res = malloc(n);
        if (res) snprintf(res, n, "%s[%d, %d, %d, %d]", base, bbox[0], bbox[1], bbox[2], bbox[3]); /* Python's str(list) */
    } else if (m == DOTS_PROMPT_SVG) {
        if (width <= 0 || height <= 0) return dots_fail(e, DOTS_E_ARG, "prompt mode svg needs width and height > 0 (got %d x %d)", width, height);
        char w[16], h[16];
        snprintf(w, sizeof w, "%d", width);
        snprintf(h, sizeof h, "%d", height);
        char *tmp = replace_all(base, "{width}", w);
        res = tmp ? replace_all(tmp, "{height}", h) : NULL;
        free(tmp);
    } else {
        res = strdup(base);
    }
    if (!res) return dots_fail(e, DOTS_E_NOMEM, "out of memory building the %s prompt", k_mode_names[m]);
    *out = res;
    return DOTS_OK;
}

int prompt_image_pad_count(int grid_t, int grid_h, int grid_w, int merge_size) {
    if (grid_t <= 0 || grid_h <= 0 || grid_w <= 0 || merge_size <= 0) return 0;
    return (int)((long long)grid_t * grid_h * grid_w / ((long long)merge_size * merge_size));
}

static dots_status check_images(const int *pad_counts, int n_images, dots_error *e) {
    if (n_images < 0 || (n_images > 0 && !pad_counts)) return dots_fail(e, DOTS_E_ARG, "prompt: %d images but no pad counts", n_images);
    for (int i = 0; i < n_images; i++)
        if (pad_counts[i] <= 0) return dots_fail(e, DOTS_E_ARG, "prompt: image %d has %d <|imgpad|> tokens (must be > 0)", i, pad_counts[i]);
    return DOTS_OK;
}

dots_status prompt_build_ids(dots_tokenizer *t, const char *user_text, const int *pad_counts, int n_images,
                             int **ids, size_t *n, dots_error *e) {
    return prompt_build_ids_sys(t, NULL, user_text, pad_counts, n_images, ids, n, e);
}

/* The system turn's ids (a text segment of its own: the tokenizer splits at added tokens
 * first, so encoding it alone gives the ids of the whole templated string). */
static dots_status system_ids(dots_tokenizer *t, const char *system, int **out, size_t *n, dots_error *e) {
    *out = NULL;
    *n = 0;
    if (!system) return DOTS_OK;
    size_t len = strlen(system) + 32;
    char *s = malloc(len);
    if (!s) return dots_fail(e, DOTS_E_NOMEM, "out of memory for the system prompt");
    snprintf(s, len, "<|system|>%s<|endofsystem|>\n", system);
    dots_status st = tok_encode(t, s, strlen(s), out, n, e);
    free(s);
    return st ? dots_context(e, "encoding the system prompt") : DOTS_OK;
}

dots_status prompt_build_ids_sys(dots_tokenizer *t, const char *system, const char *user_text, const int *pad_counts,
                                 int n_images, int **ids, size_t *n, dots_error *e) {
    *ids = NULL;
    *n = 0;
    dots_status st = check_images(pad_counts, n_images, e);
    if (st) return st;
    static const char *const need[] = {"<|user|>", "<|img|>", "<|imgpad|>", "<|endofimg|>", "<|endofuser|>", "<|assistant|>"};
    int tid[6];
    for (int i = 0; i < 6; i++)
        if ((tid[i] = tok_token_id(t, need[i])) < 0)
            return dots_fail(e, DOTS_E_MODEL, "%s: the tokenizer has no added token %s (not a dots.ocr tokenizer.json?)", t->path, need[i]);
    int *text_ids, *sys_ids;
    size_t nt, ns;
    if (!user_text) user_text = "";
    if ((st = system_ids(t, system, &sys_ids, &ns, e))) return st;
    if ((st = tok_encode(t, user_text, strlen(user_text), &text_ids, &nt, e))) {
        free(sys_ids);
        return dots_context(e, "encoding the prompt text");
    }
    size_t cap = ns + nt + 8;
    for (int i = 0; i < n_images; i++) cap += (size_t)pad_counts[i] + 2;
    int *v = malloc(cap * sizeof *v);
    if (!v) {
        free(text_ids);
        free(sys_ids);
        return dots_fail(e, DOTS_E_NOMEM, "out of memory for a %zu-token prompt", cap);
    }
    size_t k = 0;
    if (ns) memcpy(v, sys_ids, ns * sizeof *v);
    k += ns;
    free(sys_ids);
    v[k++] = tid[0];
    for (int i = 0; i < n_images; i++) {
        v[k++] = tid[1];
        for (int p = 0; p < pad_counts[i]; p++) v[k++] = tid[2];
        v[k++] = tid[3];
    }
    memcpy(v + k, text_ids, nt * sizeof *v);
    k += nt;
    free(text_ids);
    v[k++] = tid[4];
    v[k++] = tid[5];
    *ids = v;
    *n = k;
    return DOTS_OK;
}

dots_status prompt_build_text(const char *user_text, const int *pad_counts, int n_images, char **out, dots_error *e) {
    *out = NULL;
    dots_status st = check_images(pad_counts, n_images, e);
    if (st) return st;
    if (!user_text) user_text = "";
    size_t cap = strlen(user_text) + 64;
    for (int i = 0; i < n_images; i++) cap += (size_t)pad_counts[i] * 10 + 24;
    char *s = malloc(cap), *o = s;
    if (!s) return dots_fail(e, DOTS_E_NOMEM, "out of memory for the prompt text");
    o += sprintf(o, "<|user|>");
    for (int i = 0; i < n_images; i++) {
        o += sprintf(o, "<|img|>");
        for (int p = 0; p < pad_counts[i]; p++) o += sprintf(o, "<|imgpad|>");
        o += sprintf(o, "<|endofimg|>");
    }
    o += sprintf(o, "%s<|endofuser|><|assistant|>", user_text);
    *out = s;
    return DOTS_OK;
}

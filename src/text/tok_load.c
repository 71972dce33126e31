/* Reading tokenizer.json: the constructs of the Qwen2 tokenizer (NFC normalizer, Split regex +
 * ByteLevel pre-tokenizer, BPE model, ByteLevel decoder, added tokens). Anything else is refused
 * with an error naming the field, never guessed. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "base/buf.h"
#include "io/json.h"
#include "text/tok_internal.h"
#include "text/unicode_tables.h"
#include "text/utf8.h"

#define MAX_IDS (1 << 24)

/* ------------------------------------------------------------ hashing */

uint32_t tok_hash(const void *p, size_t n) {
    const unsigned char *s = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 16777619u;
    return h ^ (h >> 15);
}

int strmap_get(const strmap *m, const char *key, size_t len) {
    if (!m->cap) return -1;
    uint32_t h = tok_hash(key, len), mask = m->cap - 1;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        uint32_t s = m->slots[i];
        if (!s) return -1;
        const struct strmap_ent *en = &m->ents[s - 1];
        if (en->hash == h && en->len == len && memcmp(en->key, key, len) == 0) return en->value;
    }
}

static int strmap_grow(strmap *m) {
    uint32_t ncap = m->cap ? m->cap * 2 : 1024;
    uint32_t *ns = calloc(ncap, sizeof *ns);
    if (!ns) return 0;
    for (uint32_t k = 0; k < m->n; k++) {
        uint32_t i = m->ents[k].hash & (ncap - 1);
        while (ns[i]) i = (i + 1) & (ncap - 1);
        ns[i] = k + 1;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 1;
}

int strmap_put(strmap *m, const char *key, size_t len, int value) {
    if ((uint64_t)(m->n + 1) * 4 > (uint64_t)m->cap * 3 && !strmap_grow(m)) return 0;
    uint32_t h = tok_hash(key, len), mask = m->cap - 1, i = h & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t s = m->slots[i];
        if (!s) break;
        struct strmap_ent *en = &m->ents[s - 1];
        if (en->hash == h && en->len == len && memcmp(en->key, key, len) == 0) { en->value = value; return 1; }
    }
    if (m->n == m->ents_cap) {
        uint32_t nc = m->ents_cap ? m->ents_cap * 2 : 1024;
        void *ne = realloc(m->ents, (size_t)nc * sizeof *m->ents);
        if (!ne) return 0;
        m->ents = ne;
        m->ents_cap = nc;
    }
    m->ents[m->n] = (struct strmap_ent){key, (uint32_t)len, h, value};
    m->slots[i] = ++m->n;
    return 1;
}

void strmap_free(strmap *m) {
    free(m->slots);
    free(m->ents);
    memset(m, 0, sizeof *m);
}

static uint64_t pair_key(int a, int b) { return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b; }
static uint64_t mix64(uint64_t x) { x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; return x; }

int pairmap_get(const pairmap *m, int a, int b, int *new_id) {
    if (!m->cap) return -1;
    uint64_t k = pair_key(a, b), mask = m->cap - 1;
    for (uint64_t i = mix64(k) & mask;; i = (i + 1) & mask) {
        const pair_ent *p = &m->slots[i];
        if (p->rank < 0) return -1;
        if (p->key == k) { *new_id = p->id; return p->rank; }
    }
}

static int pairmap_put(pairmap *m, int a, int b, int rank, int id) {
    uint64_t k = pair_key(a, b), mask = m->cap - 1;
    for (uint64_t i = mix64(k) & mask;; i = (i + 1) & mask) {
        pair_ent *p = &m->slots[i];
        if (p->rank < 0) { p->key = k; p->rank = rank; p->id = id; m->n++; return 1; }
        if (p->key == k) { p->rank = rank; p->id = id; return 1; } /* a later duplicate wins, as in tokenizers */
    }
}

/* ------------------------------------------------------------ JSON helpers */

static json_object *field(json_object *o, const char *key) {
    json_object *v = NULL;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v)) return NULL;
    if (json_object_is_type(v, json_type_null)) return NULL;
    return v;
}

static const char *str_field(json_object *o, const char *key) {
    json_object *v = field(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* 1 if the boolean field is true; absent/null counts as false. Wrong type -> -1. */
static int bool_field(json_object *o, const char *key) {
    json_object *v = field(o, key);
    if (!v) return 0;
    if (!json_object_is_type(v, json_type_boolean)) return -1;
    return json_object_get_boolean(v);
}

/* ------------------------------------------------------------ sections */

static dots_status load_normalizer(dots_tokenizer *t, json_object *n, const char *where, dots_error *e) {
    if (!n) return DOTS_OK;
    const char *type = str_field(n, "type");
    if (!type) return dots_fail(e, DOTS_E_FORMAT, "%s: %s has no \"type\"", t->path, where);
    if (!strcmp(type, "NFC")) { t->nfc = 1; return DOTS_OK; }
    if (!strcmp(type, "Sequence")) {
        json_object *arr = field(n, "normalizers");
        if (!arr || !json_object_is_type(arr, json_type_array))
            return dots_fail(e, DOTS_E_FORMAT, "%s: %s.normalizers must be an array", t->path, where);
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            char w[128];
            snprintf(w, sizeof w, "%s.normalizers[%zu]", where, i);
            dots_status st = load_normalizer(t, json_object_array_get_idx(arr, i), w, e);
            if (st) return st;
        }
        return DOTS_OK;
    }
    return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: %s.type \"%s\" is not supported (only NFC)", t->path, where, type);
}

/* Appends the ranges of a class body as PCRE2 syntax. */
static void append_ranges(dots_buf *b, const uint32_t (*r)[2], size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (r[i][0] == r[i][1]) dots_buf_addf(b, "\\x{%X}", r[i][0]);
        else dots_buf_addf(b, "\\x{%X}-\\x{%X}", r[i][0], r[i][1]);
    }
}

/* Rewrites \p{L}, \p{N} (\pL, \pN) and \s, \S into explicit Unicode 16 ranges (Oniguruma's tables,
 * which tokenizers uses), so the result does not depend on the PCRE2 build's Unicode version. */
static dots_status rewrite_pattern(dots_tokenizer *t, const char *p, char **out, dots_error *e) {
    dots_buf b = {0};
    int in_class = 0;
    for (size_t i = 0; p[i];) {
        if (p[i] == '\\' && p[i + 1]) {
            char c = p[i + 1];
            const uint32_t (*r)[2] = NULL;
            size_t cnt = 0, skip = 2;
            int neg = 0;
            if (c == 's' || c == 'S') { r = k_uni_space; cnt = sizeof k_uni_space / sizeof *k_uni_space; neg = c == 'S'; }
            else if ((c == 'p' || c == 'P') && (p[i + 2] == 'L' || p[i + 2] == 'N')) {
                skip = 3;
                neg = c == 'P';
                r = p[i + 2] == 'L' ? k_uni_letter : k_uni_number;
                cnt = p[i + 2] == 'L' ? sizeof k_uni_letter / sizeof *k_uni_letter : sizeof k_uni_number / sizeof *k_uni_number;
            } else if ((c == 'p' || c == 'P') && p[i + 2] == '{' && (p[i + 3] == 'L' || p[i + 3] == 'N') && p[i + 4] == '}') {
                skip = 5;
                neg = c == 'P';
                r = p[i + 3] == 'L' ? k_uni_letter : k_uni_number;
                cnt = p[i + 3] == 'L' ? sizeof k_uni_letter / sizeof *k_uni_letter : sizeof k_uni_number / sizeof *k_uni_number;
            }
            if (r) {
                if (in_class && neg) {
                    dots_buf_free(&b);
                    return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: pre_tokenizer Split pattern: a negated class (\\%c) inside [...] is not supported", t->path, c);
                }
                if (!in_class) dots_buf_add(&b, neg ? "[^" : "[");
                append_ranges(&b, r, cnt);
                if (!in_class) dots_buf_add(&b, "]");
            } else dots_buf_addn(&b, p + i, 2);
            i += skip;
            continue;
        }
        if (!in_class && p[i] == '[') {
            in_class = 1;
            dots_buf_addn(&b, p + i, 1);
            i++;
            if (p[i] == '^') dots_buf_addn(&b, p + i++, 1);
            if (p[i] == ']') dots_buf_addn(&b, p + i++, 1); /* literal ] */
            continue;
        }
        if (in_class && p[i] == '[') {
            dots_buf_free(&b);
            return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: pre_tokenizer Split pattern: nested character classes are not supported", t->path);
        }
        if (in_class && p[i] == ']') in_class = 0;
        dots_buf_addn(&b, p + i, 1);
        i++;
    }
    *out = dots_buf_take(&b);
    if (!*out) return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory compiling the split pattern", t->path);
    return DOTS_OK;
}

static dots_status compile_split(dots_tokenizer *t, const char *pattern, size_t plen, int literal, dots_error *e) {
    char *rewritten = NULL;
    if (!literal) {
        dots_status st = rewrite_pattern(t, pattern, &rewritten, e);
        if (st) return st;
    }
    int err;
    PCRE2_SIZE eoff;
    t->re = pcre2_compile((PCRE2_SPTR)(literal ? pattern : rewritten), literal ? plen : PCRE2_ZERO_TERMINATED,
                          PCRE2_UTF | PCRE2_UCP | (literal ? PCRE2_LITERAL : 0), &err, &eoff, NULL);
    free(rewritten);
    if (!t->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return dots_fail(e, DOTS_E_FORMAT, "%s: pre_tokenizer Split pattern does not compile: %s (pattern: %.200s)",
                         t->path, (char *)msg, pattern);
    }
    t->jit = pcre2_jit_compile(t->re, PCRE2_JIT_COMPLETE) == 0;
    t->md = pcre2_match_data_create(4, NULL);
    if (!t->md) return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory for regex match data", t->path);
    return DOTS_OK;
}

#define GPT2_PATTERN "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

static dots_status load_pre_tokenizer(dots_tokenizer *t, json_object *pt, dots_error *e) {
    if (!pt) return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: pre_tokenizer is null; a ByteLevel pre-tokenizer is required", t->path);
    json_object *steps[8];
    size_t ns = 0;
    const char *type = str_field(pt, "type");
    if (type && !strcmp(type, "Sequence")) {
        json_object *arr = field(pt, "pretokenizers");
        if (!arr || !json_object_is_type(arr, json_type_array))
            return dots_fail(e, DOTS_E_FORMAT, "%s: pre_tokenizer.pretokenizers must be an array", t->path);
        ns = json_object_array_length(arr);
        if (ns > 8) return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: pre_tokenizer.pretokenizers has %zu steps (at most Split + ByteLevel)", t->path, ns);
        for (size_t i = 0; i < ns; i++) steps[i] = json_object_array_get_idx(arr, i);
    } else {
        steps[0] = pt;
        ns = 1;
    }
    int have_split = 0, have_bl = 0;
    for (size_t i = 0; i < ns; i++) {
        const char *st = str_field(steps[i], "type");
        if (!st) return dots_fail(e, DOTS_E_FORMAT, "%s: pre_tokenizer step %zu has no \"type\"", t->path, i);
        if (have_bl) return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: pre_tokenizer step %zu (%s) after ByteLevel is not supported", t->path, i, st);
        if (!strcmp(st, "Split")) {
            if (have_split) return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: pre_tokenizer: more than one Split is not supported", t->path);
            const char *beh = str_field(steps[i], "behavior");
            if (!beh || strcmp(beh, "Isolated"))
                return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: pre_tokenizer Split.behavior \"%s\" is not supported (only Isolated)", t->path, beh ? beh : "(missing)");
            int inv = bool_field(steps[i], "invert");
            if (inv) return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: pre_tokenizer Split.invert must be false", t->path);
            json_object *pat = field(steps[i], "pattern");
            json_object *v;
            if (pat && (v = field(pat, "Regex")) && json_object_is_type(v, json_type_string)) {
                dots_status s = compile_split(t, json_object_get_string(v), (size_t)json_object_get_string_len(v), 0, e);
                if (s) return s;
            } else if (pat && (v = field(pat, "String")) && json_object_is_type(v, json_type_string)) {
                dots_status s = compile_split(t, json_object_get_string(v), (size_t)json_object_get_string_len(v), 1, e);
                if (s) return s;
            } else return dots_fail(e, DOTS_E_FORMAT, "%s: pre_tokenizer Split.pattern must be {\"Regex\": ...} or {\"String\": ...}", t->path);
            have_split = 1;
        } else if (!strcmp(st, "ByteLevel")) {
            if (bool_field(steps[i], "add_prefix_space"))
                return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: pre_tokenizer ByteLevel.add_prefix_space true is not supported", t->path);
            int ur = bool_field(steps[i], "use_regex");
            if (!field(steps[i], "use_regex")) ur = 1; /* tokenizers' default */
            if (ur) {
                if (have_split) return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: pre_tokenizer: Split followed by ByteLevel.use_regex true is not supported", t->path);
                dots_status s = compile_split(t, GPT2_PATTERN, strlen(GPT2_PATTERN), 0, e);
                if (s) return s;
            }
            have_bl = 1;
        } else return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: pre_tokenizer type \"%s\" is not supported (Split, ByteLevel)", t->path, st);
    }
    if (!have_bl) return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: pre_tokenizer has no ByteLevel step (a byte-level BPE is required)", t->path);
    return DOTS_OK;
}

static dots_status check_decoder(dots_tokenizer *t, json_object *root, dots_error *e) {
    json_object *d = field(root, "decoder");
    const char *type = d ? str_field(d, "type") : NULL;
    if (!type || strcmp(type, "ByteLevel"))
        return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: decoder %s%s%s is not supported (only ByteLevel)", t->path,
                         type ? "\"" : "", type ? type : "(missing)", type ? "\"" : "");
    json_object *pp = field(root, "post_processor");
    type = pp ? str_field(pp, "type") : NULL;
    if (pp && (!type || strcmp(type, "ByteLevel")))
        return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: post_processor \"%s\" is not supported (null or ByteLevel; it would add tokens)",
                         t->path, type ? type : "(no type)");
    if (field(root, "truncation"))
        return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: truncation must be null (the engine never truncates prompts)", t->path);
    return DOTS_OK;
}

/* Bytes a token string decodes to under the ByteLevel decoder: every char mapped back to its
 * byte, or, if any char is outside the alphabet, the string's own UTF-8 bytes. */
static size_t bytelevel_decode(const char *s, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        int b = k > 0 ? bytelevel_byte((unsigned)cp) : -1;
        if (b < 0) { memcpy(out, s, n); return n; }
        out[o++] = (char)b;
        i += (size_t)k;
    }
    return o;
}

static dots_status set_token(dots_tokenizer *t, int id, const char *s, size_t n, dots_error *e) {
    if (t->arena_len + n > UINT32_MAX) return dots_fail(e, DOTS_E_LIMIT, "%s: token strings exceed 4 GiB", t->path);
    t->off[id] = (uint32_t)t->arena_len;
    t->len[id] = (int32_t)bytelevel_decode(s, n, t->arena + t->arena_len);
    t->arena_len += (size_t)t->len[id];
    return DOTS_OK;
}

static dots_status build_trie(dots_tokenizer *t, int normalized, trie_node **out, int *count, dots_error *e) {
    size_t cap = 1;
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].normalized == normalized) cap += t->added[i].len;
    trie_node *tr = malloc(cap * sizeof *tr);
    if (!tr) return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory for the added-token trie", t->path);
    memset(tr[0].next, -1, sizeof tr[0].next);
    tr[0].token = -1;
    int nodes = 1, cnt = 0;
    for (int i = 0; i < t->n_added; i++) {
        const added_token *a = &t->added[i];
        if (a->normalized != normalized) continue;
        int cur = 0;
        for (size_t k = 0; k < a->len; k++) {
            unsigned char c = (unsigned char)a->content[k];
            if (tr[cur].next[c] < 0) {
                memset(tr[nodes].next, -1, sizeof tr[nodes].next);
                tr[nodes].token = -1;
                tr[cur].next[c] = nodes++;
            }
            cur = tr[cur].next[c];
        }
        tr[cur].token = i; /* a later duplicate wins */
        cnt++;
    }
    *out = tr;
    *count = cnt;
    return DOTS_OK;
}

static dots_status load_added(dots_tokenizer *t, json_object *arr, dots_error *e) {
    if (!arr) return DOTS_OK;
    if (!json_object_is_type(arr, json_type_array)) return dots_fail(e, DOTS_E_FORMAT, "%s: added_tokens must be an array", t->path);
    size_t n = json_object_array_length(arr);
    t->added = calloc(n ? n : 1, sizeof *t->added);
    if (!t->added) return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory for added tokens", t->path);
    for (size_t i = 0; i < n; i++) {
        json_object *a = json_object_array_get_idx(arr, i), *idv = field(a, "id"), *cv = field(a, "content");
        if (!idv || !json_object_is_type(idv, json_type_int))
            return dots_fail(e, DOTS_E_FORMAT, "%s: added_tokens[%zu].id is missing or not an integer", t->path, i);
        int64_t id = json_object_get_int64(idv);
        if (id < 0 || id >= MAX_IDS) return dots_fail(e, DOTS_E_FORMAT, "%s: added_tokens[%zu].id %lld is out of range [0, %d)", t->path, i, (long long)id, MAX_IDS);
        if (!cv || !json_object_is_type(cv, json_type_string) || json_object_get_string_len(cv) == 0)
            return dots_fail(e, DOTS_E_FORMAT, "%s: added_tokens[%zu].content is missing or empty", t->path, i);
        static const char *const flags[] = {"single_word", "lstrip", "rstrip"};
        for (int f = 0; f < 3; f++) {
            int v = bool_field(a, flags[f]);
            if (v < 0) return dots_fail(e, DOTS_E_FORMAT, "%s: added_tokens[%zu].%s must be a boolean", t->path, i, flags[f]);
            if (v) return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: added_tokens[%zu].%s true is not supported", t->path, i, flags[f]);
        }
        int special = bool_field(a, "special"), norm = bool_field(a, "normalized");
        if (special < 0 || norm < 0) return dots_fail(e, DOTS_E_FORMAT, "%s: added_tokens[%zu].special/normalized must be booleans", t->path, i);
        size_t len = (size_t)json_object_get_string_len(cv);
        const char *s = json_object_get_string(cv);
        added_token *at = &t->added[t->n_added++];
        at->id = (int)id;
        at->special = special;
        at->normalized = norm;
        if (norm && t->nfc) { /* matched against normalized text, so normalize the content too */
            utf8proc_uint8_t *d = NULL;
            utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &d, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
            if (r < 0) return dots_fail(e, DOTS_E_FORMAT, "%s: added_tokens[%zu].content is not valid UTF-8", t->path, i);
            at->content = (char *)d;
            at->len = (size_t)r;
        } else {
            at->content = malloc(len + 1);
            if (!at->content) return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory for added tokens", t->path);
            memcpy(at->content, s, len + 1);
            at->len = len;
        }
    }
    dots_status st = build_trie(t, 0, &t->trie_raw, &t->n_raw, e);
    if (!st) st = build_trie(t, 1, &t->trie_norm, &t->n_norm, e);
    return st;
}

static dots_status load_model(dots_tokenizer *t, json_object *m, dots_error *e) {
    if (!m) return dots_fail(e, DOTS_E_FORMAT, "%s: \"model\" is missing", t->path);
    const char *type = str_field(m, "type");
    if (type && strcmp(type, "BPE")) return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: model.type \"%s\" is not supported (only BPE)", t->path, type);
    if (field(m, "dropout")) {
        json_object *d = field(m, "dropout");
        if (json_object_get_double(d) != 0.0 && json_object_get_double(d) != 1.0)
            return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: model.dropout must be null (BPE dropout is random)", t->path);
    }
    if (field(m, "unk_token")) return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: model.unk_token must be null (byte-level BPE has no unknown)", t->path);
    const char *cs = str_field(m, "continuing_subword_prefix"), *ew = str_field(m, "end_of_word_suffix");
    if (cs && *cs) return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: model.continuing_subword_prefix \"%s\" is not supported", t->path, cs);
    if (ew && *ew) return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: model.end_of_word_suffix \"%s\" is not supported", t->path, ew);
    if (bool_field(m, "byte_fallback")) return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: model.byte_fallback true is not supported", t->path);
    t->ignore_merges = bool_field(m, "ignore_merges");
    if (t->ignore_merges < 0) return dots_fail(e, DOTS_E_FORMAT, "%s: model.ignore_merges must be a boolean", t->path);

    json_object *vocab = field(m, "vocab");
    if (!vocab || !json_object_is_type(vocab, json_type_object))
        return dots_fail(e, DOTS_E_FORMAT, "%s: model.vocab is missing or not an object", t->path);
    size_t keys_total = 0;
    int max_id = -1;
    json_object_object_foreach(vocab, key, val) {
        if (!json_object_is_type(val, json_type_int))
            return dots_fail(e, DOTS_E_FORMAT, "%s: model.vocab[\"%.80s\"] is not an integer", t->path, key);
        int64_t id = json_object_get_int64(val);
        if (id < 0 || id >= MAX_IDS)
            return dots_fail(e, DOTS_E_FORMAT, "%s: model.vocab[\"%.80s\"] = %lld is out of range [0, %d)", t->path, key, (long long)id, MAX_IDS);
        if (id > max_id) max_id = (int)id;
        keys_total += strlen(key) + 1;
    }
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].id > max_id) max_id = t->added[i].id;
    t->n_ids = max_id + 1;
    size_t added_total = 0;
    for (int i = 0; i < t->n_added; i++) added_total += t->added[i].len;
    t->vocab_keys = malloc(keys_total + 1);
    t->off = calloc((size_t)t->n_ids + 1, sizeof *t->off);
    t->len = malloc(((size_t)t->n_ids + 1) * sizeof *t->len);
    t->special = calloc((size_t)t->n_ids + 1, 1);
    t->arena = malloc(keys_total + added_total + 1);
    if (!t->vocab_keys || !t->off || !t->len || !t->special || !t->arena)
        return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory for the vocabulary", t->path);
    for (int i = 0; i <= t->n_ids; i++) t->len[i] = -1;
    size_t kp = 0;
    json_object_object_foreach(vocab, key2, val2) {
        size_t kl = strlen(key2);
        int id = (int)json_object_get_int64(val2);
        memcpy(t->vocab_keys + kp, key2, kl + 1);
        if (!strmap_put(&t->vocab, t->vocab_keys + kp, kl, id)) return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory for the vocabulary", t->path);
        if (t->len[id] >= 0) return dots_fail(e, DOTS_E_FORMAT, "%s: model.vocab: id %d is given to two tokens (\"%.80s\" is one)", t->path, id, key2);
        dots_status st = set_token(t, id, key2, kl, e);
        if (st) return st;
        kp += kl + 1;
    }
    /* Added tokens override the model's string for their id (tokenizers looks them up first). */
    for (int i = 0; i < t->n_added; i++) {
        dots_status st = set_token(t, t->added[i].id, t->added[i].content, t->added[i].len, e);
        if (st) return st;
    }
    /* Special: an id whose token string is the content of a special added token. */
    for (int i = 0; i < t->n_added; i++) {
        if (!t->added[i].special) continue;
        t->special[t->added[i].id] = 1;
        int vid = strmap_get(&t->vocab, t->added[i].content, t->added[i].len);
        if (vid >= 0) {
            int shadowed = 0;
            for (int k = 0; k < t->n_added; k++) shadowed |= t->added[k].id == vid;
            if (!shadowed) t->special[vid] = 1;
        }
    }
    for (int b = 0; b < 256; b++) {
        unsigned char u[4];
        utf8proc_ssize_t k = utf8proc_encode_char((utf8proc_int32_t)bytelevel_char((unsigned char)b), u);
        t->byte_id[b] = strmap_get(&t->vocab, (const char *)u, (size_t)k);
    }

    json_object *merges = field(m, "merges");
    if (merges && !json_object_is_type(merges, json_type_array))
        return dots_fail(e, DOTS_E_FORMAT, "%s: model.merges must be an array", t->path);
    size_t nm = merges ? json_object_array_length(merges) : 0;
    uint64_t cap = 16;
    while (cap < (uint64_t)nm * 2) cap *= 2;
    t->merges.slots = malloc(cap * sizeof *t->merges.slots);
    if (!t->merges.slots) return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory for merges", t->path);
    t->merges.cap = cap;
    for (uint64_t i = 0; i < cap; i++) t->merges.slots[i].rank = -1;
    char *joined = NULL;
    size_t jcap = 0;
    for (size_t r = 0; r < nm; r++) {
        json_object *mv = json_object_array_get_idx(merges, r);
        const char *a, *b;
        size_t al, bl;
        if (json_object_is_type(mv, json_type_string)) {
            a = json_object_get_string(mv);
            const char *sp = strchr(a, ' ');
            if (!sp || strchr(sp + 1, ' ') || sp == a || !sp[1]) {
                free(joined);
                return dots_fail(e, DOTS_E_FORMAT, "%s: model.merges[%zu] \"%.80s\" is not two tokens separated by one space", t->path, r, a);
            }
            al = (size_t)(sp - a);
            b = sp + 1;
            bl = strlen(b);
        } else if (json_object_is_type(mv, json_type_array) && json_object_array_length(mv) == 2 &&
                   json_object_is_type(json_object_array_get_idx(mv, 0), json_type_string) &&
                   json_object_is_type(json_object_array_get_idx(mv, 1), json_type_string)) {
            a = json_object_get_string(json_object_array_get_idx(mv, 0));
            al = (size_t)json_object_get_string_len(json_object_array_get_idx(mv, 0));
            b = json_object_get_string(json_object_array_get_idx(mv, 1));
            bl = (size_t)json_object_get_string_len(json_object_array_get_idx(mv, 1));
        } else {
            free(joined);
            return dots_fail(e, DOTS_E_FORMAT, "%s: model.merges[%zu] must be \"a b\" or [\"a\", \"b\"]", t->path, r);
        }
        int ia = strmap_get(&t->vocab, a, al), ib = strmap_get(&t->vocab, b, bl);
        if (ia < 0 || ib < 0) {
            free(joined);
            return dots_fail(e, DOTS_E_FORMAT, "%s: model.merges[%zu]: token \"%.*s\" is not in model.vocab", t->path, r,
                             (int)(ia < 0 ? (al > 80 ? 80 : al) : (bl > 80 ? 80 : bl)), ia < 0 ? a : b);
        }
        if (al + bl > jcap) {
            jcap = (al + bl) * 2 + 64;
            char *nj = realloc(joined, jcap);
            if (!nj) { free(joined); return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory for merges", t->path); }
            joined = nj;
        }
        memcpy(joined, a, al);
        memcpy(joined + al, b, bl);
        int nid = strmap_get(&t->vocab, joined, al + bl);
        if (nid < 0) {
            int show = (int)(al + bl > 80 ? 80 : al + bl);
            dots_status st = dots_fail(e, DOTS_E_FORMAT, "%s: model.merges[%zu]: the merged token \"%.*s\" is not in model.vocab", t->path, r, show, joined);
            free(joined);
            return st;
        }
        pairmap_put(&t->merges, ia, ib, (int)r, nid);
    }
    free(joined);
    return DOTS_OK;
}

dots_status tok_load_json(dots_tokenizer *t, const char *path, const char *json, size_t len, dots_error *e) {
    snprintf(t->path, sizeof t->path, "%s", path);
    for (int b = 0; b < 256; b++) t->byte_id[b] = -1;
    json_object *root = NULL;
    dots_status st = dots_json_parse(json, len, path, 0, 0, &root, e);
    if (st) return st;
    if (!json_object_is_type(root, json_type_object)) st = dots_fail(e, DOTS_E_FORMAT, "%s: the top level is not a JSON object", path);
    if (!st) st = load_normalizer(t, field(root, "normalizer"), "normalizer", e);
    if (!st) st = load_pre_tokenizer(t, field(root, "pre_tokenizer"), e);
    if (!st) st = check_decoder(t, root, e);
    if (!st) st = load_added(t, field(root, "added_tokens"), e);
    if (!st) st = load_model(t, field(root, "model"), e);
    json_object_put(root);
    return st;
}

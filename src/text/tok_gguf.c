/* GGUF tokenizer metadata -> the tokenizer.json document tok_load_mem reads
 * (one loader and one set of checks for both sources). */
#include "text/tok_gguf.h"
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER = 4, TT_UNUSED = 5, TT_BYTE = 6 };

/* Qwen2's split pattern (its tokenizer.json pre_tokenizer), which tokenizer.ggml.pre "qwen2" names. */
static const char QWEN2_SPLIT[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                                  "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static const gguf_kv *str_array(const gguf_file *f, const char *key, int required, dots_error *e, dots_status *st) {
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv && !required) return NULL;
    if (!kv || kv->type != GGUF_ARRAY || kv->elem_type != GGUF_STRING) {
        *st = dots_fail(e, DOTS_E_MODEL, "%s: %s %s", f->path, key, kv ? "is not an array of strings" : "is missing: the GGUF has no tokenizer");
        return NULL;
    }
    return kv;
}

static dots_status want_str(const gguf_file *f, const char *key, const char *want, dots_error *e) {
    const char *s;
    uint64_t l;
    dots_status st = gguf_get_str(f, key, &s, &l, e);
    if (st) return st;
    if (l != strlen(want) || memcmp(s, want, l))
        return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: %s is \"%.*s\"; only \"%s\" (dots.ocr's Qwen2 tokenizer) is supported",
                         f->path, key, (int)(l > 64 ? 64 : l), s, want);
    return DOTS_OK;
}

static json_object *pre_tokenizer(void) {
    json_object *seq = json_object_new_object(), *list = json_object_new_array(), *split = json_object_new_object(),
                *pat = json_object_new_object(), *bl = json_object_new_object();
    json_object_object_add(pat, "Regex", json_object_new_string(QWEN2_SPLIT));
    json_object_object_add(split, "type", json_object_new_string("Split"));
    json_object_object_add(split, "pattern", pat);
    json_object_object_add(split, "behavior", json_object_new_string("Isolated"));
    json_object_object_add(split, "invert", json_object_new_boolean(0));
    json_object_object_add(bl, "type", json_object_new_string("ByteLevel"));
    json_object_object_add(bl, "add_prefix_space", json_object_new_boolean(0));
    json_object_object_add(bl, "trim_offsets", json_object_new_boolean(0));
    json_object_object_add(bl, "use_regex", json_object_new_boolean(0));
    json_object_array_add(list, split);
    json_object_array_add(list, bl);
    json_object_object_add(seq, "type", json_object_new_string("Sequence"));
    json_object_object_add(seq, "pretokenizers", list);
    return seq;
}

static json_object *added_token(int64_t id, const char *s, uint64_t l, int special) {
    json_object *a = json_object_new_object();
    json_object_object_add(a, "id", json_object_new_int64(id));
    json_object_object_add(a, "content", json_object_new_string_len(s, (int)l));
    json_object_object_add(a, "single_word", json_object_new_boolean(0));
    json_object_object_add(a, "lstrip", json_object_new_boolean(0));
    json_object_object_add(a, "rstrip", json_object_new_boolean(0));
    json_object_object_add(a, "normalized", json_object_new_boolean(0));
    json_object_object_add(a, "special", json_object_new_boolean(special));
    return a;
}

/* model.vocab and added_tokens from tokens + token_type. */
static dots_status vocab(const gguf_file *f, const gguf_kv *toks, json_object *model, json_object *added, dots_error *e) {
    const gguf_kv *types = gguf_find_kv(f, "tokenizer.ggml.token_type");
    if (types && (types->type != GGUF_ARRAY || types->n != toks->n || types->elem_type == GGUF_STRING ||
                  types->elem_type == GGUF_F32 || types->elem_type == GGUF_F64))
        return dots_fail(e, DOTS_E_MODEL, "%s: tokenizer.ggml.token_type (byte %llu) must be an integer array as long as "
                         "tokenizer.ggml.tokens (%llu)", f->path, (unsigned long long)types->offset, (unsigned long long)toks->n);
    json_object *v = json_object_new_object();
    json_object_object_add(model, "vocab", v);
    char *key = NULL;
    size_t kcap = 0;
    for (uint64_t i = 0; i < toks->n; i++) {
        uint64_t l;
        const char *s = gguf_arr_str(toks, i, &l);
        int64_t tt = types ? gguf_arr_int(types, i) : TT_NORMAL;
        if (tt == TT_UNUSED) continue;
        if (tt == TT_CONTROL || tt == TT_USER) {
            json_object_array_add(added, added_token((int64_t)i, s, l, tt == TT_CONTROL));
            continue;
        }
        if (l + 1 > kcap) {
            kcap = 2 * l + 64;
            char *nk = realloc(key, kcap);
            if (!nk) { free(key); return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory for the vocabulary", f->path); }
            key = nk;
        }
        if (memchr(s, 0, l)) continue; /* not a byte-level token; no text can produce it */
        memcpy(key, s, l);
        key[l] = 0;
        json_object_object_add(v, key, json_object_new_int64((int64_t)i));
    }
    free(key);
    return DOTS_OK;
}

static json_object *document(const gguf_file *f, const gguf_kv *toks, const gguf_kv *merges, dots_error *e,
                             dots_status *st) {
    json_object *root = json_object_new_object(), *model = json_object_new_object(), *added = json_object_new_array(),
                *norm = json_object_new_object(), *dec = json_object_new_object(), *mg = json_object_new_array();
    json_object_object_add(norm, "type", json_object_new_string("NFC"));
    json_object_object_add(dec, "type", json_object_new_string("ByteLevel"));
    json_object_object_add(dec, "add_prefix_space", json_object_new_boolean(0));
    json_object_object_add(dec, "trim_offsets", json_object_new_boolean(0));
    json_object_object_add(dec, "use_regex", json_object_new_boolean(0));
    json_object_object_add(root, "added_tokens", added);
    json_object_object_add(root, "normalizer", norm);
    json_object_object_add(root, "pre_tokenizer", pre_tokenizer());
    json_object_object_add(root, "decoder", dec);
    json_object_object_add(root, "model", model);
    json_object_object_add(model, "type", json_object_new_string("BPE"));
    json_object_object_add(model, "ignore_merges", json_object_new_boolean(0));
    json_object_object_add(model, "merges", mg);
    for (uint64_t i = 0; merges && i < merges->n; i++) {
        uint64_t l;
        const char *s = gguf_arr_str(merges, i, &l);
        json_object_array_add(mg, json_object_new_string_len(s, (int)l));
    }
    *st = vocab(f, toks, model, added, e);
    return root;
}

dots_status tok_load_gguf(const gguf_file *f, dots_tokenizer **out, dots_error *e) {
    *out = NULL;
    dots_status st = want_str(f, "tokenizer.ggml.model", "gpt2", e);
    if (!st) st = want_str(f, "tokenizer.ggml.pre", "qwen2", e);
    if (st) return st;
    const gguf_kv *toks = str_array(f, "tokenizer.ggml.tokens", 1, e, &st);
    const gguf_kv *merges = toks ? str_array(f, "tokenizer.ggml.merges", 0, e, &st) : NULL;
    if (st) return st;
    if (toks->n > (1u << 24))
        return dots_fail(e, DOTS_E_MODEL, "%s: tokenizer.ggml.tokens has %llu entries, absurd", f->path, (unsigned long long)toks->n);
    json_object *doc = document(f, toks, merges, e, &st);
    if (!st) {
        size_t len;
        const char *text = json_object_to_json_string_length(doc, JSON_C_TO_STRING_PLAIN, &len);
        st = text ? tok_load_mem(f->path, text, len, out, e) : dots_fail(e, DOTS_E_NOMEM, "%s: out of memory", f->path);
    }
    json_object_put(doc);
    return st;
}

dots_status tok_load_file(const char *path, dots_tokenizer **out, dots_error *e) {
    if (!gguf_is_gguf_file(path)) return tok_load(path, out, e);
    gguf_file *f = NULL;
    dots_status st = gguf_open(path, &f, e);
    if (!st) st = tok_load_gguf(f, out, e); /* the tokenizer keeps copies: the file can go */
    gguf_close(f);
    return st;
}

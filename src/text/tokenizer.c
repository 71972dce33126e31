/* Encode (added tokens, NFC, split regex, byte-level BPE) and decode (ByteLevel decoder, lossy
 * UTF-8), and the streaming decoder. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "base/fileio.h"
#include "text/tok_internal.h"
#include "text/utf8.h"

#define TOKENIZER_MAX_BYTES ((size_t)1 << 30)

dots_status tok_load(const char *path, dots_tokenizer **out, dots_error *e) {
    *out = NULL;
    char *json = NULL;
    size_t len = 0;
    dots_status st = read_file(path, TOKENIZER_MAX_BYTES, &json, &len, e);
    if (st) return st;
    st = tok_load_mem(path, json, len, out, e);
    free(json);
    return st;
}

dots_status tok_load_mem(const char *label, const char *json, size_t len, dots_tokenizer **out, dots_error *e) {
    *out = NULL;
    dots_tokenizer *t = tok_new(label, e);
    if (!t) return DOTS_E_NOMEM;
    dots_status st = tok_load_json(t, label, json, len, e);
    if (st) { tok_free(t); return st; }
    *out = t;
    return DOTS_OK;
}

dots_tokenizer *tok_new(const char *label, dots_error *e) {
    dots_tokenizer *t = calloc(1, sizeof *t);
    if (!t) { dots_fail(e, DOTS_E_NOMEM, "%s: out of memory", label); return NULL; }
    if (pthread_mutex_init(&t->encode_lock, NULL) != 0) {
        free(t);
        dots_fail(e, DOTS_E_NOMEM, "%s: cannot create the tokenizer's lock", label);
        return NULL;
    }
    return t;
}

void tok_free(dots_tokenizer *t) {
    if (!t) return;
    pthread_mutex_destroy(&t->encode_lock);
    free(t->off); free(t->len); free(t->arena); free(t->special);
    strmap_free(&t->vocab);
    free(t->vocab_keys);
    free(t->merges.slots);
    for (int i = 0; i < t->n_added; i++) free(t->added[i].content);
    free(t->added);
    free(t->trie_raw); free(t->trie_norm);
    if (t->md) pcre2_match_data_free(t->md);
    if (t->re) pcre2_code_free(t->re);
    bpe_cache_free(&t->cache);
    free(t->sym); free(t->rk); free(t->nid); free(t->prv); free(t->nxt); free(t->heap);
    free(t);
}

int tok_token_id(const dots_tokenizer *t, const char *content) {
    size_t n = strlen(content);
    for (int i = t->n_added - 1; i >= 0; i--)
        if (t->added[i].len == n && memcmp(t->added[i].content, content, n) == 0) return t->added[i].id;
    return -1;
}

int tok_is_special(const dots_tokenizer *t, int id) { return id >= 0 && id < t->n_ids && t->special[id]; }
int tok_vocab_size(const dots_tokenizer *t) { return t->n_ids; }

/* Leftmost-longest match of a trie in s[from..n): start and token index, or -1. */
static int trie_find(const trie_node *tr, int count, const unsigned char *s, size_t n, size_t from, size_t *start, size_t *mlen) {
    if (!count) return -1;
    for (size_t i = from; i < n; i++) {
        if (tr[0].next[s[i]] < 0) continue;
        int cur = 0, best = -1;
        size_t blen = 0;
        for (size_t k = i; k < n; k++) {
            cur = tr[cur].next[s[k]];
            if (cur < 0) break;
            if (tr[cur].token >= 0) { best = tr[cur].token; blen = k - i + 1; }
        }
        if (best >= 0) { *start = i; *mlen = blen; return best; }
    }
    return -1;
}

/* Split regex + BPE of one normalized piece with no added tokens in it. */
static dots_status encode_words(dots_tokenizer *t, const unsigned char *s, size_t n, int **ids, size_t *nids, size_t *cap, dots_error *e) {
    if (!n) return DOTS_OK;
    if (!t->re) return bpe_word(t, s, n, ids, nids, cap, e);
    size_t pos = 0, prev = 0;
    while (pos <= n) {
        int rc = t->jit ? pcre2_jit_match(t->re, s, n, pos, PCRE2_NO_UTF_CHECK, t->md, NULL)
                        : pcre2_match(t->re, s, n, pos, PCRE2_NO_UTF_CHECK, t->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return dots_fail(e, DOTS_E_INTERNAL, "%s: split regex failed at byte %zu: %s", t->path, pos, (char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(t->md);
        size_t ms = ov[0], me = ov[1];
        if (me == ms) { /* empty match: step over one character */
            if (ms >= n) break;
            pos = ms + 1;
            while (pos < n && (s[pos] & 0xC0) == 0x80) pos++;
            continue;
        }
        dots_status st;
        if (ms > prev && (st = bpe_word(t, s + prev, ms - prev, ids, nids, cap, e))) return st; /* the gap is a piece too */
        if ((st = bpe_word(t, s + ms, me - ms, ids, nids, cap, e))) return st;
        prev = pos = me;
    }
    if (prev < n) return bpe_word(t, s + prev, n - prev, ids, nids, cap, e);
    return DOTS_OK;
}

/* Combining marks (non-zero canonical combining class in Unicode 15) that the NFC of `tokenizers`
 * treats as starters (class 0): its normalization tables predate them. Found by probing tokenizers'
 * NFC on every code point against utf8proc's (tests/py/test_tokenizer_parity.py re-checks it). NFC
 * is applied to the text between them, so they block reordering as they do in tokenizers. */
static const uint32_t k_hf_starters[] = {
0x7FD, 0x898, 0x899, 0x89A, 0x89B, 0x89C, 0x89D, 0x89E, 0x89F, 0x8CA, 0x8CB, 0x8CC,
0x8CD, 0x8CE, 0x8CF, 0x8D0, 0x8D1, 0x8D2, 0x8D3, 0x9FE, 0xC3C, 0xD3B, 0xD3C, 0xEBA,
0x1715, 0x1ABF, 0x1AC0, 0x1AC1, 0x1AC2, 0x1AC3, 0x1AC4, 0x1AC5, 0x1AC6, 0x1AC7, 0x1AC8, 0x1AC9,
0x1ACA, 0x1ACB, 0x1ACC, 0x1ACD, 0x1ACE, 0x1DF6, 0x1DF7, 0x1DF8, 0x1DF9, 0x1DFA, 0xA82C, 0x10D24,
0x10D25, 0x10D26, 0x10D27, 0x10EAB, 0x10EAC, 0x10EFD, 0x10EFE, 0x10EFF, 0x10F46, 0x10F47, 0x10F48, 0x10F49,
0x10F4A, 0x10F4B, 0x10F4C, 0x10F4D, 0x10F4E, 0x10F4F, 0x10F50, 0x10F82, 0x10F83, 0x10F84, 0x10F85, 0x11070,
0x1133B, 0x1145E, 0x11839, 0x1183A, 0x1193D, 0x1193E, 0x11943, 0x119E0, 0x11A34, 0x11A47, 0x11A99, 0x11D42,
0x11D44, 0x11D45, 0x11D97, 0x11F41, 0x11F42, 0x16FF0, 0x16FF1, 0x1E08F, 0x1E130, 0x1E131, 0x1E132, 0x1E133,
0x1E134, 0x1E135, 0x1E136, 0x1E2AE, 0x1E2EC, 0x1E2ED, 0x1E2EE, 0x1E2EF, 0x1E4EC, 0x1E4ED, 0x1E4EE, 0x1E4EF};

static int hf_starter(uint32_t cp) {
    size_t lo = 0, hi = sizeof k_hf_starters / sizeof *k_hf_starters;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (k_hf_starters[mid] == cp) return 1;
        if (k_hf_starters[mid] < cp) lo = mid + 1; else hi = mid;
    }
    return 0;
}

/* NFC of s[0..n) as tokenizers does it (malloc'd in *out). */
static dots_status nfc_hf(const unsigned char *s, size_t n, unsigned char **out, size_t *out_len, dots_error *e) {
    unsigned char *res = NULL;
    size_t rl = 0, from = 0;
    for (size_t i = 0; i <= n;) {
        utf8proc_int32_t cp = 0;
        utf8proc_ssize_t k = 0;
        if (i < n) k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (i < n && k <= 0) k = 1;
        if (i == n || hf_starter((uint32_t)cp)) {
            utf8proc_uint8_t *d = NULL;
            utf8proc_ssize_t r = from < i ? utf8proc_map(s + from, (utf8proc_ssize_t)(i - from), &d, UTF8PROC_STABLE | UTF8PROC_COMPOSE) : 0;
            if (r < 0) { free(res); return dots_fail(e, r == UTF8PROC_ERROR_NOMEM ? DOTS_E_NOMEM : DOTS_E_INTERNAL, "NFC normalization failed: %s", utf8proc_errmsg(r)); }
            unsigned char *nr = realloc(res, rl + (size_t)r + (size_t)k + 1);
            if (!nr) { free(d); free(res); return dots_fail(e, DOTS_E_NOMEM, "out of memory normalizing text"); }
            res = nr;
            if (r) memcpy(res + rl, d, (size_t)r);
            rl += (size_t)r;
            free(d);
            if (i == n) break;
            memcpy(res + rl, s + i, (size_t)k);
            rl += (size_t)k;
            from = i + (size_t)k;
        }
        i += (size_t)k;
    }
    *out = res;
    *out_len = rl;
    return DOTS_OK;
}

static int all_ascii(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] & 0x80) return 0;
    return 1;
}

/* A piece between non-normalized added tokens: normalize, then split on normalized added tokens. */
static dots_status encode_piece(dots_tokenizer *t, const unsigned char *s, size_t n, int **ids, size_t *nids, size_t *cap, dots_error *e) {
    if (!n) return DOTS_OK;
    unsigned char *norm = NULL;
    dots_status st = DOTS_OK;
    if (t->nfc && !all_ascii(s, n)) {
        if ((st = nfc_hf(s, n, &norm, &n, e))) return st;
        s = norm;
    }
    size_t from = 0, ms, ml;
    int k;
    while (!st && (k = trie_find(t->trie_norm, t->n_norm, s, n, from, &ms, &ml)) >= 0) {
        st = encode_words(t, s + from, ms - from, ids, nids, cap, e);
        if (!st) st = ids_push(ids, nids, cap, t->added[k].id, e);
        from = ms + ml;
    }
    if (!st) st = encode_words(t, s + from, n - from, ids, nids, cap, e);
    free(norm);
    return st;
}

static dots_status encode_locked(dots_tokenizer *t, const char *text, size_t len, int **ids, size_t *n, dots_error *e);

dots_status tok_encode(dots_tokenizer *t, const char *text, size_t len, int **ids, size_t *n, dots_error *e) {
    pthread_mutex_lock(&t->encode_lock);
    dots_status st = encode_locked(t, text, len, ids, n, e);
    pthread_mutex_unlock(&t->encode_lock);
    return st;
}

static dots_status encode_locked(dots_tokenizer *t, const char *text, size_t len, int **ids, size_t *n, dots_error *e) {
    *ids = NULL;
    *n = 0;
    const unsigned char *s = (const unsigned char *)text;
    size_t bad = utf8_first_invalid(s, len);
    if (bad < len)
        return dots_fail(e, DOTS_E_ARG, "text to tokenize is not valid UTF-8 at byte %zu (0x%02X); fix the encoding or use tok_utf8_sanitize",
                         bad, s[bad]);
    size_t cap = 0, from = 0, ms, ml;
    int k;
    dots_status st = DOTS_OK;
    while (!st && (k = trie_find(t->trie_raw, t->n_raw, s, len, from, &ms, &ml)) >= 0) {
        st = encode_piece(t, s + from, ms - from, ids, n, &cap, e);
        if (!st) st = ids_push(ids, n, &cap, t->added[k].id, e);
        from = ms + ml;
    }
    if (!st) st = encode_piece(t, s + from, len - from, ids, n, &cap, e);
    if (!st && !*ids) { /* empty result: still a valid (free-able) pointer */
        *ids = malloc(sizeof(int));
        if (!*ids) st = dots_fail(e, DOTS_E_NOMEM, "out of memory for token ids");
    }
    if (st) { free(*ids); *ids = NULL; *n = 0; }
    return st;
}

dots_status tok_utf8_sanitize(const char *text, size_t len, char **out, size_t *out_len, dots_error *e) {
    *out = malloc(len * 3 + 1);
    if (!*out) return dots_fail(e, DOTS_E_NOMEM, "out of memory sanitizing %zu bytes of text", len);
    *out_len = utf8_lossy((const unsigned char *)text, len, *out, 0, NULL);
    (*out)[*out_len] = 0;
    return DOTS_OK;
}

/* Bytes of id (NULL when skipped); an id outside [0, n_ids) or without a token is skipped, as
 * tokenizers does; a negative id is an error. */
static dots_status id_bytes(const dots_tokenizer *t, int id, int skip_special, const char **p, size_t *len, dots_error *e) {
    *p = NULL;
    *len = 0;
    if (id < 0) return dots_fail(e, DOTS_E_ARG, "token id %d is negative", id);
    if (id >= t->n_ids || t->len[id] < 0) return DOTS_OK;
    if (skip_special && t->special[id]) return DOTS_OK;
    *p = t->arena + t->off[id];
    *len = (size_t)t->len[id];
    return DOTS_OK;
}

dots_status tok_decode(const dots_tokenizer *t, const int *ids, size_t n, int skip_special, char **out, dots_error *e) {
    size_t len;
    return tok_decode_len(t, ids, n, skip_special, out, &len, e);
}

dots_status tok_decode_len(const dots_tokenizer *t, const int *ids, size_t n, int skip_special, char **out, size_t *out_len,
                           dots_error *e) {
    *out = NULL;
    *out_len = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p;
        size_t l;
        dots_status st = id_bytes(t, ids[i], skip_special, &p, &l, e);
        if (st) return dots_context(e, "decoding id #%zu", i);
        total += l;
    }
    unsigned char *raw = malloc(total + 1);
    char *res = malloc(total * 3 + 1);
    if (!raw || !res) { free(raw); free(res); return dots_fail(e, DOTS_E_NOMEM, "out of memory decoding %zu ids", n); }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p;
        size_t l;
        id_bytes(t, ids[i], skip_special, &p, &l, e);
        if (l) memcpy(raw + k, p, l);
        k += l;
    }
    size_t o = utf8_lossy(raw, k, res, 0, NULL);
    res[o] = 0;
    free(raw);
    *out = res;
    *out_len = o;
    return DOTS_OK;
}

/* ------------------------------------------------------------ streaming */

struct tok_stream {
    const dots_tokenizer *t;
    int skip_special;
    unsigned char pend[8]; /* an incomplete UTF-8 sequence held back (at most 3 bytes) */
    size_t npend;
};

tok_stream *tok_stream_new(const dots_tokenizer *t, int skip_special) {
    tok_stream *s = calloc(1, sizeof *s);
    if (s) { s->t = t; s->skip_special = skip_special; }
    return s;
}

void tok_stream_free(tok_stream *s) { free(s); }

static dots_status stream_emit(tok_stream *s, const char *p, size_t l, int final, char **out, size_t *len, dots_error *e) {
    *out = NULL;
    *len = 0;
    size_t n = s->npend + l;
    unsigned char *buf = malloc(n + 1);
    char *res = malloc(n * 3 + 1);
    if (!buf || !res) { free(buf); free(res); return dots_fail(e, DOTS_E_NOMEM, "out of memory in the stream decoder"); }
    memcpy(buf, s->pend, s->npend);
    if (l) memcpy(buf + s->npend, p, l);
    size_t used;
    size_t o = utf8_lossy(buf, n, res, !final, &used);
    s->npend = n - used; /* < 4: a valid-but-incomplete prefix */
    memcpy(s->pend, buf + used, s->npend);
    res[o] = 0;
    free(buf);
    *out = res;
    *len = o;
    return DOTS_OK;
}

dots_status tok_stream_push(tok_stream *s, int id, char **out, size_t *len, dots_error *e) {
    const char *p;
    size_t l;
    *out = NULL;
    *len = 0;
    dots_status st = id_bytes(s->t, id, s->skip_special, &p, &l, e);
    if (st) return st;
    return stream_emit(s, p, l, 0, out, len, e);
}

dots_status tok_stream_finish(tok_stream *s, char **out, size_t *len, dots_error *e) {
    return stream_emit(s, NULL, 0, 1, out, len, e);
}

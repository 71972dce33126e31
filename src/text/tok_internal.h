/* Internals of the tokenizer shared by its files (load, pre-tokenize, BPE, encode/decode). */
#ifndef DOTS_TOK_INTERNAL_H
#define DOTS_TOK_INTERNAL_H
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include "text/tokenizer.h"

/* Open-addressing map from byte strings to an int (keys live in the caller's storage or an arena). */
typedef struct {
    uint32_t *slots;   /* entry index + 1, 0 = empty */
    uint32_t cap;      /* power of two */
    uint32_t n;
    struct strmap_ent { const char *key; uint32_t len; uint32_t hash; int value; } *ents;
    uint32_t ents_cap;
} strmap;

uint32_t tok_hash(const void *p, size_t n);
int strmap_get(const strmap *m, const char *key, size_t len);      /* -1 if absent */
int strmap_put(strmap *m, const char *key, size_t len, int value);  /* 0 on NOMEM; overwrites */
void strmap_free(strmap *m);

/* Merge table: (left id, right id) -> rank and the merged id. */
typedef struct { uint64_t key; int rank, id; } pair_ent;
typedef struct { pair_ent *slots; uint64_t cap; uint64_t n; } pairmap;

typedef struct {
    char *content;
    size_t len;
    int id, special, normalized;
} added_token;

/* Byte trie over added-token contents for leftmost-longest matching. */
typedef struct { int next[256]; int token; } trie_node; /* token: index into added[] or -1 */

/* Cache of BPE results per pre-token (bytes -> ids), cleared when full. */
typedef struct {
    strmap map;        /* value: offset into ids */
    char *keys; size_t keys_len, keys_cap;
    int *ids; size_t ids_len, ids_cap;
} bpe_cache;

struct dots_tokenizer {
    char path[512];
    int n_ids;                   /* largest id + 1 */
    /* per id: decoded bytes (ByteLevel decoder rule) at arena+off[id], len[id]; len -1 = no token */
    uint32_t *off; int32_t *len;
    char *arena; size_t arena_len;
    unsigned char *special;      /* per id: 1 if its content is a special added token */
    strmap vocab;                /* model vocab: JSON (byte-level alphabet) string -> id */
    char *vocab_keys;            /* storage of the vocab keys */
    pairmap merges;
    int byte_id[256];            /* id of each single byte, -1 if the vocab lacks it */
    int ignore_merges;
    added_token *added; int n_added;
    trie_node *trie_raw, *trie_norm; int n_raw, n_norm; /* non-normalized / normalized tokens */
    int nfc;
    pcre2_code *re;              /* split regex (NULL: no split) */
    pcre2_match_data *md;
    int jit;
    /* Encoding fills the match data, the cache and the scratch below: one tok_encode at a time
     * (decode and the streams only read the tables). */
    pthread_mutex_t encode_lock;
    bpe_cache cache;
    /* scratch for BPE */
    int *sym, *rk, *nid, *prv, *nxt; size_t scratch_cap;
    uint64_t *heap; size_t heap_cap;
};

/* An empty tokenizer with its lock set up (tokenizer.c): every loader starts from this. */
dots_tokenizer *tok_new(const char *label, dots_error *e);

/* Loading (tok_load.c). */
dots_status tok_load_json(dots_tokenizer *t, const char *path, const char *json, size_t len, dots_error *e);

/* BPE of one pre-token of raw bytes, appending ids to *out (bpe.c). Uses the cache. */
dots_status bpe_word(dots_tokenizer *t, const unsigned char *w, size_t n, int **out, size_t *nout, size_t *cap,
                     dots_error *e);
/* The merge loop without the cache; heap_min: words at least this long use the heap version. */
dots_status bpe_merge(dots_tokenizer *t, const unsigned char *w, size_t n, size_t heap_min, int **out, size_t *nout,
                      size_t *cap, dots_error *e);
int pairmap_get(const pairmap *m, int a, int b, int *new_id);  /* rank or -1 */
void bpe_cache_free(bpe_cache *c);

/* Byte-level alphabet (bytelevel.c): byte -> code point, and back (-1 if not in the alphabet). */
unsigned bytelevel_char(unsigned char b);
int bytelevel_byte(unsigned cp);

/* Growable id vector append. */
dots_status ids_push(int **v, size_t *n, size_t *cap, int id, dots_error *e);

#endif

/* Byte-level BPE of one pre-token: start from one symbol per byte and repeatedly apply the merge of
 * lowest rank, leftmost first (what tokenizers' priority queue does). Short words use a plain scan,
 * long ones a heap over a linked list; results are cached per pre-token. */
#include <stdlib.h>
#include <string.h>
#include "text/tok_internal.h"

#define CACHE_MAX_ENTRIES 65536
#define CACHE_MAX_WORD 256
#define HEAP_MIN 48

dots_status ids_push(int **v, size_t *n, size_t *cap, int id, dots_error *e) {
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        int *nv = realloc(*v, nc * sizeof *nv);
        if (!nv) return dots_fail(e, DOTS_E_NOMEM, "out of memory for token ids");
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = id;
    return DOTS_OK;
}

static dots_status scratch(dots_tokenizer *t, size_t n, dots_error *e) {
    if (n <= t->scratch_cap) return DOTS_OK;
    size_t c = n * 2;
    int **arrs[5] = {&t->sym, &t->rk, &t->nid, &t->prv, &t->nxt};
    for (int i = 0; i < 5; i++) {
        int *p = realloc(*arrs[i], c * sizeof(int));
        if (!p) return dots_fail(e, DOTS_E_NOMEM, "out of memory for BPE of a %zu-byte word", n);
        *arrs[i] = p;
    }
    uint64_t *h = realloc(t->heap, c * 2 * sizeof *h);
    if (!h) return dots_fail(e, DOTS_E_NOMEM, "out of memory for BPE of a %zu-byte word", n);
    t->heap = h;
    t->scratch_cap = c;
    t->heap_cap = c * 2;
    return DOTS_OK;
}

/* Heap of (rank << 32 | left position): the min is the lowest rank, then the leftmost. */
static void heap_push(uint64_t *h, size_t *n, uint64_t v) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h[p] <= v) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, size_t *n) {
    uint64_t top = h[0], v = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1] < h[c]) c++;
        if (v <= h[c]) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = v;
    return top;
}

dots_status bpe_merge(dots_tokenizer *t, const unsigned char *w, size_t n, size_t heap_min, int **out, size_t *nout,
                      size_t *cap, dots_error *e) {
    dots_status st = scratch(t, n + 1, e);
    if (st) return st;
    int *sym = t->sym, *rk = t->rk, *nid = t->nid;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (t->byte_id[w[i]] >= 0) sym[m++] = t->byte_id[w[i]]; /* a byte missing from the vocab is dropped, as tokenizers does */
    if (m < heap_min) {
        for (size_t i = 0; i + 1 < m; i++) rk[i] = pairmap_get(&t->merges, sym[i], sym[i + 1], &nid[i]);
        while (m > 1) {
            size_t best = m;
            int br = -1;
            for (size_t i = 0; i + 1 < m; i++)
                if (rk[i] >= 0 && (br < 0 || rk[i] < br)) { br = rk[i]; best = i; }
            if (best == m) break;
            sym[best] = nid[best];
            memmove(sym + best + 1, sym + best + 2, (m - best - 2) * sizeof *sym);
            size_t tail = m > best + 3 ? m - best - 3 : 0; /* pairs after the merged one */
            memmove(rk + best + 1, rk + best + 2, tail * sizeof *rk);
            memmove(nid + best + 1, nid + best + 2, tail * sizeof *nid);
            m--;
            if (best > 0) rk[best - 1] = pairmap_get(&t->merges, sym[best - 1], sym[best], &nid[best - 1]);
            if (best + 1 < m) rk[best] = pairmap_get(&t->merges, sym[best], sym[best + 1], &nid[best]);
        }
        for (size_t i = 0; i < m; i++)
            if ((st = ids_push(out, nout, cap, sym[i], e))) return st;
        return DOTS_OK;
    }
    /* Linked list + heap; entries go stale when a neighbour changes and are re-checked on pop. */
    int *prv = t->prv, *nxt = t->nxt;
    size_t hn = 0;
    for (size_t i = 0; i < m; i++) { prv[i] = (int)i - 1; nxt[i] = i + 1 < m ? (int)i + 1 : -1; }
    for (size_t i = 0; i + 1 < m; i++) {
        int id, r = pairmap_get(&t->merges, sym[i], sym[i + 1], &id);
        if (r >= 0) heap_push(t->heap, &hn, ((uint64_t)r << 32) | i);
    }
    while (hn) {
        uint64_t top = heap_pop(t->heap, &hn);
        int r = (int)(top >> 32), i = (int)(uint32_t)top;
        if (sym[i] < 0 || nxt[i] < 0) continue;
        int j = nxt[i], id;
        if (pairmap_get(&t->merges, sym[i], sym[j], &id) != r) continue; /* stale */
        sym[i] = id;
        sym[j] = -1;
        nxt[i] = nxt[j];
        if (nxt[j] >= 0) prv[nxt[j]] = i;
        if (hn + 2 > t->heap_cap) return dots_fail(e, DOTS_E_INTERNAL, "BPE heap overflow");
        if (prv[i] >= 0) {
            int r2 = pairmap_get(&t->merges, sym[prv[i]], sym[i], &id);
            if (r2 >= 0) heap_push(t->heap, &hn, ((uint64_t)r2 << 32) | (uint32_t)prv[i]);
        }
        if (nxt[i] >= 0) {
            int r2 = pairmap_get(&t->merges, sym[i], sym[nxt[i]], &id);
            if (r2 >= 0) heap_push(t->heap, &hn, ((uint64_t)r2 << 32) | (uint32_t)i);
        }
    }
    for (int i = m ? 0 : -1; i >= 0; i = nxt[i])
        if ((st = ids_push(out, nout, cap, sym[i], e))) return st;
    return DOTS_OK;
}

void bpe_cache_free(bpe_cache *c) {
    strmap_free(&c->map);
    free(c->keys);
    free(c->ids);
    memset(c, 0, sizeof *c);
}

static void cache_clear(bpe_cache *c) {
    memset(c->map.slots, 0, c->map.cap * sizeof *c->map.slots);
    c->map.n = 0;
    c->keys_len = c->ids_len = 0;
}

dots_status bpe_word(dots_tokenizer *t, const unsigned char *w, size_t n, int **out, size_t *nout, size_t *cap,
                     dots_error *e) {
    if (t->ignore_merges) { /* the whole word as one token when the vocab has it */
        char buf[4 * CACHE_MAX_WORD];
        if (n <= CACHE_MAX_WORD) {
            size_t k = 0;
            for (size_t i = 0; i < n; i++) {
                unsigned c = bytelevel_char(w[i]);
                if (c < 0x80) buf[k++] = (char)c;
                else { buf[k++] = (char)(0xC0 | (c >> 6)); buf[k++] = (char)(0x80 | (c & 63)); }
            }
            int id = strmap_get(&t->vocab, buf, k);
            if (id >= 0) return ids_push(out, nout, cap, id, e);
        }
    }
    bpe_cache *c = &t->cache;
    if (n > CACHE_MAX_WORD) return bpe_merge(t, w, n, HEAP_MIN, out, nout, cap, e);
    int at = strmap_get(&c->map, (const char *)w, n);
    if (at >= 0) {
        int cnt = c->ids[at];
        for (int i = 0; i < cnt; i++) {
            dots_status st = ids_push(out, nout, cap, c->ids[at + 1 + i], e);
            if (st) return st;
        }
        return DOTS_OK;
    }
    size_t before = *nout;
    dots_status st = bpe_merge(t, w, n, HEAP_MIN, out, nout, cap, e);
    if (st) return st;
    size_t cnt = *nout - before;
    /* Store: keys and ids in growable arenas; the map points into keys, so clear before a move. */
    if (c->map.n >= CACHE_MAX_ENTRIES || c->keys_len + n > c->keys_cap || c->ids_len + cnt + 1 > c->ids_cap) {
        if (c->map.n) cache_clear(c);
        if (!c->keys) {
            c->keys_cap = (size_t)CACHE_MAX_ENTRIES * 16;
            c->ids_cap = (size_t)CACHE_MAX_ENTRIES * 8;
            c->keys = malloc(c->keys_cap);
            c->ids = malloc(c->ids_cap * sizeof *c->ids);
            if (!c->keys || !c->ids) { free(c->keys); free(c->ids); c->keys = NULL; c->ids = NULL; return DOTS_OK; }
        }
        if (c->keys_len + n > c->keys_cap || c->ids_len + cnt + 1 > c->ids_cap) return DOTS_OK;
    }
    memcpy(c->keys + c->keys_len, w, n);
    if (!strmap_put(&c->map, c->keys + c->keys_len, n, (int)c->ids_len)) return DOTS_OK; /* cache is optional */
    c->keys_len += n;
    c->ids[c->ids_len++] = (int)cnt;
    if (cnt) memcpy(c->ids + c->ids_len, *out + before, cnt * sizeof(int)); /* *out may still be NULL */
    c->ids_len += cnt;
    return DOTS_OK;
}

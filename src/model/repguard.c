/* Repetition guard: exact token cycles and digit-masked text units (see repguard.h). */
#include "model/repguard.h"
#include <string.h>
#include "base/mem.h"

/* ------------------------------------------------------------ token cycles */

dots_status repguard_init(dots_repguard *g, int max_period, int min_cycles, int min_tokens, dots_error *e) {
    memset(g, 0, sizeof *g);
    g->max_period = max_period > 0 ? max_period : REP_MAX_PERIOD;
    g->min_cycles = min_cycles > 1 ? min_cycles : REP_MIN_CYCLES;
    g->min_tokens = min_tokens > 0 ? min_tokens : REP_MIN_TOKENS;
    if (g->max_period > 1 << 20)
        return dots_fail(e, DOTS_E_ARG, "repetition guard: the longest period (dots_gen_opts.rep_max_period = %d) "
                         "must be at most %d tokens", g->max_period, 1 << 20);
    g->hist = dots_calloc(sizeof(int) * (size_t)(g->max_period + 1), "the repetition guard", e);
    g->run = g->hist ? dots_calloc(sizeof(int) * (size_t)(g->max_period + 1), "the repetition guard", e) : NULL;
    if (!g->run) { repguard_free(g); return DOTS_E_NOMEM; }
    return DOTS_OK;
}

void repguard_free(dots_repguard *g) {
    dots_free(g->hist);
    dots_free(g->run);
    g->hist = g->run = NULL;
}

int repguard_push(dots_repguard *g, int token) {
    int ring = g->max_period + 1, found = 0;
    long lim = g->n < g->max_period ? g->n : g->max_period;
    for (int p = 1; p <= lim; p++) {
        int prev = g->hist[(g->n - p) % ring];
        g->run[p] = prev == token ? g->run[p] + 1 : 0;
        long tail = (long)g->run[p] + p; /* tokens in the periodic tail */
        if (!found && g->run[p] > 0 && tail >= (long)p * g->min_cycles && tail >= g->min_tokens) {
            found = p;
            g->tail = tail;
        }
    }
    g->hist[g->n % ring] = token;
    g->n++;
    g->period = found;
    return found != 0;
}

/* -------------------------------------------------------------- text units */

#define FNV_OFF 1469598103934665603ULL
#define FNV_MUL 1099511628211ULL

void textguard_init(dots_textguard *g, int min_cycles, int min_tokens) {
    memset(g, 0, sizeof *g);
    g->min_cycles = min_cycles > 1 ? min_cycles : REP_MIN_CYCLES;
    if (g->min_cycles > TG_RING / (2 * TG_MAX_CYCLE)) g->min_cycles = TG_RING / (2 * TG_MAX_CYCLE);
    g->min_tokens = min_tokens > 0 ? min_tokens : REP_MIN_TOKENS;
    g->he = g->hm = FNV_OFF;
}

static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static int is_letter(unsigned char c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }

static const tg_unit *unit_at(const dots_textguard *g, long i) { return &g->ring[i % TG_RING]; }

/* A run of `units` trailing units in cycles of q: is it long enough? Fills the result if so. */
static int check_run(dots_textguard *g, int q, long units, int need_cycles, long tok) {
    if (units > TG_RING - 1) units = (TG_RING - 1) / q * q;
    int cycles = (int)(units / q);
    if (cycles < need_cycles) return 0;
    long first = g->n_units - (long)cycles * q;
    long tail = tok + 1 - unit_at(g, first)->start_tok;
    if (tail < g->min_tokens) return 0;
    g->period_units = q;
    g->cycles = cycles;
    g->tail_tokens = tail;
    g->cut_byte = unit_at(g, first + q - 1)->end_byte;
    return 1;
}

/* The unit just read ends here: remember it and look for a loop. */
static int end_unit(dots_textguard *g, long tok) {
    int found = 0;
    if (g->len > 0) {
        tg_unit u = {g->he ^ (uint64_t)g->len, g->hm, g->letters >= 3, g->bytes, g->start_tok};
        long n = g->n_units;
        for (int q = 1; q <= TG_MAX_CYCLE; q++) {
            const tg_unit *o = n >= q ? unit_at(g, n - q) : NULL;
            g->erun[q] = o && o->exact == u.exact ? g->erun[q] + 1 : 0;
            g->mrun[q] = o && u.maskable && o->maskable && o->masked == u.masked ? g->mrun[q] + 1 : 0;
        }
        g->ring[n % TG_RING] = u;
        g->n_units = n + 1;
        for (int q = 1; q <= TG_MAX_CYCLE && !found; q++) {
            if (g->erun[q] > 0) found = check_run(g, q, (long)g->erun[q] + q, g->min_cycles, tok);
            if (!found && g->mrun[q] > 0) found = check_run(g, q, (long)g->mrun[q] + q, 2 * g->min_cycles, tok);
        }
    }
    g->he = g->hm = FNV_OFF;
    g->len = g->letters = g->in_digits = 0;
    g->start_tok = tok;
    return found;
}

int textguard_push(dots_textguard *g, const char *s, size_t n, long tok) {
    if (g->len == 0) g->start_tok = tok;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int boundary = c == '\n' || (c == 'n' && g->bs % 2 == 1) ||
                       (c == '}' && g->last[4] == '"' && !g->quote_escaped) ||
                       (c == '>' && !memcmp(g->last + 1, "</tr", 4));
        if (c == '"') g->quote_escaped = g->bs % 2 == 1;
        g->bs = c == '\\' ? g->bs + 1 : 0;
        memmove(g->last, g->last + 1, 4);
        g->last[4] = (char)c;
        g->bytes++;
        if (c == '<') g->in_tag = 1;
        if (is_space(c)) {
            g->in_digits = 0;
        } else if (c >= '0' && c <= '9') {
            g->he = (g->he ^ c) * FNV_MUL;
            if (!g->in_digits) g->hm = (g->hm ^ '0') * FNV_MUL;
            g->in_digits = 1;
            g->len++;
        } else {
            g->he = (g->he ^ c) * FNV_MUL;
            g->hm = (g->hm ^ c) * FNV_MUL;
            g->in_digits = 0;
            g->len++;
            if (!g->in_tag && is_letter(c)) g->letters++;
        }
        if (c == '>') g->in_tag = 0;
        if (boundary && end_unit(g, tok)) return 1; /* the caller stops here */
    }
    return 0;
}

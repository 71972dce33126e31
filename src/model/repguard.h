/* Repetition guard: stops a generation stuck in a loop, in two ways.
 *
 * Token cycles (repguard_*): the last tokens repeat one cycle of period p
 * (1 <= p <= max_period) exactly, for at least min_cycles cycles AND at least
 * min_tokens tokens. Catches rows of dots/underscores and exact row loops.
 *
 * Text units (textguard_*): the text is cut into units -- lines, escaped "\n"
 * lines inside JSON strings, HTML table rows (</tr>) and layout cells (an
 * unescaped "} closing a cell) -- compared with whitespace ignored. A cycle of
 * 1..TG_MAX_CYCLE units repeated exactly min_cycles times, or repeated with
 * only its digits differing (runs of digits masked) 2*min_cycles times, over
 * at least min_tokens tokens, is a loop: the same cell again and again with
 * advancing bbox digits, a line with a counter that increments, rows of any
 * length. Units with fewer than 3 letters outside HTML tags (a row of numbers)
 * take part only in the exact comparison, so a long numeric table never trips
 * the masked one.
 *
 * Defaults (chosen so legitimate repeats pass): 12 cycles (24 masked), 256
 * tokens, token periods up to 512. 8 identical empty table rows or 8 cells
 * that differ only in their bbox never fire; a model loop is stopped after
 * 12-24 repeats, and the text is cut after the first cycle (cut_byte), so
 * every complete cell before the loop is kept. */
#ifndef DOTS_REPGUARD_H
#define DOTS_REPGUARD_H
#include <stddef.h>
#include <stdint.h>
#include "base/error.h"

#define REP_MAX_PERIOD 512
#define REP_MIN_CYCLES 12
#define REP_MIN_TOKENS 256

typedef struct dots_repguard {
    int max_period, min_cycles, min_tokens;
    int *hist;           /* ring of the last max_period tokens */
    int *run;            /* run[p]: how many trailing tokens equal the token p before them */
    long n;              /* tokens seen */
    int period;          /* period of the loop found (0: none) */
    long tail;           /* tokens in the looping tail when found (its first cycle included) */
} dots_repguard;

/* max_period/min_cycles/min_tokens <= 0 take the defaults above. */
dots_status repguard_init(dots_repguard *g, int max_period, int min_cycles, int min_tokens, dots_error *e);
void repguard_free(dots_repguard *g);
/* Adds one generated token; returns 1 when the tail is a loop (g->period, g->tail say which). O(max_period). */
int repguard_push(dots_repguard *g, int token);

#define TG_MAX_CYCLE 4   /* units per cycle */
#define TG_RING 1024     /* units remembered */

typedef struct { uint64_t exact, masked; int maskable; long end_byte, start_tok; } tg_unit;

typedef struct dots_textguard {
    int min_cycles, min_tokens;
    tg_unit ring[TG_RING];
    long n_units;
    int erun[TG_MAX_CYCLE + 1], mrun[TG_MAX_CYCLE + 1]; /* trailing units equal (exact / masked) to the one q before */
    /* the unit being read */
    uint64_t he, hm;
    int len, letters, in_digits, in_tag, bs, quote_escaped;
    char last[5];        /* the last bytes, for "</tr>" and "\"}" */
    long start_tok, bytes;
    /* the loop found */
    int period_units;    /* units per cycle (0: none) */
    long tail_tokens;    /* tokens from the loop's start */
    int cycles;
    long cut_byte;       /* keep text[0, cut_byte): everything up to the end of the first cycle */
} dots_textguard;

/* min_cycles / min_tokens <= 0 take REP_MIN_CYCLES / REP_MIN_TOKENS. */
void textguard_init(dots_textguard *g, int min_cycles, int min_tokens);
/* Feeds the n bytes of text that token number tok (0-based) produced (n may be 0);
 * returns 1 when a loop is found. */
int textguard_push(dots_textguard *g, const char *s, size_t n, long tok);

#endif

/* Token choice (greedy, temperature, top-p with a seeded generator) and the
 * repetition guard that stops a generation stuck in a loop. */
#ifndef DOTS_SAMPLER_H
#define DOTS_SAMPLER_H
#include <stdint.h>
#include "base/error.h"

typedef struct dots_sampler {
    int vocab;
    float temperature;   /* <= 0: greedy (argmax, lowest id on ties) */
    float top_p;         /* (0, 1]: keep the smallest set of top tokens whose mass reaches top_p */
    uint64_t rng;
    float *prob;         /* [vocab] scratch */
    int *idx;            /* [vocab] scratch */
} dots_sampler;

dots_status sampler_init(dots_sampler *s, int vocab, float temperature, float top_p, uint64_t seed, dots_error *e);
void sampler_free(dots_sampler *s);
/* Picks the next token from logits[vocab] (not modified). */
int sampler_pick(dots_sampler *s, const float *logits);

/* Repetition guard. A generation is stuck when its last tokens repeat one cycle
 * of period p (1 <= p <= max_period) for at least min_cycles cycles AND at
 * least min_tokens tokens. The defaults (period up to 256 tokens, 8 cycles,
 * 256 tokens) catch rows of dots/underscores (period 1, 256 tokens) and a table
 * row repeated 8 times, while a long legitimate table of empty cells with a
 * period of a few tokens needs at least 256 identical-cycle tokens to trip it. */
#define REP_MAX_PERIOD 256
#define REP_MIN_CYCLES 8
#define REP_MIN_TOKENS 256

typedef struct dots_repguard {
    int max_period, min_cycles, min_tokens;
    int *hist;           /* ring of the last max_period tokens */
    int *run;            /* run[p]: how many trailing tokens equal the token p before them */
    long n;              /* tokens seen */
    int period;          /* period of the loop found (0: none) */
} dots_repguard;

/* max_period/min_cycles/min_tokens <= 0 take the defaults above. */
dots_status repguard_init(dots_repguard *g, int max_period, int min_cycles, int min_tokens, dots_error *e);
void repguard_free(dots_repguard *g);
/* Adds one generated token; returns 1 when the tail is a loop (g->period says which). O(max_period). */
int repguard_push(dots_repguard *g, int token);

#endif

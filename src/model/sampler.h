/* Token choice (greedy, temperature, top-p with a seeded generator) and the
 * repetition guard (model/repguard.h). */
#ifndef DOTS_SAMPLER_H
#define DOTS_SAMPLER_H
#include <stdint.h>
#include "base/error.h"
#include "model/repguard.h"

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

#endif

/* Sampler: greedy, temperature, top-p with a seeded generator. */
#include "model/sampler.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"

typedef struct { float p; int id; } cand;

dots_status sampler_init(dots_sampler *s, int vocab, float temperature, float top_p, uint64_t seed, dots_error *e) {
    memset(s, 0, sizeof *s);
    if (vocab <= 0) return dots_fail(e, DOTS_E_ARG, "sampler: vocabulary size must be positive (got %d)", vocab);
    if (!(temperature == temperature) || temperature > 100)
        return dots_fail(e, DOTS_E_ARG, "temperature %g is out of range [0, 100]", temperature);
    if (top_p <= 0) top_p = 1;
    if (!(top_p <= 1)) return dots_fail(e, DOTS_E_ARG, "top-p %g is out of range (0, 1]", top_p);
    s->vocab = vocab;
    s->temperature = temperature;
    s->top_p = top_p;
    s->rng = seed ^ 0x9E3779B97F4A7C15ull;
    if (temperature > 0) {
        s->prob = dots_alloc(sizeof(float) * (size_t)vocab, "sampling probabilities", e);
        s->idx = s->prob ? dots_alloc(sizeof(cand) * (size_t)vocab, "sampling candidates", e) : NULL;
        if (!s->idx) { sampler_free(s); return DOTS_E_NOMEM; }
    }
    return DOTS_OK;
}

void sampler_free(dots_sampler *s) {
    dots_free(s->prob);
    dots_free(s->idx);
    s->prob = NULL;
    s->idx = NULL;
}

/* splitmix64: small, seedable, good enough for sampling */
static uint64_t next_u64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double next_unit(uint64_t *x) { return (double)(next_u64(x) >> 11) * (1.0 / 9007199254740992.0); }

static int cmp_cand(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return x->id - y->id;
}

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

int sampler_pick(dots_sampler *s, const float *logits) {
    int V = s->vocab, best = argmax(logits, V);
    if (s->temperature <= 0 || !s->prob) return best;
    float mx = logits[best], inv_t = 1.0f / s->temperature;
    double z = 0;
    for (int i = 0; i < V; i++) {
        float p = expf((logits[i] - mx) * inv_t);
        s->prob[i] = p;
        z += p;
    }
    double u = next_unit(&s->rng);
    if (s->top_p >= 1.0f) {
        double r = u * z, acc = 0;
        for (int i = 0; i < V; i++) {
            acc += s->prob[i];
            if (acc > r) return i;
        }
        return best;
    }
    /* nucleus: a token below (1 - top_p) / (V - 1) of the mass can never be in it,
     * so only the few above that are sorted */
    cand *c = (cand *)s->idx;
    double cut = V > 1 ? (1.0 - s->top_p) / (V - 1) * z : 0;
    int n = 0;
    for (int i = 0; i < V; i++)
        if (s->prob[i] >= cut) { c[n].p = s->prob[i]; c[n].id = i; n++; }
    qsort(c, (size_t)n, sizeof *c, cmp_cand);
    double need = s->top_p * z, mass = 0;
    int k = 0;
    while (k < n) {
        mass += c[k].p;
        k++;
        if (mass >= need) break;
    }
    double r = u * mass, acc = 0;
    for (int i = 0; i < k; i++) {
        acc += c[i].p;
        if (acc > r) return c[i].id;
    }
    return c[0].id;
}

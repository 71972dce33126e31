/* Sampler (greedy, temperature, top-p as transformers' TopPLogitsWarper, seeds)
 * and the repetition guard (fires on loops, not on ordinary text). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/sampler.h"
#include "testutil.h"

static void freq(dots_sampler *s, const float *logits, int V, int n, double *f) {
    memset(f, 0, sizeof(double) * (size_t)V);
    for (int i = 0; i < n; i++) f[sampler_pick(s, logits)] += 1.0 / n;
}


/* Feeds text to a text guard as tokens of `per` bytes; returns the token count at which
 * it fired, or -1. *tok carries the token index across calls. */
static long feed(dots_textguard *g, const char *text, int per, long *tok) {
    size_t n = strlen(text);
    for (size_t i = 0; i < n; i += (size_t)per) {
        size_t len = n - i < (size_t)per ? n - i : (size_t)per;
        long t = (*tok)++;
        if (textguard_push(g, text + i, len, t)) return t + 1;
    }
    return -1;
}

static void text_guard_tests(void) {
    static dots_textguard g;
    char buf[65536], line[512];
    long tok = 0;
    /* 8 identical empty table rows (markdown and HTML in a JSON string), 8 cells that differ
     * only in their bbox, a 60-row numeric table: legitimate, never a loop */
    textguard_init(&g, 0, 0);
    buf[0] = 0;
    for (int i = 0; i < 8; i++) strcat(buf, "|   |   |   |   |\n");
    for (int i = 0; i < 8; i++) strcat(buf, "<tr><td></td><td></td><td></td><td></td><td></td></tr>");
    for (int i = 0; i < 8; i++) {
        snprintf(line, sizeof line, "{\"bbox\": [%d, %d, %d, %d], \"category\": \"Picture\"}, ", 10 + i, 90 * i, 300,
                 90 * i + 80);
        strcat(buf, line);
    }
    for (int i = 0; i < 60; i++) {
        snprintf(line, sizeof line, "<tr><td>%d</td><td>%d.%02d</td><td>%d</td></tr>", 1990 + i, i * 37 % 100, i, i * i);
        strcat(buf, line);
    }
    CHECK(feed(&g, buf, 3, &tok) < 0, "the text guard fired on legitimate repeats");
    /* a cell repeated with advancing bbox digits (the model's typical loop): 24 masked cycles */
    textguard_init(&g, 0, 0);
    tok = 0;
    long fired = feed(&g, "[{\"bbox\": [1, 2, 3, 4], \"category\": \"Title\", \"text\": \"Report\"}, ", 3, &tok);
    size_t keep = 0;
    int k;
    for (k = 0; k < 200 && fired < 0; k++) {
        snprintf(line, sizeof line, "{\"bbox\": [100, %d, 900, %d], \"category\": \"Text\", \"text\": \"Total\"}, ",
                 100 + 20 * k, 118 + 20 * k);
        if (k == 0) keep = (size_t)g.bytes + strlen(line) - 2; /* up to the first repeat's "} */
        fired = feed(&g, line, 3, &tok);
    }
    CHECK(fired > 0 && g.period_units == 1 && k == 2 * REP_MIN_CYCLES && g.cut_byte == (long)keep,
          "bbox loop: fired %ld after %d cells (units %d), cut %ld (want %zu)", fired, k, g.period_units, g.cut_byte, keep);
    /* a line with an incrementing counter */
    textguard_init(&g, 0, 0);
    tok = 0;
    fired = -1;
    for (k = 0; k < 500 && fired < 0; k++) {
        snprintf(line, sizeof line, "Step %d: mix the solution well\n", k + 1);
        fired = feed(&g, line, 4, &tok);
    }
    CHECK(fired > 0 && g.period_units == 1 && g.tail_tokens >= REP_MIN_TOKENS, "counter loop: fired after %d lines", k);
    /* a row of ~300 tokens repeated exactly (longer than any token period): 12 cycles */
    textguard_init(&g, 0, 0);
    tok = 0;
    fired = -1;
    char row[2048] = "";
    for (int i = 0; i < 100; i++) { snprintf(line, sizeof line, "w%c%c ", 'a' + i % 26, 'a' + i / 26); strcat(row, line); }
    strcat(row, "\n");
    for (k = 0; k < 50 && fired < 0; k++) fired = feed(&g, row, 1, &tok);
    CHECK(fired > 0 && k == REP_MIN_CYCLES && g.period_units == 1 && g.cut_byte == (long)strlen(row),
          "long row loop: fired after %d rows, cut %ld", k, g.cut_byte);
}

int main(void) {
    dots_error e = {0};
    dots_sampler s;
    /* greedy: argmax, the lowest id on ties (torch.argmax) */
    float l1[5] = {0.1f, 3.0f, -1.0f, 3.0f, 2.9f};
    CHECK(sampler_init(&s, 5, 0, 1, 1, &e) == DOTS_OK, "%s", e.msg);
    CHECK(sampler_pick(&s, l1) == 1, "greedy");
    sampler_free(&s);

    /* temperature 1: p = softmax = 1/7, 2/7, 4/7 */
    float l2[3] = {0.0f, logf(2.0f), logf(4.0f)};
    double f[4];
    CHECK(sampler_init(&s, 3, 1.0f, 1.0f, 42, &e) == DOTS_OK, "%s", e.msg);
    freq(&s, l2, 3, 40000, f);
    CHECK(fabs(f[0] - 1 / 7.0) < 0.01 && fabs(f[1] - 2 / 7.0) < 0.01 && fabs(f[2] - 4 / 7.0) < 0.01,
          "T=1 frequencies %.3f %.3f %.3f", f[0], f[1], f[2]);
    sampler_free(&s);
    /* temperature 0.5 squares the odds: 1/21, 4/21, 16/21 */
    CHECK(sampler_init(&s, 3, 0.5f, 1.0f, 42, &e) == DOTS_OK, "%s", e.msg);
    freq(&s, l2, 3, 40000, f);
    CHECK(fabs(f[0] - 1 / 21.0) < 0.01 && fabs(f[1] - 4 / 21.0) < 0.01 && fabs(f[2] - 16 / 21.0) < 0.01,
          "T=0.5 frequencies %.3f %.3f %.3f", f[0], f[1], f[2]);
    sampler_free(&s);

    /* top-p on p = (0.5, 0.3, 0.15, 0.05): 0.7 keeps {0,1} (5:3), 0.5 keeps {0}, 0.85 keeps {0,1,2} */
    float l3[4] = {logf(0.5f), logf(0.3f), logf(0.15f), logf(0.05f)};
    CHECK(sampler_init(&s, 4, 1.0f, 0.7f, 7, &e) == DOTS_OK, "%s", e.msg);
    freq(&s, l3, 4, 40000, f);
    CHECK(f[2] == 0 && f[3] == 0 && fabs(f[0] - 0.625) < 0.01, "top-p 0.7: %.3f %.3f %.3f %.3f", f[0], f[1], f[2], f[3]);
    sampler_free(&s);
    CHECK(sampler_init(&s, 4, 1.0f, 0.5f, 7, &e) == DOTS_OK, "%s", e.msg);
    freq(&s, l3, 4, 2000, f);
    CHECK(f[0] > 0.99999 && f[1] == 0, "top-p 0.5 keeps only the top token: %.3f", f[0]);
    sampler_free(&s);
    CHECK(sampler_init(&s, 4, 1.0f, 0.85f, 7, &e) == DOTS_OK, "%s", e.msg);
    freq(&s, l3, 4, 40000, f);
    CHECK(f[3] == 0 && f[2] > 0.1, "top-p 0.85: %.3f %.3f %.3f %.3f", f[0], f[1], f[2], f[3]);
    sampler_free(&s);

    /* seeds: same seed, same tokens; another seed, other tokens */
    int V = 1000;
    float *big = malloc(sizeof(float) * V);
    test_fill_random(big, (size_t)V, 3);
    int a[64], b[64], c[64];
    dots_sampler s1, s2, s3;
    CHECK(sampler_init(&s1, V, 1.0f, 0.9f, 5, &e) == DOTS_OK && sampler_init(&s2, V, 1.0f, 0.9f, 5, &e) == DOTS_OK &&
          sampler_init(&s3, V, 1.0f, 0.9f, 6, &e) == DOTS_OK, "%s", e.msg);
    int same_ab = 1, same_ac = 1;
    for (int i = 0; i < 64; i++) {
        a[i] = sampler_pick(&s1, big); b[i] = sampler_pick(&s2, big); c[i] = sampler_pick(&s3, big);
        same_ab &= a[i] == b[i];
        same_ac &= a[i] == c[i];
    }
    CHECK(same_ab, "same seed gives the same tokens");
    CHECK(!same_ac, "another seed gives other tokens");
    sampler_free(&s1); sampler_free(&s2); sampler_free(&s3);
    free(big);
    CHECK(sampler_init(&s, 4, 1.0f, 1.5f, 7, &e) == DOTS_E_ARG, "top-p 1.5 rejected");

    /* repetition guard */
    dots_repguard g;
    CHECK(repguard_init(&g, 0, 0, 0, &e) == DOTS_OK, "%s", e.msg);
    int fired = -1;
    for (int i = 0; i < 1000 && fired < 0; i++)
        if (repguard_push(&g, 17)) fired = i + 1;
    CHECK(fired == REP_MIN_TOKENS && g.period == 1, "period-1 loop fired after %d tokens (period %d)", fired, g.period);
    repguard_free(&g);
    /* a 100-token table row repeated: fires after REP_MIN_CYCLES cycles */
    CHECK(repguard_init(&g, 0, 0, 0, &e) == DOTS_OK, "%s", e.msg);
    for (int i = 0; i < 50; i++) repguard_push(&g, 5000 + i); /* a preamble */
    fired = -1;
    for (int i = 0; i < 5000 && fired < 0; i++)
        if (repguard_push(&g, 100 + (i % 100) * 7)) fired = i + 1;
    CHECK(fired == 100 * REP_MIN_CYCLES && g.period == 100, "period-100 loop fired after %d tokens (period %d)", fired, g.period);
    repguard_free(&g);
    /* ordinary varied text never fires, nor a few repeats of a long row */
    CHECK(repguard_init(&g, 0, 0, 0, &e) == DOTS_OK, "%s", e.msg);
    unsigned x = 12345;
    int any = 0;
    for (int i = 0; i < 20000; i++) {
        x = x * 1103515245u + 12345u;
        any |= repguard_push(&g, (int)((x >> 8) % 5000));
    }
    for (int r = 0; r < 6; r++)
        for (int i = 0; i < 120; i++) any |= repguard_push(&g, 9000 + i);
    /* short cycles of a legitimate table of empty cells: 200 tokens of period 3 */
    for (int i = 0; i < 200; i++) any |= repguard_push(&g, 50 + i % 3);
    CHECK(!any, "the guard fired on text without a runaway loop");
    repguard_free(&g);
    /* custom thresholds */
    CHECK(repguard_init(&g, 8, 3, 12, &e) == DOTS_OK, "%s", e.msg);
    fired = -1;
    for (int i = 0; i < 100 && fired < 0; i++)
        if (repguard_push(&g, i % 4)) fired = i + 1;
    CHECK(fired == 12 && g.period == 4, "custom: fired after %d (period %d)", fired, g.period);
    repguard_free(&g);
    text_guard_tests();
    return test_finish("test_lm_sampler");
}

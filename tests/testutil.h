/* Tiny test harness: CHECK records a failure with file:line and carries on;
 * test_finish() prints "N passed, N failed" and returns the exit code. */
#ifndef DOTS_TESTUTIL_H
#define DOTS_TESTUTIL_H
#include <stdio.h>
#include <stddef.h>

extern int t_pass, t_fail;

#define CHECK(cond, ...) do { \
    if (cond) t_pass++; \
    else { t_fail++; fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
           fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

int test_finish(const char *name);
/* $DOTS_TEST_DATA/rel (tests/data), $DOTS_SHARED/rel, into a static buffer per call slot. */
const char *test_data(const char *rel);
const char *test_shared(const char *rel);
/* Max |a-b|, mean |a-b| and cosine similarity of two float arrays. */
typedef struct { double max_abs, mean_abs, cosine; } t_diff;
t_diff test_compare(const float *a, const float *b, size_t n);
/* Deterministic random floats in [-1,1) (xorshift). */
void test_fill_random(float *x, size_t n, unsigned seed);

#endif

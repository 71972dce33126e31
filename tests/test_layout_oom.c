/* json-c constructors failing inside layout parsing (issue 14 item 3): with the n-th
 * json_object_new_* / json_object_array_add / json_object_object_add call made by our code
 * failing, for every n, doc_layout_parse returns either the very cells of the run without
 * failures or DOTS_E_NOMEM: never a silently shorter or unmapped answer, never a crash.
 * The constructors are interposed in this executable (forwarding to json-c through
 * dlsym(RTLD_NEXT)); only calls returning into this executable's code can fail, since
 * json-c's own tokener does not survive its allocations failing. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "doc/layout.h"
#include "testutil.h"

extern char __executable_start, etext;
static long g_countdown = -1; /* eligible calls left before one fails; -1: never */
static long g_calls;

static int fail_now(void *ret) {
    if ((char *)ret < &__executable_start || (char *)ret >= &etext) return 0; /* json-c's own call */
    g_calls++;
    if (g_countdown < 0) return 0;
    return g_countdown-- == 0;
}

#define REAL(name) static __typeof__(&name) real_##name; if (!real_##name) real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)
json_object *json_object_new_object(void) {
    REAL(json_object_new_object);
    return fail_now(__builtin_return_address(0)) ? NULL : real_json_object_new_object();
}
json_object *json_object_new_array(void) {
    REAL(json_object_new_array);
    return fail_now(__builtin_return_address(0)) ? NULL : real_json_object_new_array();
}
json_object *json_object_new_int64(int64_t v) {
    REAL(json_object_new_int64);
    return fail_now(__builtin_return_address(0)) ? NULL : real_json_object_new_int64(v);
}
json_object *json_object_new_string_len(const char *s, int n) {
    REAL(json_object_new_string_len);
    return fail_now(__builtin_return_address(0)) ? NULL : real_json_object_new_string_len(s, n);
}
int json_object_array_add(json_object *a, json_object *v) {
    REAL(json_object_array_add);
    return fail_now(__builtin_return_address(0)) ? -1 : real_json_object_array_add(a, v);
}
int json_object_object_add(json_object *o, const char *k, json_object *v) {
    REAL(json_object_object_add);
    return fail_now(__builtin_return_address(0)) ? -1 : real_json_object_object_add(o, k, v);
}

/* Repaired (missing "},{", a duplicate, a truncated tail) and strict answers. */
static const char *const k_answers[] = {
    "[{\"bbox\": [10, 20, 110, 60], \"category\": \"Title\", \"text\": \"A\"}"
    "{\"bbox\": [10, 70, 190, 90], \"category\": \"Text\", \"text\": \"b \\\\frac{1}{2}\"},"
    "{\"bbox\": [10, 70, 190, 90], \"category\": \"Text\", \"text\": \"b \\\\frac{1}{2}\"},"
    "{\"bbox\": [5, 95, 50, 99], \"category\": \"Page-footer\", \"text\": \"tru",
    "[{\"bbox\": [1, 2, 3, 4], \"category\": \"Picture\"}, {\"bbox\": [5, 6, 250, 300], \"category\": \"Text\", \"text\": \"x\"}]",
    "{\"bbox\": [1, 2, 30, 40], \"category\": \"Text\", \"text\": \"only one, cut off",
};

static char *layout_json(const char *answer, dots_status *st) {
    dots_error e = {0};
    doc_layout L;
    *st = doc_layout_parse(answer, 200, 100, 400, 200, &L, &e);
    if (*st) return NULL;
    char *s = doc_layout_to_json(L.cells);
    /* what parse writes: cells, filtered, counts and the repaired text */
    size_t n = (s ? strlen(s) : 0) + (L.text ? strlen(L.text) : 0) + 64;
    char *all = s ? malloc(n) : NULL;
    if (all) snprintf(all, n, "%s|%d|%d|%d|%s", s, L.filtered, L.n_clamped, L.n_bad_bbox, L.text ? L.text : "");
    free(s);
    doc_layout_free(&L);
    if (!all) *st = DOTS_E_NOMEM;
    return all;
}

int main(void) {
    for (size_t a = 0; a < sizeof k_answers / sizeof *k_answers; a++) {
        dots_status st;
        char *want = layout_json(k_answers[a], &st);
        CHECK(st == DOTS_OK && want, "answer %zu parses without failures", a);
        int ok = 1, nomem = 0, tries = 0;
        for (long n = 0; ok && n < 100000; n++) {
            g_calls = 0;
            g_countdown = n;
            char *got = layout_json(k_answers[a], &st);
            long calls = g_calls;
            g_countdown = -1;
            tries++;
            if (st == DOTS_OK) ok = got && want && !strcmp(got, want);
            else ok = st == DOTS_E_NOMEM, nomem++;
            if (!ok) CHECK(0, "answer %zu, call %ld failing: status %d, got %s", a, n, st, got ? got : "(null)");
            free(got);
            if (calls <= n) break; /* the failure point is past every call: done */
        }
        CHECK(ok && nomem >= 8, "answer %zu: %d failure points, %d reported as out of memory", a, tries, nomem);
        printf("answer %zu: %d failure points, %d out of memory\n", a, tries, nomem);
        free(want);
    }
    return test_finish("test_layout_oom");
}

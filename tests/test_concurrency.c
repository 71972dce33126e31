/* Concurrency: two callers of one thread pool, an idle pool that sleeps, the pool size from the
 * affinity mask, one tokenizer from two threads, two engines in one process and one engine from
 * two threads, each compared with the same work done on one thread. Built with
 * -fsanitize=thread as well (tools/test.sh, build-tsan), where any data race fails it. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "base/mem.h"
#include "base/threadpool.h"
#include "dotsocr.h"
#include "text/tokenizer.h"
#include "testutil.h"

/* ---- the pool from two callers: each job sums its own array; a mixed-up job gives a wrong sum */
enum { POOL_TASKS = 16, POOL_ROUNDS = 300 };
typedef struct { const int *v; long long part[POOL_TASKS]; } sum_job;
static void sum_task(void *ctx, int task, int thread) {
    sum_job *j = ctx;
    long long s = 0;
    for (int i = task * 64; i < (task + 1) * 64; i++) s += j->v[i];
    j->part[task] = s;
}
typedef struct { dots_pool *pool; int base; int bad; } pool_caller;
static void *pool_caller_main(void *arg) {
    pool_caller *c = arg;
    int *v = malloc(sizeof(int) * POOL_TASKS * 64);
    for (int i = 0; i < POOL_TASKS * 64; i++) v[i] = c->base + i;
    long long want = 0;
    for (int i = 0; i < POOL_TASKS * 64; i++) want += v[i];
    for (int r = 0; r < POOL_ROUNDS; r++) {
        sum_job j = {v, {0}};
        pool_run(c->pool, POOL_TASKS, sum_task, &j);
        long long got = 0;
        for (int t = 0; t < POOL_TASKS; t++) got += j.part[t];
        c->bad += got != want;
    }
    free(v);
    return NULL;
}

/* a task that itself calls pool_run on the same pool must not deadlock */
typedef struct { dots_pool *pool; atomic_int inner; } nest_job;
static void inner_task(void *ctx, int task, int thread) { atomic_fetch_add(&((nest_job *)ctx)->inner, 1); }
static void outer_task(void *ctx, int task, int thread) { pool_run(((nest_job *)ctx)->pool, 3, inner_task, ctx); }

static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void test_pool(void) {
    dots_error e = {0};
    dots_pool *pool = pool_create(3, &e);
    CHECK(pool != NULL, "pool: %s", e.msg);
    if (!pool) return;
    pthread_t th[2];
    pool_caller c[2] = {{pool, 1, 0}, {pool, 1000000, 0}};
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, pool_caller_main, &c[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    CHECK(c[0].bad == 0 && c[1].bad == 0, "two callers of one pool: %d and %d of %d jobs gave wrong sums", c[0].bad,
          c[1].bad, POOL_ROUNDS);
    nest_job nj = {pool, 0};
    pool_run(pool, 4, outer_task, &nj);
    CHECK(atomic_load(&nj.inner) == 12, "nested pool_run ran %d of 12 inner tasks", atomic_load(&nj.inner));
    /* idle: the workers sleep, so 300 ms of waiting costs (almost) no CPU */
    double c0 = cpu_seconds();
    struct timespec nap = {0, 300 * 1000 * 1000};
    nanosleep(&nap, NULL);
    double used = cpu_seconds() - c0;
    CHECK(used < 0.03, "an idle pool of 3 threads used %.3f s of CPU in 0.3 s", used);
    pool_destroy(pool);
}

/* ---- the pool size follows the affinity mask */
static void test_cpu_count(void) {
    cpu_set_t old, one;
    if (sched_getaffinity(0, sizeof old, &old) != 0) return;
    int first = -1;
    for (int i = 0; i < CPU_SETSIZE && first < 0; i++)
        if (CPU_ISSET(i, &old)) first = i;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    CHECK(sched_setaffinity(0, sizeof one, &one) == 0, "cannot narrow the affinity mask");
    int n = dots_cpu_count();
    dots_error e = {0};
    dots_pool *p = pool_create(0, &e);
    CHECK(n == 1 && pool_threads(p) == 1, "with one CPU allowed: dots_cpu_count %d, default pool %d threads", n,
          pool_threads(p));
    pool_destroy(p);
    sched_setaffinity(0, sizeof old, &old);
    /* at most the mask (a cgroup quota may allow fewer) */
    CHECK(dots_cpu_count() >= 1 && dots_cpu_count() <= CPU_COUNT(&old), "dots_cpu_count %d with %d CPUs allowed",
          dots_cpu_count(), CPU_COUNT(&old));
}

/* ---- one tokenizer, two threads */
static const char *k_texts[2] = {
    "The quick brown fox jumps over the lazy dog. 1234567 <|imgpad|> caf\xc3\xa9 na\xc3\xafve",
    "\xe6\x96\x87\xe6\xa1\xa3\xe8\xa7\xa3\xe6\x9e\x90 | Table | <td>42</td> unbelievably-long-words-hyphenated x^2+y^2",
};
typedef struct { dots_tokenizer *tok; int which; int *want; size_t nwant; int bad; } tok_caller;
static void *tok_caller_main(void *arg) {
    tok_caller *c = arg;
    char buf[512];
    for (int r = 0; r < 200; r++) {
        /* a fresh word each round, so the BPE cache is written while the other thread reads it */
        snprintf(buf, sizeof buf, "%s w%dq%d", k_texts[c->which], r, c->which);
        int *ids = NULL;
        size_t n = 0;
        dots_error e = {0};
        if (tok_encode(c->tok, buf, strlen(buf), &ids, &n, &e) != DOTS_OK) { c->bad++; continue; }
        c->bad += n < c->nwant || memcmp(ids, c->want, c->nwant * sizeof(int)) != 0;
        free(ids);
    }
    return NULL;
}

static void test_tokenizer(void) {
    dots_error e = {0};
    dots_tokenizer *tok = NULL;
    CHECK(tok_load(test_data("tiny-dots/tokenizer.json"), &tok, &e) == DOTS_OK, "%s", e.msg);
    if (!tok) return;
    tok_caller c[2];
    for (int i = 0; i < 2; i++) {
        c[i] = (tok_caller){tok, i, NULL, 0, 0};
        CHECK(tok_encode(tok, k_texts[i], strlen(k_texts[i]), &c[i].want, &c[i].nwant, &e) == DOTS_OK, "%s", e.msg);
    }
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, tok_caller_main, &c[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    CHECK(c[0].bad == 0 && c[1].bad == 0, "tokenizing from two threads: %d and %d wrong results", c[0].bad, c[1].bad);
    free(c[0].want); free(c[1].want);
    tok_free(tok);
}

/* ---- engines */
typedef struct { dots_engine *eng; const dots_image *img; const char *prompt; char *text; dots_status st; dots_error err; } gen_call;
static void *gen_main(void *arg) {
    gen_call *g = arg;
    dots_gen_opts o = {.struct_size = sizeof(dots_gen_opts)};
    o.max_new_tokens = 10;
    dots_gen_result r;
    g->st = dots_generate(g->eng, g->img, g->img ? 1 : 0, g->prompt, &o, &r, &g->err);
    g->text = g->st ? NULL : r.text;
    return NULL;
}
/* The image request on engine ea and the text request on eb, at the same time: both must give
 * the answers computed one after the other (ref_img, ref_txt). */
static void run_two(const char *what, dots_engine *ea, dots_engine *eb, const dots_image *img, const gen_call *ref_img,
                    const gen_call *ref_txt) {
    gen_call a = {.eng = ea, .img = img, .prompt = ref_img->prompt}, b = {.eng = eb, .prompt = ref_txt->prompt};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, gen_main, &a);
    pthread_create(&tb, NULL, gen_main, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(a.st == DOTS_OK && b.st == DOTS_OK, "%s: %s %s", what, a.err.msg, b.err.msg);
    CHECK(a.text && b.text && !strcmp(a.text, ref_img->text) && !strcmp(b.text, ref_txt->text),
          "%s: the answers differ from the sequential ones", what);
    free(a.text);
    free(b.text);
}

static void test_engines(void) {
    dots_error e = {0};
    dots_engine *e1 = NULL, *e2 = NULL;
    dots_engine_opts eo = {.struct_size = sizeof(dots_engine_opts), .model_dir = test_data("tiny-dots"), .threads = 2};
    CHECK(dots_engine_open(&eo, &e1, &e) == DOTS_OK, "open: %s", e.msg);
    CHECK(dots_engine_open(&eo, &e2, &e) == DOTS_OK, "open: %s", e.msg);
    if (!e1 || !e2) { dots_engine_close(e1); dots_engine_close(e2); return; }
    dots_image img = {56, 84, malloc(56 * 84 * 3)};
    for (int i = 0; i < 56 * 84 * 3; i++) img.rgb[i] = (unsigned char)(i * 29 + (i >> 6));
    /* the answers on one thread, one after the other (this also builds the kernel table before
     * any second thread exists; its lazy init is made thread-safe separately, in src/kernels) */
    gen_call ref_img = {.eng = e1, .img = &img, .prompt = "Read it."}, ref_txt = {.eng = e1, .prompt = "Hello there"};
    gen_main(&ref_img);
    gen_main(&ref_txt);
    CHECK(ref_img.st == DOTS_OK && ref_txt.st == DOTS_OK, "sequential: %s %s", ref_img.err.msg, ref_txt.err.msg);
    if (!ref_img.text || !ref_txt.text) goto out;
    run_two("two engines, one thread each", e1, e2, &img, &ref_img, &ref_txt);
    run_two("one engine, two callers", e2, e2, &img, &ref_img, &ref_txt);
out:
    free(ref_img.text); free(ref_txt.text);
    free(img.rgb);
    dots_engine_close(e1);
    dots_engine_close(e2);
}

int main(void) {
    test_pool();
    test_cpu_count();
    test_tokenizer();
    test_engines();
    return test_finish("test_concurrency");
}

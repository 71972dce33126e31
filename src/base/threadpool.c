#include "base/threadpool.h"
#include "base/mem.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

/* A worker (and pool_run waiting for the last one) spins this long for the next job before it
 * sleeps on a condition variable: long enough to bridge the gap between the back-to-back GEMVs
 * of one decode step, short enough that an idle pool costs no CPU (the machine is shared). */
#define SPIN_SECONDS 100e-6
enum { SPIN_CHECK_EVERY = 64 };


/* The pool whose task this thread is running (NULL outside tasks): a nested pool_run on the same
 * pool runs inline instead of waiting for itself. */
static _Thread_local const struct dots_pool *t_running_pool;

/* Spins until (*v == x) == until_equal, for at most SPIN_SECONDS; returns the last value read. */
static unsigned spin_on(atomic_uint *v, unsigned x, int until_equal) {
    double until = 0;
    for (unsigned i = 1;; i++) {
        unsigned g = atomic_load_explicit(v, memory_order_acquire);
        if ((g == x) == until_equal) return g;
        if (i % SPIN_CHECK_EVERY == 0) {
            double now = dots_now();
            if (until == 0) until = now + SPIN_SECONDS;
            else if (now > until) return g;
        }
        CPU_RELAX();
    }
}

struct dots_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t run_mu;   /* held by the one pool_run in progress: callers take turns */
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    atomic_uint generation;   /* bumped for each job */
    atomic_int next_task;     /* next task index to hand out */
    atomic_uint pending;      /* workers still busy with this job */
    int ntasks;
    dots_task_fn fn;
    void *ctx;
    int quit;
};

typedef struct { dots_pool *p; int id; } worker_arg;

static void run_tasks(dots_pool *p, int thread) {
    for (;;) {
        int t = atomic_fetch_add_explicit(&p->next_task, 1, memory_order_relaxed);
        if (t >= p->ntasks) break;
        p->fn(p->ctx, t, thread);
    }
}

static void *worker_main(void *arg) {
    worker_arg wa = *(worker_arg *)arg;
    free(arg);
    dots_pool *p = wa.p;
    /* workers are created at generation 0; reading it here instead would miss a job
     * posted before this thread got to run (and pool_run would wait forever) */
    unsigned seen = 0;
    for (;;) {
        unsigned g = spin_on(&p->generation, seen, 0);
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            while ((g = atomic_load(&p->generation)) == seen && !p->quit) pthread_cond_wait(&p->wake, &p->mu);
            int quit = p->quit;
            pthread_mutex_unlock(&p->mu);
            if (quit) return NULL;
        }
        seen = g;
        pthread_mutex_lock(&p->mu);
        int quit = p->quit;
        pthread_mutex_unlock(&p->mu);
        if (quit) return NULL;
        t_running_pool = p;
        run_tasks(p, wa.id);
        t_running_pool = NULL;
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

dots_pool *pool_create(int nthreads, dots_error *e) {
    if (nthreads <= 0) nthreads = dots_cpu_count();
    if (nthreads > 256) nthreads = 256;
    dots_pool *p = calloc(1, sizeof *p);
    if (!p) { dots_fail(e, DOTS_E_NOMEM, "out of memory creating the thread pool"); return NULL; }
    p->n = nthreads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->run_mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->generation, 0);
    atomic_init(&p->next_task, 0);
    atomic_init(&p->pending, 0);
    p->threads = calloc((size_t)nthreads, sizeof *p->threads);
    if (!p->threads) { free(p); dots_fail(e, DOTS_E_NOMEM, "out of memory creating the thread pool"); return NULL; }
    for (int i = 1; i < nthreads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa || pthread_create(&p->threads[i], NULL, worker_main, (wa->p = p, wa->id = i, wa)) != 0) {
            free(wa);
            p->n = i; /* destroy only what started */
            pool_destroy(p);
            dots_fail(e, DOTS_E_NOMEM, "could not start worker thread %d of %d; set dots_engine_opts.threads to %d", i, nthreads, i);
            return NULL;
        }
    }
    return p;
}

void pool_destroy(dots_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    atomic_fetch_add(&p->generation, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->run_mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->threads);
    free(p);
}

int pool_threads(const dots_pool *p) { return p ? p->n : 1; }

void pool_run(dots_pool *p, int ntasks, dots_task_fn fn, void *ctx) {
    if (ntasks <= 0) return;
    if (!p || p->n == 1 || ntasks == 1 || t_running_pool == p) {
        for (int t = 0; t < ntasks; t++) fn(ctx, t, 0);
        return;
    }
    pthread_mutex_lock(&p->run_mu);
    /* the job fields are published by the generation bump (release) under mu */
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->ntasks = ntasks;
    atomic_store(&p->next_task, 0);
    atomic_store(&p->pending, (unsigned)(p->n - 1));
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    t_running_pool = p;
    run_tasks(p, 0);
    t_running_pool = NULL;
    /* wait for the workers: spin briefly, then sleep */
    if (spin_on(&p->pending, 0, 1) != 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->pending) != 0) pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_unlock(&p->run_mu);
}

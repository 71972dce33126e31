/* A fixed pool of worker threads that runs "task i of n" jobs.
 * The calling thread takes part as thread 0; tasks are handed out
 * dynamically (an atomic counter), so uneven tasks balance themselves.
 * Workers spin about 100 us before sleeping, so back-to-back small jobs
 * (decode-time GEMVs) do not pay a wake-up each while an idle pool uses no CPU. */
#ifndef DOTS_THREADPOOL_H
#define DOTS_THREADPOOL_H
#include "base/error.h"

typedef struct dots_pool dots_pool;

/* fn(ctx, task, thread): thread in [0, pool_threads). */
typedef void (*dots_task_fn)(void *ctx, int task, int thread);

/* nthreads <= 0 means one per CPU this process may use (dots_cpu_count: affinity mask and
 * cgroup quota). Returns NULL and sets e on failure. */
dots_pool *pool_create(int nthreads, dots_error *e);
void pool_destroy(dots_pool *p);
int pool_threads(const dots_pool *p);
/* Run tasks 0..ntasks-1 and wait for all of them. p may be NULL (runs inline).
 * Safe from several threads at once (they take turns); a pool_run from inside one of this
 * pool's tasks runs inline on the calling thread (as thread 0). */
void pool_run(dots_pool *p, int ntasks, dots_task_fn fn, void *ctx);

#endif

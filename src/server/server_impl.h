/* State shared by the server's files: the options, the engine (used by the worker
 * only), the queue and the counters. */
#ifndef DOTS_SERVER_IMPL_H
#define DOTS_SERVER_IMPL_H
#include <stdatomic.h>
#include "server/job.h"
#include "server/metrics.h"
#include "server/queue.h"
#include "server/server.h"

typedef struct srv_ctx {
    dots_server_opts opts;       /* defaults filled in */
    dots_engine *eng;
    srv_queue *queue;
    srv_metrics metrics;
    char model_id[256];          /* what /v1/models lists: the model folder's name */
    atomic_int stopping;
} srv_ctx;

/* The queue's callbacks (worker.c). */
void srv_worker_run(void *job, void *ctx);
void srv_worker_drop(void *job, void *ctx);
void srv_worker_cancel(void *job, void *ctx);

#endif

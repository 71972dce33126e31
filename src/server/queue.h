/* The request queue: a bounded FIFO in front of one worker thread, which runs the
 * jobs one at a time (it owns the engine). The queue knows nothing of what a job
 * is; a batching scheduler can replace this module behind the same calls. */
#ifndef DOTS_SERVER_QUEUE_H
#define DOTS_SERVER_QUEUE_H
#include "base/error.h"

typedef struct srv_queue srv_queue;

typedef struct srv_queue_ops {
    void (*run)(void *job, void *ctx);   /* on the worker thread */
    void (*drop)(void *job, void *ctx);  /* a waiting job that will never run (shutdown) */
    void (*cancel)(void *job, void *ctx); /* asks the running job to end soon (shutdown) */
    void *ctx;
} srv_queue_ops;

enum { SRV_QUEUE_OK = 0, SRV_QUEUE_FULL, SRV_QUEUE_CLOSED };

/* capacity: jobs that may wait besides the one running. Starts the worker. */
srv_queue *srv_queue_new(int capacity, const srv_queue_ops *ops, dots_error *e);
/* SRV_QUEUE_OK (the queue now holds the job), SRV_QUEUE_FULL or SRV_QUEUE_CLOSED. */
int srv_queue_push(srv_queue *q, void *job);
void srv_queue_depth(srv_queue *q, int *waiting, int *running);
/* Refuses new jobs from now on, cancels the running one, drops the waiting ones and
 * joins the worker. Pushes after this get SRV_QUEUE_CLOSED. */
void srv_queue_close(srv_queue *q);
/* Closes (if not yet) and frees; no other thread may use q any more. */
void srv_queue_free(srv_queue *q);

#endif

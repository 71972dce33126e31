#include "server/queue.h"
#include <pthread.h>
#include <stdlib.h>

struct srv_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t worker;
    srv_queue_ops ops;
    void **ring;          /* [cap] waiting jobs, head first */
    void *current;        /* the running job */
    int cap, head, count, running, closed, joined;
};

static void *worker_main(void *arg) {
    srv_queue *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->count && !q->closed) pthread_cond_wait(&q->cv, &q->mu);
        if (q->closed) break;
        void *job = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        q->running = 1;
        q->current = job;
        pthread_mutex_unlock(&q->mu);
        q->ops.run(job, q->ops.ctx);
        pthread_mutex_lock(&q->mu);
        q->running = 0;
        q->current = NULL;
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

srv_queue *srv_queue_new(int capacity, const srv_queue_ops *ops, dots_error *e) {
    srv_queue *q = calloc(1, sizeof *q);
    if (capacity < 1) capacity = 1;
    if (!q || !(q->ring = calloc((size_t)capacity, sizeof *q->ring))) {
        free(q);
        dots_fail(e, DOTS_E_NOMEM, "out of memory for a request queue of %d", capacity);
        return NULL;
    }
    q->cap = capacity;
    q->ops = *ops;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    if (pthread_create(&q->worker, NULL, worker_main, q)) {
        pthread_cond_destroy(&q->cv);
        pthread_mutex_destroy(&q->mu);
        free(q->ring);
        free(q);
        dots_fail(e, DOTS_E_INTERNAL, "could not start the worker thread");
        return NULL;
    }
    return q;
}

int srv_queue_push(srv_queue *q, void *job) {
    pthread_mutex_lock(&q->mu);
    int r = q->closed ? SRV_QUEUE_CLOSED : q->count == q->cap ? SRV_QUEUE_FULL : SRV_QUEUE_OK;
    if (r == SRV_QUEUE_OK) {
        q->ring[(q->head + q->count) % q->cap] = job;
        q->count++;
        pthread_cond_signal(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return r;
}

void srv_queue_depth(srv_queue *q, int *waiting, int *running) {
    pthread_mutex_lock(&q->mu);
    *waiting = q->count;
    *running = q->running;
    pthread_mutex_unlock(&q->mu);
}

void srv_queue_close(srv_queue *q) {
    if (!q) return;
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    if (q->current) q->ops.cancel(q->current, q->ops.ctx);
    pthread_cond_signal(&q->cv);
    int joined = q->joined;
    q->joined = 1;
    pthread_mutex_unlock(&q->mu);
    if (joined) return;
    pthread_join(q->worker, NULL);
    pthread_mutex_lock(&q->mu);
    for (; q->count; q->count--, q->head = (q->head + 1) % q->cap) q->ops.drop(q->ring[q->head], q->ops.ctx);
    pthread_mutex_unlock(&q->mu);
}

void srv_queue_free(srv_queue *q) {
    if (!q) return;
    srv_queue_close(q);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q->ring);
    free(q);
}

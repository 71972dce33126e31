#define _GNU_SOURCE /* POLLRDHUP */
#include "server/job.h"
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/mem.h"

srv_job *srv_job_new(srv_job_kind kind, double timeout_s) {
    srv_job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    j->refs = 1;
    j->kind = kind;
    j->deadline = dots_now() + timeout_s;
    atomic_init(&j->cancel, SRV_CANCEL_NONE);
    return j;
}

void srv_job_ref(srv_job *j) {
    pthread_mutex_lock(&j->mu);
    j->refs++;
    pthread_mutex_unlock(&j->mu);
}

void srv_job_unref(srv_job *j) {
    if (!j) return;
    pthread_mutex_lock(&j->mu);
    int left = --j->refs;
    pthread_mutex_unlock(&j->mu);
    if (left) return;
    srv_chat_request_free(&j->chat);
    free(j->parse.data);
    dstr_free(&j->text);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

void srv_job_start(srv_job *j) {
    pthread_mutex_lock(&j->mu);
    j->state = SRV_JOB_RUNNING;
    pthread_mutex_unlock(&j->mu);
}

void srv_job_done(srv_job *j) {
    pthread_mutex_lock(&j->mu);
    j->state = SRV_JOB_DONE;
    j->safe = j->text.n;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

int srv_client_gone(int fd) {
    if (fd < 0) return 0;
    struct pollfd p = {fd, POLLRDHUP, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

int srv_job_wait(srv_job *j, size_t have, int fd) {
    pthread_mutex_lock(&j->mu);
    int gone = 0;
    while (j->state != SRV_JOB_DONE && j->safe <= have) {
        if (srv_client_gone(fd)) { gone = 1; break; }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000 * 1000; /* look at the socket ten times a second */
        if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
        pthread_cond_timedwait(&j->cv, &j->mu, &ts);
    }
    pthread_mutex_unlock(&j->mu);
    if (gone) atomic_store(&j->cancel, SRV_CANCEL_CLIENT_GONE);
    return gone ? -1 : 0;
}

size_t srv_job_read(srv_job *j, size_t from, dstr *out, int *done) {
    pthread_mutex_lock(&j->mu);
    size_t to = j->safe;
    if (to > from) dstr_addn(out, j->text.p + from, to - from);
    *done = j->state == SRV_JOB_DONE && to >= j->safe;
    pthread_mutex_unlock(&j->mu);
    return to > from ? to : from;
}

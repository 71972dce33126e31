/* Prometheus counters of the server (text exposition format 0.0.4). */
#ifndef DOTS_SERVER_METRICS_H
#define DOTS_SERVER_METRICS_H
#include <pthread.h>
#include "doc/strutil.h"

#define SRV_METRIC_SLOTS 64

typedef struct srv_metrics {
    pthread_mutex_t mu;
    struct { const char *route; int status; long long count; } req[SRV_METRIC_SLOTS];
    int n_req;
    long long prompt_tokens, completion_tokens;
    double phase_seconds[4];     /* preprocess, vision, prefill, decode */
    long long phase_count;
    double queue_seconds;        /* time jobs waited for the engine */
    long long queue_count;
} srv_metrics;

void srv_metrics_init(srv_metrics *m);
void srv_metrics_destroy(srv_metrics *m);
/* route: a static string (one of the known routes or "other"). */
void srv_metrics_request(srv_metrics *m, const char *route, int status);
void srv_metrics_generation(srv_metrics *m, int prompt_tokens, int completion_tokens, const double phase_s[4]);
void srv_metrics_queue_wait(srv_metrics *m, double seconds);
void srv_metrics_render(srv_metrics *m, int waiting, int running, dstr *out);

#endif

#include "server/metrics.h"
#include <string.h>

static const char *const k_phase[4] = {"preprocess", "vision", "prefill", "decode"};

void srv_metrics_init(srv_metrics *m) {
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
}

void srv_metrics_destroy(srv_metrics *m) { pthread_mutex_destroy(&m->mu); }

void srv_metrics_request(srv_metrics *m, const char *route, int status) {
    pthread_mutex_lock(&m->mu);
    int i = 0;
    while (i < m->n_req && (strcmp(m->req[i].route, route) || m->req[i].status != status)) i++;
    if (i == m->n_req && i < SRV_METRIC_SLOTS) {
        m->req[i].route = route;
        m->req[i].status = status;
        m->req[i].count = 0;
        m->n_req++;
    }
    if (i < m->n_req) m->req[i].count++;
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_generation(srv_metrics *m, int prompt_tokens, int completion_tokens, const double phase_s[4]) {
    pthread_mutex_lock(&m->mu);
    m->prompt_tokens += prompt_tokens;
    m->completion_tokens += completion_tokens;
    for (int k = 0; k < 4; k++) m->phase_seconds[k] += phase_s[k];
    m->phase_count++;
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_queue_wait(srv_metrics *m, double seconds) {
    pthread_mutex_lock(&m->mu);
    m->queue_seconds += seconds;
    m->queue_count++;
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_render(srv_metrics *m, int waiting, int running, dstr *o) {
    pthread_mutex_lock(&m->mu);
    dstr_add(o, "# HELP dotsocr_requests_total HTTP requests answered, by route and status code.\n"
                "# TYPE dotsocr_requests_total counter\n");
    for (int i = 0; i < m->n_req; i++)
        dstr_addf(o, "dotsocr_requests_total{route=\"%s\",code=\"%d\"} %lld\n", m->req[i].route, m->req[i].status,
                  m->req[i].count);
    dstr_addf(o, "# HELP dotsocr_prompt_tokens_total Prompt tokens processed (image tokens included).\n"
                 "# TYPE dotsocr_prompt_tokens_total counter\ndotsocr_prompt_tokens_total %lld\n"
                 "# HELP dotsocr_completion_tokens_total Tokens generated.\n"
                 "# TYPE dotsocr_completion_tokens_total counter\ndotsocr_completion_tokens_total %lld\n",
              m->prompt_tokens, m->completion_tokens);
    dstr_addf(o, "# HELP dotsocr_queue_depth Requests waiting for the engine.\n"
                 "# TYPE dotsocr_queue_depth gauge\ndotsocr_queue_depth %d\n"
                 "# HELP dotsocr_requests_running Requests the engine is working on.\n"
                 "# TYPE dotsocr_requests_running gauge\ndotsocr_requests_running %d\n", waiting, running);
    dstr_add(o, "# HELP dotsocr_phase_seconds Engine time per phase of a generation.\n"
                "# TYPE dotsocr_phase_seconds summary\n");
    for (int k = 0; k < 4; k++)
        dstr_addf(o, "dotsocr_phase_seconds_sum{phase=\"%s\"} %.6f\ndotsocr_phase_seconds_count{phase=\"%s\"} %lld\n",
                  k_phase[k], m->phase_seconds[k], k_phase[k], m->phase_count);
    dstr_addf(o, "# HELP dotsocr_queue_wait_seconds Time requests waited for the engine.\n"
                 "# TYPE dotsocr_queue_wait_seconds summary\n"
                 "dotsocr_queue_wait_seconds_sum %.6f\ndotsocr_queue_wait_seconds_count %lld\n",
              m->queue_seconds, m->queue_count);
    pthread_mutex_unlock(&m->mu);
}

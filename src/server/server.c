/* dots_server_run: engine, worker queue and the libmicrohttpd daemon, and an orderly
 * shutdown (stop accepting, end the jobs, join the threads, close the engine). */
#include "server/server.h"
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "server/http.h"

static void fill_defaults(dots_server_opts *o) {
    if (!o->host) o->host = "127.0.0.1";
    if (o->max_body_bytes <= 0) o->max_body_bytes = 64LL << 20;
    if (o->max_pixels <= 0) o->max_pixels = 50000000;
    if (o->max_tokens <= 0) o->max_tokens = 16384;
    if (o->timeout_s <= 0) o->timeout_s = 600;
    if (o->queue <= 0) o->queue = 16;
    if (o->api_key && !*o->api_key) o->api_key = NULL;
}

/* The numeric address of host (an IPv4/IPv6 literal or a name such as localhost). */
static dots_status resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len, dots_error *e) {
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int r = getaddrinfo(host, ps, &hints, &ai);
    if (r || !ai)
        return dots_fail(e, DOTS_E_ARG, "--host %s: cannot resolve it (%s); give an address such as 127.0.0.1 or ::1",
                         host, gai_strerror(r));
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return DOTS_OK;
}

static void model_name(const char *dir, char *out, size_t cap) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && dir[b - 1] != '/') b--;
    snprintf(out, cap, "%.*s", (int)(n - b), dir + b);
    for (char *p = out; *p; p++) /* it goes into JSON unescaped */
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) *p = '_';
}

static struct MHD_Daemon *start_daemon(srv_ctx *c, dots_error *e) {
    struct sockaddr_storage ss;
    socklen_t sl;
    if (resolve(c->opts.host, c->opts.port, &ss, &sl, e)) return NULL;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)c->opts.port, NULL, NULL, srv_on_request, c, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_NOTIFY_COMPLETED, srv_on_completed, c,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(c->opts.queue * 2 + 16),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, /* idle (slow or silent) clients */
        MHD_OPTION_END);
    if (!d)
        dots_fail(e, DOTS_E_IO, "cannot listen on %s port %d (in use? a privileged port?); choose another --port",
                  c->opts.host, c->opts.port);
    return d;
}

dots_status dots_server_run(const dots_server_opts *opts, volatile sig_atomic_t *stop, dots_error *e) {
    static srv_ctx c; /* one server per process: signal handling is process-wide anyway */
    memset(&c, 0, sizeof c);
    c.opts = *opts;
    fill_defaults(&c.opts);
    if (!c.opts.model_dir) return dots_fail(e, DOTS_E_ARG, "serve needs --model DIR");
    model_name(c.opts.model_dir, c.model_id, sizeof c.model_id);
    srv_metrics_init(&c.metrics);
    atomic_init(&c.stopping, 0);
    dots_engine_opts eo;
    dots_engine_opts_init(&eo);
    eo.model_dir = c.opts.model_dir;
    eo.threads = c.opts.threads;
    eo.max_context = c.opts.max_context;
    dots_status st = dots_engine_open(&eo, &c.eng, e);
    srv_queue_ops ops = {srv_worker_run, srv_worker_drop, srv_worker_cancel, &c};
    struct MHD_Daemon *d = NULL;
    if (!st && !(c.queue = srv_queue_new(c.opts.queue, &ops, e))) st = e ? e->code : DOTS_E_NOMEM;
    if (!st && !(d = start_daemon(&c, e))) st = e ? e->code : DOTS_E_IO;
    if (!st) {
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        int port = di ? di->port : c.opts.port;
        int v6 = strchr(c.opts.host, ':') != NULL;
        fprintf(stderr, "dotsocr: serving %s; listening on http://%s%s%s:%d\n", c.model_id, v6 ? "[" : "", c.opts.host,
                v6 ? "]" : "", port);
        fflush(stderr);
        while (!*stop) nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
        fprintf(stderr, "dotsocr: shutting down\n");
    }
    atomic_store(&c.stopping, 1);
    srv_queue_close(c.queue); /* the running job ends at its next step; waiting ones get 503 */
    if (d) MHD_stop_daemon(d);
    srv_queue_free(c.queue);
    dots_engine_close(c.eng);
    srv_metrics_destroy(&c.metrics);
    return st;
}

#include "server/http.h"
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"

typedef struct {
    const char *path, *method;
    int needs_key;
    enum MHD_Result (*handler)(srv_conn *c);
} route;

static const route k_routes[] = {
    {"/v1/chat/completions", "POST", 1, srv_route_chat},
    {"/v1/parse", "POST", 1, srv_route_parse},
    {"/v1/models", "GET", 1, srv_route_models},
    {"/health", "GET", 0, srv_route_health},
    {"/metrics", "GET", 0, srv_route_metrics},
};

enum MHD_Result srv_reply(srv_conn *c, int status, const char *content_type, const char *body, size_t n) {
    struct MHD_Response *r = MHD_create_response_from_buffer(n, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (status == 401) MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result ok = MHD_queue_response(c->mc, (unsigned)status, r);
    MHD_destroy_response(r);
    c->answered = 1;
    srv_metrics_request(&c->srv->metrics, c->route, status);
    return ok;
}

enum MHD_Result srv_reply_error(srv_conn *c, int status, const char *type, const char *param, const char *code,
                                const char *msg) {
    json_object *err = json_object_new_object(), *root = json_object_new_object();
    json_object_object_add(err, "message", json_object_new_string(msg));
    json_object_object_add(err, "type", json_object_new_string(type));
    json_object_object_add(err, "param", param && *param ? json_object_new_string(param) : NULL);
    json_object_object_add(err, "code", code ? json_object_new_string(code) : NULL);
    json_object_object_add(root, "error", err);
    size_t n;
    const char *s = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    fprintf(stderr, "dotsocr: %s -> %d after %.2f s: %.300s\n", c->route, status, dots_now() - c->t0, msg);
    enum MHD_Result ok = srv_reply(c, status, "application/json", s, n);
    json_object_put(root);
    return ok;
}

enum MHD_Result srv_reply_dots_error(srv_conn *c, dots_status st, const dots_error *e, const char *param,
                                     int timed_out) {
    const char *msg = e && e->msg[0] ? e->msg : dots_status_name(st);
    if (timed_out) return srv_reply_error(c, 504, "timeout", NULL, "timeout", msg);
    switch (st) {
    case DOTS_E_ARG: case DOTS_E_FORMAT: case DOTS_E_LIMIT: case DOTS_E_UNSUPPORTED:
        return srv_reply_error(c, 400, "invalid_request_error", param, dots_status_name(st), msg);
    case DOTS_E_INTERRUPTED: return srv_reply_error(c, 503, "server_error", NULL, "shutting_down", msg);
    case DOTS_E_NOMEM: return srv_reply_error(c, 503, "server_error", NULL, "out_of_memory", msg);
    default: return srv_reply_error(c, 500, "server_error", NULL, dots_status_name(st), msg);
    }
}

int srv_enqueue(srv_conn *c, srv_job *j, enum MHD_Result *reply) {
    srv_job_ref(j); /* the queue's reference, dropped by the worker */
    int r = atomic_load(&c->srv->stopping) ? SRV_QUEUE_CLOSED : srv_queue_push(c->srv->queue, j);
    c->job = j;     /* the connection's reference, dropped when the request ends */
    if (r == SRV_QUEUE_OK) return 0;
    srv_job_unref(j);
    char msg[160];
    if (r == SRV_QUEUE_FULL) {
        snprintf(msg, sizeof msg, "the server is busy: %d requests are already waiting (--queue); retry later",
                 c->srv->opts.queue);
        *reply = srv_reply_error(c, 429, "rate_limit_error", NULL, "queue_full", msg);
    } else {
        *reply = srv_reply_error(c, 503, "server_error", NULL, "shutting_down", "the server is shutting down");
    }
    return -1;
}

/* Constant-time comparison of the Authorization header with "Bearer KEY". */
static int key_ok(srv_conn *c) {
    const char *key = c->srv->opts.api_key;
    if (!key) return 1;
    const char *h = MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7)) return 0;
    h += 7;
    size_t hn = strlen(h), kn = strlen(key);
    unsigned diff = hn != kn;
    for (size_t i = 0; i < kn; i++) diff |= (unsigned char)key[i] ^ (unsigned char)(i < hn ? h[i] : 0);
    return diff == 0;
}

/* The first call of a request: route, method, key, declared size. Replies at once when refused. */
static enum MHD_Result start(srv_conn *c, const char *url, const char *method) {
    const route *rt = NULL;
    int path_known = 0;
    for (size_t i = 0; i < sizeof k_routes / sizeof *k_routes; i++)
        if (!strcmp(url, k_routes[i].path)) {
            path_known = 1;
            if (!strcmp(method, k_routes[i].method)) rt = &k_routes[i];
        }
    char msg[512];
    if (!rt) {
        snprintf(msg, sizeof msg, "%s %.200s: %s", method, url, path_known ? "method not allowed on this route"
                 : "no such route (routes: POST /v1/chat/completions, POST /v1/parse, GET /v1/models, GET /health, "
                   "GET /metrics)");
        return srv_reply_error(c, path_known ? 405 : 404, "invalid_request_error", NULL,
                               path_known ? "method_not_allowed" : "unknown_url", msg);
    }
    c->route = rt->path;
    c->handler = rt->handler;
    if (rt->needs_key && !key_ok(c))
        return srv_reply_error(c, 401, "invalid_request_error", NULL, "invalid_api_key",
                               "missing or wrong API key: send the server's --api-key as 'Authorization: Bearer KEY'");
    const char *cl = MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoll(cl, NULL, 10) > c->srv->opts.max_body_bytes) {
        snprintf(msg, sizeof msg, "the request body is %s bytes, over the server's limit of %lld (--max-body-mb)", cl,
                 c->srv->opts.max_body_bytes);
        return srv_reply_error(c, 413, "invalid_request_error", NULL, "request_too_large", msg);
    }
    return MHD_YES;
}

enum MHD_Result srv_on_request(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_n, void **con_cls) {
    (void)version;
    srv_conn *c = *con_cls;
    if (!c) {
        if (!(c = calloc(1, sizeof *c))) return MHD_NO;
        *con_cls = c;
        c->srv = cls;
        c->mc = mc;
        c->route = "other";
        c->t0 = dots_now();
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        c->fd = ci ? ci->connect_fd : -1;
        return start(c, url, method);
    }
    if (*upload_n) {
        /* a body past the limit is read and thrown away, then refused */
        if (!c->answered && !c->too_big) {
            if ((long long)(c->body.n + *upload_n) > c->srv->opts.max_body_bytes) c->too_big = 1;
            else dstr_addn(&c->body, upload, *upload_n);
        }
        *upload_n = 0;
        return MHD_YES;
    }
    if (c->answered) return MHD_YES;
    if (c->too_big) {
        char msg[160];
        snprintf(msg, sizeof msg, "the request body is over the server's limit of %lld bytes (--max-body-mb)",
                 c->srv->opts.max_body_bytes);
        return srv_reply_error(c, 413, "invalid_request_error", NULL, "request_too_large", msg);
    }
    if (c->body.oom) return srv_reply_error(c, 503, "server_error", NULL, "out_of_memory", "out of memory reading the body");
    return c->handler(c);
}

void srv_on_completed(void *cls, struct MHD_Connection *mc, void **con_cls, enum MHD_RequestTerminationCode why) {
    (void)cls; (void)mc; (void)why;
    srv_conn *c = *con_cls;
    if (!c) return;
    if (!c->answered) srv_metrics_request(&c->srv->metrics, c->route, 499); /* the client left first (nginx's code) */
    if (c->job) {
        /* a job still running for this request has nobody to answer: stop it */
        atomic_store(&c->job->cancel, SRV_CANCEL_CLIENT_GONE);
        srv_job_unref(c->job);
    }
    dstr_free(&c->body);
    free(c);
    *con_cls = NULL;
}

/* The HTTP layer (libmicrohttpd, one thread per connection): requests, their body,
 * the key check, and replies (OpenAI's error JSON for every failure). */
#ifndef DOTS_SERVER_HTTP_H
#define DOTS_SERVER_HTTP_H
#include <microhttpd.h>
#include "server/server_impl.h"

typedef struct srv_conn {
    srv_ctx *srv;
    struct MHD_Connection *mc;
    const char *route;           /* static label for the metrics */
    enum MHD_Result (*handler)(struct srv_conn *c);
    dstr body;                   /* the request body as received */
    int too_big, answered;
    int fd;                      /* the client socket, watched while a job runs */
    srv_job *job;                /* the job this request queued, if any (one reference) */
    double t0;
} srv_conn;

/* Sends body[0..n) with the status and content type. */
enum MHD_Result srv_reply(srv_conn *c, int status, const char *content_type, const char *body, size_t n);
/* OpenAI's {"error": {"message", "type", "param", "code"}}; param and code may be NULL. */
enum MHD_Result srv_reply_error(srv_conn *c, int status, const char *type, const char *param, const char *code,
                                const char *msg);
/* The error of a failed call or job: its status picks the HTTP code (400 for bad input ...). */
enum MHD_Result srv_reply_dots_error(srv_conn *c, dots_status st, const dots_error *e, const char *param,
                                     int timed_out);
/* Queues the job, taking over the caller's reference (kept in c->job until the request
 * ends): 0 queued, else it replied (429 when the queue is full, 503 when stopping). */
int srv_enqueue(srv_conn *c, srv_job *j, enum MHD_Result *reply);

/* Routes (route_*.c). */
enum MHD_Result srv_route_chat(srv_conn *c);
enum MHD_Result srv_route_parse(srv_conn *c);
enum MHD_Result srv_route_models(srv_conn *c);
enum MHD_Result srv_route_health(srv_conn *c);
enum MHD_Result srv_route_metrics(srv_conn *c);

/* The MHD callbacks (http.c). */
enum MHD_Result srv_on_request(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_n, void **con_cls);
void srv_on_completed(void *cls, struct MHD_Connection *mc, void **con_cls, enum MHD_RequestTerminationCode why);

#endif

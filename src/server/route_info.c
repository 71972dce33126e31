/* GET /v1/models, /health and /metrics. */
#include <stdio.h>
#include "server/http.h"

enum MHD_Result srv_route_models(srv_conn *c) {
    dots_engine_info info = DOTS_ENGINE_INFO_INIT;
    dots_error e = {0};
    int max_len = dots_engine_get_info(c->srv->eng, &info, &e) ? 0 : info.max_context;
    char body[768];
    int n = snprintf(body, sizeof body,
                     "{\"object\":\"list\",\"data\":[{\"id\":\"%s\",\"object\":\"model\",\"created\":0,"
                     "\"owned_by\":\"dotsocr\",\"max_model_len\":%d}]}", c->srv->model_id, max_len);
    return srv_reply(c, 200, "application/json", body, (size_t)n);
}

enum MHD_Result srv_route_health(srv_conn *c) {
    int waiting, running;
    srv_queue_depth(c->srv->queue, &waiting, &running);
    char body[160];
    int n = snprintf(body, sizeof body, "{\"status\":\"ok\",\"waiting\":%d,\"running\":%d}", waiting, running);
    return srv_reply(c, 200, "application/json", body, (size_t)n);
}

enum MHD_Result srv_route_metrics(srv_conn *c) {
    int waiting, running;
    srv_queue_depth(c->srv->queue, &waiting, &running);
    dstr out = {0};
    srv_metrics_render(&c->srv->metrics, waiting, running, &out);
    enum MHD_Result r = out.oom ? MHD_NO : srv_reply(c, 200, "text/plain; version=0.0.4", out.p, out.n);
    dstr_free(&out);
    return r;
}

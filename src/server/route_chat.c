/* POST /v1/chat/completions: the OpenAI answer, whole or as server-sent events. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/mem.h"
#include "server/http.h"

typedef struct {
    char id[48];
    long created;
    char model[256];
} completion_ids;

static void make_ids(completion_ids *ids, const char *model) {
    static atomic_uint_fast64_t counter;
    uint64_t n = atomic_fetch_add(&counter, 1) + 1;
    ids->created = (long)time(NULL);
    snprintf(ids->id, sizeof ids->id, "chatcmpl-%lx%06llx", ids->created, (unsigned long long)n);
    snprintf(ids->model, sizeof ids->model, "%s", model);
}

static json_object *usage(const srv_job *j) {
    json_object *u = json_object_new_object();
    json_object_object_add(u, "prompt_tokens", json_object_new_int(j->prompt_tokens));
    json_object_object_add(u, "completion_tokens", json_object_new_int(j->completion_tokens));
    json_object_object_add(u, "total_tokens", json_object_new_int(j->prompt_tokens + j->completion_tokens));
    return u;
}

static json_object *envelope(const completion_ids *ids, const char *object) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(ids->id));
    json_object_object_add(o, "object", json_object_new_string(object));
    json_object_object_add(o, "created", json_object_new_int64(ids->created));
    json_object_object_add(o, "model", json_object_new_string(ids->model));
    return o;
}

static void add_json(dstr *out, json_object *o) {
    size_t n;
    const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    dstr_addn(out, s, n);
    json_object_put(o);
}

static enum MHD_Result reply_whole(srv_conn *c, srv_job *j, const completion_ids *ids) {
    json_object *o = envelope(ids, "chat.completion"), *choice = json_object_new_object(),
                *msg = json_object_new_object(), *choices = json_object_new_array();
    json_object_object_add(msg, "role", json_object_new_string("assistant"));
    json_object_object_add(msg, "content", json_object_new_string_len(j->text.p ? j->text.p : "", (int)j->text.n));
    json_object_object_add(choice, "index", json_object_new_int(0));
    json_object_object_add(choice, "message", msg);
    json_object_object_add(choice, "logprobs", NULL);
    json_object_object_add(choice, "finish_reason", json_object_new_string(j->finish));
    json_object_array_add(choices, choice);
    json_object_object_add(o, "choices", choices);
    json_object_object_add(o, "usage", usage(j));
    dstr out = {0};
    add_json(&out, o);
    enum MHD_Result r = out.oom ? srv_reply_error(c, 503, "server_error", NULL, "out_of_memory", "out of memory")
                                : srv_reply(c, 200, "application/json", out.p, out.n);
    dstr_free(&out);
    return r;
}

/* ------------------------------------------------------------- streaming */

typedef struct {
    srv_ctx *srv;
    srv_job *job;                /* own reference */
    completion_ids ids;
    int fd, include_usage;
    size_t sent;                 /* bytes of the job's text already in events */
    dstr out;                    /* event bytes not yet handed to MHD */
    size_t out_pos;
    int stage;                   /* 0: role chunk next, 1: content, 2: all written */
} sse_stream;

/* One chat.completion.chunk event; content NULL and finish NULL: the role chunk. */
static void add_chunk(sse_stream *s, const char *content, size_t n, const char *finish, int role) {
    json_object *o = envelope(&s->ids, "chat.completion.chunk"), *choices = json_object_new_array(),
                *choice = json_object_new_object(), *delta = json_object_new_object();
    if (role) json_object_object_add(delta, "role", json_object_new_string("assistant"));
    if (content || role) json_object_object_add(delta, "content", json_object_new_string_len(content ? content : "", (int)n));
    json_object_object_add(choice, "index", json_object_new_int(0));
    json_object_object_add(choice, "delta", delta);
    json_object_object_add(choice, "logprobs", NULL);
    json_object_object_add(choice, "finish_reason", finish ? json_object_new_string(finish) : NULL);
    json_object_array_add(choices, choice);
    json_object_object_add(o, "choices", choices);
    dstr_add(&s->out, "data: ");
    add_json(&s->out, o);
    dstr_add(&s->out, "\n\n");
}

/* The end of the stream: the last chunk (or an error event), usage, [DONE]. */
static void add_end(sse_stream *s) {
    srv_job *j = s->job;
    if (j->status) {
        json_object *root = json_object_new_object(), *err = json_object_new_object();
        json_object_object_add(err, "message", json_object_new_string(j->err.msg));
        json_object_object_add(err, "type", json_object_new_string(j->timed_out ? "timeout" : "server_error"));
        json_object_object_add(err, "param", NULL);
        json_object_object_add(err, "code", json_object_new_string(j->timed_out ? "timeout" : dots_status_name(j->status)));
        json_object_object_add(root, "error", err);
        dstr_add(&s->out, "data: ");
        add_json(&s->out, root);
        dstr_add(&s->out, "\n\n");
    } else {
        add_chunk(s, NULL, 0, j->finish, 0);
    }
    if (s->include_usage) {
        json_object *o = envelope(&s->ids, "chat.completion.chunk");
        json_object_object_add(o, "choices", json_object_new_array());
        json_object_object_add(o, "usage", usage(j));
        dstr_add(&s->out, "data: ");
        add_json(&s->out, o);
        dstr_add(&s->out, "\n\n");
    }
    dstr_add(&s->out, "data: [DONE]\n\n");
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    sse_stream *s = cls;
    while (s->out_pos == s->out.n) {
        s->out.n = s->out_pos = 0;
        if (s->stage == 2) return MHD_CONTENT_READER_END_OF_STREAM;
        if (s->stage == 0) {
            add_chunk(s, NULL, 0, NULL, 1);
            s->stage = 1;
            continue;
        }
        dstr piece = {0};
        int done;
        s->sent = srv_job_read(s->job, s->sent, &piece, &done);
        if (piece.n) add_chunk(s, piece.p, piece.n, NULL, 0);
        dstr_free(&piece);
        if (done) {
            add_end(s);
            s->stage = 2;
        } else if (!s->out.n && srv_job_wait(s->job, s->sent, s->fd) < 0) {
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (s->out.oom) return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = s->out.n - s->out_pos < max ? s->out.n - s->out_pos : max;
    memcpy(buf, s->out.p + s->out_pos, n);
    s->out_pos += n;
    return (ssize_t)n;
}

static void sse_free(void *cls) {
    sse_stream *s = cls;
    atomic_store(&s->job->cancel, SRV_CANCEL_CLIENT_GONE); /* no effect once the job is done */
    srv_job_unref(s->job);
    dstr_free(&s->out);
    free(s);
}

static enum MHD_Result reply_stream(srv_conn *c, srv_job *j, const completion_ids *ids) {
    sse_stream *s = calloc(1, sizeof *s);
    if (!s) return srv_reply_error(c, 503, "server_error", NULL, "out_of_memory", "out of memory");
    s->srv = c->srv;
    s->job = j;
    srv_job_ref(j);
    s->ids = *ids;
    s->fd = c->fd;
    s->include_usage = j->chat.include_usage;
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, sse_read, s, sse_free);
    if (!r) {
        sse_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    enum MHD_Result ok = MHD_queue_response(c->mc, 200, r);
    MHD_destroy_response(r);
    c->answered = 1;
    srv_metrics_request(&c->srv->metrics, c->route, 200);
    return ok;
}

enum MHD_Result srv_route_chat(srv_conn *c) {
    srv_ctx *s = c->srv;
    srv_chat_limits lim = {s->opts.max_pixels, s->opts.max_tokens};
    dots_error e = {0};
    char param[160];
    srv_job *j = srv_job_new(SRV_JOB_CHAT, s->opts.timeout_s);
    if (!j) return srv_reply_error(c, 503, "server_error", NULL, "out_of_memory", "out of memory");
    dots_status st = srv_chat_parse(c->body.p ? c->body.p : "", c->body.n, &lim, &j->chat, param, sizeof param, &e);
    if (st) {
        srv_job_unref(j);
        return srv_reply_dots_error(c, st, &e, param, 0);
    }
    dstr_free(&c->body); /* the images are decoded: the body is not needed any more */
    completion_ids ids;
    make_ids(&ids, j->chat.model);
    enum MHD_Result reply;
    if (srv_enqueue(c, j, &reply)) return reply;
    /* streaming: wait for the first text so that errors before it still get their status code */
    if (srv_job_wait(j, j->chat.stream ? 0 : SIZE_MAX, c->fd) < 0) return MHD_NO; /* the client left */
    pthread_mutex_lock(&j->mu);
    int done = j->state == SRV_JOB_DONE;
    pthread_mutex_unlock(&j->mu);
    if (done && j->status) return srv_reply_dots_error(c, j->status, &j->err, NULL, j->timed_out);
    return j->chat.stream ? reply_stream(c, j, &ids) : reply_whole(c, j, &ids);
}

/* The worker's side of a job: runs it on the engine, feeding the job's text as it
 * grows (stop strings held back and cut), honouring cancel (client gone, shutdown)
 * and the deadline through the engine's progress hook. */
#define _GNU_SOURCE /* memmem */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "doc/pages.h"
#include "server/server_impl.h"

typedef struct {
    srv_job *job;
    size_t hold;     /* bytes held back: the longest stop string - 1 */
    int stop_hit;
} gen_watch;

/* Stops for a gone client, a shutdown or the deadline. */
static int should_stop(srv_job *j) {
    if (atomic_load(&j->cancel)) return 1;
    if (dots_now() > j->deadline) {
        j->timed_out = 1;
        return 1;
    }
    return 0;
}

static int on_progress(void *user, const dots_progress *p) {
    (void)p;
    gen_watch *w = user;
    return w->stop_hit || should_stop(w->job);
}

/* Earliest match of any stop string in text[from..n); -1 if none. */
static long find_stop(const srv_chat_request *r, const char *text, size_t n, size_t old) {
    long best = -1;
    for (int i = 0; i < r->n_stop; i++) {
        size_t sl = strlen(r->stop[i]), from = old >= sl - 1 ? old - (sl - 1) : 0;
        const char *m = from < n ? memmem(text + from, n - from, r->stop[i], sl) : NULL;
        if (m && (best < 0 || m - text < best)) best = m - text;
    }
    return best;
}

static int on_text(void *user, const char *s, size_t n) {
    gen_watch *w = user;
    srv_job *j = w->job;
    pthread_mutex_lock(&j->mu);
    size_t old = j->text.n;
    dstr_addn(&j->text, s, n);
    long at = find_stop(&j->chat, j->text.p, j->text.n, old);
    if (at >= 0) {
        j->text.n = (size_t)at;
        j->text.p[at] = 0;
        w->stop_hit = 1;
    }
    size_t safe = j->text.n > w->hold ? j->text.n - w->hold : 0;
    while (safe > j->safe && ((unsigned char)j->text.p[safe] & 0xC0) == 0x80) safe--; /* whole characters only */
    if (safe > j->safe) {
        j->safe = safe;
        pthread_cond_broadcast(&j->cv);
    }
    pthread_mutex_unlock(&j->mu);
    return w->stop_hit || should_stop(j);
}

static void run_chat(srv_ctx *c, srv_job *j) {
    srv_chat_request *r = &j->chat;
    gen_watch w = {j, 0, 0};
    for (int i = 0; i < r->n_stop; i++)
        if (strlen(r->stop[i]) - 1 > w.hold) w.hold = strlen(r->stop[i]) - 1;
    dots_gen_opts go;
    dots_gen_opts_init(&go);
    go.max_new_tokens = r->max_tokens;
    go.temperature = r->temperature;
    go.top_p = r->top_p;
    go.seed = r->has_seed ? r->seed : (uint64_t)(dots_now() * 1e6);
    go.on_text = on_text;
    go.on_progress = on_progress;
    go.user = &w;
    go.system_prompt = r->system;
    dots_gen_result res = {0};
    dots_error e = {0};
    dots_status st = dots_generate(c->eng, r->images, r->n_images, r->user_text, &go, &res, &e);
    pthread_mutex_lock(&j->mu);
    j->status = st;
    j->err = e;
    j->prompt_tokens = res.prompt_tokens;
    j->completion_tokens = res.generated_tokens;
    j->finish = w.stop_hit || res.stop == DOTS_STOP_EOS ? "stop" : "length";
    if (j->text.oom && !st) j->status = dots_fail(&j->err, DOTS_E_NOMEM, "out of memory holding the answer");
    pthread_mutex_unlock(&j->mu);
    if (!st) {
        double ph[4] = {res.seconds_preprocess, res.seconds_vision, res.seconds_prefill, res.seconds_decode};
        srv_metrics_generation(&c->metrics, res.prompt_tokens, res.generated_tokens, ph);
    }
    dots_gen_result_free(&res);
}

/* ------------------------------------------------------------- /v1/parse */

/* One page's JSON appended to out; a failed page becomes {"page_no", "error"} (the others go on,
 * as in dotsocr parse), unless the job was stopped. Returns the page's status. */
static dots_status parse_one(srv_ctx *c, srv_job *j, dots_document *doc, int p, const dots_parse_opts *po, dstr *out,
                             int *tokens, dots_error *e) {
    dots_page_result *res = NULL;
    char *json = NULL;
    dots_status st = dots_parse_page(c->eng, doc, p, po, &res, e);
    if (!st) st = dots_page_result_to_json(res, j->parse.picture ? DOTS_JSON_PICTURE : 0, &json, e);
    if (!st) {
        dstr_add(out, json);
        tokens[0] += res->prompt_tokens;
        tokens[1] += res->generated_tokens;
        double ph[4] = {res->seconds_preprocess, res->seconds_vision, res->seconds_prefill, res->seconds_decode};
        srv_metrics_generation(&c->metrics, res->prompt_tokens, res->generated_tokens, ph);
    } else if (st != DOTS_E_INTERRUPTED) {
        json_object *o = json_object_new_object(), *err = json_object_new_object();
        json_object_object_add(o, "page_no", json_object_new_int(p));
        json_object_object_add(err, "message", json_object_new_string(e->msg));
        json_object_object_add(err, "code", json_object_new_string(dots_status_name(st)));
        json_object_object_add(o, "error", err);
        dstr_add(out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    }
    free(json);
    dots_page_result_free(res);
    return st;
}

/* {"object", "model", "document", "page_count", "pages": [...], "usage"} into out. Fails when the
 * job was stopped or when every selected page failed (with the first page's error). */
static dots_status parse_pages(srv_ctx *c, srv_job *j, dots_document *doc, dstr *out, dots_error *e) {
    srv_parse_request *r = &j->parse;
    int n_pages = dots_doc_page_count(doc), n_sel = 0, n_ok = 0, tokens[2] = {0, 0};
    unsigned char *sel = malloc((size_t)n_pages + 1);
    if (!sel) return dots_fail(e, DOTS_E_NOMEM, "out of memory");
    dots_status st = doc_pages_select(r->pages, n_pages, sel, &n_sel, e), first_st = DOTS_OK;
    gen_watch w = {j, 0, 0};
    dots_parse_opts po;
    dots_parse_opts_init(&po);
    po.mode = (dots_prompt_mode)dots_prompt_mode_from_name(r->prompt);
    po.max_new_tokens = r->max_tokens;
    po.max_new_tokens_given = r->max_tokens_given;
    po.on_progress = on_progress;
    po.user = &w;
    dots_error first_err = {0}, pe;
    /* the name is sanitised to [A-Za-z0-9._-], the model id has no quote or backslash */
    dstr_addf(out, "{\"object\":\"document.parse\",\"model\":\"%s\",\"document\":\"%s\",\"page_count\":%d,\"pages\":[",
              c->model_id, r->name, n_pages);
    for (int p = 0; p < n_pages && !st; p++) {
        if (!sel[p]) continue;
        if (n_ok || first_st) dstr_add(out, ",");
        memset(&pe, 0, sizeof pe);
        dots_status ps = parse_one(c, j, doc, p, &po, out, tokens, &pe);
        if (ps == DOTS_E_INTERRUPTED) { st = ps; *e = pe; }
        else if (ps && !first_st) { first_st = ps; first_err = pe; }
        n_ok += ps == DOTS_OK;
    }
    free(sel);
    if (!st && !n_ok) {
        st = first_st ? first_st : dots_fail(e, DOTS_E_ARG, "'pages' selects no page");
        if (first_st) *e = first_err;
    }
    dstr_addf(out, "],\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,\"total_tokens\":%d}}", tokens[0],
              tokens[1], tokens[0] + tokens[1]);
    if (!st && out->oom) st = dots_fail(e, DOTS_E_NOMEM, "out of memory building the parse result");
    return st;
}

static void run_parse(srv_ctx *c, srv_job *j) {
    dots_doc_opts o;
    dots_doc_opts_init(&o);
    o.dpi = j->parse.dpi;
    o.max_decoded_pixels = c->opts.max_pixels;
    dots_document *doc = NULL;
    dots_error e = {0};
    dstr out = {0};
    dots_status st = dots_doc_open_memory(j->parse.data, j->parse.size, j->parse.name, &o, &doc, &e);
    if (!st) st = parse_pages(c, j, doc, &out, &e);
    dots_doc_close(doc);
    pthread_mutex_lock(&j->mu);
    j->status = st;
    j->err = e;
    if (!st) {
        dstr_free(&j->text);
        j->text = out;
        out = (dstr){0};
    }
    pthread_mutex_unlock(&j->mu);
    dstr_free(&out);
}

/* ----------------------------------------------------------------- queue */

void srv_worker_run(void *job, void *ctx) {
    srv_ctx *c = ctx;
    srv_job *j = job;
    srv_metrics_queue_wait(&c->metrics, dots_now() - (j->deadline - c->opts.timeout_s));
    srv_job_start(j);
    if (!should_stop(j)) {
        if (j->kind == SRV_JOB_CHAT) run_chat(c, j);
        else run_parse(c, j);
    }
    if (j->timed_out && !j->status)
        j->status = dots_fail(&j->err, DOTS_E_INTERRUPTED, "the request ran past the server's --timeout of %g s",
                              c->opts.timeout_s);
    else if (atomic_load(&j->cancel) == SRV_CANCEL_SHUTDOWN && !j->status)
        j->status = dots_fail(&j->err, DOTS_E_INTERRUPTED, "the server is shutting down");
    srv_job_done(j);
    srv_job_unref(j);
}

void srv_worker_drop(void *job, void *ctx) {
    (void)ctx;
    srv_job *j = job;
    atomic_store(&j->cancel, SRV_CANCEL_SHUTDOWN);
    j->status = dots_fail(&j->err, DOTS_E_INTERRUPTED, "the server is shutting down");
    srv_job_done(j);
    srv_job_unref(j);
}

void srv_worker_cancel(void *job, void *ctx) {
    (void)ctx;
    atomic_store(&((srv_job *)job)->cancel, SRV_CANCEL_SHUTDOWN);
}

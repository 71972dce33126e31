/* POST /v1/parse: a PDF or image as the raw body (parameters in the query string) or
 * as multipart/form-data (a "file" part; parameters as parts or in the query). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "doc/pages.h"
#include "server/http.h"
#include "server/multipart.h"

/* A parameter from the form (if any) or the query string, copied into buf. */
static const char *param(srv_conn *c, const srv_part *parts, int n_parts, const char *name, char *buf, size_t cap) {
    const srv_part *p = srv_multipart_find(parts, n_parts, name);
    if (p) {
        size_t n = p->size < cap - 1 ? p->size : cap - 1;
        memcpy(buf, p->data, n);
        buf[n] = 0;
        return buf;
    }
    const char *q = MHD_lookup_connection_value(c->mc, MHD_GET_ARGUMENT_KIND, name);
    if (!q) return NULL;
    snprintf(buf, cap, "%s", q);
    return buf;
}

static int int_param(const char *v, long lo, long hi, int *out) {
    char *end;
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < lo || x > hi) return 0;
    *out = (int)x;
    return 1;
}

/* Keeps [A-Za-z0-9._-] of a file name (it only labels the document in messages and the result). */
static void clean_name(const char *in, char *out, size_t cap) {
    size_t k = 0;
    for (; *in && k + 1 < cap; in++)
        if ((*in >= 'a' && *in <= 'z') || (*in >= 'A' && *in <= 'Z') || (*in >= '0' && *in <= '9') ||
            *in == '.' || *in == '_' || *in == '-')
            out[k++] = *in;
    out[k] = 0;
    if (!k) snprintf(out, cap, "document");
}

static enum MHD_Result bad_param(srv_conn *c, const char *name, const char *msg) {
    char m[512];
    snprintf(m, sizeof m, "'%s' %s", name, msg);
    return srv_reply_error(c, 400, "invalid_request_error", name, "invalid_parameter", m);
}

/* Reads the parameters into r; replies and returns -1 when one is wrong. */
static int read_params(srv_conn *c, const srv_part *parts, int n_parts, srv_parse_request *r, enum MHD_Result *reply) {
    char v[256];
    dots_error e = {0};
    if (param(c, parts, n_parts, "pages", v, sizeof v)) {
        if (doc_pages_check(v, &e)) { *reply = bad_param(c, "pages", e.msg); return -1; }
        snprintf(r->pages, sizeof r->pages, "%s", v);
    }
    snprintf(r->prompt, sizeof r->prompt, "layout-all");
    if (param(c, parts, n_parts, "prompt", v, sizeof v)) {
        int m = dots_prompt_mode_from_name(v);
        if (m < 0 || m == DOTS_PROMPT_GROUNDING) {
            *reply = bad_param(c, "prompt", m < 0 ? "is not a prompt mode (layout-all, layout-only, ocr, web, scene, svg, "
                                          "general)" : "grounding needs a region: use /v1/chat/completions for it");
            return -1;
        }
        snprintf(r->prompt, sizeof r->prompt, "%s", v);
    }
    if (param(c, parts, n_parts, "dpi", v, sizeof v) && !int_param(v, 36, 1200, &r->dpi)) {
        *reply = bad_param(c, "dpi", "must be an integer from 36 to 1200");
        return -1;
    }
    r->max_tokens = c->srv->opts.max_tokens;
    if (param(c, parts, n_parts, "max_tokens", v, sizeof v)) {
        if (!int_param(v, 1, 1 << 30, &r->max_tokens)) {
            *reply = bad_param(c, "max_tokens", "must be a positive integer");
            return -1;
        }
        if (r->max_tokens > c->srv->opts.max_tokens) r->max_tokens = c->srv->opts.max_tokens;
        r->max_tokens_given = 1;
    }
    if (param(c, parts, n_parts, "picture", v, sizeof v) && !int_param(v, 0, 1, &r->picture)) {
        *reply = bad_param(c, "picture", "must be 0 or 1");
        return -1;
    }
    return 0;
}

enum MHD_Result srv_route_parse(srv_conn *c) {
    const char *ct = MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    srv_part *parts = NULL;
    int n_parts = 0;
    const unsigned char *data = (const unsigned char *)c->body.p;
    size_t size = c->body.n;
    const char *fname = MHD_lookup_connection_value(c->mc, MHD_GET_ARGUMENT_KIND, "filename");
    enum MHD_Result reply;
    dots_error e = {0};
    if (ct && !strncasecmp(ct, "multipart/form-data", 19)) {
        if (!(parts = calloc(SRV_MULTIPART_MAX_PARTS, sizeof *parts)))
            return srv_reply_error(c, 503, "server_error", NULL, "out_of_memory", "out of memory");
        if (srv_multipart_parse(ct, data, size, parts, &n_parts, &e)) {
            free(parts);
            return srv_reply_dots_error(c, DOTS_E_FORMAT, &e, "body", 0);
        }
        const srv_part *f = srv_multipart_find(parts, n_parts, "file");
        if (!f) {
            free(parts);
            return srv_reply_error(c, 400, "invalid_request_error", "file", "missing_file",
                                   "the multipart body has no 'file' part holding the PDF or image");
        }
        data = f->data;
        size = f->size;
        if (f->filename[0]) fname = f->filename;
    }
    srv_job *j = srv_job_new(SRV_JOB_PARSE, c->srv->opts.timeout_s);
    if (!j) {
        free(parts);
        return srv_reply_error(c, 503, "server_error", NULL, "out_of_memory", "out of memory");
    }
    int bad = read_params(c, parts, n_parts, &j->parse, &reply);
    if (!bad && size == 0) {
        reply = srv_reply_error(c, 400, "invalid_request_error", "body", "empty_body",
                                "send the PDF or image as the body (or as the 'file' part of a multipart form)");
        bad = 1;
    }
    if (!bad && !(j->parse.data = malloc(size))) {
        reply = srv_reply_error(c, 503, "server_error", NULL, "out_of_memory", "out of memory");
        bad = 1;
    }
    if (bad) {
        free(parts);
        srv_job_unref(j);
        return reply;
    }
    memcpy(j->parse.data, data, size);
    j->parse.size = size;
    clean_name(fname ? fname : "document", j->parse.name, sizeof j->parse.name);
    free(parts);
    dstr_free(&c->body);
    if (srv_enqueue(c, j, &reply)) return reply;
    if (srv_job_wait(j, SIZE_MAX, c->fd) < 0) return MHD_NO;
    if (j->status) return srv_reply_dots_error(c, j->status, &j->err, NULL, j->timed_out);
    return srv_reply(c, 200, "application/json", j->text.p, j->text.n);
}

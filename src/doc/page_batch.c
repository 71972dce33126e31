/* dots_parse_pages: pages through dots_generate_batch. Each page is a page_job (the
 * steps dots_parse_page runs): prepared when the scheduler admits it (on_start), so only
 * the pages in flight are rendered, and finished (post-processed, reported, freed) as soon
 * as its generation ends (on_done). */
#include <stdlib.h>
#include <string.h>
#include "doc/page_result.h"

#define DEFAULT_BATCH 4

typedef struct pages_call {
    dots_engine *eng;
    const dots_page_ref *pages;
    const dots_parse_opts *opts;
    page_job *jobs;                /* [n] */
    unsigned char *reported;       /* [n] */
    dots_page_done_fn on_page_done;
    void *user;
} pages_call;

static void report(pages_call *P, int i, dots_status st, const dots_error *e, dots_page_result *r) {
    P->reported[i] = 1;
    P->on_page_done(P->user, i, st, e, r);
}

static dots_status start_page(void *user, int i, dots_batch_request *q) {
    pages_call *P = user;
    page_job *j = &P->jobs[i];
    dots_status st = page_job_init(j, P->pages[i].doc, P->pages[i].page_index, i, P->opts, &q->error);
    if (st) return st;
    j->o.on_text = NULL; /* documented: pieces of several pages would interleave */
    j->g.on_text = NULL;
    if ((st = page_prepare(P->eng, j, &q->error))) return st;
    q->images = page_model_image(j);
    q->n_images = 1;
    q->prompt_text = j->prompt;
    q->opts = &j->g;
    return DOTS_OK;
}

static void page_done(void *user, int i, dots_batch_request *q) {
    pages_call *P = user;
    dots_error e = q->error;
    dots_page_result *r = NULL;
    dots_status st = page_finish(&P->jobs[i], q->status, &q->result, &r, &e);
    report(P, i, st, &e, r);
}

dots_status dots_parse_pages(dots_engine *eng, const dots_page_ref *pages, int n, const dots_parse_opts *opts,
                             int batch, dots_page_done_fn on_page_done, void *user, dots_error *e) {
    if (!eng || n < 0 || (n > 0 && !pages) || !on_page_done)
        return dots_fail(e, DOTS_E_ARG, "dots_parse_pages: needs an engine, n >= 0 pages and an on_page_done callback");
    for (int i = 0; i < n; i++)
        if (!pages[i].doc || pages[i].page_index < 0 || pages[i].page_index >= dots_doc_page_count(pages[i].doc))
            return dots_fail(e, DOTS_E_ARG, "dots_parse_pages: entry %d: %s has no page %d", i,
                             pages[i].doc ? dots_doc_label(pages[i].doc) : "(no document)", pages[i].page_index + 1);
    page_job probe;
    dots_status st = page_job_init(&probe, NULL, 0, 0, opts, e); /* bad options fail before any page */
    if (st || n == 0) return st;
    pages_call P = {eng, pages, opts, calloc((size_t)n, sizeof(page_job)), calloc((size_t)n, 1), on_page_done, user};
    dots_batch_request *reqs = calloc((size_t)n, sizeof *reqs);
    if (!P.jobs || !P.reported || !reqs) {
        st = dots_fail(e, DOTS_E_NOMEM, "out of memory for a batch of %d pages", n);
    } else {
        dots_batch_opts bo;
        dots_batch_opts_init(&bo);
        bo.max_batch = batch > 0 ? batch : DEFAULT_BATCH;
        bo.on_done = page_done;
        bo.on_start = start_page;
        bo.user = &P;
        dots_generate_batch(eng, reqs, n, &bo, e);
        /* the scheduler could not start (its step scratch): those pages fail with its error */
        for (int i = 0; i < n; i++)
            if (!P.reported[i]) report(&P, i, reqs[i].status ? reqs[i].status : DOTS_E_INTERNAL, &reqs[i].error, NULL);
    }
    free(P.jobs);
    free(P.reported);
    free(reqs);
    return st;
}

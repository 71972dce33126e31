/* dots_parse_pages on the tiny random checkpoint: pages of two documents (the sample PDF and
 * an image) batched 3 at a time give the results dots_parse_page gives each alone (answer,
 * cells, Markdown, picture, stop, counts); every page is reported once; never more than the
 * batch is rendered at once; a page that fails (an image too thin for smart_resize) fails
 * alone; a cancel fails every page with DOTS_E_INTERRUPTED; bad arguments report no page. */
#include <stdlib.h>
#include <string.h>
#include "dotsocr.h"
#include "doc/png.h"
#include "testutil.h"

#define N_PAGES 5
#define BATCH 3

typedef struct run {
    dots_page_result *res[N_PAGES];
    dots_status st[N_PAGES];
    int reported[N_PAGES], rendered[N_PAGES];
    int in_flight, max_in_flight, bad_item, cancel;
} run;

static int on_progress(void *user, const dots_progress *p) {
    run *r = user;
    if (p->item < 0 || p->item >= N_PAGES) { r->bad_item = 1; return 0; }
    if (p->phase == DOTS_PHASE_RENDER && !r->rendered[p->item]++ && ++r->in_flight > r->max_in_flight)
        r->max_in_flight = r->in_flight;
    return r->cancel && p->phase == DOTS_PHASE_DECODE;
}

static void on_done(void *user, int item, dots_status st, const dots_error *e, dots_page_result *res) {
    run *r = user;
    if (item < 0 || item >= N_PAGES) { r->bad_item = 1; dots_page_result_free(res); return; }
    r->reported[item]++;
    r->st[item] = st;
    r->res[item] = res;
    if (r->rendered[item]) r->in_flight--;
    CHECK(st || res, "item %d: a result or an error", item);
    CHECK(!st || (e && e->msg[0]), "item %d: failed with a message", item);
}

static dots_document *image_doc(int w, int h, const char *label) {
    dots_image img = {w, h, malloc((size_t)w * h * 3)};
    for (int i = 0; i < w * h * 3; i++) img.rgb[i] = (unsigned char)(i * 29 + (i >> 7));
    unsigned char *png = NULL;
    size_t n = 0;
    dots_error e = {0};
    dots_document *doc = NULL;
    dots_doc_opts dopt;
    dots_doc_opts_init(&dopt);
    dopt.fitz_preprocess = 0;
    CHECK(doc_png_encode(&img, &png, &n, &e) == DOTS_OK && dots_doc_open_memory(png, n, label, &dopt, &doc, &e) == DOTS_OK,
          "%s", e.msg);
    free(png);
    dots_image_free(&img);
    return doc;
}

static int same_str(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

static void check_same(int i, const dots_page_result *a, const dots_page_result *b) {
    CHECK(same_str(a->raw_text, b->raw_text) && same_str(a->cells_json, b->cells_json) &&
          same_str(a->markdown, b->markdown) && same_str(a->markdown_nohf, b->markdown_nohf), "item %d: texts", i);
    CHECK(a->stop == b->stop && a->generated_tokens == b->generated_tokens && a->prompt_tokens == b->prompt_tokens &&
          a->page_index == b->page_index && a->width == b->width && a->input_width == b->input_width, "item %d: counts", i);
    CHECK(a->picture_png_size == b->picture_png_size && !memcmp(a->picture_png, b->picture_png, a->picture_png_size),
          "item %d: picture", i);
}

int main(void) {
    dots_error e = {0};
    dots_engine *eng = NULL;
    dots_engine_opts eo = {.struct_size = sizeof(dots_engine_opts), .model_dir = test_data("tiny-dots"), .threads = 2};
    CHECK(dots_engine_open(&eo, &eng, &e) == DOTS_OK, "open tiny-dots: %s", e.msg);
    dots_document *img = image_doc(300, 140, "a.png"), *thin = image_doc(2000, 4, "thin.png"), *pdf = NULL;
#ifdef DOTS_WITH_PDF
    dots_doc_opts dopt;
    dots_doc_opts_init(&dopt);
    dopt.dpi = 72;
    CHECK(dots_doc_open(test_data("../../samples/sample.pdf"), &dopt, &pdf, &e) == DOTS_OK, "%s", e.msg);
#else
    pdf = image_doc(180, 240, "b.png");
#endif
    if (!eng || !img || !thin || !pdf) return test_finish("test_doc_batch");
    int last = dots_doc_page_count(pdf) - 1;
    dots_page_ref pages[N_PAGES] = {{pdf, 0}, {img, 0}, {thin, 0}, {pdf, last}, {img, 0}};
    dots_parse_opts po;
    dots_parse_opts_init(&po);
    po.max_new_tokens = 10;
    po.max_new_tokens_given = 1;
    po.max_pixels = 100000;
    /* alone */
    dots_page_result *alone[N_PAGES] = {0};
    dots_status alone_st[N_PAGES];
    for (int i = 0; i < N_PAGES; i++) {
        dots_error pe = {0};
        alone_st[i] = dots_parse_page(eng, pages[i].doc, pages[i].page_index, &po, &alone[i], &pe);
    }
    CHECK(alone_st[2] != DOTS_OK && alone_st[0] == DOTS_OK && alone_st[1] == DOTS_OK, "alone: only the thin image fails");
    /* batched */
    run r;
    memset(&r, 0, sizeof r);
    dots_parse_opts bo = po;
    bo.on_progress = on_progress;
    bo.user = &r;
    CHECK(dots_parse_pages(eng, pages, N_PAGES, &bo, BATCH, on_done, &r, &e) == DOTS_OK, "%s", e.msg);
    CHECK(!r.bad_item, "items in range");
    CHECK(r.max_in_flight >= 2 && r.max_in_flight <= BATCH, "pages rendered at once: %d (batch %d)", r.max_in_flight, BATCH);
    for (int i = 0; i < N_PAGES; i++) {
        CHECK(r.reported[i] == 1, "item %d reported once (%d)", i, r.reported[i]);
        CHECK((r.st[i] == DOTS_OK) == (alone_st[i] == DOTS_OK), "item %d: status %d, alone %d", i, r.st[i], alone_st[i]);
        if (r.res[i] && alone[i]) check_same(i, r.res[i], alone[i]);
        dots_page_result_free(r.res[i]);
        dots_page_result_free(alone[i]);
    }
    /* a cancel at the first decode step fails every page that started, and the rest */
    memset(&r, 0, sizeof r);
    r.cancel = 1;
    CHECK(dots_parse_pages(eng, pages, N_PAGES, &bo, BATCH, on_done, &r, &e) == DOTS_OK, "%s", e.msg);
    for (int i = 0; i < N_PAGES; i++) {
        CHECK(r.reported[i] == 1 && (i == 2 || r.st[i] == DOTS_E_INTERRUPTED), "cancel: item %d status %d", i, r.st[i]);
        dots_page_result_free(r.res[i]);
    }
    /* bad arguments: an error and no page reported */
    memset(&r, 0, sizeof r);
    dots_page_ref bad[1] = {{pdf, last + 1}};
    CHECK(dots_parse_pages(eng, bad, 1, &bo, BATCH, on_done, &r, &e) == DOTS_E_ARG && strstr(e.msg, "no page"), "%s", e.msg);
    CHECK(dots_parse_pages(eng, pages, N_PAGES, &bo, BATCH, NULL, &r, &e) == DOTS_E_ARG, "no callback");
    CHECK(!r.reported[0], "nothing reported");
    dots_doc_close(img);
    dots_doc_close(thin);
    dots_doc_close(pdf);
    dots_engine_close(eng);
    return test_finish("test_doc_batch");
}

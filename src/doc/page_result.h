/* Internal helpers of dots_parse_page (page_parse.c, page_post.c, page_result.c). */
#ifndef DOTS_DOC_PAGE_RESULT_H
#define DOTS_DOC_PAGE_RESULT_H
#include "base/error.h"

/* layout-all, layout-only and web answer with layout JSON. */
int doc_mode_is_layout(dots_prompt_mode m);
/* Moves the generation's text, stop reason, counts and timings into r. */
void page_result_take_gen(dots_page_result *r, dots_gen_result *g, const dots_parse_opts *o, double t_render);
/* The mode's post-processing of r->raw_text: cells / quads / svg, Markdown, picture. */
dots_status page_postprocess(dots_page_result *r, const dots_image *origin, const dots_parse_opts *o, dots_error *e);

/* One page between the steps of a parse: prepare (render, prompt, generation options),
 * generate (dots_generate alone, or one request of dots_generate_batch), finish (result and
 * post-processing). dots_parse_page and dots_parse_pages share these steps. */
typedef struct page_job {
    dots_parse_opts o;        /* taken options; g's callbacks point back at the job */
    dots_document *doc;
    int page_index;
    int item;                 /* index in dots_parse_pages' list (dots_progress.item) */
    double t0, t_render;
    int cancelled;
    dots_image origin, fitzed; /* the page as boxes refer to it; fitz re-render (may be empty) */
    int dpi;
    char *prompt;             /* the mode's user text */
    dots_gen_opts g;
} page_job;

/* Checks opts_in and sets up j (nothing allocated). */
dots_status page_job_init(page_job *j, dots_document *doc, int page_index, int item, const dots_parse_opts *opts_in,
                          dots_error *e);
/* Renders the page and builds its prompt and generation options. */
dots_status page_prepare(dots_engine *eng, page_job *j, dots_error *e);
/* The image the model gets (the fitz re-render when there is one). */
const dots_image *page_model_image(const page_job *j);
/* Takes the generation (status gen_st, its result gen, freed here) into *out with the mode's
 * post-processing, and frees the job's images and prompt. */
dots_status page_finish(page_job *j, dots_status gen_st, dots_gen_result *gen, dots_page_result **out, dots_error *e);

#endif

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

#endif

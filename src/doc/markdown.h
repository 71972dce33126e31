/* Markdown from layout cells (upstream layoutjson2md semantics): cells joined
 * by a blank line; Picture -> base64 PNG crop of the original image; Formula
 * -> $$ block unless already delimited; List-item stripped; others with
 * whitespace runs collapsed. */
#ifndef DOTS_DOC_MARKDOWN_H
#define DOTS_DOC_MARKDOWN_H
#include <json-c/json.h>
#include "base/error.h"

/* cells: array of cell objects with bboxes in img's pixels. no_page_hf skips
 * Page-header and Page-footer. img may be NULL (Pictures then become "![]()").
 * *out is malloc'd. */
dots_status doc_markdown(const dots_image *img, json_object *cells, int no_page_hf, char **out, dots_error *e);

/* get_formula_in_markdown: malloc'd, NULL on OOM. */
char *doc_formula_markdown(const char *text);
/* clean_text: strip and collapse whitespace runs to one space; malloc'd. */
char *doc_clean_text(const char *text);

#endif

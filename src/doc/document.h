/* Internal side of dots_document (public API in dotsocr.h, "documents"). */
#ifndef DOTS_DOC_DOCUMENT_H
#define DOTS_DOC_DOCUMENT_H
#include <stddef.h>
#include "base/error.h"

/* DOTS_DOC_PDF, DOTS_DOC_IMAGE, or 0 from the first n bytes (at least 8 to tell PNG). */
dots_doc_kind doc_sniff_kind(const unsigned char *m, size_t n);

/* The page as boxes refer to it (origin) and, for images with the fitz preprocess, the
 * re-rendered picture the model sees (model_img; else left empty, meaning: use origin). */
dots_status doc_render_for_model(dots_document *d, int page, dots_image *origin, dots_image *model_img, int *used_dpi,
                                 dots_error *e);

#endif

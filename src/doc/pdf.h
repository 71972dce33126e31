/* MuPDF-backed input (only when built with DOTS_WITH_PDF; otherwise every call
 * fails with DOTS_E_UNSUPPORTED, see nopdf.c). MuPDF is AGPL: docs/PARSE.md. */
#ifndef DOTS_DOC_PDF_H
#define DOTS_DOC_PDF_H
#include "base/error.h"

#define DOC_PDF_MAX_SIDE 4500   /* upstream: a larger render falls back to 72 dpi */

typedef struct doc_pdf doc_pdf;

/* 1 when this build can read PDFs. */
int doc_pdf_available(void);
dots_status doc_pdf_open(const char *path, doc_pdf **out, int *n_pages, dots_error *e);
/* The same from size bytes of memory (copied); label names them in messages. */
dots_status doc_pdf_open_memory(const void *data, size_t size, const char *label, doc_pdf **out, int *n_pages,
                                dots_error *e);
/* Renders 0-based page at dpi (RGB, white background); if a side exceeds 4500 px the
 * page is rendered at 72 dpi instead (upstream fitz_doc_to_image). *used_dpi says which. */
dots_status doc_pdf_render(doc_pdf *d, int page, int dpi, dots_image *out, int *used_dpi, dots_error *e);
void doc_pdf_close(doc_pdf *d);

/* Upstream's "fitz preprocess": the image, saved as a PNG without density (96 dpi),
 * opened by MuPDF as a one-page document and rendered at dpi (so x dpi/96), with the
 * same 4500 px fallback to 72 dpi (x0.75). */
dots_status doc_fitz_rerender(const dots_image *img, int dpi, dots_image *out, int *used_dpi, dots_error *e);

/* Draws text (UTF-8) in Helvetica at size px with its baseline starting at (x, y). */
typedef struct doc_label { double x, y, size; unsigned char rgb[3]; const char *text; } doc_label;
dots_status doc_pdf_draw_labels(dots_image *img, const doc_label *labels, int n, dots_error *e);

#endif

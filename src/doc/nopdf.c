/* Stand-ins for pdf.c when dotsocr is built without MuPDF (DOTS_WITH_PDF=OFF). */
#include "doc/pdf.h"

#ifndef DOTS_WITH_PDF
static dots_status no_pdf(dots_error *e, const char *what) {
    return dots_fail(e, DOTS_E_UNSUPPORTED, "%s needs PDF support, and this dotsocr was built with DOTS_WITH_PDF=OFF "
                                            "(rebuild with -DDOTS_WITH_PDF=ON, or pass --no-fitz-preprocess for images)",
                     what);
}
int doc_pdf_available(void) { return 0; }
dots_status doc_pdf_open(const char *path, doc_pdf **out, int *n_pages, dots_error *e) {
    *out = NULL; *n_pages = 0;
    return no_pdf(e, path);
}
dots_status doc_pdf_open_memory(const void *data, size_t size, const char *label, doc_pdf **out, int *n_pages,
                                dots_error *e) {
    (void)data; (void)size;
    *out = NULL; *n_pages = 0;
    return no_pdf(e, label);
}
dots_status doc_pdf_render(doc_pdf *d, int page, int dpi, dots_image *out, int *used_dpi, dots_error *e) {
    return no_pdf(e, "rendering a PDF page");
}
void doc_pdf_close(doc_pdf *d) { (void)d; }
dots_status doc_fitz_rerender(const dots_image *img, int dpi, dots_image *out, int *used_dpi, dots_error *e) {
    return no_pdf(e, "the fitz preprocess (image re-render at 200 dpi)");
}
dots_status doc_pdf_draw_labels(dots_image *img, const doc_label *labels, int n, dots_error *e) {
    return no_pdf(e, "drawing labels with MuPDF fonts");
}
#else
typedef int doc_nopdf_unused;
#endif

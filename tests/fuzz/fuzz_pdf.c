/* libFuzzer: PDF open from memory (the document API's path for bytes a caller
 * holds) and render of the first page at 18 dpi, so a run stays fast. */
#include <stdlib.h>
#include "doc/pdf.h"
#include "dotsocr.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    doc_pdf *d = NULL;
    int pages = 0, used = 0;
    dots_error e;
    if (doc_pdf_open_memory(data, size, "fuzz input", &d, &pages, &e) == DOTS_OK) {
        dots_image img;
        if (pages > 0 && doc_pdf_render(d, 0, 18, &img, &used, &e) == DOTS_OK) dots_image_free(&img);
        doc_pdf_close(d);
    }
    return 0;
}

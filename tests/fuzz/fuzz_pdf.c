/* libFuzzer: PDF open (through a temporary file: MuPDF is opened by path) and render of the
 * first page at 18 dpi, so a run stays fast. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "doc/pdf.h"
#include "dotsocr.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/tmp/dots-fuzz-%d.pdf", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    doc_pdf *d = NULL;
    int pages = 0, used = 0;
    dots_error e;
    if (doc_pdf_open(path, &d, &pages, &e) == DOTS_OK) {
        dots_image img;
        if (pages > 0 && doc_pdf_render(d, 0, 18, &img, &used, &e) == DOTS_OK) dots_image_free(&img);
        doc_pdf_close(d);
    }
    unlink(path);
    return 0;
}

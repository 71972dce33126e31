/* PDF rendering (200 dpi, 4500 px fallback to 72 dpi), the fitz re-render of
 * images, and the layout picture. Sizes follow from MuPDF's page geometry:
 * a 612x792 pt page at 200 dpi is 1700x2200 px. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/mem.h"
#include "doc/draw.h"
#include "doc/pdf.h"
#include "doc/png.h"
#include "testutil.h"

static const char *src_path(const char *rel) {
    static char buf[4096];
    const char *s = getenv("DOTS_SOURCE");
    snprintf(buf, sizeof buf, "%s/%s", s ? s : "../..", rel);
    return buf;
}

/* A one-page PDF of w x h points with a black square. */
static void write_pdf(const char *path, int w, int h) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    const char *content = "0 g 10 10 100 100 re f\n";
    long off[5];
    fprintf(f, "%%PDF-1.4\n");
    off[1] = ftell(f); fprintf(f, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    off[2] = ftell(f); fprintf(f, "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
    off[3] = ftell(f); fprintf(f, "3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R >>\nendobj\n", w, h);
    off[4] = ftell(f); fprintf(f, "4 0 obj\n<< /Length %zu >>\nstream\n%sendstream\nendobj\n", strlen(content), content);
    long x = ftell(f);
    fprintf(f, "xref\n0 5\n0000000000 65535 f \n");
    for (int i = 1; i < 5; i++) fprintf(f, "%010ld 00000 n \n", off[i]);
    fprintf(f, "trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%ld\n%%%%EOF\n", x);
    fclose(f);
}

/* Scratch files live in $TMPDIR, named by pid, so manual runs leave nothing behind. */
static const char *tmp_path(const char *name) {
    static char buf[2][1024];
    static int k;
    const char *t = getenv("TMPDIR");
    char *b = buf[k++ & 1];
    snprintf(b, sizeof buf[0], "%s/dots_test_pdf_%d_%s", t ? t : "/tmp", (int)getpid(), name);
    return b;
}

static long nonwhite(const dots_image *im) {
    long n = 0;
    for (size_t i = 0; i < (size_t)im->width * im->height * 3; i++) n += im->rgb[i] < 200;
    return n;
}

static void test_mupdf(void);
static void test_draw(void);

int main(void) {
    dots_error e;
    if (!doc_pdf_available()) {
        doc_pdf *d; int n;
        CHECK(doc_pdf_open(src_path("samples/sample.pdf"), &d, &n, &e) == DOTS_E_UNSUPPORTED, "no-PDF build says so");
    } else
        test_mupdf();
    test_draw();
    return test_finish("test_pdf");
}

static void test_mupdf(void) {
    dots_error e;
    /* the committed sample: 2 Letter pages */
    doc_pdf *d = NULL;
    int n = 0, dpi = 0;
    CHECK(doc_pdf_open(src_path("samples/sample.pdf"), &d, &n, &e) == DOTS_OK, "open sample: %s", e.msg);
    CHECK(n == 2, "2 pages, got %d", n);
    if (d) {
        dots_image im = {0};
        CHECK(doc_pdf_render(d, 0, 200, &im, &dpi, &e) == DOTS_OK, "render: %s", e.msg);
        CHECK(im.width == 1700 && im.height == 2200 && dpi == 200, "200 dpi page %dx%d", im.width, im.height);
        CHECK(im.rgb && nonwhite(&im) > 1000, "page has ink");
        CHECK(im.rgb && im.rgb[0] == 255 && im.rgb[1] == 255, "white background");
        if (getenv("DOTS_TEST_DUMP")) doc_png_write(&im, "sample_page1.png", &e);
        dots_image_free(&im);
        CHECK(doc_pdf_render(d, 1, 72, &im, &dpi, &e) == DOTS_OK && im.width == 612 && im.height == 792, "72 dpi");
        dots_image_free(&im);
        CHECK(doc_pdf_render(d, 1, 0, &im, &dpi, &e) == DOTS_E_ARG, "dpi 0 rejected");
        doc_pdf_close(d);
    }
    /* a big page: 2000 pt at 200 dpi is 5556 px > 4500 -> rendered at 72 dpi */
    const char *big = tmp_path("big.pdf"), *bad = tmp_path("bad.pdf");
    write_pdf(big, 2000, 1000);
    CHECK(doc_pdf_open(big, &d, &n, &e) == DOTS_OK, "open big: %s", e.msg);
    if (d) {
        dots_image im = {0};
        CHECK(doc_pdf_render(d, 0, 200, &im, &dpi, &e) == DOTS_OK, "render big: %s", e.msg);
        CHECK(im.width == 2000 && im.height == 1000 && dpi == 72, "fallback to 72 dpi: %dx%d at %d", im.width, im.height, dpi);
        dots_image_free(&im);
        doc_pdf_close(d);
    }
    /* a page far beyond the model's aspect limit (the fuzzer's 405-byte find: 10 x 16777216 px at
     * 72 dpi) is refused before MuPDF renders it, not after a 1 GB pixmap */
    d = NULL;
    CHECK(doc_pdf_open(src_path("tests/fuzz/found/pdf_slow_huge_page.pdf"), &d, &n, &e) == DOTS_OK, "open huge: %s", e.msg);
    if (d) {
        dots_image im = {0};
        dots_status hs = doc_pdf_render(d, 0, 200, &im, &dpi, &e);
        CHECK(hs == DOTS_E_LIMIT && strstr(e.msg, "aspect ratio") && im.rgb == NULL, "huge page refused: %d %s", hs, e.msg);
        size_t peak = dots_peak_rss();
        CHECK(peak < (size_t)300 << 20, "refused before rendering: peak RSS %zu MB (rendering it takes ~1 GB)", peak >> 20);
        dots_image_free(&im);
        doc_pdf_close(d);
    }
    /* a page that renders to 186 MP even at the 72 dpi fallback (the fuzzer's second find:
     * 7 s and 1.1 GB before the pixel limit came down to 64 MP) is refused before rendering */
    d = NULL;
    CHECK(doc_pdf_open(src_path("tests/fuzz/found/pdf_slow_186mp_page.pdf"), &d, &n, &e) == DOTS_OK, "open 186 MP: %s",
          e.msg);
    if (d) {
        dots_image im = {0};
        dots_status hs = doc_pdf_render(d, 0, 18, &im, &dpi, &e);
        CHECK(hs == DOTS_E_LIMIT && strstr(e.msg, "pixels at 72 dpi") && im.rgb == NULL, "186 MP page refused: %d %s", hs,
              e.msg);
        CHECK(dots_peak_rss() < (size_t)300 << 20, "refused before rendering: peak RSS %zu MB", dots_peak_rss() >> 20);
        dots_image_free(&im);
        doc_pdf_close(d);
    }
    /* not a PDF: a clear error naming the file */
    FILE *f = fopen(bad, "wb");
    if (f) { fputs("this is not a pdf", f); fclose(f); }
    d = NULL;
    dots_status st = doc_pdf_open(bad, &d, &n, &e);
    CHECK(st != DOTS_OK && strstr(e.msg, bad) && d == NULL, "bad PDF: %s", e.msg);
    remove(big);
    remove(bad);
    st = doc_pdf_open("/nonexistent/x.pdf", &d, &n, &e);
    CHECK(st != DOTS_OK && strstr(e.msg, "x.pdf"), "missing PDF: %s", e.msg);

    /* fitz preprocess: 96 dpi -> 200 dpi is x2.083 (300x200 -> 625x417), and x0.75 past 4500 px */
    dots_image small = {300, 200, calloc(300 * 200 * 3, 1)}, out = {0};
    memset(small.rgb, 90, 300 * 200 * 3);
    CHECK(doc_fitz_rerender(&small, 200, &out, &dpi, &e) == DOTS_OK, "rerender: %s", e.msg);
    CHECK(out.width == 625 && out.height == 417 && dpi == 200, "rerender size %dx%d", out.width, out.height);
    CHECK(out.rgb && abs(out.rgb[(200 * out.width + 300) * 3] - 90) <= 1, "rerender keeps the colour");
    dots_image_free(&out);
    free(small.rgb);
    dots_image wide = {2400, 100, calloc(2400 * 100 * 3, 1)};
    CHECK(doc_fitz_rerender(&wide, 200, &out, &dpi, &e) == DOTS_OK, "rerender wide: %s", e.msg);
    CHECK(out.width == 1800 && out.height == 75 && dpi == 72, "wide falls back to x0.75: %dx%d", out.width, out.height);
    dots_image_free(&out);
    free(wide.rgb);

}

static void test_draw(void) {
    dots_error e;
    /* layout picture: Title box at 0.3 opacity over white, label to its right */
    dots_image page = {400, 300, malloc(400 * 300 * 3)}, pic = {0};
    memset(page.rgb, 255, 400 * 300 * 3);
    json_object *cells = json_tokener_parse("[{\"bbox\":[10,10,100,60],\"category\":\"Title\",\"text\":\"x\"},"
                                            "{\"bbox\":[10,100,100,150],\"category\":\"List-item\",\"text\":\"y\"},"
                                            "{\"category\":\"Text\",\"text\":\"no box\"}]");
    CHECK(doc_draw_layout(&page, cells, &pic, &e) == DOTS_OK, "draw: %s", e.msg);
    if (pic.rgb) {
        const unsigned char *p = pic.rgb + (30 * 400 + 50) * 3;
        CHECK(p[0] == 255 && p[1] >= 177 && p[1] <= 180 && p[2] == p[1], "Title fill at 0.3: %d %d %d", p[0], p[1], p[2]);
        p = pic.rgb + (120 * 400 + 50) * 3;
        CHECK(p[2] == 255 && p[0] >= 177 && p[0] <= 180, "List-item fill: %d %d %d", p[0], p[1], p[2]);
        p = pic.rgb + (200 * 400 + 300) * 3;
        CHECK(p[0] == 255 && p[1] == 255 && p[2] == 255, "outside untouched");
        long red = 0;  /* "0_Title" drawn from x=100, baseline y=30 */
        for (int y = 10; y < 32; y++)
            for (int x = 100; x < 200; x++) {
                const unsigned char *q = pic.rgb + (y * 400 + x) * 3;
                red += q[0] > 200 && q[1] < 120;
            }
        CHECK(red > 30, "label ink to the right of the box (%ld px)", red);
        CHECK(page.rgb[(30 * 400 + 50) * 3 + 1] == 255, "source image untouched");
        if (getenv("DOTS_TEST_DUMP")) doc_png_write(&pic, "layout.png", &e);
    }
    dots_image_free(&pic);
    free(page.rgb);
    json_object_put(cells);
}

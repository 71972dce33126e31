/* PDF rendering and the image re-render through MuPDF (AGPL; see docs/PARSE.md). */
#include "doc/pdf.h"
#include <mupdf/fitz.h>
#include <stdlib.h>
#include <string.h>
#include "doc/png.h"

/* Upstream renders a page past 4500 px at 72 dpi whatever its size; the model then
 * shrinks it to max_pixels (11.3 MP). 64 MP is a 36 x 48 in drawing at 72 dpi seven
 * times over; the fuzzer's 8884 x 21000 pt page (186 MP) took 7 s and 1.1 GB to render. */
#define MAX_RENDER_PIXELS 64000000LL

struct doc_pdf {
    fz_context *ctx;
    fz_document *doc;
    fz_stream *stm;           /* memory documents: the stream over mem */
    unsigned char *mem;       /* memory documents: our copy of the bytes */
    char path[1024];
};

int doc_pdf_available(void) { return 1; }

static void quiet(void *user, const char *msg) { (void)user; (void)msg; }

static fz_context *new_ctx(dots_error *e) {
    fz_context *ctx = fz_new_context(NULL, NULL, FZ_STORE_DEFAULT);
    if (!ctx) { dots_fail(e, DOTS_E_NOMEM, "out of memory starting MuPDF"); return NULL; }
    fz_set_warning_callback(ctx, quiet, NULL); /* MuPDF's own prints would garble the progress line; */
    fz_set_error_callback(ctx, quiet, NULL);   /* errors reach the user through dots_error instead */
    fz_try(ctx) fz_register_document_handlers(ctx);
    fz_catch(ctx) {
        dots_fail(e, DOTS_E_INTERNAL, "MuPDF: %s", fz_caught_message(ctx));
        fz_drop_context(ctx);
        return NULL;
    }
    return ctx;
}

/* data NULL: open the file path; else the size bytes of data (copied), path as the label. */
static dots_status pdf_open(const char *path, const void *data, size_t size, doc_pdf **out, int *n_pages,
                            dots_error *e) {
    *out = NULL; *n_pages = 0;
    doc_pdf *d = calloc(1, sizeof *d);
    if (!d) return dots_fail(e, DOTS_E_NOMEM, "out of memory opening %s", path);
    snprintf(d->path, sizeof d->path, "%s", path);
    if (data && !(d->mem = malloc(size ? size : 1))) {
        free(d);
        return dots_fail(e, DOTS_E_NOMEM, "out of memory copying %s (%zu bytes)", path, size);
    }
    if (data) memcpy(d->mem, data, size);
    if (!(d->ctx = new_ctx(e))) { free(d->mem); free(d); return e ? e->code : DOTS_E_NOMEM; }
    dots_status st = DOTS_OK;
    fz_var(st);
    fz_try(d->ctx) {
        if (data) {
            d->stm = fz_open_memory(d->ctx, d->mem, size);
            d->doc = fz_open_document_with_stream(d->ctx, "application/pdf", d->stm);
        } else {
            d->doc = fz_open_document(d->ctx, path);
        }
        if (fz_needs_password(d->ctx, d->doc))
            st = dots_fail(e, DOTS_E_UNSUPPORTED, "%s: the PDF is password-protected; decrypt it first", path);
        else
            *n_pages = fz_count_pages(d->ctx, d->doc);
    }
    fz_catch(d->ctx) st = dots_fail(e, DOTS_E_FORMAT, "%s: cannot open as a PDF: %s", path, fz_caught_message(d->ctx));
    if (!st && *n_pages <= 0) st = dots_fail(e, DOTS_E_FORMAT, "%s: the PDF has no pages", path);
    if (st) { doc_pdf_close(d); *n_pages = 0; return st; }
    *out = d;
    return DOTS_OK;
}

dots_status doc_pdf_open(const char *path, doc_pdf **out, int *n_pages, dots_error *e) {
    return pdf_open(path, NULL, 0, out, n_pages, e);
}

dots_status doc_pdf_open_memory(const void *data, size_t size, const char *label, doc_pdf **out, int *n_pages,
                                dots_error *e) {
    if (!data) return dots_fail(e, DOTS_E_ARG, "%s: no data", label);
    return pdf_open(label, data, size, out, n_pages, e);
}

void doc_pdf_close(doc_pdf *d) {
    if (!d) return;
    if (d->ctx) {
        fz_drop_document(d->ctx, d->doc);
        fz_drop_stream(d->ctx, d->stm);
        fz_drop_context(d->ctx);
    }
    free(d->mem);
    free(d);
}

/* Renders a loaded page at dpi with the 4500 px fallback; label names it in messages. */
static dots_status render_page(fz_context *ctx, fz_page *page, int dpi, dots_image *out, int *used_dpi,
                               const char *label, dots_error *e) {
    fz_pixmap *pix = NULL;
    dots_status st = DOTS_OK;
    fz_var(pix);
    fz_var(st);
    fz_try(ctx) {
        fz_rect r = fz_bound_page(ctx, page);
        for (int pass = 0; pass < 2 && !st; pass++) {
            float z = (pass == 0 ? dpi : 72) / 72.0f;
            fz_irect ir = fz_round_rect(fz_transform_rect(r, fz_scale(z, z)));
            long long w = (long long)ir.x1 - ir.x0, h = (long long)ir.y1 - ir.y0;
            if (w <= 0 || h <= 0) { st = dots_fail(e, DOTS_E_FORMAT, "%s: the page is empty (size %gx%g pt)", label, r.x1 - r.x0, r.y1 - r.y0); break; }
            if (pass == 0 && (w > DOC_PDF_MAX_SIDE || h > DOC_PDF_MAX_SIDE)) continue;
            if (w > 200 * h || h > 200 * w) { /* smart_resize would refuse it: don't render it first */
                st = dots_fail(e, DOTS_E_LIMIT,
                               "%s: the page is %lldx%lld pixels, an aspect ratio above the model's limit of 200; "
                               "crop it first", label, w, h);
                break;
            }
            if (w * h > MAX_RENDER_PIXELS) {
                st = dots_fail(e, DOTS_E_LIMIT, "%s: the page (%gx%g pt) would render to %lldx%lld pixels at %d dpi, over "
                               "the limit of %lld; scale the page down first", label, r.x1 - r.x0, r.y1 - r.y0, w, h,
                               pass == 0 ? dpi : 72, MAX_RENDER_PIXELS);
                break;
            }
            pix = fz_new_pixmap_from_page(ctx, page, fz_scale(z, z), fz_device_rgb(ctx), 0);
            *used_dpi = pass == 0 ? dpi : 72;
            break;
        }
    }
    fz_catch(ctx) st = dots_fail(e, DOTS_E_FORMAT, "%s: MuPDF cannot render it: %s", label, fz_caught_message(ctx));
    if (st) { fz_drop_pixmap(ctx, pix); return st; }
    if (!pix) return dots_fail(e, DOTS_E_INTERNAL, "%s: no pixmap rendered", label);
    int w = fz_pixmap_width(ctx, pix), h = fz_pixmap_height(ctx, pix), n = fz_pixmap_components(ctx, pix);
    ptrdiff_t stride = fz_pixmap_stride(ctx, pix);
    unsigned char *s = fz_pixmap_samples(ctx, pix);
    out->rgb = malloc((size_t)w * h * 3);
    if (!out->rgb) { fz_drop_pixmap(ctx, pix); return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory for %dx%d pixels", label, w, h); }
    for (int y = 0; y < h; y++) {
        unsigned char *d = out->rgb + (size_t)y * w * 3;
        const unsigned char *r = s + y * stride;
        if (n == 3) memcpy(d, r, (size_t)w * 3); /* RGB without alpha: whole rows */
        else for (int x = 0; x < w; x++) memcpy(d + (size_t)x * 3, r + (ptrdiff_t)x * n, 3);
    }
    out->width = w; out->height = h;
    fz_drop_pixmap(ctx, pix);
    return DOTS_OK;
}

dots_status doc_pdf_render(doc_pdf *d, int page, int dpi, dots_image *out, int *used_dpi, dots_error *e) {
    out->width = out->height = 0; out->rgb = NULL;
    char label[1100];
    snprintf(label, sizeof label, "%s page %d", d->path, page + 1);
    if (dpi < 1 || dpi > 2400) return dots_fail(e, DOTS_E_ARG, "%s: dpi %d is outside [1, 2400]", label, dpi);
    fz_page *pg = NULL;
    fz_var(pg);
    dots_status st = DOTS_OK;
    fz_try(d->ctx) pg = fz_load_page(d->ctx, d->doc, page);
    fz_catch(d->ctx) return dots_fail(e, DOTS_E_FORMAT, "%s: cannot load the page: %s", label, fz_caught_message(d->ctx));
    st = render_page(d->ctx, pg, dpi, out, used_dpi, label, e);
    fz_drop_page(d->ctx, pg);
    return st;
}

dots_status doc_fitz_rerender(const dots_image *img, int dpi, dots_image *out, int *used_dpi, dots_error *e) {
    out->width = out->height = 0; out->rgb = NULL;
    unsigned char *png; size_t len;
    dots_status st = doc_png_encode(img, &png, &len, e);
    if (st) return st;
    fz_context *ctx = new_ctx(e);
    if (!ctx) { free(png); return e ? e->code : DOTS_E_NOMEM; }
    fz_stream *stm = NULL;
    fz_document *doc = NULL;
    fz_page *page = NULL;
    fz_var(stm); fz_var(doc); fz_var(page);
    fz_try(ctx) {
        stm = fz_open_memory(ctx, png, len);
        doc = fz_open_document_with_stream(ctx, "image/png", stm);
        page = fz_load_page(ctx, doc, 0);
    }
    fz_catch(ctx) st = dots_fail(e, DOTS_E_INTERNAL, "fitz preprocess: MuPDF cannot open the image: %s", fz_caught_message(ctx));
    if (!st) st = render_page(ctx, page, dpi, out, used_dpi, "fitz preprocess", e);
    fz_drop_page(ctx, page);
    fz_drop_document(ctx, doc);
    fz_drop_stream(ctx, stm);
    fz_drop_context(ctx);
    free(png);
    return st;
}

dots_status doc_pdf_draw_labels(dots_image *img, const doc_label *labels, int n, dots_error *e) {
    fz_context *ctx = new_ctx(e);
    if (!ctx) return e ? e->code : DOTS_E_NOMEM;
    fz_pixmap *pix = NULL;
    fz_device *dev = NULL;
    fz_font *font = NULL;
    fz_text *text = NULL;
    dots_status st = DOTS_OK;
    fz_var(pix); fz_var(dev); fz_var(font); fz_var(text);
    fz_try(ctx) {
        pix = fz_new_pixmap_with_data(ctx, fz_device_rgb(ctx), img->width, img->height, NULL, 0, img->width * 3, img->rgb);
        dev = fz_new_draw_device(ctx, fz_identity, pix);
        font = fz_new_base14_font(ctx, "Helvetica");
        for (int i = 0; i < n; i++) {
            text = fz_new_text(ctx);
            fz_matrix trm = fz_make_matrix((float)labels[i].size, 0, 0, (float)-labels[i].size, (float)labels[i].x,
                                           (float)labels[i].y);
            fz_show_string(ctx, text, font, trm, labels[i].text, 0, 0, FZ_BIDI_LTR, FZ_LANG_UNSET);
            float col[3] = {labels[i].rgb[0] / 255.f, labels[i].rgb[1] / 255.f, labels[i].rgb[2] / 255.f};
            fz_fill_text(ctx, dev, text, fz_identity, fz_device_rgb(ctx), col, 1.0f, fz_default_color_params);
            fz_drop_text(ctx, text);
            text = NULL;
        }
        fz_close_device(ctx, dev);
    }
    fz_catch(ctx) st = dots_fail(e, DOTS_E_INTERNAL, "drawing labels with MuPDF: %s", fz_caught_message(ctx));
    fz_drop_text(ctx, text);
    fz_drop_device(ctx, dev);
    fz_drop_font(ctx, font);
    fz_drop_pixmap(ctx, pix);
    fz_drop_context(ctx);
    return st;
}

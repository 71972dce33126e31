/* dots_document: a PDF (MuPDF) or one PNG/JPEG image, from a file or from memory,
 * told by its magic bytes; page count and rendering, and the model-input picture
 * (upstream's fitz preprocess for images). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "doc/document.h"
#include "doc/pdf.h"
#include "base/opts.h"

#define DEFAULT_DPI 200

struct dots_document {
    dots_doc_kind kind;
    dots_doc_opts opts;
    doc_pdf *pdf;        /* kind PDF */
    int n_pages;
    dots_image image;    /* kind IMAGE: decoded at open */
    char *label;
};

void dots_doc_opts_init(dots_doc_opts *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->dpi = DEFAULT_DPI;
    o->fitz_preprocess = 1;
}

/* The caller's opts over the defaults, reading only the fields its struct_size covers. */
static dots_status take_opts(const dots_doc_opts *in, dots_doc_opts *o, dots_error *e) {
    dots_doc_opts_init(o);
    if (!in) return DOTS_OK;
    dots_status st = opts_take(o, sizeof *o, in, "dots_doc_opts", e);
    if (st) return st;
    if (o->dpi <= 0) o->dpi = DEFAULT_DPI;
    if (o->dpi > 1200) return dots_fail(e, DOTS_E_ARG, "dots_doc_opts: dpi %d is over 1200", o->dpi);
    if (o->max_decoded_pixels < 0) return dots_fail(e, DOTS_E_ARG, "dots_doc_opts: max_decoded_pixels is negative");
    if (!doc_pdf_available()) o->fitz_preprocess = 0;
    return DOTS_OK;
}

dots_doc_kind doc_sniff_kind(const unsigned char *m, size_t n) {
    if (n >= 4 && !memcmp(m, "%PDF", 4)) return DOTS_DOC_PDF;
    if (n >= 8 && !memcmp(m, "\x89PNG\r\n\x1a\n", 8)) return DOTS_DOC_IMAGE;
    if (n >= 3 && m[0] == 0xFF && m[1] == 0xD8 && m[2] == 0xFF) return DOTS_DOC_IMAGE;
    return 0;
}

static dots_status new_doc(const char *label, const dots_doc_opts *opts, dots_document **out, dots_error *e) {
    *out = NULL;
    dots_document *d = calloc(1, sizeof *d);
    if (!d || !(d->label = strdup(label))) {
        free(d);
        return dots_fail(e, DOTS_E_NOMEM, "out of memory opening %s", label);
    }
    dots_status st = take_opts(opts, &d->opts, e);
    if (st) { dots_doc_close(d); return st; }
    *out = d;
    return DOTS_OK;
}

/* Fills d from data (memory) or from d->label (a file) once the kind is known. */
static dots_status load(dots_document *d, dots_doc_kind kind, const void *data, size_t size, dots_error *e) {
    dots_image_limits lim = {d->opts.max_decoded_pixels};
    d->kind = kind;
    if (kind == DOTS_DOC_PDF)
        return data ? doc_pdf_open_memory(data, size, d->label, &d->pdf, &d->n_pages, e)
                    : doc_pdf_open(d->label, &d->pdf, &d->n_pages, e);
    d->n_pages = 1;
    return data ? dots_image_decode(data, size, d->label, &lim, &d->image, e)
                : dots_image_load(d->label, &lim, &d->image, e);
}

dots_status dots_doc_open(const char *path, const dots_doc_opts *opts, dots_document **out, dots_error *e) {
    if (!out || !path) return dots_fail(e, DOTS_E_ARG, "dots_doc_open: needs a path and an output handle");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return dots_fail(e, DOTS_E_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char m[8] = {0};
    size_t n = fread(m, 1, sizeof m, f);
    fclose(f);
    dots_doc_kind kind = doc_sniff_kind(m, n);
    if (!kind) return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: not a PDF, PNG or JPEG file", path);
    dots_document *d;
    dots_status st = new_doc(path, opts, &d, e);
    if (!st) st = load(d, kind, NULL, 0, e);
    if (st) { dots_doc_close(d); return st; }
    *out = d;
    return DOTS_OK;
}

dots_status dots_doc_open_memory(const void *data, size_t size, const char *label, const dots_doc_opts *opts,
                                 dots_document **out, dots_error *e) {
    if (!label) label = "(memory)";
    if (!out || (!data && size)) return dots_fail(e, DOTS_E_ARG, "dots_doc_open_memory: needs data and an output handle");
    *out = NULL;
    dots_doc_kind kind = doc_sniff_kind(data, size);
    if (!kind) return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: not a PDF, PNG or JPEG (%zu bytes)", label, size);
    dots_document *d;
    dots_status st = new_doc(label, opts, &d, e);
    if (!st) st = load(d, kind, data, size, e);
    if (st) { dots_doc_close(d); return st; }
    *out = d;
    return DOTS_OK;
}

void dots_doc_close(dots_document *d) {
    if (!d) return;
    doc_pdf_close(d->pdf);
    dots_image_free(&d->image);
    free(d->label);
    free(d);
}

int dots_doc_page_count(const dots_document *d) { return d ? d->n_pages : 0; }
dots_doc_kind dots_doc_get_kind(const dots_document *d) { return d ? d->kind : 0; }
const char *dots_doc_label(const dots_document *d) { return d ? d->label : ""; }

static dots_status check_page(const dots_document *d, int page, dots_error *e) {
    if (!d) return dots_fail(e, DOTS_E_ARG, "no document");
    if (page < 0 || page >= d->n_pages)
        return dots_fail(e, DOTS_E_ARG, "%s: page %d is beyond the document (%d page%s; pages count from 0 here)",
                         d->label, page, d->n_pages, d->n_pages == 1 ? "" : "s");
    return DOTS_OK;
}

static dots_status copy_image(const dots_image *src, dots_image *out, const char *label, dots_error *e) {
    size_t n = (size_t)src->width * (size_t)src->height * 3;
    out->rgb = malloc(n ? n : 1);
    if (!out->rgb) return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory copying %dx%d pixels", label, src->width, src->height);
    memcpy(out->rgb, src->rgb, n);
    out->width = src->width;
    out->height = src->height;
    return DOTS_OK;
}

dots_status dots_doc_render_page(dots_document *d, int page, dots_image *out, int *used_dpi, dots_error *e) {
    if (!out) return dots_fail(e, DOTS_E_ARG, "dots_doc_render_page: no output image");
    memset(out, 0, sizeof *out);
    int dpi = 0;
    dots_status st = check_page(d, page, e);
    if (st) return st;
    st = d->kind == DOTS_DOC_PDF ? doc_pdf_render(d->pdf, page, d->opts.dpi, out, &dpi, e)
                                 : copy_image(&d->image, out, d->label, e);
    if (used_dpi) *used_dpi = dpi;
    return st;
}

dots_status doc_render_for_model(dots_document *d, int page, dots_image *origin, dots_image *model_img, int *used_dpi,
                                 dots_error *e) {
    memset(model_img, 0, sizeof *model_img);
    dots_status st = dots_doc_render_page(d, page, origin, used_dpi, e);
    if (st || d->kind == DOTS_DOC_PDF || !d->opts.fitz_preprocess) return st;
    if ((st = doc_fitz_rerender(origin, d->opts.dpi, model_img, used_dpi, e))) {
        dots_image_free(origin);
        return dots_context(e, "%s", d->label);
    }
    return DOTS_OK;
}

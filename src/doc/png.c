#include "doc/png.h"
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/buf.h"

static void mem_write(png_structp png, png_bytep data, png_size_t n) {
    dots_buf_addn(png_get_io_ptr(png), data, n); /* failure is sticky: checked after encoding */
}
static void mem_flush(png_structp png) { (void)png; }

static void png_err(png_structp png, png_const_charp msg) {
    char *dst = png_get_error_ptr(png);
    snprintf(dst, 256, "%s", msg);
    png_longjmp(png, 1);
}
static void png_warn(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

/* One encoder for both sinks: f != NULL writes a file, else memory. */
static dots_status encode(const dots_image *img, FILE *f, dots_buf *mb, const char *label, dots_error *e) {
    if (!img || !img->rgb || img->width <= 0 || img->height <= 0)
        return dots_fail(e, DOTS_E_ARG, "%s: cannot write an empty image as PNG", label);
    char msg[256] = "";
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, msg, png_err, png_warn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory starting the PNG encoder", label);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return dots_fail(e, DOTS_E_IO, "%s: PNG encoding failed: %s", label, msg);
    }
    if (f) png_init_io(png, f);
    else png_set_write_fn(png, mb, mem_write, mem_flush);
    png_set_compression_level(png, 6);
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < img->height; y++)
        png_write_row(png, img->rgb + (size_t)y * img->width * 3);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    if (mb && mb->oom) return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory encoding PNG", label);
    return DOTS_OK;
}

dots_status doc_png_encode(const dots_image *img, unsigned char **out, size_t *len, dots_error *e) {
    dots_buf mb = {0};
    *out = NULL; *len = 0;
    dots_status st = encode(img, NULL, &mb, "in-memory PNG", e);
    if (st) { dots_buf_free(&mb); return st; }
    *out = (unsigned char *)mb.p; *len = mb.n;
    return DOTS_OK;
}

dots_status doc_png_write(const dots_image *img, const char *path, dots_error *e) {
    FILE *f = fopen(path, "wb");
    if (!f) return dots_fail(e, DOTS_E_IO, "%s: cannot create: %s", path, strerror(errno));
    dots_status st = encode(img, f, NULL, path, e);
    if (fclose(f) != 0 && !st) st = dots_fail(e, DOTS_E_IO, "%s: write error (disk full?)", path);
    if (st) remove(path);
    return st;
}

char *doc_base64(const unsigned char *d, size_t n) {
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *s = malloc((n + 2) / 3 * 4 + 1), *o = s;
    if (!s) return NULL;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (unsigned)d[i + 1] << 8 | d[i + 2];
        *o++ = A[v >> 18]; *o++ = A[(v >> 12) & 63]; *o++ = A[(v >> 6) & 63]; *o++ = A[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)d[i] << 16;
        *o++ = A[v >> 18]; *o++ = A[(v >> 12) & 63]; *o++ = '='; *o++ = '=';
    } else if (n - i == 2) {
        unsigned v = (unsigned)d[i] << 16 | (unsigned)d[i + 1] << 8;
        *o++ = A[v >> 18]; *o++ = A[(v >> 12) & 63]; *o++ = A[(v >> 6) & 63]; *o++ = '=';
    }
    *o = 0;
    return s;
}

dots_status doc_image_crop(const dots_image *img, int x1, int y1, int x2, int y2, dots_image *out, dots_error *e) {
    out->width = out->height = 0; out->rgb = NULL;
    if (x1 < 0) x1 = 0;
    if (y1 < 0) y1 = 0;
    if (x2 > img->width) x2 = img->width;
    if (y2 > img->height) y2 = img->height;
    if (x2 <= x1 || y2 <= y1)
        return dots_fail(e, DOTS_E_ARG, "crop [%d, %d, %d, %d] is empty inside a %dx%d image", x1, y1, x2, y2,
                         img->width, img->height);
    int w = x2 - x1, h = y2 - y1;
    out->rgb = malloc((size_t)w * h * 3);
    if (!out->rgb) return dots_fail(e, DOTS_E_NOMEM, "out of memory cropping %dx%d pixels", w, h);
    for (int y = 0; y < h; y++)
        memcpy(out->rgb + (size_t)y * w * 3, img->rgb + ((size_t)(y1 + y) * img->width + x1) * 3, (size_t)w * 3);
    out->width = w; out->height = h;
    return DOTS_OK;
}

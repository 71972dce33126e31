/* PNG through libpng, used only to inflate and de-interlace: the conversion
 * to RGB is ours so that it follows Pillow (PngImagePlugin + convert):
 *  - 16-bit colour/alpha samples keep their high byte; 16-bit grey is clipped
 *    to 255 (Pillow's I;16 -> RGB);
 *  - grey of 1/2/4 bits is scaled to 0..255;
 *  - a tRNS grey/RGB key is compared with the 8-bit value (what Pillow does);
 *  - palette tRNS gives per-entry alpha, indices past the palette are black;
 *  - any alpha is composited onto white (image_over_white). */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include "base/error.h"
#include "base/mem.h"
#include "image/decode.h"

typedef struct {
    const unsigned char *data;
    size_t size, pos;
    char msg[512];
} png_src;

static void on_error(png_structp png, png_const_charp msg) {
    png_src *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

static void on_read(png_structp png, png_bytep out, size_t n) {
    png_src *s = png_get_io_ptr(png);
    if (n > s->size - s->pos) png_error(png, "the file is truncated");
    memcpy(out, s->data + s->pos, n);
    s->pos += n;
}

typedef struct {
    int color_type, bit_depth, width;
    int has_trns, trns_gray, trns_r, trns_g, trns_b;
    unsigned char pal[256][3], pal_a[256];
    int n_pal;
} png_fmt;

static inline void put(unsigned char *o, unsigned r, unsigned g, unsigned b, unsigned a) {
    if (a == 255) { o[0] = r; o[1] = g; o[2] = b; }
    else { o[0] = image_over_white(r, a); o[1] = image_over_white(g, a); o[2] = image_over_white(b, a); }
}

/* One row of raw samples (after png_set_packing) to RGB. */
static void convert_row(const png_fmt *f, const unsigned char *in, unsigned char *o) {
    int w = f->width, x;
    switch (f->color_type) {
    case PNG_COLOR_TYPE_GRAY:
        if (f->bit_depth == 16) {
            for (x = 0; x < w; x++, o += 3) {
                unsigned v = (unsigned)in[2 * x] << 8 | in[2 * x + 1];
                unsigned a = f->has_trns && (int)v == f->trns_gray ? 0 : 255;
                unsigned c = v > 255 ? 255 : v;
                put(o, c, c, c, a);
            }
        } else {
            unsigned maxv = (1u << f->bit_depth) - 1;
            /* Pillow keeps a 1-bit key as 0/255, other depths as the raw number */
            int key = f->bit_depth == 1 ? (f->trns_gray ? 255 : 0) : f->trns_gray;
            for (x = 0; x < w; x++, o += 3) {
                unsigned c = in[x] * 255u / maxv;
                unsigned a = f->has_trns && (int)c == key ? 0 : 255;
                put(o, c, c, c, a);
            }
        }
        break;
    case PNG_COLOR_TYPE_RGB: {
        int step = f->bit_depth == 16 ? 2 : 1;
        for (x = 0; x < w; x++, o += 3) {
            unsigned r = in[(3 * x + 0) * step], g = in[(3 * x + 1) * step], b = in[(3 * x + 2) * step];
            unsigned a = f->has_trns && (int)r == f->trns_r && (int)g == f->trns_g && (int)b == f->trns_b ? 0 : 255;
            put(o, r, g, b, a);
        }
        break;
    }
    case PNG_COLOR_TYPE_PALETTE:
        for (x = 0; x < w; x++, o += 3) {
            unsigned i = in[x];
            if ((int)i < f->n_pal) put(o, f->pal[i][0], f->pal[i][1], f->pal[i][2], f->pal_a[i]);
            else put(o, 0, 0, 0, f->pal_a[i]);
        }
        break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: {
        int step = f->bit_depth == 16 ? 2 : 1;
        for (x = 0; x < w; x++, o += 3) {
            unsigned g = in[(2 * x) * step], a = in[(2 * x + 1) * step];
            put(o, g, g, g, a);
        }
        break;
    }
    default: { /* RGBA */
        int step = f->bit_depth == 16 ? 2 : 1;
        for (x = 0; x < w; x++, o += 3)
            put(o, in[(4 * x) * step], in[(4 * x + 1) * step], in[(4 * x + 2) * step], in[(4 * x + 3) * step]);
        break;
    }
    }
}

dots_status image_decode_png(const unsigned char *data, size_t size, const char *label, long long max_pixels,
                             dots_image *out, dots_error *e) {
    /* The IHDR is always first: judge the size (zero, decompression bomb)
     * from it before libpng allocates anything. */
    if (size >= 33 && !memcmp(data + 12, "IHDR", 4)) {
        unsigned long long w = (unsigned long long)data[16] << 24 | data[17] << 16 | data[18] << 8 | data[19];
        unsigned long long h = (unsigned long long)data[20] << 24 | data[21] << 16 | data[22] << 8 | data[23];
        if (w == 0 || h == 0)
            return dots_fail(e, DOTS_E_FORMAT, "%s: corrupt PNG: zero-sized image (%llux%llu)", label, w, h);
        if (w * h > (unsigned long long)max_pixels)
            return dots_fail(e, DOTS_E_LIMIT,
                             "%s: the image is %llux%llu = %llu pixels, over the decoded-pixel limit of %lld "
                             "(a decompression bomb guard; raise the limit if the image is genuine)",
                             label, w, h, w * h, max_pixels);
    }
    png_src src = {data, size, 0, {0}};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_error, on_warning);
    if (!png) return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory starting the PNG decoder", label);
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return dots_fail(e, DOTS_E_NOMEM, "%s: out of memory starting the PNG decoder", label);
    }
    /* volatile: modified after setjmp and read after a longjmp */
    unsigned char *volatile raw = NULL;
    unsigned char *volatile row = NULL;
    dots_status volatile st = DOTS_OK;
    static png_fmt fmt_zero;
    png_fmt *volatile fmt = NULL;
    if (setjmp(png_jmpbuf(png))) {
        if (st == DOTS_OK) st = dots_fail(e, DOTS_E_FORMAT, "%s: corrupt PNG: %s", label, src.msg);
        goto done;
    }
    png_set_read_fn(png, &src, on_read);
    /* our own pixel limit governs, not libpng's 1M-per-side default */
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_set_chunk_malloc_max(png, 64u << 20);
#ifdef PNG_CHECK_FOR_INVALID_INDEX_SUPPORTED
    png_set_check_for_invalid_index(png, 0); /* Pillow shows such indices as black */
#endif
    png_read_info(png, info);
    png_uint_32 w, h;
    int bit_depth, color_type, interlace;
    png_get_IHDR(png, info, &w, &h, &bit_depth, &color_type, &interlace, NULL, NULL);
    fmt = dots_calloc(sizeof *fmt, "PNG state", e);
    if (!fmt) { st = DOTS_E_NOMEM; goto done; }
    *fmt = fmt_zero;
    fmt->color_type = color_type;
    fmt->bit_depth = bit_depth;
    fmt->width = (int)w;
    memset(fmt->pal_a, 255, sizeof fmt->pal_a);
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_colorp pal = NULL;
        int n = 0;
        if (png_get_PLTE(png, info, &pal, &n) && pal) {
            fmt->n_pal = n > 256 ? 256 : n;
            for (int i = 0; i < fmt->n_pal; i++) {
                fmt->pal[i][0] = pal[i].red; fmt->pal[i][1] = pal[i].green; fmt->pal[i][2] = pal[i].blue;
            }
        }
    }
    if (png_get_valid(png, info, PNG_INFO_tRNS)) {
        png_bytep ta = NULL;
        int nt = 0;
        png_color_16p tc = NULL;
        png_get_tRNS(png, info, &ta, &nt, &tc);
        if (color_type == PNG_COLOR_TYPE_PALETTE) {
            for (int i = 0; ta && i < nt && i < 256; i++) fmt->pal_a[i] = ta[i];
        } else if (tc) {
            fmt->has_trns = 1;
            fmt->trns_gray = tc->gray; fmt->trns_r = tc->red; fmt->trns_g = tc->green; fmt->trns_b = tc->blue;
        }
    }
    if ((st = image_alloc_checked(w, h, label, max_pixels, out, e)) != DOTS_OK) goto done;
    if (bit_depth < 8) png_set_packing(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (rowbytes < (size_t)w * (bit_depth == 16 ? 2 : 1)) {
        st = dots_fail(e, DOTS_E_INTERNAL, "%s: unexpected PNG row size %zu", label, rowbytes);
        goto done;
    }
    if (passes > 1) {
        /* interlaced: the passes are combined in a full buffer of raw rows */
        raw = dots_alloc(rowbytes * h, "interlaced PNG rows", e);
        if (!raw) { st = DOTS_E_NOMEM; goto done; }
        png_bytep *rows = dots_alloc(sizeof(png_bytep) * h, "PNG row table", e);
        if (!rows) { st = DOTS_E_NOMEM; goto done; }
        for (png_uint_32 y = 0; y < h; y++) rows[y] = raw + rowbytes * y;
        /* rows is freed below even if png_read_image longjmps: keep it in row */
        row = (unsigned char *)rows;
        png_read_image(png, rows);
        for (png_uint_32 y = 0; y < h; y++) convert_row(fmt, raw + rowbytes * y, out->rgb + (size_t)y * w * 3);
    } else {
        row = dots_alloc(rowbytes, "PNG row", e);
        if (!row) { st = DOTS_E_NOMEM; goto done; }
        for (png_uint_32 y = 0; y < h; y++) {
            png_read_row(png, row, NULL);
            convert_row(fmt, row, out->rgb + (size_t)y * w * 3);
        }
    }
done:
    dots_free(raw);
    dots_free(row);
    dots_free(fmt);
    png_destroy_read_struct(&png, &info, NULL);
    return st;
}

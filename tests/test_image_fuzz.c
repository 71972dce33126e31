/* Decoder robustness: valid PNGs (several colour types, 16-bit, interlaced)
 * and JPEGs (baseline, progressive, grey, CMYK) are made here with libpng /
 * libjpeg, then truncated at many lengths and mutated at random. Every
 * result must be a clean success or an error naming the input; never a
 * crash or a hang (run under DOTS_SANITIZE for memory errors). */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include "image/image.h"
#include "testutil.h"

typedef struct { unsigned char *d; size_t n, cap; } buf;

static void buf_put(buf *b, const void *p, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->d = realloc(b->d, b->cap);
    }
    memcpy(b->d + b->n, p, n);
    b->n += n;
}

static void png_write_cb(png_structp png, png_bytep d, size_t n) { buf_put(png_get_io_ptr(png), d, n); }
static void png_flush_cb(png_structp png) { (void)png; }

static buf make_png(int w, int h, int color_type, int depth, int interlace) {
    buf b = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) { fprintf(stderr, "png write failed\n"); exit(1); }
    png_set_write_fn(png, &b, png_write_cb, png_flush_cb);
    png_set_IHDR(png, info, w, h, depth, color_type, interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[16];
        unsigned char alpha[16];
        for (int i = 0; i < 16; i++) { pal[i].red = i * 16; pal[i].green = 255 - i * 9; pal[i].blue = i * 5; alpha[i] = i * 17; }
        png_set_PLTE(png, info, pal, 16);
        png_set_tRNS(png, info, alpha, 8, NULL);
    }
    png_write_info(png, info);
    int ch = color_type == PNG_COLOR_TYPE_RGB ? 3 : color_type == PNG_COLOR_TYPE_RGBA ? 4 :
             color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : 1;
    size_t rowbytes = ((size_t)w * ch * depth + 7) / 8;
    unsigned char *row = calloc(1, rowbytes);
    int passes = png_set_interlace_handling(png);
    for (int p = 0; p < passes; p++)
        for (int y = 0; y < h; y++) {
            for (size_t i = 0; i < rowbytes; i++) row[i] = (unsigned char)(i * 7 + y * 13 + (color_type == 3 ? 0 : i % 5));
            if (color_type == PNG_COLOR_TYPE_PALETTE)
                for (size_t i = 0; i < rowbytes; i++) row[i] &= 0xF; /* 8-bit indices < 16 */
            png_write_row(png, row);
        }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(row);
    return b;
}

static buf make_jpeg(int w, int h, int comps, int progressive) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    unsigned char *mem = NULL;
    unsigned long size = 0;
    jpeg_mem_dest(&c, &mem, &size);
    c.image_width = w;
    c.image_height = h;
    c.input_components = comps;
    c.in_color_space = comps == 1 ? JCS_GRAYSCALE : comps == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 85, TRUE);
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    unsigned char *row = malloc((size_t)w * comps);
    while (c.next_scanline < c.image_height) {
        for (int i = 0; i < w * comps; i++) row[i] = (unsigned char)(i * 3 + c.next_scanline * 5);
        JSAMPROW rp = row;
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    buf b = {0};
    buf_put(&b, mem, size);
    free(mem);
    return b;
}

static unsigned rng_state = 12345;
static unsigned rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static int n_ok, n_err;

static void try_decode(const unsigned char *d, size_t n, const char *what) {
    dots_image im;
    dots_error e = {0};
    dots_image_limits lim = {4000000};
    dots_status st = dots_image_decode(d, n, "fuzz.bin", &lim, &im, &e);
    if (st == DOTS_OK) {
        n_ok++;
        CHECK(im.rgb && im.width > 0 && im.height > 0, "%s: success without pixels", what);
        dots_image_free(&im);
    } else {
        n_err++;
        CHECK(im.rgb == NULL && strstr(e.msg, "fuzz.bin") != NULL, "%s: error should name the input: %s", what, e.msg);
    }
}

static void fuzz(buf b, const char *name, int mutations) {
    char what[128];
    /* the intact file decodes */
    dots_image im;
    dots_error e = {0};
    CHECK(dots_image_decode(b.d, b.n, name, NULL, &im, &e) == DOTS_OK, "%s: %s", name, e.msg);
    dots_image_free(&im);
    /* every truncation length near the start, then a stride through the rest */
    for (size_t len = 0; len < b.n; len += len < 256 ? 1 : 1 + b.n / 300) {
        snprintf(what, sizeof what, "%s truncated to %zu", name, len);
        try_decode(b.d, len, what);
    }
    unsigned char *m = malloc(b.n);
    for (int i = 0; i < mutations; i++) {
        memcpy(m, b.d, b.n);
        int flips = 1 + rnd() % 8;
        for (int f = 0; f < flips; f++) {
            size_t at = rnd() % b.n;
            switch (rnd() % 3) {
            case 0: m[at] ^= (unsigned char)(1u << (rnd() % 8)); break;
            case 1: m[at] = (unsigned char)rnd(); break;
            default: m[at] = (rnd() & 1) ? 0xFF : 0x00; break;
            }
        }
        snprintf(what, sizeof what, "%s mutation %d", name, i);
        try_decode(m, b.n, what);
    }
    free(m);
    free(b.d);
}

int main(void) {
    fuzz(make_png(37, 21, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE), "rgb8.png", 400);
    fuzz(make_png(19, 23, PNG_COLOR_TYPE_RGBA, 16, PNG_INTERLACE_ADAM7), "rgba16_interlaced.png", 400);
    fuzz(make_png(33, 9, PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_NONE), "palette.png", 300);
    fuzz(make_png(40, 12, PNG_COLOR_TYPE_GRAY, 2, PNG_INTERLACE_ADAM7), "gray2_interlaced.png", 300);
    fuzz(make_png(15, 15, PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE), "gray_alpha.png", 300);
    fuzz(make_jpeg(41, 27, 3, 0), "baseline.jpg", 400);
    fuzz(make_jpeg(41, 27, 3, 1), "progressive.jpg", 400);
    fuzz(make_jpeg(17, 33, 1, 0), "gray.jpg", 300);
    fuzz(make_jpeg(16, 16, 4, 0), "cmyk.jpg", 300);
    /* garbage and near-misses of the magic bytes */
    unsigned char junk[512];
    for (int i = 0; i < 200; i++) {
        for (size_t j = 0; j < sizeof junk; j++) junk[j] = (unsigned char)rnd();
        if (i % 2 == 0) { junk[0] = 0xFF; junk[1] = 0xD8; junk[2] = 0xFF; }
        else memcpy(junk, "\x89PNG\r\n\x1a\n", 8);
        try_decode(junk, 8 + rnd() % (sizeof junk - 8), "junk");
    }
    try_decode(NULL, 0, "nothing");
    /* the pixel limit is judged from the header */
    buf big = make_png(300, 200, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE);
    dots_image im;
    dots_error e = {0};
    dots_image_limits lim = {50000};
    CHECK(dots_image_decode(big.d, big.n, "big.png", &lim, &im, &e) == DOTS_E_LIMIT && strstr(e.msg, "300x200"),
          "png limit: %s", e.msg);
    free(big.d);
    buf bigj = make_jpeg(300, 200, 3, 0);
    CHECK(dots_image_decode(bigj.d, bigj.n, "big.jpg", &lim, &im, &e) == DOTS_E_LIMIT && strstr(e.msg, "300x200"),
          "jpeg limit: %s", e.msg);
    free(bigj.d);
    CHECK(dots_image_load("/nonexistent/dir/x.png", NULL, &im, &e) == DOTS_E_IO && strstr(e.msg, "x.png"),
          "missing file: %s", e.msg);
    CHECK(dots_image_load(".", NULL, &im, &e) != DOTS_OK, "a directory is not an image");
    printf("fuzz: %d inputs decoded, %d refused cleanly\n", n_ok, n_err);
    return test_finish("test_image_fuzz");
}

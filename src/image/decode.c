/* Image decoding front door: reads the file, tells PNG from JPEG by magic
 * bytes (never by the name), applies the decoded-pixel limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/error.h"
#include "base/fileio.h"
#include "base/mem.h"
#include "image/decode.h"

void dots_image_free(dots_image *img) {
    if (!img) return;
    dots_free(img->rgb);
    img->rgb = NULL;
    img->width = img->height = 0;
}

dots_status image_alloc_checked(long long w, long long h, const char *label, long long max_pixels, dots_image *out,
                                dots_error *e) {
    if (w <= 0 || h <= 0)
        return dots_fail(e, DOTS_E_FORMAT, "%s: the image header gives a zero size (%lldx%lld)", label, w, h);
    if (w > max_pixels || h > max_pixels || w * h > max_pixels)
        return dots_fail(e, DOTS_E_LIMIT,
                         "%s: the image is %lldx%lld = %lld pixels, over the decoded-pixel limit of %lld "
                         "(a decompression bomb guard; raise the limit if the image is genuine)",
                         label, w, h, w * h, max_pixels);
    out->rgb = dots_alloc((size_t)(w * h * 3), "decoded image pixels", e);
    if (!out->rgb) return dots_context(e, "%s (%lldx%lld)", label, w, h);
    out->width = (int)w;
    out->height = (int)h;
    return DOTS_OK;
}

static const char *guess_other_format(const unsigned char *d, size_t n) {
    if (n >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6))) return "a GIF";
    if (n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4)) return "a WebP";
    if (n >= 4 && (!memcmp(d, "II*\0", 4) || !memcmp(d, "MM\0*", 4))) return "a TIFF";
    if (n >= 2 && !memcmp(d, "BM", 2)) return "a BMP";
    if (n >= 5 && !memcmp(d, "%PDF-", 5)) return "a PDF (use 'dotsocr parse' for PDFs)";
    if (n >= 12 && !memcmp(d + 4, "ftyp", 4)) return "an HEIF/AVIF";
    if (n >= 4 && !memcmp(d, "\0\0\0\x0cjP", 4)) return "a JPEG 2000";
    return NULL;
}

dots_status dots_image_decode(const void *data, size_t size, const char *label, const dots_image_limits *limits,
                              dots_image *out, dots_error *e) {
    if (!label) label = "image";
    if (!out) return dots_fail(e, DOTS_E_ARG, "%s: no output image given", label);
    out->width = out->height = 0;
    out->rgb = NULL;
    if (!data || size == 0) return dots_fail(e, DOTS_E_FORMAT, "%s: the file is empty", label);
    long long maxpx = limits && limits->max_decoded_pixels > 0 ? limits->max_decoded_pixels
                                                              : DOTS_DEFAULT_MAX_DECODED_PIXELS;
    const unsigned char *d = data;
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    dots_status st;
    if (size >= 8 && !memcmp(d, png_sig, 8))
        st = image_decode_png(d, size, label, maxpx, out, e);
    else if (size >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        st = image_decode_jpeg(d, size, label, maxpx, out, e);
    else {
        const char *other = guess_other_format(d, size);
        if (other)
            return dots_fail(e, DOTS_E_UNSUPPORTED, "%s: this is %s image; only PNG and JPEG are supported", label,
                             other);
        if (size < 8)
            return dots_fail(e, DOTS_E_FORMAT, "%s: only %zu bytes, too short to be a PNG or JPEG", label, size);
        return dots_fail(e, DOTS_E_UNSUPPORTED,
                         "%s: not a PNG or JPEG (first bytes %02x %02x %02x %02x); only PNG and JPEG are supported",
                         label, d[0], d[1], d[2], d[3]);
    }
    if (st != DOTS_OK) dots_image_free(out);
    return st;
}

dots_status dots_image_load(const char *path, const dots_image_limits *limits, dots_image *out, dots_error *e) {
    if (out) { out->width = out->height = 0; out->rgb = NULL; }
    if (!path) return dots_fail(e, DOTS_E_ARG, "no image path given");
    char *buf = NULL;
    size_t n = 0;
    /* the compressed file, not the pixels: those have their own limit */
    dots_status st = read_file(path, (size_t)1 << 32, &buf, &n, e);
    if (st == DOTS_OK) st = dots_image_decode(buf, n, path, limits, out, e);
    free(buf);
    return st;
}

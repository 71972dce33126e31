/* Internal to the decoders: PNG (libpng) and JPEG (libjpeg-turbo) from
 * memory into 8-bit RGB, converted the way Pillow's Image.open + the
 * processor's convert_to_rgb do it (alpha composited onto white). */
#ifndef DOTS_IMAGE_DECODE_H
#define DOTS_IMAGE_DECODE_H
#include <stddef.h>
#include "dotsocr.h"

#define DOTS_DEFAULT_MAX_DECODED_PIXELS 200000000LL

/* Both check width*height against max_pixels from the header, before allocating. */
dots_status image_decode_png(const unsigned char *data, size_t size, const char *label, long long max_pixels,
                             dots_image *out, dots_error *e);
dots_status image_decode_jpeg(const unsigned char *data, size_t size, const char *label, long long max_pixels,
                              dots_image *out, dots_error *e);

/* Checks a header's size against the limit and allocates out->rgb. */
dots_status image_alloc_checked(long long w, long long h, const char *label, long long max_pixels, dots_image *out,
                                dots_error *e);

/* Colour c with alpha a over opaque white, exactly as Pillow's
 * Image.alpha_composite(white, im) (7-bit fixed point, divisions by 255
 * done as ((x >> 8) + x) >> 8). */
static inline unsigned char image_over_white(unsigned c, unsigned a) {
    if (a == 0) return 255;
    unsigned coef1 = a * 255u * 255u * 128u / (a * 255u + 255u * (255u - a));
    unsigned coef2 = 255u * 128u - coef1;
    unsigned t = c * coef1 + 255u * coef2 + (0x80u << 7);
    return (unsigned char)(((((t >> 8) + t) >> 8)) >> 7);
}

#endif

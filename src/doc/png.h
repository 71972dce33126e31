/* PNG encoding (libpng) of 8-bit RGB images, to memory or a file, and
 * base64 for data URLs (Picture crops in Markdown). */
#ifndef DOTS_DOC_PNG_H
#define DOTS_DOC_PNG_H
#include <stddef.h>
#include "base/error.h"

/* Encodes img as an RGB PNG (no pHYs chunk, so readers assume 96 dpi). *out is malloc'd. */
dots_status doc_png_encode(const dots_image *img, unsigned char **out, size_t *len, dots_error *e);
/* Writes img to path as PNG. */
dots_status doc_png_write(const dots_image *img, const char *path, dots_error *e);
/* Standard base64 (RFC 4648, '=' padding) of n bytes; NUL-terminated malloc'd string, NULL on OOM. */
char *doc_base64(const unsigned char *data, size_t n);
/* Copies the rectangle [x1,x2) x [y1,y2) of img (clipped to it) into out (malloc'd rgb). */
dots_status doc_image_crop(const dots_image *img, int x1, int y1, int x2, int y2, dots_image *out, dots_error *e);

#endif

/* smart_resize as transformers' Qwen2VLImageProcessor computes it (factor 28),
 * in double precision with Python's round-half-to-even. */
#include <math.h>
#include "base/error.h"
#include "image/image.h"

dots_status image_smart_resize(int h, int w, long min_pixels, long max_pixels, int *out_h, int *out_w,
                               dots_error *e) {
    const int f = 2 * DOTS_PATCH;
    if (h <= 0 || w <= 0) return dots_fail(e, DOTS_E_ARG, "smart_resize: image size %dx%d is empty", w, h);
    if (min_pixels < 0 || max_pixels < f * f || min_pixels > max_pixels)
        return dots_fail(e, DOTS_E_ARG,
                         "smart_resize: pixel bounds min %ld / max %ld are invalid (need 0 <= min <= max, max >= %d)",
                         min_pixels, max_pixels, f * f);
    double hi = h > w ? h : w, lo = h > w ? w : h;
    if (hi / lo > 200)
        return dots_fail(e, DOTS_E_LIMIT,
                         "image of %dx%d has an aspect ratio of %.1f, above the model's limit of 200; crop it first",
                         w, h, hi / lo);
    double hb = nearbyint((double)h / f) * f, wb = nearbyint((double)w / f) * f;
    if (hb * wb > (double)max_pixels) {
        double beta = sqrt((double)h * (double)w / (double)max_pixels);
        hb = floor((double)h / beta / f) * f;
        wb = floor((double)w / beta / f) * f;
        if (hb < f) hb = f;
        if (wb < f) wb = f;
    } else if (hb * wb < (double)min_pixels) {
        double beta = sqrt((double)min_pixels / ((double)h * (double)w));
        hb = ceil((double)h * beta / f) * f;
        wb = ceil((double)w * beta / f) * f;
    }
    /* only reachable with min_pixels 0, where the reference would give 0 */
    if (hb < f) hb = f;
    if (wb < f) wb = f;
    if (hb > 1e9 || wb > 1e9)
        return dots_fail(e, DOTS_E_LIMIT, "smart_resize: %dx%d gives an output too large", w, h);
    *out_h = (int)hb;
    *out_w = (int)wb;
    return DOTS_OK;
}

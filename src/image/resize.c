/* Bicubic resize, byte for byte as Pillow's Image.resize(size, BICUBIC) on
 * 8-bit RGB (libImaging/Resample.c semantics, written independently):
 *  - filter a = -0.5, support 2, widened by the scale when downscaling;
 *  - per output sample, weights over [xmin, xmin+n) normalized to sum 1 in
 *    double, then rounded away from zero to 22-bit fixed point;
 *  - two passes through an 8-bit intermediate: horizontal first, except
 *    (Pillow 13) when the height shrinks by more than twice what the width
 *    shrinks, then vertical first; a pass whose size is unchanged is
 *    skipped; sums start at 1/2 (rounding) and are clipped to 0..255. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off") /* the weights must round as Pillow's do */
#endif
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "base/error.h"
#include "base/mem.h"
#include "image/image.h"

#define PREC 22

typedef struct {
    int ksize;
    int *bounds;   /* [out][2]: first input index, count */
    int32_t *k;    /* [out][ksize] */
} coeffs;

static double bicubic(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

static void coeffs_free(coeffs *c) {
    dots_free(c->bounds);
    dots_free(c->k);
    c->bounds = NULL;
    c->k = NULL;
}

static dots_status coeffs_make(int in_size, int out_size, coeffs *c, dots_error *e) {
    const float in0 = 0.0f, in1 = (float)in_size; /* Pillow's box is float */
    double scale = (double)(in1 - in0) / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 2.0 * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    c->ksize = ksize;
    c->bounds = NULL;
    c->k = NULL;
    if ((size_t)out_size > SIZE_MAX / sizeof(double) / (size_t)ksize)
        return dots_fail(e, DOTS_E_LIMIT, "resize: %d output samples with %d taps are too many", out_size, ksize);
    double *kd = dots_alloc((size_t)ksize * sizeof(double), "resize weights", e);
    c->bounds = dots_alloc((size_t)out_size * 2 * sizeof(int), "resize bounds", e);
    c->k = dots_alloc((size_t)out_size * ksize * sizeof(int32_t), "resize weights", e);
    if (!kd || !c->bounds || !c->k) {
        dots_free(kd);
        coeffs_free(c);
        return DOTS_E_NOMEM;
    }
    for (int xx = 0; xx < out_size; xx++) {
        double center = in0 + (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        int x;
        for (x = 0; x < xmax; x++) {
            double w = bicubic((x + xmin - center + 0.5) * ss);
            kd[x] = w;
            ww += w;
        }
        for (x = 0; x < xmax; x++)
            if (ww != 0.0) kd[x] /= ww;
        for (; x < ksize; x++) kd[x] = 0;
        int32_t *k = c->k + (size_t)xx * ksize;
        for (x = 0; x < ksize; x++)
            k[x] = kd[x] < 0 ? (int32_t)(-0.5 + kd[x] * (1 << PREC)) : (int32_t)(0.5 + kd[x] * (1 << PREC));
        c->bounds[2 * xx] = xmin;
        c->bounds[2 * xx + 1] = xmax;
    }
    dots_free(kd);
    return DOTS_OK;
}

static inline unsigned char clip8(int32_t v) {
    v >>= PREC; /* arithmetic shift, as Pillow's lookup index */
    return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* rows [y0, y0+nrows) of src, resampled horizontally to width ow, into dst */
static void pass_h(const unsigned char *src, int sw, int y0, int nrows, const coeffs *c, int ow, unsigned char *dst) {
    for (int y = 0; y < nrows; y++) {
        const unsigned char *in = src + (size_t)(y0 + y) * sw * 3;
        unsigned char *o = dst + (size_t)y * ow * 3;
        for (int xx = 0; xx < ow; xx++) {
            int xmin = c->bounds[2 * xx], n = c->bounds[2 * xx + 1];
            const int32_t *k = c->k + (size_t)xx * c->ksize;
            const unsigned char *p = in + (size_t)xmin * 3;
            int32_t s0 = 1 << (PREC - 1), s1 = s0, s2 = s0;
            for (int x = 0; x < n; x++) {
                s0 += p[3 * x] * k[x];
                s1 += p[3 * x + 1] * k[x];
                s2 += p[3 * x + 2] * k[x];
            }
            o[3 * xx] = clip8(s0);
            o[3 * xx + 1] = clip8(s1);
            o[3 * xx + 2] = clip8(s2);
        }
    }
}

/* vertical pass; c's bounds are relative to src's first row minus y_shift */
static dots_status pass_v(const unsigned char *src, int w, int y_shift, const coeffs *c, int oh, unsigned char *dst,
                          dots_error *e) {
    size_t rowlen = (size_t)w * 3;
    int32_t *acc = dots_alloc(rowlen * sizeof(int32_t), "resize accumulator", e);
    if (!acc) return DOTS_E_NOMEM;
    for (int yy = 0; yy < oh; yy++) {
        int ymin = c->bounds[2 * yy] - y_shift, n = c->bounds[2 * yy + 1];
        const int32_t *k = c->k + (size_t)yy * c->ksize;
        for (size_t i = 0; i < rowlen; i++) acc[i] = 1 << (PREC - 1);
        /* integer sums: the order of the terms does not change the result */
        for (int y = 0; y < n; y++) {
            const unsigned char *in = src + (size_t)(ymin + y) * rowlen;
            int32_t ky = k[y];
            for (size_t i = 0; i < rowlen; i++) acc[i] += in[i] * ky;
        }
        unsigned char *o = dst + (size_t)yy * rowlen;
        for (size_t i = 0; i < rowlen; i++) o[i] = clip8(acc[i]);
    }
    dots_free(acc);
    return DOTS_OK;
}

dots_status image_resize_bicubic(const dots_image *src, int w, int h, dots_image *dst, dots_error *e) {
    if (!src || !src->rgb || src->width <= 0 || src->height <= 0 || !dst)
        return dots_fail(e, DOTS_E_ARG, "resize: no source image");
    if (w <= 0 || h <= 0) return dots_fail(e, DOTS_E_ARG, "resize: target size %dx%d is empty", w, h);
    if ((long long)w * h > (1LL << 31) / 3)
        return dots_fail(e, DOTS_E_LIMIT, "resize: target size %dx%d is too large", w, h);
    dst->width = dst->height = 0;
    dst->rgb = NULL;
    unsigned char *out = dots_alloc((size_t)w * h * 3, "resized image", e);
    if (!out) return DOTS_E_NOMEM;
    int sw = src->width, sh = src->height;
    int need_h = w != sw, need_v = h != sh;
    dots_status st = DOTS_OK;
    unsigned char *tmp = NULL;
    coeffs cv = {0}, ch = {0};
    if (!need_h && !need_v) {
        memcpy(out, src->rgb, (size_t)w * h * 3);
        goto done;
    }
    if ((st = coeffs_make(sh, h, &cv, e)) != DOTS_OK) goto done;
    if (need_h && (st = coeffs_make(sw, w, &ch, e)) != DOTS_OK) goto done;
    if (!need_h) {
        st = pass_v(src->rgb, sw, 0, &cv, h, out, e);
    } else if (!need_v) {
        pass_h(src->rgb, sw, 0, sh, &ch, w, out);
    } else if (sh - h > 0 && sh - h > 2 * (sw - w)) {
        /* Pillow 13 runs the vertical pass first when the height shrinks
         * clearly more than the width (the 8-bit intermediate differs) */
        tmp = dots_alloc((size_t)sw * h * 3, "resize intermediate", e);
        if (!tmp) { st = DOTS_E_NOMEM; goto done; }
        if ((st = pass_v(src->rgb, sw, 0, &cv, h, tmp, e)) != DOTS_OK) goto done;
        pass_h(tmp, sw, 0, h, &ch, w, out);
    } else {
        /* horizontal first, over only the rows the vertical pass reads */
        int first = cv.bounds[0], last = cv.bounds[2 * h - 2] + cv.bounds[2 * h - 1];
        tmp = dots_alloc((size_t)w * (last - first) * 3, "resize intermediate", e);
        if (!tmp) { st = DOTS_E_NOMEM; goto done; }
        pass_h(src->rgb, sw, first, last - first, &ch, w, tmp);
        st = pass_v(tmp, w, first, &cv, h, out, e);
    }
done:
    coeffs_free(&cv);
    coeffs_free(&ch);
    dots_free(tmp);
    if (st != DOTS_OK) {
        dots_free(out);
        return st;
    }
    dst->width = w;
    dst->height = h;
    dst->rgb = out;
    return DOTS_OK;
}

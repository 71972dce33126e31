/* Normalize + patchify (MODEL_SPEC sections 2 and 4) and micro-batch planning.
 * Normalization follows the processor's arithmetic: pixel * (1/255) in double,
 * rounded to float, then (v - mean) / std in float; a 256-entry table per
 * channel holds the results. */
#include <stdlib.h>
#include <string.h>
#include "base/error.h"
#include "base/mem.h"
#include "image/image.h"

void dots_patches_free(dots_patches *p) {
    if (!p) return;
    dots_free(p->pixels);
    dots_free(p->grid);
    dots_free(p->resized);
    memset(p, 0, sizeof *p);
}

int image_plan_batches(const int *patches_per_image, int n, int patch_budget, int *batch_of) {
    int batch = 0;
    long long used = 0;
    for (int i = 0; i < n; i++) {
        long long c = patches_per_image[i];
        if (i > 0 && patch_budget > 0 && used + c > patch_budget) {
            batch++;
            used = 0;
        }
        used += c;
        batch_of[i] = batch;
    }
    return n > 0 ? batch + 1 : 0;
}

dots_status image_patch_count(int width, int height, long min_pixels, long max_pixels, int *n_patches,
                              dots_error *e) {
    int rh, rw;
    dots_status st = image_smart_resize(height, width, min_pixels, max_pixels, &rh, &rw, e);
    if (st != DOTS_OK) return st;
    long long n = (long long)(rh / DOTS_PATCH) * (rw / DOTS_PATCH);
    if (n > DOTS_MAX_PATCHES)
        return dots_fail(e, DOTS_E_LIMIT, "a %dx%d image resized to %dx%d gives %lld patches, above the limit of %lld; "
                         "lower max_pixels", width, height, rw, rh, n, DOTS_MAX_PATCHES);
    *n_patches = (int)n;
    return DOTS_OK;
}

void image_normalize_table(const float mean[3], const float std[3], float table[3][256]) {
    for (int c = 0; c < 3; c++)
        for (int p = 0; p < 256; p++) {
            float v = (float)((double)p * (1.0 / 255.0));
            volatile float d = v - mean[c]; /* keep float rounding at each step */
            table[c][p] = d / std[c];
        }
}

void image_patchify(const dots_image *img, const float table[3][256], float *out) {
    const int P = DOTS_PATCH, gh = img->height / P, gw = img->width / P;
    size_t row = 0;
    for (int bh = 0; bh < gh / 2; bh++)
        for (int bw = 0; bw < gw / 2; bw++)
            for (int ih = 0; ih < 2; ih++)
                for (int iw = 0; iw < 2; iw++, row++) {
                    float *o = out + row * DOTS_PATCH_DIM;
                    int py = (2 * bh + ih) * P, px = (2 * bw + iw) * P;
                    for (int y = 0; y < P; y++) {
                        const unsigned char *s = img->rgb + ((size_t)(py + y) * img->width + px) * 3;
                        for (int x = 0; x < P; x++)
                            for (int c = 0; c < 3; c++) o[c * P * P + y * P + x] = table[c][s[3 * x + c]];
                    }
                }
}

dots_status image_to_patches(const dots_image *imgs, int n, long min_pixels, long max_pixels, const float mean[3],
                             const float std[3], dots_patches *out, dots_error *e) {
    memset(out, 0, sizeof *out);
    if (n <= 0 || !imgs) return dots_fail(e, DOTS_E_ARG, "preprocess: no images given");
    static const float k_mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
    static const float k_std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
    if (!mean) mean = k_mean;
    if (!std) std = k_std;
    dots_status st = DOTS_OK;
    out->grid = dots_calloc(sizeof *out->grid * (size_t)n, "image grids", e);
    out->resized = dots_calloc(sizeof *out->resized * (size_t)n, "image sizes", e);
    if (!out->grid || !out->resized) { st = DOTS_E_NOMEM; goto fail; }
    out->n_images = n;
    long long total = 0;
    for (int i = 0; i < n; i++) {
        int rh, rw;
        if (!imgs[i].rgb || imgs[i].width <= 0 || imgs[i].height <= 0) {
            st = dots_fail(e, DOTS_E_ARG, "preprocess: image %d is empty", i);
            goto fail;
        }
        if ((st = image_smart_resize(imgs[i].height, imgs[i].width, min_pixels, max_pixels, &rh, &rw, e)) != DOTS_OK) {
            dots_context(e, "image %d", i);
            goto fail;
        }
        out->grid[i][0] = 1;
        out->grid[i][1] = rh / DOTS_PATCH;
        out->grid[i][2] = rw / DOTS_PATCH;
        out->resized[i][0] = rw;
        out->resized[i][1] = rh;
        total += (long long)(rh / DOTS_PATCH) * (rw / DOTS_PATCH);
    }
    if (total > DOTS_MAX_PATCHES) {
        st = dots_fail(e, DOTS_E_LIMIT, "preprocess: %lld patches in one batch is too many", total);
        goto fail;
    }
    out->pixels = dots_alloc((size_t)total * DOTS_PATCH_DIM * sizeof(float), "image patches", e);
    if (!out->pixels) { st = DOTS_E_NOMEM; goto fail; }
    out->n_patches = (int)total;
    float table[3][256];
    image_normalize_table(mean, std, table);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        dots_image r = {0};
        const dots_image *use = &imgs[i];
        if (imgs[i].width != out->resized[i][0] || imgs[i].height != out->resized[i][1]) {
            if ((st = image_resize_bicubic(&imgs[i], out->resized[i][0], out->resized[i][1], &r, e)) != DOTS_OK) {
                dots_context(e, "image %d", i);
                goto fail;
            }
            use = &r;
        }
        image_patchify(use, (const float(*)[256])table, out->pixels + at * DOTS_PATCH_DIM);
        at += (size_t)out->grid[i][1] * out->grid[i][2];
        dots_image_free(&r);
    }
    return DOTS_OK;
fail:
    dots_patches_free(out);
    return st;
}

/* Image preprocessing, identical to the model's Qwen2VLImageProcessor
 * (MODEL_SPEC section 4): smart_resize, Pillow-exact bicubic, CLIP
 * normalization, 14x14 patches in merge-block order. Decoding is the public
 * dots_image_load / dots_image_decode (include/dotsocr.h). */
#ifndef DOTS_IMAGE_H
#define DOTS_IMAGE_H
#include "dotsocr.h"

#define DOTS_PATCH 14
#define DOTS_PATCH_DIM (3 * DOTS_PATCH * DOTS_PATCH) /* 588 */
/* Patches of one preprocessed batch: their floats stay below 2^31 (int offsets in the kernels). */
#define DOTS_MAX_PATCHES ((1LL << 31) / DOTS_PATCH_DIM)

/* smart_resize(h, w) with factor 28, exactly as transformers' Qwen2VLImageProcessor
 * (which, like it, can land slightly outside [min_pixels, max_pixels] for extreme
 * shapes); an aspect ratio above 200 is DOTS_E_LIMIT. Sides are at least 28 (the
 * reference would give 0 only when min_pixels is 0). */
dots_status image_smart_resize(int h, int w, long min_pixels, long max_pixels, int *out_h, int *out_w, dots_error *e);

/* Pillow's Image.resize((w, h), BICUBIC) on 8-bit RGB, byte for byte. */
dots_status image_resize_bicubic(const dots_image *src, int w, int h, dots_image *dst, dots_error *e);

/* A packed batch of images, ready for vision_forward. */
typedef struct dots_patches {
    float *pixels;      /* [n_patches][588] */
    int n_patches;
    int (*grid)[3];     /* [n_images][3]: (1, h/14, w/14) */
    int n_images;
    int (*resized)[2];  /* [n_images][2]: (width, height) after smart_resize */
} dots_patches;

/* Resizes, normalizes (mean/std per channel) and patchifies n images into one batch.
 * mean/std may be NULL: the CLIP values of preprocessor_config.json. */
dots_status image_to_patches(const dots_image *imgs, int n, long min_pixels, long max_pixels, const float mean[3],
                             const float std[3], dots_patches *out, dots_error *e);
void dots_patches_free(dots_patches *p);

/* Number of 14x14 patches an image of width x height becomes after smart_resize; DOTS_E_LIMIT
 * above DOTS_MAX_PATCHES (min/max pixels come from the caller, so the product is 64-bit). */
dots_status image_patch_count(int width, int height, long min_pixels, long max_pixels, int *n_patches,
                              dots_error *e);
/* table[c][p] = normalized value of 8-bit pixel p in channel c (the processor's float arithmetic). */
void image_normalize_table(const float mean[3], const float std[3], float table[3][256]);
/* Writes an already-resized image's patches (sides multiples of 28) in merge-block order. */
void image_patchify(const dots_image *img, const float table[3][256], float *out);

/* Greedy packing in input order under a patch budget: writes for each image the
 * index of its micro-batch into batch_of[i] and returns the number of batches
 * (an image larger than the budget gets a batch of its own). */
int image_plan_batches(const int *patches_per_image, int n, int patch_budget, int *batch_of);

#endif

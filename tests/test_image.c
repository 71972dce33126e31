/* Image preprocessing units: smart_resize against a table computed by
 * transformers' smart_resize (Qwen2VLImageProcessor, factor 28), batching
 * plans, merge-block patch order and normalization per MODEL_SPEC, resize
 * invariants. Byte parity with Pillow/transformers is tests/py/test_preprocess.py. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "image/image.h"
#include "testutil.h"

/* h, w, min_pixels, max_pixels -> reference h', w' (-1: the reference raises) */
static const struct { int h, w; long mn, mx; int rh, rw; } k_smart[] = {
    {1, 1, 3136L, 11289600L, 56, 56},
    {27, 29, 3136L, 11289600L, 56, 84},
    {28, 28, 3136L, 11289600L, 56, 56},
    {29, 27, 3136L, 11289600L, 84, 56},
    {42, 42, 3136L, 11289600L, 56, 56},
    {70, 70, 3136L, 11289600L, 56, 56},
    {14, 14, 3136L, 11289600L, 56, 56},
    {13, 500, 3136L, 11289600L, 28, 364},
    {10, 2000, 3136L, 11289600L, 28, 812},
    {55, 5000, 3136L, 11289600L, 56, 5012},
    {5000, 55, 3136L, 11289600L, 5012, 56},
    {1, 200, 3136L, 11289600L, 28, 812},
    {200, 1, 3136L, 11289600L, 812, 28},
    {2, 400, 3136L, 11289600L, 28, 812},
    {3, 601, 3136L, 11289600L, -1, -1},
    {2250, 1700, 3136L, 11289600L, 2240, 1708},
    {1024, 946, 3136L, 11289600L, 1036, 952},
    {1419, 992, 3136L, 11289600L, 1428, 980},
    {3600, 4000, 3136L, 11289600L, 3164, 3528},
    {3361, 3361, 3136L, 11289600L, 3360, 3360},
    {3360, 3360, 3136L, 11289600L, 3360, 3360},
    {10000, 10000, 3136L, 11289600L, 3360, 3360},
    {100000, 500, 3136L, 11289600L, 47516, 224},
    {4, 9, 3136L, 11289600L, 56, 84},
    {98, 126, 3136L, 11289600L, 112, 112},
    {1, 2, 3136L, 11289600L, 56, 84},
    {99, 196, 3136L, 11289600L, 112, 196},
    {54, 54, 3136L, 11289600L, 56, 56},
    {56, 56, 3136L, 11289600L, 56, 56},
    {84, 84, 3136L, 11289600L, 84, 84},
    {126, 210, 3136L, 11289600L, 112, 224},
    {601, 3, 3136L, 11289600L, -1, -1},
    {1000, 5, 3136L, 11289600L, 812, 28},
    {1, 1, 20000L, 100000L, 168, 168},
    {27, 29, 20000L, 100000L, 140, 168},
    {28, 28, 20000L, 100000L, 168, 168},
    {29, 27, 20000L, 100000L, 168, 140},
    {42, 42, 20000L, 100000L, 168, 168},
    {70, 70, 20000L, 100000L, 168, 168},
    {14, 14, 20000L, 100000L, 168, 168},
    {13, 500, 20000L, 100000L, 28, 896},
    {10, 2000, 20000L, 100000L, 28, 2016},
    {55, 5000, 20000L, 100000L, 28, 2996},
    {5000, 55, 20000L, 100000L, 2996, 28},
    {1, 200, 20000L, 100000L, 28, 2016},
    {200, 1, 20000L, 100000L, 2016, 28},
    {2, 400, 20000L, 100000L, 28, 2016},
    {3, 601, 20000L, 100000L, -1, -1},
    {2250, 1700, 20000L, 100000L, 336, 252},
    {1024, 946, 20000L, 100000L, 308, 280},
    {1419, 992, 20000L, 100000L, 364, 252},
    {3600, 4000, 20000L, 100000L, 280, 308},
    {3361, 3361, 20000L, 100000L, 308, 308},
    {3360, 3360, 20000L, 100000L, 308, 308},
    {10000, 10000, 20000L, 100000L, 308, 308},
    {100000, 500, 20000L, 100000L, 4452, 28},
    {4, 9, 20000L, 100000L, 112, 224},
    {98, 126, 20000L, 100000L, 140, 168},
    {1, 2, 20000L, 100000L, 112, 224},
    {99, 196, 20000L, 100000L, 112, 196},
    {54, 54, 20000L, 100000L, 168, 168},
    {56, 56, 20000L, 100000L, 168, 168},
    {84, 84, 20000L, 100000L, 168, 168},
    {126, 210, 20000L, 100000L, 112, 224},
    {601, 3, 20000L, 100000L, -1, -1},
    {1000, 5, 20000L, 100000L, 2016, 28},
    {1, 1, 784L, 784L, 28, 28},
    {27, 29, 784L, 784L, 28, 28},
    {28, 28, 784L, 784L, 28, 28},
    {29, 27, 784L, 784L, 28, 28},
    {42, 42, 784L, 784L, 28, 28},
    {70, 70, 784L, 784L, 28, 28},
    {14, 14, 784L, 784L, 28, 28},
    {13, 500, 784L, 784L, 28, 196},
    {10, 2000, 784L, 784L, 28, 420},
    {55, 5000, 784L, 784L, 28, 252},
    {5000, 55, 784L, 784L, 252, 28},
    {1, 200, 784L, 784L, 28, 420},
    {200, 1, 784L, 784L, 420, 28},
    {2, 400, 784L, 784L, 28, 420},
    {3, 601, 784L, 784L, -1, -1},
    {2250, 1700, 784L, 784L, 28, 28},
    {1024, 946, 784L, 784L, 28, 28},
    {1419, 992, 784L, 784L, 28, 28},
    {3600, 4000, 784L, 784L, 28, 28},
    {3361, 3361, 784L, 784L, 28, 28},
    {3360, 3360, 784L, 784L, 28, 28},
    {10000, 10000, 784L, 784L, 28, 28},
    {100000, 500, 784L, 784L, 392, 28},
    {4, 9, 784L, 784L, 28, 56},
    {98, 126, 784L, 784L, 28, 28},
    {1, 2, 784L, 784L, 28, 56},
    {99, 196, 784L, 784L, 28, 28},
    {54, 54, 784L, 784L, 28, 28},
    {56, 56, 784L, 784L, 28, 28},
    {84, 84, 784L, 784L, 28, 28},
    {126, 210, 784L, 784L, 28, 28},
    {601, 3, 784L, 784L, -1, -1},
    {1000, 5, 784L, 784L, 420, 28},
    {1, 1, 3136L, 3136L, 56, 56},
    {27, 29, 3136L, 3136L, 56, 84},
    {28, 28, 3136L, 3136L, 56, 56},
    {29, 27, 3136L, 3136L, 84, 56},
    {42, 42, 3136L, 3136L, 56, 56},
    {70, 70, 3136L, 3136L, 56, 56},
    {14, 14, 3136L, 3136L, 56, 56},
    {13, 500, 3136L, 3136L, 28, 364},
    {10, 2000, 3136L, 3136L, 28, 812},
    {55, 5000, 3136L, 3136L, 28, 532},
    {5000, 55, 3136L, 3136L, 532, 28},
    {1, 200, 3136L, 3136L, 28, 812},
    {200, 1, 3136L, 3136L, 812, 28},
    {2, 400, 3136L, 3136L, 28, 812},
    {3, 601, 3136L, 3136L, -1, -1},
    {2250, 1700, 3136L, 3136L, 56, 28},
    {1024, 946, 3136L, 3136L, 56, 28},
    {1419, 992, 3136L, 3136L, 56, 28},
    {3600, 4000, 3136L, 3136L, 28, 56},
    {3361, 3361, 3136L, 3136L, 56, 56},
    {3360, 3360, 3136L, 3136L, 56, 56},
    {10000, 10000, 3136L, 3136L, 28, 28},
    {100000, 500, 3136L, 3136L, 784, 28},
    {4, 9, 3136L, 3136L, 56, 84},
    {98, 126, 3136L, 3136L, 28, 56},
    {1, 2, 3136L, 3136L, 56, 84},
    {99, 196, 3136L, 3136L, 28, 56},
    {54, 54, 3136L, 3136L, 56, 56},
    {56, 56, 3136L, 3136L, 56, 56},
    {84, 84, 3136L, 3136L, 56, 56},
    {126, 210, 3136L, 3136L, 28, 56},
    {601, 3, 3136L, 3136L, -1, -1},
    {1000, 5, 3136L, 3136L, 812, 28},
    {1, 1, 0L, 1000000L, 0, 0},
    {27, 29, 0L, 1000000L, 28, 28},
    {28, 28, 0L, 1000000L, 28, 28},
    {29, 27, 0L, 1000000L, 28, 28},
    {42, 42, 0L, 1000000L, 56, 56},
    {70, 70, 0L, 1000000L, 56, 56},
    {14, 14, 0L, 1000000L, 0, 0},
    {13, 500, 0L, 1000000L, 0, 504},
    {10, 2000, 0L, 1000000L, 0, 1988},
    {55, 5000, 0L, 1000000L, 56, 5012},
    {5000, 55, 0L, 1000000L, 5012, 56},
    {1, 200, 0L, 1000000L, 0, 196},
    {200, 1, 0L, 1000000L, 196, 0},
    {2, 400, 0L, 1000000L, 0, 392},
    {3, 601, 0L, 1000000L, -1, -1},
    {2250, 1700, 0L, 1000000L, 1148, 868},
    {1024, 946, 0L, 1000000L, 1036, 952},
    {1419, 992, 0L, 1000000L, 1176, 812},
    {3600, 4000, 0L, 1000000L, 924, 1036},
    {3361, 3361, 0L, 1000000L, 980, 980},
    {3360, 3360, 0L, 1000000L, 980, 980},
    {10000, 10000, 0L, 1000000L, 980, 980},
    {100000, 500, 0L, 1000000L, 14140, 56},
    {4, 9, 0L, 1000000L, 0, 0},
    {98, 126, 0L, 1000000L, 112, 112},
    {1, 2, 0L, 1000000L, 0, 0},
    {99, 196, 0L, 1000000L, 112, 196},
    {54, 54, 0L, 1000000L, 56, 56},
    {56, 56, 0L, 1000000L, 56, 56},
    {84, 84, 0L, 1000000L, 84, 84},
    {126, 210, 0L, 1000000L, 112, 224},
    {601, 3, 0L, 1000000L, -1, -1},
    {1000, 5, 0L, 1000000L, 1008, 0},
};

static void test_smart_resize(void) {
    for (size_t i = 0; i < sizeof k_smart / sizeof *k_smart; i++) {
        int rh = 0, rw = 0;
        dots_error e = {0};
        dots_status st = image_smart_resize(k_smart[i].h, k_smart[i].w, k_smart[i].mn, k_smart[i].mx, &rh, &rw, &e);
        if (k_smart[i].rh < 0) {
            CHECK(st == DOTS_E_LIMIT && strstr(e.msg, "aspect ratio"), "%dx%d should be refused: %s", k_smart[i].w,
                  k_smart[i].h, e.msg);
            continue;
        }
        /* with min_pixels 0 the reference can answer 0; we answer the smallest valid side, 28 */
        int wh = k_smart[i].rh < 28 ? 28 : k_smart[i].rh, ww = k_smart[i].rw < 28 ? 28 : k_smart[i].rw;
        CHECK(st == DOTS_OK && rh == wh && rw == ww, "smart_resize(%d, %d, %ld, %ld) = %dx%d, reference %dx%d (%s)",
              k_smart[i].h, k_smart[i].w, k_smart[i].mn, k_smart[i].mx, rh, rw, wh, ww, e.msg);
    }
    int rh, rw;
    dots_error e = {0};
    CHECK(image_smart_resize(0, 10, 3136, 11289600, &rh, &rw, &e) == DOTS_E_ARG, "zero height");
    CHECK(image_smart_resize(10, 10, 5000, 4000, &rh, &rw, &e) == DOTS_E_ARG, "min above max");
    CHECK(image_smart_resize(10, 10, 3136, 100, &rh, &rw, &e) == DOTS_E_ARG, "max below one 28x28 block");
    /* exactly 200 is allowed, just above is not */
    CHECK(image_smart_resize(1, 200, 3136, 11289600, &rh, &rw, &e) == DOTS_OK, "ratio 200: %s", e.msg);
    CHECK(image_smart_resize(1000, 5, 3136, 11289600, &rh, &rw, &e) == DOTS_OK, "ratio 200 (tall): %s", e.msg);
    CHECK(image_smart_resize(1001, 5, 3136, 11289600, &rh, &rw, &e) == DOTS_E_LIMIT, "ratio 200.2");
    /* round half to even: 42/28 = 1.5 -> 2, 70/28 = 2.5 -> 2, 98/28 = 3.5 -> 4 */
    CHECK(image_smart_resize(42, 98, 0, 11289600, &rh, &rw, &e) == DOTS_OK && rh == 56 && rw == 112, "%dx%d", rw, rh);
    CHECK(image_smart_resize(70, 70, 0, 11289600, &rh, &rw, &e) == DOTS_OK && rh == 56 && rw == 56, "%dx%d", rw, rh);
    int n;
    CHECK(image_patch_count(1700, 2250, 3136, 11289600, &n, &e) == DOTS_OK && n == 160 * 122, "patch count %d", n);
}

static void test_plan(void) {
    int counts[6] = {100, 50, 60, 300, 10, 10}, b[6];
    CHECK(image_plan_batches(counts, 6, 0, b) == 1 && b[5] == 0, "no budget: one batch");
    int nb = image_plan_batches(counts, 6, 160, b);
    int want[6] = {0, 0, 1, 2, 3, 3};
    CHECK(nb == 4 && !memcmp(b, want, sizeof want), "greedy plan: %d batches, %d %d %d %d %d %d", nb, b[0], b[1], b[2],
          b[3], b[4], b[5]);
    CHECK(image_plan_batches(counts, 6, 1, b) == 6, "budget 1: one image per batch");
    CHECK(image_plan_batches(counts, 0, 10, b) == 0, "no images");
}

static dots_image make_image(int w, int h, unsigned seed) {
    dots_image im = {w, h, malloc((size_t)w * h * 3)};
    for (size_t i = 0; i < (size_t)w * h * 3; i++) {
        seed = seed * 1103515245u + 12345u;
        im.rgb[i] = (unsigned char)(seed >> 16);
    }
    return im;
}

static void test_patches(void) {
    /* 56x84 needs no resize: grid 4x6 */
    dots_image im = make_image(84, 56, 7);
    const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f}, std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
    dots_patches p;
    dots_error e = {0};
    CHECK(image_to_patches(&im, 1, 3136, 11289600, mean, std, &p, &e) == DOTS_OK, "%s", e.msg);
    CHECK(p.n_patches == 24 && p.n_images == 1 && p.grid[0][0] == 1 && p.grid[0][1] == 4 && p.grid[0][2] == 6,
          "grid %d %d %d", p.grid[0][0], p.grid[0][1], p.grid[0][2]);
    CHECK(p.resized[0][0] == 84 && p.resized[0][1] == 56, "resized %dx%d", p.resized[0][0], p.resized[0][1]);
    /* MODEL_SPEC 2: row r = ((bh*(gw/2) + bw)*2 + ih)*2 + iw is the patch at (2bh+ih, 2bw+iw); column c*196+y*14+x */
    int bad = 0;
    double maxd = 0;
    for (int bh = 0; bh < 2; bh++)
        for (int bw = 0; bw < 3; bw++)
            for (int ih = 0; ih < 2; ih++)
                for (int iw = 0; iw < 2; iw++) {
                    int r = ((bh * 3 + bw) * 2 + ih) * 2 + iw, gy = 2 * bh + ih, gx = 2 * bw + iw;
                    for (int c = 0; c < 3; c++)
                        for (int y = 0; y < 14; y++)
                            for (int x = 0; x < 14; x++) {
                                int px = im.rgb[((gy * 14 + y) * 84 + gx * 14 + x) * 3 + c];
                                double want = (px / 255.0 - mean[c]) / std[c];
                                double d = fabs(p.pixels[(size_t)r * 588 + c * 196 + y * 14 + x] - want);
                                if (d > maxd) maxd = d;
                                bad += d > 1e-6;
                            }
                }
    CHECK(bad == 0, "%d values out of place or off (max diff %g)", bad, maxd);
    dots_patches_free(&p);
    /* several images in one batch = the same rows as one at a time */
    dots_image two[2] = {make_image(30, 20, 1), make_image(100, 61, 2)};
    dots_patches a, b0, b1;
    CHECK(image_to_patches(two, 2, 3136, 11289600, NULL, NULL, &a, &e) == DOTS_OK, "%s", e.msg);
    CHECK(image_to_patches(&two[0], 1, 3136, 11289600, NULL, NULL, &b0, &e) == DOTS_OK, "%s", e.msg);
    CHECK(image_to_patches(&two[1], 1, 3136, 11289600, NULL, NULL, &b1, &e) == DOTS_OK, "%s", e.msg);
    CHECK(a.n_patches == b0.n_patches + b1.n_patches, "patch counts");
    if (a.n_patches == b0.n_patches + b1.n_patches) {
        CHECK(!memcmp(a.pixels, b0.pixels, (size_t)b0.n_patches * 588 * 4) &&
                  !memcmp(a.pixels + (size_t)b0.n_patches * 588, b1.pixels, (size_t)b1.n_patches * 588 * 4),
              "batched rows differ from single-image rows");
        CHECK(!memcmp(a.grid[1], b1.grid[0], sizeof a.grid[1]), "grid of the second image");
    }
    dots_patches_free(&a);
    dots_patches_free(&b0);
    dots_patches_free(&b1);
    dots_image bad_img = {0, 0, NULL};
    CHECK(image_to_patches(&bad_img, 1, 3136, 11289600, NULL, NULL, &a, &e) == DOTS_E_ARG, "empty image refused");
    free(two[0].rgb);
    free(two[1].rgb);
    free(im.rgb);
}

static void test_resize(void) {
    dots_error e = {0};
    dots_image src = make_image(37, 23, 3), out;
    /* same size: a copy (Pillow returns a copy) */
    CHECK(image_resize_bicubic(&src, 37, 23, &out, &e) == DOTS_OK && !memcmp(out.rgb, src.rgb, 37 * 23 * 3), "copy");
    dots_image_free(&out);
    /* a flat image stays flat through up-, down- and mixed scaling */
    memset(src.rgb, 77, 37 * 23 * 3);
    int sizes[][2] = {{100, 90}, {5, 3}, {1, 1}, {200, 7}, {6, 300}, {37, 50}, {20, 23}};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        CHECK(image_resize_bicubic(&src, sizes[i][0], sizes[i][1], &out, &e) == DOTS_OK, "%s", e.msg);
        int flat = 1;
        for (size_t j = 0; j < (size_t)out.width * out.height * 3; j++) flat &= out.rgb[j] == 77;
        CHECK(flat && out.width == sizes[i][0] && out.height == sizes[i][1], "flat image to %dx%d", sizes[i][0],
              sizes[i][1]);
        dots_image_free(&out);
    }
    CHECK(image_resize_bicubic(&src, 0, 5, &out, &e) == DOTS_E_ARG, "zero target");
    free(src.rgb);
}

int main(void) {
    test_smart_resize();
    test_plan();
    test_patches();
    test_resize();
    return test_finish("test_image");
}

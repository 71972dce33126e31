/* dotsocr preprocess: images -> the model's patches (safetensors), named as
 * the goldens name them so the file feeds dump-vision directly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/error.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "image/image.h"
#include "io/safetensors.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: dotsocr preprocess IMAGE... --out FILE.safetensors [options]\n\n"
            "Decodes PNG/JPEG images (told by their bytes, not their names; alpha onto white),\n"
            "resizes each with smart_resize + Pillow-exact bicubic, normalizes (CLIP mean/std) and\n"
            "cuts 14x14 patches in merge-block order. Writes:\n"
            "  input.pixel_values  [N, 588] F32\n"
            "  input.grid_thw      [images, 3] I32  (1, h/14, w/14) per image\n"
            "and prints each image's original and resized size.\n\n"
            "options:\n"
            "  --min-pixels N          smart_resize lower bound (default 3136)\n"
            "  --max-pixels N          smart_resize upper bound (default 11289600)\n"
            "  --max-decoded-pixels N  refuse images larger than this when decoding (default 200000000)\n"
            "  --batch-patches N       process in micro-batches of at most N patches (greedy, input order;\n"
            "                          the output is the same whatever N is)\n"
            "debugging (used by the tests):\n"
            "  --resize WxH            resize every image to WxH instead of smart_resize (needs no --out)\n"
            "  --dump-decoded FILE     write the decoded RGB of image i as U8 'decoded.i' [h, w, 3]\n"
            "  --dump-resized FILE     write the resized RGB of image i as U8 'resized.i' [h, w, 3]\n");
}

typedef struct {
    const char *path;
    dots_image img, resized;
} item;

static int write_images(const char *path, const char *prefix, item *items, int n, int resized, dots_error *e) {
    st_writer *w = st_writer_new(e);
    if (!w) return 0;
    char name[64];
    int ok = 1;
    for (int i = 0; i < n && ok; i++) {
        const dots_image *im = resized ? &items[i].resized : &items[i].img;
        snprintf(name, sizeof name, "%s.%d", prefix, i);
        int64_t shape[3] = {im->height, im->width, 3};
        ok = st_writer_add(w, name, DT_U8, 3, shape, im->rgb, e) == DOTS_OK;
    }
    if (ok) ok = st_writer_write(w, path, e) == DOTS_OK;
    st_writer_free(w);
    return ok;
}

int cmd_preprocess(int argc, char **argv) {
    long min_px = 3136, max_px = 11289600, max_decoded = 0, budget = 0;
    long force_w = 0, force_h = 0;
    const char *out = NULL, *dump_dec = NULL, *dump_res = NULL;
    const char **paths = calloc((size_t)argc + 1, sizeof *paths);
    int n = 0, rc = 0;
    if (!paths) { fprintf(stderr, "dotsocr: out of memory\n"); return 1; }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); free(paths); return 0; }
        if (a[0] == '-' && a[1] == '-') {
            if (!(v = cli_value(argc, argv, i))) { free(paths); return 2; }
            i++;
            int ok = 1;
            if (!strcmp(a, "--min-pixels")) ok = cli_int(a, v, 0, 2000000000L, &min_px);
            else if (!strcmp(a, "--max-pixels")) ok = cli_int(a, v, 784, 2000000000L, &max_px);
            else if (!strcmp(a, "--max-decoded-pixels")) ok = cli_int(a, v, 1, 4000000000L, &max_decoded);
            else if (!strcmp(a, "--batch-patches")) ok = cli_int(a, v, 1, 1000000000L, &budget);
            else if (!strcmp(a, "--out")) out = v;
            else if (!strcmp(a, "--dump-decoded")) dump_dec = v;
            else if (!strcmp(a, "--dump-resized")) dump_res = v;
            else if (!strcmp(a, "--resize")) {
                char *x;
                force_w = strtol(v, &x, 10);
                if (*x != 'x' || (force_h = strtol(x + 1, &x, 10)) <= 0 || *x || force_w <= 0 || force_w > 100000 ||
                    force_h > 100000) {
                    fprintf(stderr, "dotsocr: --resize expects WxH, e.g. 640x480, got '%s'\n", v);
                    ok = 0;
                }
            } else {
                fprintf(stderr, "dotsocr: preprocess: unknown option '%s' (see dotsocr preprocess --help)\n", a);
                ok = 0;
            }
            if (!ok) { free(paths); return 2; }
        } else {
            paths[n++] = a;
        }
    }
    if (n == 0 || (!out && !force_w && !dump_dec)) {
        fprintf(stderr, "dotsocr: preprocess needs at least one IMAGE and --out FILE\n\n");
        usage(stderr);
        free(paths);
        return 2;
    }
    if (min_px > max_px) {
        fprintf(stderr, "dotsocr: --min-pixels %ld is above --max-pixels %ld\n", min_px, max_px);
        free(paths);
        return 2;
    }
    if (force_w && out) {
        fprintf(stderr, "dotsocr: --resize is a debugging option and cannot be combined with --out\n");
        free(paths);
        return 2;
    }
    dots_error e = {0};
    item *items = calloc((size_t)n, sizeof *items);
    int *counts = calloc((size_t)n, sizeof *counts), *batch_of = calloc((size_t)n, sizeof *batch_of);
    float *pixels = NULL;
    int32_t *grid = NULL;
    if (!items || !counts || !batch_of) { dots_fail(&e, DOTS_E_NOMEM, "out of memory"); rc = cli_report(&e); goto done; }
    dots_image_limits lim = {max_decoded};
    long long total = 0;
    for (int i = 0; i < n; i++) {
        items[i].path = paths[i];
        if (dots_image_load(paths[i], &lim, &items[i].img, &e) != DOTS_OK) { rc = cli_report(&e); goto done; }
        int rw = (int)force_w, rh = (int)force_h;
        if (!force_w) {
            if (image_smart_resize(items[i].img.height, items[i].img.width, min_px, max_px, &rh, &rw, &e) != DOTS_OK) {
                dots_context(&e, "%s", paths[i]);
                rc = cli_report(&e);
                goto done;
            }
            counts[i] = (rh / 14) * (rw / 14);
            total += counts[i];
        }
        printf("%s: %dx%d -> %dx%d\n", paths[i], items[i].img.width, items[i].img.height, rw, rh);
        if (dump_res || force_w) {
            if (image_resize_bicubic(&items[i].img, rw, rh, &items[i].resized, &e) != DOTS_OK) {
                dots_context(&e, "%s", paths[i]);
                rc = cli_report(&e);
                goto done;
            }
        }
    }
    if (dump_dec && !write_images(dump_dec, "decoded", items, n, 0, &e)) { rc = cli_report(&e); goto done; }
    if (dump_res && !write_images(dump_res, "resized", items, n, 1, &e)) { rc = cli_report(&e); goto done; }
    if (!out) goto done;
    if (total > (1LL << 31) / 588) {
        dots_fail(&e, DOTS_E_LIMIT, "%lld patches are too many for one file", total);
        rc = cli_report(&e);
        goto done;
    }
    pixels = dots_alloc((size_t)total * DOTS_PATCH_DIM * sizeof(float), "patches", &e);
    grid = dots_alloc((size_t)n * 3 * sizeof(int32_t), "grids", &e);
    if (!pixels || !grid) { rc = cli_report(&e); goto done; }
    int nb = image_plan_batches(counts, n, (int)budget, batch_of);
    size_t at = 0;
    for (int b = 0, first = 0; b < nb; b++) {
        int last = first;
        while (last < n && batch_of[last] == b) last++;
        dots_image *imgs = malloc(sizeof *imgs * (size_t)(last - first));
        if (!imgs) { dots_fail(&e, DOTS_E_NOMEM, "out of memory"); rc = cli_report(&e); goto done; }
        for (int i = first; i < last; i++) imgs[i - first] = items[i].img;
        dots_patches p;
        dots_status st = image_to_patches(imgs, last - first, min_px, max_px, NULL, NULL, &p, &e);
        free(imgs);
        if (st != DOTS_OK) { rc = cli_report(&e); goto done; }
        memcpy(pixels + at * DOTS_PATCH_DIM, p.pixels, (size_t)p.n_patches * DOTS_PATCH_DIM * sizeof(float));
        at += (size_t)p.n_patches;
        for (int i = 0; i < p.n_images; i++)
            for (int j = 0; j < 3; j++) grid[(first + i) * 3 + j] = p.grid[i][j];
        dots_patches_free(&p);
        first = last;
    }
    if (nb > 1) printf("%d micro-batches of at most %ld patches\n", nb, budget);
    st_writer *w = st_writer_new(&e);
    int ok = w != NULL;
    if (ok) ok = st_writer_add(w, "input.pixel_values", DT_F32, 2, (int64_t[]){(int64_t)total, DOTS_PATCH_DIM}, pixels,
                               &e) == DOTS_OK;
    if (ok) ok = st_writer_add(w, "input.grid_thw", DT_I32, 2, (int64_t[]){n, 3}, grid, &e) == DOTS_OK;
    if (ok) ok = st_writer_write(w, out, &e) == DOTS_OK;
    st_writer_free(w);
    if (!ok) { rc = cli_report(&e); goto done; }
    printf("wrote %s: %lld patches from %d image%s\n", out, total, n, n == 1 ? "" : "s");
done:
    if (items)
        for (int i = 0; i < n; i++) { dots_image_free(&items[i].img); dots_image_free(&items[i].resized); }
    free(items);
    free(counts);
    free(batch_of);
    free(paths);
    dots_free(pixels);
    dots_free(grid);
    return rc;
}

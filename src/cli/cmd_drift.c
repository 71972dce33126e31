/* dotsocr drift: per-stage error of a (quantized) checkpoint against a reference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "image/image.h"
#include "io/checkpoint.h"
#include "model/drift.h"

static void usage(FILE *f) {
    fprintf(f, "usage: dotsocr drift --ref DIR --model M [--mmproj FILE] [--tokens N] [--image IMG] [options]\n"
               "  --ref DIR        the reference checkpoint (e.g. the bf16 Hugging Face folder)\n"
               "  --model M        the candidate (GGUF folder or LM file with --mmproj, or an HF folder)\n"
               "  --tokens N       LM steps compared (default 256): the reference's greedy ids, fed to both\n"
               "  --image IMG      the vision input (default: random pixels on a --grid HxW patch grid, 16x16)\n"
               "  --max-pixels N   resize bound for --image (default 200704)\n"
               "  --threads N, --seed S, --stages (print every vision stage, not a summary)\n"
               "Prints per-stage cosine and max relative error (max|cand-ref| / max|ref|), the merger's,\n"
               "and the LM logits' cosine (min/mean), max relative error and top-1 agreement.\n");
}

static dots_status make_pixels(const dots_config *c, const char *img, long maxp, int gh, int gw, unsigned seed,
                               float **px, int *h, int *w, dots_error *e) {
    if (img) {
        dots_image im;
        dots_patches p = {0};
        dots_status st = dots_image_load(img, NULL, &im, e);
        if (!st) st = image_to_patches(&im, 1, c->preproc.min_pixels, maxp, c->preproc.mean, c->preproc.std, &p, e);
        dots_image_free(&im);
        if (st) return st;
        *px = p.pixels;
        *h = p.grid[0][1];
        *w = p.grid[0][2];
        p.pixels = NULL;
        dots_patches_free(&p);
        return DOTS_OK;
    }
    size_t n = (size_t)gh * gw * 588;
    if (!(*px = malloc(n * sizeof **px))) return dots_fail(e, DOTS_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) { /* normalized pixels lie in about [-1.8, 2.1] */
        seed = seed * 1664525u + 1013904223u;
        (*px)[i] = -1.8f + 3.9f * (float)(seed >> 8) / 16777216.0f;
    }
    *h = gh;
    *w = gw;
    return DOTS_OK;
}

int cmd_drift(int argc, char **argv) {
    const char *ref = NULL, *model = NULL, *mmproj = NULL, *img = NULL;
    long tokens = 256, threads = 0, seed = 1, maxp = 200704, gh = 16, gw = 16;
    int stages = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        if (!strcmp(a, "--stages")) { stages = 1; continue; }
        if (!(v = cli_value(argc, argv, i))) { usage(stderr); return 2; }
        i++;
        if (!strcmp(a, "--ref")) ref = v;
        else if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--mmproj")) mmproj = v;
        else if (!strcmp(a, "--image")) img = v;
        else if (!strcmp(a, "--tokens")) { if (!cli_int(a, v, 1, 1 << 16, &tokens)) return 2; }
        else if (!strcmp(a, "--threads")) { if (!cli_int(a, v, 0, 1024, &threads)) return 2; }
        else if (!strcmp(a, "--seed")) { if (!cli_int(a, v, 0, 1L << 31, &seed)) return 2; }
        else if (!strcmp(a, "--max-pixels")) { if (!cli_int(a, v, 3136, 1L << 30, &maxp)) return 2; }
        else if (!strcmp(a, "--grid")) { if (sscanf(v, "%ldx%ld", &gh, &gw) != 2 || gh < 2 || gw < 2 || gh % 2 || gw % 2 || gh * gw > 65536) { fprintf(stderr, "dotsocr drift: --grid HxW, even sizes\n"); return 2; } }
        else { fprintf(stderr, "dotsocr drift: unknown option '%s'\n", a); usage(stderr); return 2; }
    }
    if (!ref || !model) { fprintf(stderr, "dotsocr drift: --ref and --model are required\n"); usage(stderr); return 2; }
    dots_error e = {0};
    dots_ckpt *a = NULL, *b = NULL;
    dots_pool *pool = NULL;
    float *px = NULL;
    int h = 0, w = 0;
    drift_report *r = calloc(1, sizeof *r);
    dots_status st = r ? DOTS_OK : dots_fail(&e, DOTS_E_NOMEM, "out of memory");
    if (!st) st = ckpt_open(ref, &a, &e);
    if (!st) st = mmproj ? ckpt_open_gguf(model, mmproj, &b, &e) : ckpt_open(model, &b, &e);
    if (!st && !(pool = pool_create((int)threads, &e))) st = e.code;
    if (!st) st = make_pixels(&a->config, img, maxp, (int)gh, (int)gw, (unsigned)seed, &px, &h, &w, &e);
    if (!st) st = drift_measure(a, b, pool, px, h, w, (int)tokens, r, &e);
    if (!st) {
        printf("vision (%d patches, grid %dx%d):\n", r->n_patches, h, w);
        double wc = 1, wr = 0;
        for (int i = 0; i < r->n_vis; i++) {
            const drift_stage *s = &r->vis[i];
            if (s->cosine < wc) wc = s->cosine;
            if (s->max_rel > wr) wr = s->max_rel;
            if (stages || i == 0 || i >= r->n_vis - 3)
                printf("  %-18s cosine %.6f  max rel err %.4f\n", s->name, s->cosine, s->max_rel);
        }
        printf("  worst stage        cosine %.6f  max rel err %.4f\n", wc, wr);
        if (r->n_vis) printf("merger cosine %.6f\n", r->vis[r->n_vis - 1].cosine);
        printf("LM logits over %d steps: cosine min %.6f mean %.6f, max rel err %.4f, top-1 agreement %d/%d (%.1f%%)\n",
               r->tokens, r->logit_cos_min, r->logit_cos_mean, r->logit_max_rel, r->top1_agree, r->tokens,
               r->tokens ? 100.0 * r->top1_agree / r->tokens : 0);
    }
    free(px);
    free(r);
    pool_destroy(pool);
    ckpt_close(a);
    ckpt_close(b);
    return st ? cli_report(&e) : 0;
}

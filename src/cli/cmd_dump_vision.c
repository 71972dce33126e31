/* dotsocr dump-vision: run the vision tower on given patches and write every
 * stage as f32 (names as in shared/golden/README.md), for parity checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "base/threadpool.h"
#include "cli/cli.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "model/vision.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: dotsocr dump-vision --model DIR --input FILE.safetensors --out FILE.safetensors [--threads N]\n\n"
            "Runs the vision tower of the checkpoint in DIR (only its vision_tower.* tensors are needed)\n"
            "on the patches in FILE and writes every stage as f32:\n"
            "  stage.patch_embed, stage.block0.attn_out, stage.block0.mlp_out, stage.block{i}.out,\n"
            "  stage.post_trunk_norm, stage.merger (and input.grid_thw).\n\n"
            "input tensors:\n"
            "  input.pixel_values  [N, 588] F32/BF16/F16  normalized patches in merge-block order\n"
            "  input.grid_thw      [images, 3] I32/I64    (1, grid_h, grid_w) per image; sum of h*w = N\n\n"
            "options:\n"
            "  --model DIR     checkpoint folder (config.json + model.safetensors or shards)\n"
            "  --input FILE    safetensors with the two tensors above\n"
            "  --out FILE      where to write the stages\n"
            "  --threads N     worker threads (default: one per core)\n"
            "  -h, --help      this text\n\n"
            "Precision follows the weights: F32 computes in f32; BF16 as upstream's bf16 path (pixels\n"
            "rounded to bf16, bf16 products, f32 sums); F16 rounds the pixels to f16, then f32 math.\n");
}

typedef struct {
    char *name;
    float *data;
    int rows, cols;
} dump_stage;

typedef struct {
    dump_stage *v;
    int n, cap;
    int oom;
} dump_list;

static void on_stage(void *user, const char *name, const float *data, int rows, int cols) {
    dump_list *l = user;
    if (l->oom) return;
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        dump_stage *nv = realloc(l->v, (size_t)cap * sizeof *nv);
        if (!nv) { l->oom = 1; return; }
        l->v = nv;
        l->cap = cap;
    }
    size_t bytes = (size_t)rows * cols * sizeof(float);
    dump_stage *s = &l->v[l->n];
    s->name = malloc(strlen(name) + 8);
    s->data = malloc(bytes ? bytes : 1);
    if (!s->name || !s->data) { free(s->name); free(s->data); l->oom = 1; return; }
    sprintf(s->name, "stage.%s", name);
    memcpy(s->data, data, bytes);
    s->rows = rows;
    s->cols = cols;
    l->n++;
}

/* Reads and checks the two input tensors; pixels/grid are allocated here. */
static dots_status read_input(const char *path, float **pixels, int (**grid)[3], int *n_images, int *n_patches,
                              dots_error *e) {
    st_file *f = NULL;
    dots_status st = st_open(path, &f, e);
    if (st) return st;
    const st_tensor *pv = st_find(f, "input.pixel_values"), *gt = st_find(f, "input.grid_thw");
    if (!pv || !gt) {
        st = dots_fail(e, DOTS_E_FORMAT, "%s: tensor '%s' is missing; the input needs input.pixel_values [N, 588] and "
                       "input.grid_thw [images, 3] (see dotsocr dump-vision --help)", path,
                       !pv ? "input.pixel_values" : "input.grid_thw");
        goto out;
    }
    if (gt->ndim != 2 || gt->shape[1] != 3 || gt->shape[0] < 1 || gt->shape[0] > 100000 ||
        (gt->dtype != DT_I32 && gt->dtype != DT_I64)) {
        char sb[64];
        st = dots_fail(e, DOTS_E_FORMAT, "%s: input.grid_thw must be I32 or I64 with shape [images, 3], found %s %s", path,
                       dtype_name(gt->dtype), st_shape_str(gt->shape, gt->ndim, sb, sizeof sb));
        goto out;
    }
    int ni = (int)gt->shape[0];
    int (*g)[3] = malloc((size_t)ni * sizeof *g);
    if (!g) { st = dots_fail(e, DOTS_E_NOMEM, "out of memory"); goto out; }
    int64_t total = 0;
    for (int i = 0; i < ni; i++) {
        for (int k = 0; k < 3; k++) {
            int64_t val = gt->dtype == DT_I32 ? ((const int32_t *)gt->data)[i * 3 + k] : ((const int64_t *)gt->data)[i * 3 + k];
            if (val < 0 || val > (1 << 22)) {
                free(g);
                st = dots_fail(e, DOTS_E_FORMAT, "%s: input.grid_thw[%d][%d] = %lld is out of range", path, i, k, (long long)val);
                goto out;
            }
            g[i][k] = (int)val;
        }
        if (g[i][0] != 1 || g[i][1] < 2 || g[i][2] < 2 || g[i][1] % 2 || g[i][2] % 2) {
            st = dots_fail(e, DOTS_E_FORMAT, "%s: input.grid_thw[%d] = (%d, %d, %d): t must be 1 and h, w even and at "
                           "least 2 (the 2x2 merger); grid %dx%d is not", path, i, g[i][0], g[i][1], g[i][2], g[i][1], g[i][2]);
            free(g);
            goto out;
        }
        total += (int64_t)g[i][0] * g[i][1] * g[i][2];
    }
    if (pv->ndim != 2 || pv->shape[1] != 588 || pv->shape[0] != total ||
        (pv->dtype != DT_F32 && pv->dtype != DT_BF16 && pv->dtype != DT_F16)) {
        char sb[64];
        free(g);
        st = dots_fail(e, DOTS_E_FORMAT, "%s: input.pixel_values must be F32/BF16/F16 with shape [%lld, 588] "
                       "(the sum of t*h*w over input.grid_thw), found %s %s", path, (long long)total,
                       dtype_name(pv->dtype), st_shape_str(pv->shape, pv->ndim, sb, sizeof sb));
        goto out;
    }
    float *p = dots_alloc((size_t)total * 588 * sizeof(float), "the input patches", e);
    if (!p) { free(g); st = DOTS_E_NOMEM; goto out; }
    dtype_to_f32(pv->dtype, pv->data, p, (size_t)total * 588);
    *pixels = p;
    *grid = g;
    *n_images = ni;
    *n_patches = (int)total;
out:
    st_close(f);
    return st;
}

int cmd_dump_vision(int argc, char **argv) {
    const char *model = NULL, *input = NULL, *outp = NULL;
    long threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        const char **dst = !strcmp(a, "--model") ? &model : !strcmp(a, "--input") ? &input : !strcmp(a, "--out") ? &outp : NULL;
        if (dst || !strcmp(a, "--threads")) {
            const char *val = cli_value(argc, argv, i);
            if (!val) return 2;
            i++;
            if (dst) *dst = val;
            else if (!cli_int("--threads", val, 1, 1024, &threads)) return 2;
            continue;
        }
        fprintf(stderr, "dotsocr dump-vision: unknown option '%s'\n\n", a);
        usage(stderr);
        return 2;
    }
    if (!model || !input || !outp) {
        fprintf(stderr, "dotsocr dump-vision: %s is required\n\n", !model ? "--model DIR" : !input ? "--input FILE" : "--out FILE");
        usage(stderr);
        return 2;
    }
    dots_error e = {0};
    dots_ckpt *ck = NULL;
    dots_vision *v = NULL;
    dots_pool *pool = NULL;
    float *pixels = NULL, *out = NULL;
    int (*grid)[3] = NULL;
    int ni = 0, np = 0, rc = 0;
    dump_list dl = {0};
    st_writer *w = NULL;
    dots_status st = ckpt_open(model, &ck, &e);
    if (!st) st = vision_load(ck, &v, &e);
    if (!st) st = ckpt_check_unclaimed(ck, "vision_tower.", &e);
    if (!st) st = read_input(input, &pixels, &grid, &ni, &np, &e);
    if (!st) {
        pool = pool_create((int)threads, &e);
        if (!pool) st = e.code ? e.code : DOTS_E_INTERNAL;
    }
    if (!st) {
        out = dots_alloc((size_t)(np / 4 > 0 ? np / 4 : 1) * vision_out_dim(v) * sizeof(float), "the vision output", &e);
        if (!out) st = DOTS_E_NOMEM;
    }
    if (!st) st = vision_forward(v, pool, pixels, (const int(*)[3])grid, ni, out, on_stage, &dl, &e);
    if (!st && dl.oom) st = dots_fail(&e, DOTS_E_NOMEM, "out of memory keeping the stages for %s", outp);
    if (!st) {
        w = st_writer_new(&e);
        if (!w) st = e.code ? e.code : DOTS_E_NOMEM;
        for (int i = 0; !st && i < dl.n; i++)
            st = st_writer_add(w, dl.v[i].name, DT_F32, 2, (int64_t[]){dl.v[i].rows, dl.v[i].cols}, dl.v[i].data, &e);
        if (!st) st = st_writer_add(w, "input.grid_thw", DT_I32, 2, (int64_t[]){ni, 3}, grid, &e);
        if (!st) st = st_writer_write(w, outp, &e);
    }
    if (st) rc = cli_report(&e);
    else fprintf(stderr, "dump-vision: %d images, %d patches, %d stages -> %s\n", ni, np, dl.n, outp);
    st_writer_free(w);
    for (int i = 0; i < dl.n; i++) { free(dl.v[i].name); free(dl.v[i].data); }
    free(dl.v);
    dots_free(out);
    dots_free(pixels);
    free(grid);
    pool_destroy(pool);
    vision_free(v);
    ckpt_close(ck);
    return rc;
}

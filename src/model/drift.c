/* Drift measurement (dotsocr drift): the two models run the same input; the
 * reference's stages are kept and the candidate's compared as they appear. */
#include "model/drift.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "model/lm.h"
#include "model/vision.h"

typedef struct {
    int comparing;
    drift_report *r;
    float *kept[DRIFT_MAX_STAGES];
    size_t len[DRIFT_MAX_STAGES];
    int n;
} stage_ctx;

static int wanted(const char *name) {
    size_t l = strlen(name);
    return !strcmp(name, "patch_embed") || !strcmp(name, "post_trunk_norm") || !strcmp(name, "merger") ||
           (l > 4 && !strcmp(name + l - 4, ".out"));
}

static void compare(const float *a, const float *b, size_t n, double *cosine, double *max_rel) {
    double ab = 0, aa = 0, bb = 0, md = 0, ma = 0;
    for (size_t i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
        double d = fabs((double)a[i] - b[i]);
        if (d > md) md = d;
        if (fabs(a[i]) > ma) ma = fabs(a[i]);
    }
    *cosine = aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : (aa == bb ? 1 : 0);
    *max_rel = ma > 0 ? md / ma : md;
}

static void on_stage(void *user, const char *name, const float *data, int rows, int cols) {
    stage_ctx *c = user;
    if (!wanted(name)) return;
    size_t n = (size_t)rows * (size_t)cols;
    if (!c->comparing) {
        if (c->n == DRIFT_MAX_STAGES) return;
        float *copy = malloc(n * sizeof *copy);
        if (!copy) return;
        memcpy(copy, data, n * sizeof *copy);
        c->kept[c->n] = copy;
        c->len[c->n] = n;
        snprintf(c->r->vis[c->n].name, sizeof c->r->vis[c->n].name, "%s", name);
        c->n++;
        return;
    }
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->r->vis[i].name, name) && c->len[i] == n) {
            compare(c->kept[i], data, n, &c->r->vis[i].cosine, &c->r->vis[i].max_rel);
            if (i + 1 > c->r->n_vis) c->r->n_vis = i + 1;
        }
}

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++) if (x[i] > x[b]) b = i;
    return b;
}

typedef struct {
    dots_vision *vis;
    dots_lm *lm;
    dots_lm_state *st;
    float *vtok;          /* [n_patches/4][D] */
} side;

static void side_free(side *s) {
    vision_free(s->vis);
    lm_state_free(s->st);
    lm_free(s->lm);
    dots_free(s->vtok);
}

static dots_status side_open(dots_ckpt *ck, int n_vtok, int max_pos, side *s, dots_error *e) {
    dots_status st = vision_load(ck, &s->vis, e);
    if (!st) st = lm_load(ck, &s->lm, e);
    if (!st) st = lm_state_new(s->lm, max_pos, 512, &s->st, e);
    if (!st && !(s->vtok = dots_alloc((size_t)n_vtok * (size_t)vision_out_dim(s->vis) * 4, "vision tokens", e)))
        st = DOTS_E_NOMEM;
    return st;
}

dots_status drift_measure(dots_ckpt *ref, dots_ckpt *cand, dots_pool *pool, const float *pixels, int h, int w,
                          int n_tokens, drift_report *r, dots_error *e) {
    memset(r, 0, sizeof *r);
    int np = h * w, nv = np / 4, grid[1][3] = {{1, h, w}};
    r->n_patches = np;
    side a = {0}, b = {0};
    stage_ctx sc = {0, r, {0}, {0}, 0};
    int V = ref->config.text.vocab_size, D = ref->config.text.hidden_size;
    float *la = dots_alloc((size_t)V * 4, "logits", e), *lb = la ? dots_alloc((size_t)V * 4, "logits", e) : NULL;
    dots_status st = la && lb ? DOTS_OK : DOTS_E_NOMEM;
    if (!st && (cand->config.text.vocab_size != V || cand->config.text.hidden_size != D))
        st = dots_fail(e, DOTS_E_ARG, "the two checkpoints have different text sizes (vocab %d/%d, hidden %d/%d)", V,
                       cand->config.text.vocab_size, D, cand->config.text.hidden_size);
    if (!st) st = side_open(ref, nv, nv + n_tokens + 8, &a, e);
    if (!st) st = side_open(cand, nv, nv + n_tokens + 8, &b, e);
    if (!st) st = vision_forward(a.vis, pool, pixels, (const int (*)[3])grid, 1, a.vtok, on_stage, &sc, e);
    sc.comparing = 1;
    if (!st) st = vision_forward(b.vis, pool, pixels, (const int (*)[3])grid, 1, b.vtok, on_stage, &sc, e);
    /* each LM reads its own tower's tokens as the prompt; then both follow the reference's greedy ids */
    if (!st) st = lm_forward(a.lm, a.st, pool, a.vtok, nv, la, 0, e);
    if (!st) st = lm_forward(b.lm, b.st, pool, b.vtok, nv, lb, 0, e);
    double sum = 0;
    r->logit_cos_min = 1;
    for (int t = 0; !st && t < n_tokens; t++) {
        double c, m;
        compare(la, lb, (size_t)V, &c, &m);
        int next = argmax(la, V);
        r->top1_agree += argmax(lb, V) == next;
        if (c < r->logit_cos_min) r->logit_cos_min = c;
        if (m > r->logit_max_rel) r->logit_max_rel = m;
        sum += c;
        r->tokens++;
        if (t + 1 < n_tokens) {
            st = lm_decode(a.lm, a.st, pool, next, la, e);
            if (!st) st = lm_decode(b.lm, b.st, pool, next, lb, e);
        }
    }
    r->logit_cos_mean = r->tokens ? sum / r->tokens : 0;
    for (int i = 0; i < sc.n; i++) free(sc.kept[i]);
    side_free(&a);
    side_free(&b);
    dots_free(la);
    dots_free(lb);
    return st;
}

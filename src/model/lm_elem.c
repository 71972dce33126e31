/* Elementwise LM steps over the pool (see lm_elem.h). */
#include "model/lm_elem.h"
#include <string.h>
#include "kernels/kernels.h"

#define EL_COLS 2048           /* column block of the streaming ops (a multiple of every SIMD width) */
#define EL_MIN_PARALLEL 32768  /* fewer elements than this run on the calling thread */

typedef enum { EL_RMSNORM, EL_ADD, EL_SILU_MUL, EL_ROPE, EL_STORE } el_op;

typedef struct {
    el_op op;
    int rows, dim, ncb;        /* ncb: column blocks per row (streaming ops), else 1 */
    float *y;                  /* output / in-place rows */
    const float *x;            /* input rows */
    const void *w; dots_dtype wdt; float eps;
    int heads, hd; size_t ld; const float *cosb, *sinb;
    void *dst; dots_dtype dt;
} el_job;

static void rope_row(float *p0, int heads, int hd, const float *cs, const float *sn) {
    int h2 = hd / 2;
    for (int h = 0; h < heads; h++) {
        float *p = p0 + (size_t)h * hd;
        for (int j = 0; j < h2; j++) {
            float a = p[j], b = p[j + h2];
            p[j] = a * cs[j] - b * sn[j];
            p[j + h2] = b * cs[j] + a * sn[j];
        }
    }
}

static void el_task(void *ctx, int t, int thread) {
    (void)thread;
    const el_job *j = ctx;
    int r = t / j->ncb, c0 = (t % j->ncb) * EL_COLS;
    int n = j->dim - c0 < EL_COLS || j->ncb == 1 ? j->dim - c0 : EL_COLS;
    size_t off = (size_t)r * j->dim + c0;
    switch (j->op) {
    case EL_RMSNORM: k_rmsnorm(j->x + off, j->w, j->wdt, j->eps, j->y + off, 1, j->dim); break;
    case EL_ADD: k_add(j->y + off, j->x + off, (size_t)n); break;
    case EL_SILU_MUL: k_silu_mul(j->y + off, j->x + off, (size_t)n); break;
    case EL_ROPE:
        rope_row(j->y + (size_t)r * j->ld, j->heads, j->hd, j->cosb + (size_t)r * (j->hd / 2),
                 j->sinb + (size_t)r * (j->hd / 2));
        break;
    case EL_STORE:
        if (j->dt == DT_F32) memcpy((float *)j->dst + off, j->x + off, (size_t)n * 4);
        else {
            bf16_t *d = (bf16_t *)j->dst + off;
            for (int i = 0; i < n; i++) d[i] = f32_to_bf16(j->x[off + i]);
        }
        break;
    }
}

static void el_run(dots_pool *pool, el_job *j, int streaming) {
    if (j->rows <= 0 || j->dim <= 0) return;
    j->ncb = streaming ? (j->dim + EL_COLS - 1) / EL_COLS : 1;
    int ntasks = j->rows * j->ncb;
    pool_run((size_t)j->rows * j->dim >= EL_MIN_PARALLEL ? pool : NULL, ntasks, el_task, j);
}

void lm_par_rmsnorm(dots_pool *pool, const float *x, const void *w, dots_dtype wdt, float eps, float *y, int rows,
                    int dim) {
    el_job j = {.op = EL_RMSNORM, .rows = rows, .dim = dim, .y = y, .x = x, .w = w, .wdt = wdt, .eps = eps};
    el_run(pool, &j, 0);
}

void lm_par_add(dots_pool *pool, float *y, const float *x, int rows, int dim) {
    el_job j = {.op = EL_ADD, .rows = rows, .dim = dim, .y = y, .x = x};
    el_run(pool, &j, 1);
}

void lm_par_silu_mul(dots_pool *pool, float *g, const float *u, int rows, int dim) {
    el_job j = {.op = EL_SILU_MUL, .rows = rows, .dim = dim, .y = g, .x = u};
    el_run(pool, &j, 1);
}

void lm_par_rope(dots_pool *pool, float *x, int rows, int heads, int hd, size_t ld, const float *cosb,
                 const float *sinb) {
    el_job j = {.op = EL_ROPE, .rows = rows, .dim = heads * hd, .y = x, .heads = heads, .hd = hd, .ld = ld,
                .cosb = cosb, .sinb = sinb};
    el_run(pool, &j, 0);
}

void lm_par_store(dots_pool *pool, void *dst, dots_dtype dt, const float *src, int rows, int dim) {
    el_job j = {.op = EL_STORE, .rows = rows, .dim = dim, .x = src, .dst = dst, .dt = dt};
    el_run(pool, &j, 1);
}

/* ckpt_quantize_linears: see ckpt_quant.h. */
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "base/quant.h"
#include "io/ckpt_quant.h"

typedef struct {
    st_tensor *t;
    dots_dtype to;
    int64_t rows, K;
    char *dst;
} qtensor;

typedef struct {
    qtensor *list; int n;
    int64_t rows_per_task;
    int64_t *first_task;  /* [n + 1]: first task of each tensor */
    volatile int failed;
} qjob;

static dots_dtype target_type(const st_tensor *t, dots_dtype lm_type, dots_dtype vision_type) {
    if (t->ndim != 2 || strstr(t->name, "embed") || strstr(t->name, "norm")) return DT_COUNT;
    if (t->dtype != DT_F32 && t->dtype != DT_F16 && t->dtype != DT_BF16) return DT_COUNT;
    size_t n = strlen(t->name);
    if (n < 7 || strcmp(t->name + n - 7, ".weight") != 0) return DT_COUNT;
    dots_dtype to = !strncmp(t->name, "vision_tower.", 13) ? vision_type
                    : !strncmp(t->name, "model.layers.", 13) || !strcmp(t->name, "lm_head.weight") ? lm_type
                    : DT_COUNT;
    if (!dtype_is_quant(to) || dtype_row_bytes(to, (uint64_t)t->shape[1]) == 0) return DT_COUNT;
    return to;
}

static void quant_task(void *ctx, int task, int thread) {
    (void)thread;
    qjob *j = ctx;
    int i = 0;
    while (task >= j->first_task[i + 1]) i++;
    const qtensor *q = &j->list[i];
    int64_t r0 = (task - j->first_task[i]) * j->rows_per_task;
    int64_t r1 = r0 + j->rows_per_task < q->rows ? r0 + j->rows_per_task : q->rows;
    float *row = malloc(sizeof(float) * (size_t)q->K);
    if (!row) { j->failed = 1; return; }
    size_t in_row = (size_t)dtype_row_bytes(q->t->dtype, (uint64_t)q->K), out_row = (size_t)dtype_row_bytes(q->to, (uint64_t)q->K);
    for (int64_t r = r0; r < r1; r++) {
        dequant_row(q->t->dtype, (const char *)q->t->data + (size_t)r * in_row, row, q->K);
        quant_row(q->to, row, q->dst + (size_t)r * out_row, q->K);
    }
    free(row);
}

dots_status ckpt_quantize_linears(dots_ckpt *c, dots_dtype lm_type, dots_dtype vision_type, dots_pool *pool,
                                  void **owned, dots_error *e) {
    *owned = NULL;
    qtensor *list = calloc((size_t)c->n + 1, sizeof *list);
    int64_t *first = calloc((size_t)c->n + 2, sizeof *first);
    if (!list || !first) { free(list); free(first); return dots_fail(e, DOTS_E_NOMEM, "out of memory quantizing weights"); }
    int n = 0;
    size_t total = 0;
    for (int i = 0; i < c->n; i++) {
        /* the checkpoint owns these descriptors; re-pointing them is how the
         * model then finds the quantized copies */
        st_tensor *t = (st_tensor *)c->index[i];
        dots_dtype to = target_type(t, lm_type, vision_type);
        if (to == DT_COUNT) continue;
        list[n] = (qtensor){t, to, t->shape[0], t->shape[1], NULL};
        total += ((size_t)dtype_row_bytes(to, (uint64_t)t->shape[1]) * (size_t)t->shape[0] + 63) / 64 * 64;
        n++;
    }
    char *buf = total ? dots_alloc(total, "quantized weights", e) : NULL;
    if (total && !buf) { free(list); free(first); return DOTS_E_NOMEM; }
    qjob j = {list, n, 64, first, 0};
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        list[i].dst = buf + off;
        off += ((size_t)dtype_row_bytes(list[i].to, (uint64_t)list[i].K) * (size_t)list[i].rows + 63) / 64 * 64;
        first[i + 1] = first[i] + (list[i].rows + j.rows_per_task - 1) / j.rows_per_task;
    }
    if (first[n] > 0x7fffffff) { dots_free(buf); free(list); free(first); return dots_fail(e, DOTS_E_LIMIT, "too many weight rows to quantize"); }
    pool_run(pool, (int)first[n], quant_task, &j);
    if (j.failed) { dots_free(buf); free(list); free(first); return dots_fail(e, DOTS_E_NOMEM, "out of memory quantizing weights"); }
    for (int i = 0; i < n; i++) {
        st_tensor *t = list[i].t;
        t->data = list[i].dst;
        t->dtype = list[i].to;
        t->nbytes = (size_t)dtype_row_bytes(list[i].to, (uint64_t)list[i].K) * (size_t)list[i].rows;
    }
    free(list);
    free(first);
    *owned = buf;
    return DOTS_OK;
}

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
    size_t nbytes, off; /* the quantized tensor's bytes; its place in the buffer (64-byte aligned) */
} qtensor;

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

dots_status ckpt_quantize_linears(dots_ckpt *c, dots_dtype lm_type, dots_dtype vision_type, dots_pool *pool,
                                  void **owned, dots_error *e) {
    *owned = NULL;
    qtensor *list = calloc((size_t)c->n + 1, sizeof *list);
    if (!list) return dots_fail(e, DOTS_E_NOMEM, "out of memory quantizing weights");
    int n = 0;
    size_t total = 0;
    for (int i = 0; i < c->n; i++) {
        /* the checkpoint owns these descriptors; re-pointing them is how the
         * model then finds the quantized copies */
        st_tensor *t = (st_tensor *)c->index[i];
        dots_dtype to = target_type(t, lm_type, vision_type);
        if (to == DT_COUNT) continue;
        size_t nbytes = (size_t)dtype_row_bytes(to, (uint64_t)t->shape[1]) * (size_t)t->shape[0];
        list[n++] = (qtensor){t, to, t->shape[0], t->shape[1], nbytes, total};
        total += (nbytes + 63) / 64 * 64;
    }
    char *buf = total ? dots_alloc(total, "quantized weights", e) : NULL;
    if (total && !buf) { free(list); return DOTS_E_NOMEM; }
    for (int i = 0; i < n; i++) {
        const qtensor *q = &list[i];
        int rc = convert_rows(pool, q->t->dtype, q->t->data, q->to, buf + q->off, q->rows, q->K);
        if (rc) {
            dots_status st = rc == -2 ? dots_fail(e, DOTS_E_NOMEM, "out of memory quantizing %s", q->t->name)
                                      : dots_fail(e, DOTS_E_INTERNAL, "%s: cannot convert %s to %s", q->t->name,
                                                  dtype_name(q->t->dtype), dtype_name(q->to));
            dots_free(buf);
            free(list);
            return st;
        }
    }
    for (int i = 0; i < n; i++) {
        st_tensor *t = list[i].t;
        t->data = buf + list[i].off;
        t->dtype = list[i].to;
        t->nbytes = list[i].nbytes;
    }
    free(list);
    *owned = buf;
    return DOTS_OK;
}

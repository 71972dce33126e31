/* Two callers at once, each with its own pool: the first kernel calls race to
 * build the kernel table (pthread_once in dispatch.c) and both grow their
 * per-thread scratch (scratch.c) with different sizes while the other runs.
 * Every result must match the scalar reference: a shared or freed scratch
 * buffer, or a half-built table, gives wrong numbers or a crash. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "base/dtype.h"
#include "base/threadpool.h"
#include "kernels/kernels.h"

#define ROUNDS 12

typedef struct {
    int id, bad_linear, bad_attn, rc;
    pthread_barrier_t *start;
} caller;

static bf16_t *bf16_copy(const float *x, size_t n) {
    bf16_t *w = malloc(n * sizeof *w);
    for (size_t i = 0; i < n; i++) w[i] = f32_to_bf16(x[i]);
    return w;
}

/* one round: a GEMM of a size that differs per caller and round (so scratch
 * grows while the other thread runs), then a decode-style attention */
static void round_(caller *c, dots_pool *pool, int r) {
    int M = 17 + 13 * r + 5 * c->id, K = 64 + 40 * r + 8 * c->id, N = 33 + 7 * r;
    float *x = malloc((size_t)M * K * 4), *wf = malloc((size_t)N * K * 4);
    float *ref = malloc((size_t)M * N * 4), *y = malloc((size_t)M * N * 4);
    test_fill_random(x, (size_t)M * K, 10 + r + 100 * c->id);
    test_fill_random(wf, (size_t)N * K, 20 + r);
    bf16_t *w = bf16_copy(wf, (size_t)N * K);
    ref_linear(x, M, K, w, DT_BF16, NULL, DT_F32, ref, N);
    c->rc |= k_linear(pool, x, M, K, w, DT_BF16, NULL, DT_F32, y, N);
    t_diff d = test_compare(ref, y, (size_t)M * N);
    if (d.max_abs > 1e-6 * K + 1e-5) c->bad_linear++;

    int nkv = 300 + 50 * r + 20 * c->id, heads = 4, kvh = 2, hd = 64;
    float *q = malloc((size_t)heads * hd * 4), *kv = malloc((size_t)nkv * kvh * hd * 4);
    float *o = malloc((size_t)heads * hd * 4), *oref = malloc((size_t)heads * hd * 4);
    test_fill_random(q, (size_t)heads * hd, 30 + r);
    test_fill_random(kv, (size_t)nkv * kvh * hd, 40 + r + 100 * c->id);
    dots_attn a;
    memset(&a, 0, sizeof a);
    a.n_q = 1; a.n_kv = nkv; a.n_heads = heads; a.n_kv_heads = kvh; a.head_dim = hd;
    a.q = q; a.ldq = (size_t)heads * hd; a.k = kv; a.ldk = (size_t)kvh * hd; a.v = kv; a.ldv = (size_t)kvh * hd;
    a.kv_dtype = DT_F32; a.scale = 0.125f; a.causal = 1; a.q_pos0 = nkv - 1; a.precision = DT_F32;
    a.out = oref;
    ref_attention(&a);
    a.out = o;
    c->rc |= k_attention(pool, &a);
    d = test_compare(oref, o, (size_t)heads * hd);
    if (d.max_abs > 5e-6) c->bad_attn++;
    free(x); free(wf); free(ref); free(y); free(w); free(q); free(kv); free(o); free(oref);
}

static void *run_caller(void *arg) {
    caller *c = arg;
    dots_error e;
    dots_pool *pool = pool_create(2, &e);
    if (!pool) { c->rc = -1; return NULL; }
    pthread_barrier_wait(c->start); /* both make their first kernel call together */
    for (int r = 0; r < ROUNDS; r++) round_(c, pool, r);
    pool_destroy(pool);
    return NULL;
}

int main(void) {
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    caller c[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        memset(&c[i], 0, sizeof c[i]);
        c[i].id = i;
        c[i].start = &start;
        CHECK(pthread_create(&th[i], NULL, run_caller, &c[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++)
        CHECK(c[i].rc == 0 && c[i].bad_linear == 0 && c[i].bad_attn == 0,
              "caller %d (isa %s): rc=%d, %d wrong linears, %d wrong attentions of %d", i, isa_name(isa_active()),
              c[i].rc, c[i].bad_linear, c[i].bad_attn, ROUNDS);
    pthread_barrier_destroy(&start);
    return test_finish("test_kernels_threads");
}

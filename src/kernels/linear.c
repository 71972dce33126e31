/* k_linear: the NT GEMM driver. Weights stay in their stored [N, K] layout;
 * the activations are converted once per call into the format the ISA's tile
 * wants (bf16 rows for vdpbf16ps). Work is split into (M-block, N-panel)
 * tasks: a task keeps its W panel (N-panel rows x one K chunk) in L2 while its
 * A rows stream by in MR-row micro blocks that stay in L1. Where the ISA has a
 * packed kernel (kern_impl.h: pk_*) and M is large enough, the panel is first
 * converted to f32 slivers in per-thread scratch, once per task and K chunk,
 * and a register-blocked outer-product kernel runs over it. With one A row
 * (decode GEMV) the work is bound by reading W once: see gemv_task. Scratch
 * is per thread and kept between calls (scratch.c): no allocation per call. */
#include <limits.h>
#include <string.h>
#include "base/mem.h"
#include "kernels/kern_impl.h"

#define KC_MAX 4352              /* longest K chunk (measured: K = 4224 is best unsplit) */
#define PANEL_BYTES (384 << 10)  /* W panel kept in L2 (1 MB on Zen 4) */
#define MB_ROWS 192              /* A rows per task when M is large */
#define PK_KC 384                /* packed path: K chunk (A rows of one micro group stay in L1) */
#define PK_MB 1536               /* packed path: most A rows per task (each panel conversion serves 2 x MB flops per element); blocks balanced */

typedef struct {
    gemm_tile_fn tile;
    gemm_tile_fn gemv;  /* mr = 1, nr <= 4 tile for M = 1 (NULL: no GEMV path) */
    int MR, NR;
    const pk_ops *pk;  /* packed path (kern_ops.pk or .pk16; NULL: tiles) */
    int pkc; dots_dtype wdt;
    int apack; size_t Mp;  /* A packed (kern_impl.h pk_ops.apack): M rounded up to pk->mr rows */
    const char *A; size_t lda, asz;   /* activations (scratch or x), element size */
    const char *W;                    /* weights, [N] rows of K in their stored type */
    size_t wrow, wbb; int wblk;       /* bytes per W row; bytes and elements per block (1 element if plain) */
    pk_qpack_fn qpack;                /* quantized W: kern_ops.qpack16 fills the pk16 panel */
    int *no_panel;                    /* qpack: set when a panel could not be allocated (no tiles to fall back on) */
    int *off_grid;                    /* F16 qpack: set when a weight is not a bf16 value (the call is redone in f32) */
    int M, N, K, kc, NB, MB, n_mb, n_nb;
    int a_major;  /* consecutive tasks share an A block (A is the bigger operand) */
    const float *bias; float *y;
} lin_job;

/* W row n from element k on (k a whole number of blocks) */
static const char *w_at(const lin_job *j, int n, int k) {
    return j->W + (size_t)n * j->wrow + (size_t)(k / j->wblk) * j->wbb;
}

/* GEMV (one A row): the tile's 4 weight rows are taken a quarter of the panel
 * apart, so each thread runs 4 independent DRAM streams instead of one. */
static void gemv_task(const lin_job *j, int n0, int n1) {
    int q = (n1 - n0) / 4, nr = 4;
    for (int k0 = 0; k0 < j->K; k0 += j->kc) {
        int kc = j->K - k0 < j->kc ? j->K - k0 : j->kc, last = k0 + kc >= j->K;
        const char *a = j->A + (size_t)k0 * j->asz;
        for (int r = 0; r < q; r++) {
            int n = n0 + r;
            float c[4], b[4]; /* the 4 outputs and biases, gathered so the tile adds them as it does for M > 1 */
            for (int s = 0; s < 4; s++) {
                c[s] = k0 > 0 ? j->y[n + s * q] : 0;
                b[s] = j->bias ? j->bias[n + s * q] : 0;
            }
            j->gemv(a, j->lda, 1, w_at(j, n, k0), (size_t)q * j->K, 4, kc, c, 4, k0 > 0,
                    last && j->bias ? b : NULL);
            for (int s = 0; s < 4; s++) j->y[n + s * q] = c[s];
        }
        for (int n = n0 + 4 * q; n < n1; n += nr) { /* rows left over */
            int w = n1 - n < nr ? n1 - n : nr;
            j->gemv(a, j->lda, 1, w_at(j, n, k0), (size_t)j->K, w, kc, j->y + n, (size_t)j->N,
                    k0 > 0, last && j->bias ? j->bias + n : NULL);
        }
    }
}

/* The packed path of one task (kern_impl.h: pk_pack_fn): per K chunk, the
 * panel's slivers [nsl][kc][PNR] are converted once, then every PMR-row group
 * of A runs over all of them while its rows stay in L1. Returns -1 (nothing
 * done) if the panel scratch cannot be had. */
#if defined(__GNUC__)
#define PREFETCH(p, loc) __builtin_prefetch((p), 0, (loc))
#else
#define PREFETCH(p, loc) ((void)(p))
#endif
#define CL 64

/* Prefetches for the packed path, spread over a K chunk's kernel calls so no
 * call waits on memory: the next PMR-row group's A chunk (into L1; A rows are
 * read in place, lda apart, so the hardware prefetchers see short streams) and
 * the next K chunk's weight panel (into L2; its rows are K apart). pf_* walk a
 * region of rows x bytes one cache line per step. */
typedef struct { const char *row; size_t ld, left; int rows, col, cols; } pf_walk;

static void pf_init(pf_walk *w, const char *base, size_t ld, int rows, size_t bytes) {
    w->row = base; w->ld = ld; w->rows = rows; w->col = 0; w->cols = (int)((bytes + CL - 1) / CL);
    w->left = (size_t)rows * (size_t)w->cols;
}

static void pf_step(pf_walk *w, size_t n, int l1) {
    for (; n > 0 && w->left > 0; n--, w->left--) {
        const char *p = w->row + (size_t)w->col * CL;
        if (l1) PREFETCH(p, 3);
        else PREFETCH(p, 2);
        if (++w->col == w->cols) { w->col = 0; w->row += w->ld; }
    }
}

static int packed_task(const lin_job *j, int m0, int m1, int n0, int n1) {
    int NR = j->pk->nr, nsl = (n1 - n0 + NR - 1) / NR;
    float *Bp = kern_scratch(KS_PANEL, (size_t)nsl * NR * j->pkc * sizeof(float));
    if (!Bp) return -1;
    int ngroups = (m1 - m0 + j->pk->mr - 1) / j->pk->mr;
    for (int k0 = 0; k0 < j->K; k0 += j->pkc) {
        int kc = j->K - k0 < j->pkc ? j->K - k0 : j->pkc;
        const float *bias = k0 + kc >= j->K ? j->bias : NULL;
        for (int s = 0; s < nsl; s++) {
            int n = n0 + s * NR, nr = n1 - n < NR ? n1 - n : NR;
            float *bp = Bp + (size_t)s * NR * kc;
            if (j->qpack) {
                if (j->qpack(w_at(j, n, k0), j->wdt, j->wrow, nr, kc, bp)) {
                    __atomic_store_n(j->off_grid, 1, __ATOMIC_RELAXED);
                    return 0;
                }
            }
            else j->pk->pack(w_at(j, n, k0), j->wdt, (size_t)j->K, nr, kc, bp);
        }
        /* the next chunk's weights, a few lines per kernel call */
        pf_walk wpf;
        int k1 = k0 + kc, kc1 = j->K - k1 < j->pkc ? j->K - k1 : j->pkc;
        pf_init(&wpf, k1 < j->K ? w_at(j, n0, k1) : j->W, j->wrow, k1 < j->K ? n1 - n0 : 0,
                k1 < j->K ? (size_t)(w_at(j, 0, kc1) - j->W) : 0);
        size_t wstep = (wpf.left + (size_t)ngroups * nsl - 1) / ((size_t)ngroups * nsl);
        for (int m = m0; m < m1; m += j->pk->mr) {
            int mr = m1 - m < j->pk->mr ? m1 - m : j->pk->mr;
            const float *a = j->apack ? (const float *)j->A + (size_t)k0 * j->Mp + (size_t)m * kc
                                      : (const float *)(j->A + ((size_t)m * j->lda + k0) * j->asz); /* f32 or bf16 rows */
            pf_walk apf; /* the next row group's A: PMR rows in place, or one packed block */
            int mr1 = m1 - (m + j->pk->mr) < j->pk->mr ? m1 - (m + j->pk->mr) : j->pk->mr;
            pf_init(&apf, (const char *)a + (size_t)j->pk->mr * j->lda * j->asz, j->lda * j->asz,
                    mr1 > 0 && !j->apack && !j->pk->no_a_prefetch ? mr1 : 0, (size_t)kc * j->asz);
            size_t astep = (apf.left + nsl - 1) / nsl;
            /* packed A: the kernel prefetches the next group's (contiguous) block as it runs */
            int alines = mr1 > 0 && j->apack ? (int)(((size_t)j->pk->mr * kc * sizeof(float) + CL - 1) / CL) : 0;
            int astep_k = (alines + nsl - 1) / nsl;
            const char *anext = (const char *)(a + (size_t)j->pk->mr * kc);
            for (int s = 0; s < nsl; s++) {
                int n = n0 + s * NR, nr = n1 - n < NR ? n1 - n : NR;
                int npf = alines - s * astep_k < astep_k ? alines - s * astep_k : astep_k;
                pf_step(&apf, astep, 1);
                pf_step(&wpf, wstep, 0);
                j->pk->kernel(a, j->lda, mr, Bp + (size_t)s * NR * kc, kc, j->y + (size_t)m * j->N + n, (size_t)j->N, nr,
                             k0 > 0, bias ? bias + n : NULL, anext + (size_t)s * astep_k * CL, npf > 0 ? npf : 0);
            }
        }
    }
    return 0;
}

/* The packed flavour for an activation format: bf16 pairs for ACT_BF16, else f32. */
static const pk_ops *pk_of(const kern_ops *o, kact act) { return act == ACT_BF16 ? &o->pk16 : &o->pk; }

static void lin_task(void *ctx, int t, int thread) {
    (void)thread;
    const lin_job *j = ctx;
    int nb = j->a_major ? t % j->n_nb : t / j->n_mb, mb = j->a_major ? t / j->n_nb : t % j->n_mb;
    int n0 = nb * j->NB, n1 = n0 + j->NB < j->N ? n0 + j->NB : j->N;
    int m0 = mb * j->MB, m1 = m0 + j->MB < j->M ? m0 + j->MB : j->M;
    if (j->M == 1 && j->gemv) { gemv_task(j, n0, n1); return; }
    if (j->qpack && __atomic_load_n(j->off_grid, __ATOMIC_RELAXED)) return; /* the call is redone */
    if (j->pk && packed_task(j, m0, m1, n0, n1) == 0) return;
    if (j->qpack) { __atomic_store_n(j->no_panel, 1, __ATOMIC_RELAXED); return; }
    for (int k0 = 0; k0 < j->K; k0 += j->kc) {
        int kc = j->K - k0 < j->kc ? j->K - k0 : j->kc;
        const float *bias = k0 + kc >= j->K ? j->bias : NULL;
        for (int m = m0; m < m1; m += j->MR) {
            int mr = m1 - m < j->MR ? m1 - m : j->MR;
            const char *a = j->A + ((size_t)m * j->lda + k0) * j->asz;
            for (int n = n0; n < n1; n += j->NR) {
                int nr = n1 - n < j->NR ? n1 - n : j->NR;
                j->tile(a, j->lda, mr, w_at(j, n, k0), (size_t)j->K, nr, kc,
                        j->y + (size_t)m * j->N + n, (size_t)j->N, k0 > 0, bias ? bias + n : NULL);
            }
        }
    }
}

typedef struct {
    const kern_ops *o; kact act;
    const float *x; int K, rows_per_task, M;
    void *A; size_t lda;
    int pmr, pkc; size_t Mp;  /* pmr > 0: write the packed layout (kern_impl.h pk_ops.apack) */
} conv_job;

/* Rows r0..r1 (r0 a multiple of pmr) into packed blocks, per K chunk. */
static void conv_packed(const conv_job *c, int r0, int r1) {
    int pmr = c->pmr;
    for (int g0 = r0; g0 < r1; g0 += pmr) {
        int rows = c->M - g0 < pmr ? c->M - g0 : pmr;
        for (int k0 = 0; k0 < c->K; k0 += c->pkc) {
            int kc = c->K - k0 < c->pkc ? c->K - k0 : c->pkc;
            float *d = (float *)c->A + (size_t)k0 * c->Mp + (size_t)g0 * kc; /* [kc][pmr] */
            c->o->pk.apack(c->x + (size_t)g0 * c->K + k0, (size_t)c->K, rows, kc, c->act == ACT_F32_RBF16, d);
        }
    }
}

static void conv_task(void *ctx, int t, int thread) {
    (void)thread;
    const conv_job *c = ctx;
    int r0 = t * c->rows_per_task, r1 = r0 + c->rows_per_task < c->M ? r0 + c->rows_per_task : c->M;
    if (c->pmr) { conv_packed(c, r0, r1); return; }
    for (int r = r0; r < r1; r++) {
        const float *src = c->x + (size_t)r * c->K;
        if (c->act == ACT_BF16) c->o->to_bf16(src, (bf16_t *)c->A + (size_t)r * c->lda, (size_t)c->K);
        else c->o->round_bf16(src, (float *)c->A + (size_t)r * c->lda, (size_t)c->K);
    }
}

/* Several parts share one activation conversion and one pass of the pool (a
 * wake-up and a barrier each): decode runs ~200 GEMVs per token, and q/k/v or
 * gate/up read the same input. */
#define MAX_PARTS 4
typedef struct {
    lin_job j[MAX_PARTS];
    int off[MAX_PARTS + 1];  /* first task of each part */
} multi_job;

static void multi_task(void *ctx, int t, int thread) {
    const multi_job *m = ctx;
    int p = 0;
    while (t >= m->off[p + 1]) p++;
    lin_task((void *)&m->j[p], t - m->off[p], thread);
}

/* k_linear_multi; f16_route: F16 weights may take the bf16 route (0 on the redo) */
static int linear_multi(dots_pool *pool, const float *x, int M, int K, dots_dtype wdt, dots_dtype bdt,
                        const dots_lin_part *parts, int n_parts, int f16_route) {
    const kern_ops *o = kops();
    /* quantized weights: the int8 kernels (qlinear.c), or where the level has a
     * qpack16 (amx) and M >= QUANT_PACKED_MIN_M, the bf16 packed kernel here */
    int quant = dtype_is_quant(wdt);
    if (quant && !(M >= QUANT_PACKED_MIN_M && (o->qpack16_types >> wdt & 1) && o->pk16.kernel))
        return k_qlinear_multi(pool, x, M, K, wdt, bdt, parts, n_parts);
    if (!quant && wdt != DT_F32 && wdt != DT_F16 && wdt != DT_BF16) return -1;
    if (n_parts < 1 || n_parts > MAX_PARTS) return -1;
    int wblk = dtype_block_elems(wdt);
    if (K < 0 || K % wblk) return -1;
    int any_bias = 0;
    size_t nbias = 0;
    for (int p = 0; p < n_parts; p++) {
        if (parts[p].N < 0 || !parts[p].y || !parts[p].W) return -1;
        if (parts[p].bias) { any_bias = 1; nbias += (size_t)parts[p].N; }
    }
    if (any_bias && bdt != DT_F32 && bdt != DT_F16 && bdt != DT_BF16) return -1;
    if (M <= 0) return 0;
    /* the bf16 route (qpack16): quantized weights, and F16 weights from the
     * packed path's M on (row-exact classes unchanged) while the pack finds
     * them all bf16 values (else the call is redone on the f32 path) */
    int route = quant || (f16_route && wdt == DT_F16 && (o->qpack16_types >> DT_F16 & 1) && o->pk16.kernel &&
                          o->pk.kernel && M >= o->pk.min_m);
    if (K <= 0) { /* empty sums: y = bias */
        for (int p = 0; p < n_parts; p++)
            for (int m = 0; m < M; m++) {
                float *y = parts[p].y + (size_t)m * parts[p].N;
                if (parts[p].bias) dtype_to_f32(bdt, parts[p].bias, y, (size_t)parts[p].N);
                else memset(y, 0, (size_t)parts[p].N * sizeof *y);
            }
        return 0;
    }
    kact act = route ? ACT_BF16 : o->act[wdt];
    /* packed path (and its K chunks, which depend on K only: row-exact) */
    const pk_ops *pk = pk_of(o, act);
    int packed = pk->kernel && (route || M >= pk->min_m);
    int apack = packed && pk->apack;
    int pk_kc = pk->kc ? pk->kc : PK_KC;
    int pk_nk = (K + pk_kc - 1) / pk_kc, pkc = (K + pk_nk - 1) / pk_nk;
    if (pk->kc) pkc = (pkc + 31) / 32 * 32; /* whole 32-k steps in every chunk but the last */
    else if (act == ACT_BF16) pkc += pkc & 1; /* bf16 pairs: whole k pairs in every chunk but the last */
    if (route) { /* whole blocks (1, 32 or 256 elements) of at most QPACK16_KC_MAX */
        int nblk = K / wblk, per = QPACK16_KC_MAX / wblk, want = (pkc + wblk - 1) / wblk;
        int chunk = want < per ? want : per, nch = (nblk + chunk - 1) / chunk;
        pkc = (nblk + nch - 1) / nch * wblk;
    }
    size_t Mp = apack ? ((size_t)M + pk->mr - 1) / pk->mr * pk->mr : (size_t)M;

    /* scratch: converted activations, then the biases in f32 */
    size_t lda = act == ACT_BF16 ? ((size_t)K + 31) / 32 * 32 : (size_t)K;
    size_t asz = act == ACT_BF16 ? 2 : 4;
    size_t abytes = act == ACT_F32 && !apack ? 0 : (Mp * lda * asz + 63) / 64 * 64;
    size_t bytes = abytes + nbias * sizeof(float);
    char *scratch = NULL;
    if (bytes) {
        scratch = kern_scratch(KS_LINEAR, bytes);
        if (!scratch) return -1;
    }
    int T = pool_threads(pool);
    const char *A = (const char *)x;
    if (act != ACT_F32 || apack) {
        conv_job c = {o, act, x, K, 0, M, scratch, lda, apack ? pk->mr : 0, pkc, Mp};
        int nt = M < 4 * T ? M : 4 * T;
        c.rows_per_task = (M + nt - 1) / nt;
        if (apack) c.rows_per_task = (c.rows_per_task + pk->mr - 1) / pk->mr * pk->mr;
        pool_run(M * (size_t)K >= 65536 ? pool : NULL, (M + c.rows_per_task - 1) / c.rows_per_task, conv_task, &c);
        A = scratch;
    }
    multi_job mj;
    memset(&mj, 0, sizeof mj);
    int no_panel = 0, off_grid = 0;
    float *bias_f32 = (float *)(scratch + abytes);
    int ntasks = 0;
    for (int p = 0; p < n_parts; p++) {
        lin_job *j = &mj.j[p];
        int N = parts[p].N;
        if (!route) {
            j->tile = o->tile[wdt];
            j->gemv = o->nr[wdt] == 4 ? o->tile[wdt] : o->gemv4[wdt];
            j->MR = o->mr[wdt];
            j->NR = o->nr[wdt];
        } else { /* the packed kernel only (M >= QUANT_PACKED_MIN_M, or pk.min_m for F16) */
            j->qpack = o->qpack16;
            j->no_panel = &no_panel;
            j->off_grid = &off_grid;
            j->MR = pk->mr;
            j->NR = pk->nr;
        }
        j->W = parts[p].W;
        j->wblk = wblk;
        j->wbb = dtype_block_bytes(wdt);
        j->wrow = (size_t)dtype_row_bytes(wdt, (uint64_t)K);
        j->M = M; j->N = N; j->K = K; j->y = parts[p].y;
        j->A = A; j->lda = lda; j->asz = asz;
        if (parts[p].bias) {
            dtype_to_f32(bdt, parts[p].bias, bias_f32, (size_t)N);
            j->bias = bias_f32;
            bias_f32 += N;
        }
        mj.off[p] = ntasks;
        if (N == 0) { mj.off[p + 1] = ntasks; continue; }
        /* blocking */
        int nchunks = (K + KC_MAX - 1) / KC_MAX;
        j->kc = nchunks == 1 ? K : ((K + nchunks - 1) / nchunks + 31) / 32 * 32;
        int NB = (int)(PANEL_BYTES / (size_t)(w_at(j, 0, j->kc) - j->W)) / j->NR * j->NR;
        int step = j->NR, mr = j->MR; /* N and M granules of the blocks */
        if (packed) {
            /* packed: balanced K chunks of about PK_KC; the converted panel (f32, or bf16
             * pairs: the activations' element size either way) fills PANEL_BYTES */
            j->pk = pk; j->wdt = wdt;
            j->pkc = pkc; j->apack = apack; j->Mp = Mp;
            step = pk->nr; mr = pk->mr;
            NB = (int)(PANEL_BYTES / ((size_t)j->pkc * asz)) / step * step;
        }
        if (NB < step) NB = step;
        if (j->pk) { /* balanced blocks of at most PK_MB rows, whole groups */
            int nmb = (M + PK_MB - 1) / PK_MB;
            j->MB = ((M + nmb - 1) / nmb + mr - 1) / mr * mr;
        } else {
            j->MB = M > MB_ROWS ? MB_ROWS / mr * mr : M;
        }
        j->n_mb = (M + j->MB - 1) / j->MB;
        /* enough tasks for the pool to balance (GEMV: split N finely) */
        while (NB > step && (size_t)j->n_mb * ((N + NB - 1) / NB) < (size_t)(j->pk ? 4 : 8) * T)
            NB = (NB / 2 + step - 1) / step * step;
        j->NB = NB;
        j->n_nb = (N + NB - 1) / NB;
        /* the operand streamed again for every block of the other should be the one
         * that stays in L3: W when A is bigger (fc2 at M = 4096: A is 35 MB) */
        j->a_major = (double)M * K * asz > (double)N * j->wrow;
        ntasks += j->n_nb * j->n_mb;
        mj.off[p + 1] = ntasks;
    }
    for (int p = n_parts + 1; p <= MAX_PARTS; p++) mj.off[p] = ntasks;
    pool_run(pool, ntasks, multi_task, &mj);
    if (scratch) kern_scratch_done(KS_LINEAR);
    /* out of memory for a panel, or F16 weights off the bf16 grid: the int8
     * kernels or the f32 path redo the whole call (they write every y) */
    if (no_panel && quant) return k_qlinear_multi(pool, x, M, K, wdt, bdt, parts, n_parts);
    if (no_panel || off_grid) return linear_multi(pool, x, M, K, wdt, bdt, parts, n_parts, 0);
    return 0;
}

int k_linear_multi(dots_pool *pool, const float *x, int M, int K, dots_dtype wdt, dots_dtype bdt,
                   const dots_lin_part *parts, int n_parts) {
    return linear_multi(pool, x, M, K, wdt, bdt, parts, n_parts, 1);
}

int k_linear_supports(dots_dtype t) { return t == DT_F32 || t == DT_F16 || t == DT_BF16; }

/* The unpacked tiles serve M < pk->min_m (and the GEMV tiles match them); the
 * packed kernel serves the rest. Without a packed path for this dtype's
 * activation format, one tile family serves every M. */
int k_linear_row_exact_rows(dots_dtype wdt) {
    if (dtype_is_quant(wdt)) return k_qlinear_row_exact_rows(wdt);
    if (!k_linear_supports(wdt)) return 0;
    const kern_ops *o = kops();
    const pk_ops *pk = pk_of(o, o->act[wdt]);
    return pk->kernel ? pk->min_m - 1 : INT_MAX;
}

int k_linear(dots_pool *pool, const float *x, int M, int K, const void *W, dots_dtype wdt, const void *bias,
             dots_dtype bdt, float *y, int N) {
    if (!dtype_is_quant(wdt) && wdt != DT_F32 && wdt != DT_F16 && wdt != DT_BF16) return -1;
    if (bias && bdt != DT_F32 && bdt != DT_F16 && bdt != DT_BF16) return -1;
    if (N <= 0) return 0;
    dots_lin_part part = {W, bias, y, N};
    return k_linear_multi(pool, x, M, K, wdt, bdt, &part, 1);
}

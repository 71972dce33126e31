/* k_qlinear_multi: y = x @ W^T + bias for block-quantized W (Q8_0, Q4_K, Q6_K),
 * used in place from the memory map. The activations are quantized per block
 * once per call into reusable scratch (Q8_0 activations for Q8_0 weights, Q8_K
 * for Q4_K / Q6_K); the ISA's tile then does integer dot products per block. Work is
 * split over N panels for GEMV, over (M block, N panel) tiles for GEMM. */
#include <pthread.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "base/mem.h"
#include "kernels/kern_impl.h"
#include "kernels/quant_kern.h"

static const char *k_qisa_names[QISA_COUNT] = {"scalar", "avx2", "avxvnni", "avx512vnni", "neon", "dotprod", "i8mm"};
const char *qisa_name(dots_qisa q) { return (unsigned)q < QISA_COUNT ? k_qisa_names[q] : "?"; }

static const qkern *qisa_probe(dots_qisa q) {
    switch (q) {
    case QISA_SCALAR: return qkern_ref();
#if DOTS_X86
    case QISA_AVX2: return qkern_avx2();
    case QISA_AVXVNNI: return qkern_avxvnni();
    case QISA_AVX512VNNI: return qkern_avx512vnni();
#endif
#if DOTS_ARM64
    case QISA_NEON: return qkern_neon();
    case QISA_DOTPROD: return qkern_dotprod();
    case QISA_I8MM: return qkern_i8mm();
#endif
    default: return NULL;
    }
}

/* The levels are probed once: CPUID traps to the hypervisor under KVM (tens
 * of microseconds), which was most of the time of a short GEMV. */
static const qkern *g_tables[QISA_COUNT];
static pthread_once_t g_tables_once = PTHREAD_ONCE_INIT;
static void probe_all(void) {
    for (int q = 0; q < QISA_COUNT; q++) g_tables[q] = qisa_probe((dots_qisa)q);
}

static const qkern *qisa_table(dots_qisa q) {
    if ((unsigned)q >= QISA_COUNT) return NULL;
    pthread_once(&g_tables_once, probe_all);
    return g_tables[q];
}

int qisa_supported(dots_qisa q) { return (unsigned)q < QISA_COUNT && qisa_table(q) != NULL; }

/* Best int8 level within the active kernel level (DOTS_ISA): avx2 may use
 * AVX-VNNI, avx512 levels AVX512-VNNI, neon dotprod/i8mm. */
static dots_qisa qisa_from_isa(dots_isa isa) {
    static const dots_qisa order[] = {QISA_I8MM, QISA_DOTPROD, QISA_NEON, QISA_AVX512VNNI, QISA_AVXVNNI, QISA_AVX2};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
        dots_qisa q = order[i];
        int fits = isa == ISA_NEON ? q >= QISA_NEON
                   : isa == ISA_AVX2 ? q == QISA_AVX2 || q == QISA_AVXVNNI
                   : (isa >= ISA_AVX512 && isa <= ISA_AMX) ? q >= QISA_AVX2 && q <= QISA_AVX512VNNI
                   : 0;
        if (fits && qisa_supported(q)) return q;
    }
    return QISA_SCALAR;
}

static int g_qisa = -1; /* set by qisa_select or $DOTS_QISA; else follows isa_active() */

dots_qisa qisa_select(dots_qisa q) {
    if ((unsigned)q >= QISA_COUNT) { g_qisa = -1; return qisa_active(); }
    g_qisa = qisa_supported(q) ? (int)q : (int)qisa_from_isa(isa_active());
    return (dots_qisa)g_qisa;
}

dots_qisa qisa_active(void) {
    static int env_read;
    if (!env_read) {
        env_read = 1;
        const char *env = getenv("DOTS_QISA");
        for (int i = 0; env && i < QISA_COUNT; i++)
            if (strcmp(env, k_qisa_names[i]) == 0 && qisa_supported((dots_qisa)i)) g_qisa = i;
    }
    return g_qisa >= 0 ? (dots_qisa)g_qisa : qisa_from_isa(isa_active());
}

/* The Q6_K tile of an int8 level (quant_kern.h); the VNNI levels use vpmaddubsw. */
static q6_tile_fn q6_tile(dots_qisa q) {
    q6_tile_fn f = NULL;
    switch (q) {
#if DOTS_X86
    case QISA_AVX2: case QISA_AVXVNNI: f = q6kern_avx2(); break;
    case QISA_AVX512VNNI: f = q6kern_avx512(); break;
#endif
#if DOTS_ARM64
    case QISA_NEON: f = q6kern_neon(); break;
    case QISA_DOTPROD: case QISA_I8MM: f = q6kern_dotprod(); break;
#endif
    default: break;
    }
    return f ? f : q6kern_ref();
}

/* ---- the driver ---------------------------------------------------------- */

#define PANEL_BYTES (256 << 10) /* W panel kept in L2 while an A block streams by */
#define MB_ROWS 64              /* A rows per GEMM task */
#define PACKED_PANEL_BYTES (512 << 10)
#define PACKED_MB_MIN 256       /* fewest A rows a packed task is split to (to feed the threads) */
#define PACKED_NB_MAX 256       /* most W rows in one packed panel */
#define PACKED_KC_BLOCKS 48     /* most Q8_0 blocks per K chunk of the packed GEMM (K = 1536: one) */
#define PACKED_MIN_M QUANT_PACKED_MIN_M /* fewer A rows: the unpacked tiles (no packing cost) */
#define MAX_PARTS 4

typedef struct {
    const qkern *k;
    dots_dtype wdt;
    const float *x; int M, K;
    qact8 a8;            /* Q8_0 activations */
    blk_q8_k *a8k;       /* Q4_K / Q6_K activations [M][K/256] */
    q6_tile_fn q6;       /* the Q6_K tile */
    const q6_packed *q6p; /* the Q6_K packed GEMM (NULL: none at this level) */
    int rows_per_task;
    int packed;          /* GEMM through the level's packed W panels */
    char *pack; size_t pack_stride; /* one panel buffer per pool thread */
} qact_job;

static void qact_task(void *ctx, int t, int thread) {
    (void)thread;
    const qact_job *q = ctx;
    int r0 = t * q->rows_per_task, r1 = r0 + q->rows_per_task < q->M ? r0 + q->rows_per_task : q->M;
    for (int r = r0; r < r1; r++) {
        const float *x = q->x + (size_t)r * q->K;
        const qkern_act *act = q->k->act;
        if (q->wdt == DT_Q8_0)
            (act ? act->q8 : qact8_quant_row)(x, q->K, q->a8.qs + (size_t)r * q->a8.ldq, q->a8.d + (size_t)r * q->a8.ldb,
                                              q->a8.corr + (size_t)r * q->a8.ldb);
        else (act ? act->q8k : quant_row_q8_k)(x, q->a8k + (size_t)r * (q->K / QK_K), q->K);
    }
}

typedef struct {
    const char *W; size_t wrow;  /* bytes per W row */
    const float *bias; float *y;
    int N, NB, MB, n_nb, n_mb;
} qpart;

typedef struct {
    const qact_job *a;
    qpart p[MAX_PARTS];
    int off[MAX_PARTS + 1];
} qlin_job;

static void add_bias(const qpart *p, int m, int mr, int n0, int n1) {
    if (!p->bias) return;
    for (int i = 0; i < mr; i++)
        for (int n = n0; n < n1; n++) p->y[(size_t)(m + i) * p->N + n] += p->bias[n];
}

/* Q8_0 blocks per K chunk of the packed GEMM: even chunks of at most PACKED_KC_BLOCKS */
static int q8_chunk_blocks(int nb) {
    int nch = (nb + PACKED_KC_BLOCKS - 1) / PACKED_KC_BLOCKS;
    return (nb + nch - 1) / nch;
}

/* Packed GEMM task: the W panel is packed once into this thread's buffer, then
 * every A row of the block runs against it. */
static void qlin_packed(const qact_job *a, const qpart *p, int m0, int m1, int n0, int n1, int thread) {
    char *P = a->pack + (size_t)thread * a->pack_stride;
    if (a->wdt == DT_Q6_K) {
        int nsb = a->K / QK_K;
        a->q6p->pack((const blk_q6_k *)(p->W + (size_t)n0 * p->wrow), p->wrow / sizeof(blk_q6_k), n1 - n0, nsb, P);
        for (int m = m0; m < m1; m += a->q6p->pmr) {
            int mr = m1 - m < a->q6p->pmr ? m1 - m : a->q6p->pmr;
            a->q6p->pgemm(a->a8k + (size_t)m * nsb, (size_t)nsb, mr, P, n1 - n0, nsb, p->y + (size_t)m * p->N + n0,
                          (size_t)p->N);
            add_bias(p, m, mr, n0, n1);
        }
        return;
    }
    if (a->wdt == DT_Q4_K) {
        int nsb = a->K / QK_K;
        a->k->q4_pack((const blk_q4_k *)(p->W + (size_t)n0 * p->wrow), p->wrow / sizeof(blk_q4_k), n1 - n0, nsb, P);
        for (int m = m0; m < m1; m += a->k->pmr4) {
            int mr = m1 - m < a->k->pmr4 ? m1 - m : a->k->pmr4;
            a->k->q4_pgemm(a->a8k + (size_t)m * nsb, (size_t)nsb, mr, P, n1 - n0, nsb, p->y + (size_t)m * p->N + n0,
                           (size_t)p->N);
            add_bias(p, m, mr, n0, n1);
        }
        return;
    }
    int nb = a->K / QK8_0, kc = q8_chunk_blocks(nb);
    /* K chunks outermost, each packed in turn: the panel keeps up to 256
     * columns in L2 at any K, so each A row is read once per 256 outputs (at
     * K = 8960 whole-K panels held 32); chunks depend on K only */
    for (int k0 = 0; k0 < nb; k0 += kc) {
        int kn = nb - k0 < kc ? nb - k0 : kc;
        a->k->q8_pack((const blk_q8_0 *)(p->W + (size_t)n0 * p->wrow) + k0, p->wrow / sizeof(blk_q8_0), n1 - n0, kn, P);
        for (int m = m0; m < m1; m += a->k->pmr) {
            int mr = m1 - m < a->k->pmr ? m1 - m : a->k->pmr;
            a->k->q8_pgemm(&a->a8, m, mr, P, n1 - n0, kn, k0, p->y + (size_t)m * p->N + n0, (size_t)p->N);
            if (k0 + kn == nb) add_bias(p, m, mr, n0, n1);
        }
    }
}

/* GEMV: the 1 x 4 tile's W rows are taken a quarter of the panel apart, so a
 * thread reads 4 long contiguous streams (rows next to each other are short at
 * K = 1536); leftover rows (N % 4, at the matrix end) one at a time. The tiles'
 * per-row arithmetic does not depend on the other rows, so M = 1 keeps the
 * bits of M = 2..3. */
static void qlin_gemv(const qact_job *a, const qpart *p, int n0, int n1) {
    int q = (n1 - n0) / 4;
    size_t ldw = (size_t)(a->K / dtype_block_elems(a->wdt)); /* blocks per W row */
    for (int r = 0; r < q + (n1 - n0) % 4; r++) {
        int n = r < q ? n0 + r : n0 + 3 * q + r, nr = r < q ? 4 : 1;
        size_t ld = r < q ? (size_t)q * ldw : ldw;
        float c[4];
        if (a->wdt == DT_Q8_0)
            a->k->q8(&a->a8, 0, 1, (const blk_q8_0 *)(p->W + (size_t)n * p->wrow), ld, nr, a->K / QK8_0, c, 4);
        else if (a->wdt == DT_Q6_K)
            a->q6(a->a8k, (size_t)(a->K / QK_K), 1, (const blk_q6_k *)(p->W + (size_t)n * p->wrow), ld, nr, a->K / QK_K,
                  c, 4);
        else
            a->k->q4(a->a8k, (size_t)(a->K / QK_K), 1, (const blk_q4_k *)(p->W + (size_t)n * p->wrow), ld, nr,
                     a->K / QK_K, c, 4);
        for (int s = 0; s < nr; s++) p->y[n + s * q] = c[s] + (p->bias ? p->bias[n + s * q] : 0);
    }
}

static void qlin_task(void *ctx, int t, int thread) {
    const qlin_job *j = ctx;
    int pi = 0;
    while (t >= j->off[pi + 1]) pi++;
    const qpart *p = &j->p[pi];
    const qact_job *a = j->a;
    t -= j->off[pi];
    int mb = t % p->n_mb, nb = t / p->n_mb; /* consecutive tasks share a W panel */
    int n0 = nb * p->NB, n1 = n0 + p->NB < p->N ? n0 + p->NB : p->N;
    int m0 = mb * p->MB, m1 = m0 + p->MB < a->M ? m0 + p->MB : a->M;
    if (a->packed) { qlin_packed(a, p, m0, m1, n0, n1, thread); return; }
    if (a->M == 1) { qlin_gemv(a, p, n0, n1); return; }
    int mr_max = a->k->mr;
    for (int m = m0; m < m1; m += mr_max) {
        int mr = m1 - m < mr_max ? m1 - m : mr_max;
        float *C = p->y + (size_t)m * p->N + n0;
        if (a->wdt == DT_Q6_K)
            a->q6(a->a8k + (size_t)m * (a->K / QK_K), (size_t)(a->K / QK_K), mr,
                  (const blk_q6_k *)(p->W + (size_t)n0 * p->wrow), p->wrow / sizeof(blk_q6_k), n1 - n0, a->K / QK_K, C,
                  (size_t)p->N);
        else if (a->wdt == DT_Q8_0)
            a->k->q8(&a->a8, m, mr, (const blk_q8_0 *)(p->W + (size_t)n0 * p->wrow), p->wrow / sizeof(blk_q8_0),
                     n1 - n0, a->K / QK8_0, C, (size_t)p->N);
        else
            a->k->q4(a->a8k + (size_t)m * (a->K / QK_K), (size_t)(a->K / QK_K), mr,
                     (const blk_q4_k *)(p->W + (size_t)n0 * p->wrow), p->wrow / sizeof(blk_q4_k), n1 - n0,
                     a->K / QK_K, C, (size_t)p->N);
        add_bias(p, m, mr, n0, n1);
    }
}

/* N panel rows: GEMV splits N finely (the pool balances ~8 tasks a thread, over
 * all parts of the call: a part's share goes by its rows, so the small k / v parts
 * of a q/k/v call are not cut into 16-row tasks, too short a stream each: the
 * call read 74-80% of the probe bandwidth that way, o_proj's 91-94%);
 * GEMM keeps a panel in L2 and splits further only to feed every thread. */
static void plan_part(qpart *p, int M, int T, int packed, size_t panel_row, double share) {
    int step = packed ? 32 : 4; /* packed tiles: 32 columns */
    int NB = (int)((packed ? PACKED_PANEL_BYTES : PANEL_BYTES) / panel_row) / step * step;
    if (NB < step) NB = step;
    if (packed && NB > PACKED_NB_MAX) NB = PACKED_NB_MAX;
    /* a packed task takes every A row, so each panel is packed once a call: at
     * 192-row tasks each was packed M / 192 times (Q8_0 gathers), 11-16% of the
     * GEMM at M = 1024-4096; A then streams from L3 per 32 columns, ~2 bytes a cycle */
    p->MB = packed || M <= MB_ROWS ? M : MB_ROWS;
    p->n_mb = (M + p->MB - 1) / p->MB;
    int want = M == 1 ? (int)(8 * T * share + 0.999) : 4 * T;
    while (NB > step && (size_t)p->n_mb * ((p->N + NB - 1) / NB) < (size_t)want)
        NB = (NB / 2 + step - 1) / step * step;
    while (packed && p->MB > PACKED_MB_MIN && (size_t)p->n_mb * ((p->N + NB - 1) / NB) < (size_t)want) {
        p->MB = (p->MB + 1) / 2; /* many threads, few columns: split A too */
        p->n_mb = (M + p->MB - 1) / p->MB;
    }
    p->NB = NB;
    p->n_nb = (p->N + NB - 1) / NB;
}

static int qscratch(qact_job *a, size_t nbias, char **scratch, float **bias_f32) {
    size_t M = (size_t)a->M, K = (size_t)a->K, abytes;
    if (a->wdt == DT_Q8_0) {
        a->a8.ldq = (K + 63) / 64 * 64;
        a->a8.ldb = K / QK8_0;
        abytes = M * a->a8.ldq + 2 * M * a->a8.ldb * 4;
    } else {
        abytes = M * (K / QK_K) * sizeof(blk_q8_k);
    }
    abytes = (abytes + 63) / 64 * 64;
    *scratch = kern_scratch(KS_QLINEAR, abytes + nbias * sizeof(float)); /* the caller thread's, kept: no malloc per token */
    if (!*scratch) return -1;
    if (a->wdt == DT_Q8_0) {
        a->a8.d = (float *)*scratch;
        a->a8.corr = (int32_t *)(*scratch + M * a->a8.ldb * 4);
        a->a8.qs = (int8_t *)(*scratch + 2 * M * a->a8.ldb * 4);
    } else {
        a->a8k = (blk_q8_k *)*scratch;
    }
    *bias_f32 = (float *)(*scratch + abytes);
    return 0;
}

/* The Q6_K packed GEMM of level q (NULL: none). */
static const q6_packed *q6_packed_of(dots_qisa q) {
#if DOTS_X86
    if (q == QISA_AVX512VNNI) return q6kern_avx512_packed();
#endif
    (void)q;
    return NULL;
}

/* Whether level q (table k) has a packed GEMM for wdt: it serves M >= PACKED_MIN_M. */
static int has_packed(dots_qisa q, const qkern *k, dots_dtype wdt) {
    return wdt == DT_Q6_K ? q6_packed_of(q) != NULL : wdt == DT_Q8_0 ? k->q8_pack != NULL : k->q4_pack != NULL;
}

/* Class 1 (kernels.h): the tiles and the GEMV run a row the same way for
 * M < PACKED_MIN_M; the packed GEMM (another sum order) takes over above. */
int k_qlinear_row_exact_rows(dots_dtype wdt) {
    dots_qisa q = qisa_active();
    const qkern *k = qisa_table(q);
    if (!k || (wdt != DT_Q8_0 && wdt != DT_Q4_K && wdt != DT_Q6_K)) return 0;
    if (q == QISA_I8MM) return 1; /* smmla tiles pair A rows: only a row alone is known exact */
    if (kops()->qpack16_types >> wdt & 1) return PACKED_MIN_M - 1; /* class 2: the bf16 packed kernel (linear.c) */
    return has_packed(q, k, wdt) ? PACKED_MIN_M - 1 : INT_MAX;
}

int k_qlinear_multi(dots_pool *pool, const float *x, int M, int K, dots_dtype wdt, dots_dtype bdt,
                    const dots_lin_part *parts, int n_parts) {
    if (!dtype_is_quant(wdt) || n_parts < 1 || n_parts > MAX_PARTS) return -1;
    if (K < 0 || K % dtype_block_elems(wdt) != 0) return -1;
    size_t nbias = 0;
    for (int p = 0; p < n_parts; p++) {
        if (parts[p].N < 0 || !parts[p].y || !parts[p].W) return -1;
        if (parts[p].bias) nbias += (size_t)parts[p].N;
    }
    if (nbias && bdt != DT_F32 && bdt != DT_F16 && bdt != DT_BF16) return -1;
    if (M <= 0) return 0;
    if (K == 0) {
        for (int p = 0; p < n_parts; p++)
            for (int m = 0; m < M; m++) {
                float *y = parts[p].y + (size_t)m * parts[p].N;
                if (parts[p].bias) dtype_to_f32(bdt, parts[p].bias, y, (size_t)parts[p].N);
                else memset(y, 0, (size_t)parts[p].N * sizeof *y);
            }
        return 0;
    }
    qact_job a;
    memset(&a, 0, sizeof a);
    dots_qisa level = qisa_active();
    a.k = qisa_table(level);
    a.q6 = q6_tile(level);
    a.q6p = q6_packed_of(level);
    a.wdt = wdt; a.x = x; a.M = M; a.K = K;
    char *scratch;
    float *bias_f32;
    if (qscratch(&a, nbias, &scratch, &bias_f32) != 0) return -1;
    a.packed = M >= PACKED_MIN_M && has_packed(level, a.k, wdt);
    int T = pool_threads(pool);
    int nt = M < 4 * T ? M : 4 * T;
    a.rows_per_task = (M + nt - 1) / nt;
    pool_run((size_t)M * K >= 65536 ? pool : NULL, (M + a.rows_per_task - 1) / a.rows_per_task, qact_task, &a);

    qlin_job j;
    memset(&j, 0, sizeof j);
    j.a = &a;
    int ntasks = 0, nb_max = 0;
    double n_all = 0;
    for (int p = 0; p < n_parts; p++) n_all += parts[p].N;
    for (int p = 0; p < n_parts; p++) {
        qpart *q = &j.p[p];
        q->W = parts[p].W;
        q->wrow = (size_t)dtype_row_bytes(wdt, (uint64_t)K);
        q->N = parts[p].N;
        q->y = parts[p].y;
        if (parts[p].bias) {
            dtype_to_f32(bdt, parts[p].bias, bias_f32, (size_t)q->N);
            q->bias = bias_f32;
            bias_f32 += q->N;
        }
        j.off[p] = ntasks;
        if (q->N > 0) {
            /* a packed Q8_0 panel holds one K chunk of each row */
            size_t prow = a.packed && wdt == DT_Q8_0 ? sizeof(blk_q8_0) * (size_t)q8_chunk_blocks(K / QK8_0) : q->wrow;
            plan_part(q, M, T, a.packed, prow, q->N / n_all);
            if (q->NB > nb_max) nb_max = q->NB;
            ntasks += q->n_nb * q->n_mb;
        }
    }
    for (int p = n_parts; p <= MAX_PARTS; p++) j.off[p] = ntasks;
    if (a.packed) {
        size_t pb = wdt == DT_Q6_K   ? a.q6p->pack_bytes(nb_max, K / QK_K)
                    : wdt == DT_Q8_0 ? a.k->q8_pack_bytes(nb_max, q8_chunk_blocks(K / QK8_0))
                                     : a.k->q4_pack_bytes(nb_max, K / QK_K);
        a.pack_stride = (pb + 63) / 64 * 64;
        a.pack = kern_scratch(KS_QPANELS, a.pack_stride * (size_t)T); /* one panel per pool thread */
        if (!a.pack) { kern_scratch_done(KS_QLINEAR); return -1; }
    }
    pool_run(pool, ntasks, qlin_task, &j);
    if (a.pack) kern_scratch_done(KS_QPANELS);
    kern_scratch_done(KS_QLINEAR);
    return 0;
}

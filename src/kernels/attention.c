/* k_attention: tiled (flash-style) attention with an online softmax.
 *
 * Phase 1 packs K and V once per call (O(n_kv) memory) so both products of a
 * tile are outer products with no horizontal sums:
 *   f32 precision:  Kp[g][blk][c][16]      (16 keys of one head dim side by side)
 *                   V rows copied contiguous [g][j][d] (widened when the cache is bf16)
 *   bf16 precision: Kp[g][blk][c/2][16][2] (16 keys x a pair of dims: one vdpbf16ps operand)
 *                   Vp[g][j/2][c][2]       (a pair of keys x 16 dims)
 * Keys are padded with zeros to whole blocks plus one tile.
 * Phase 2 runs (head, query tile) tasks: per key tile, S = Q K^T, mask, online
 * softmax (f32), O = O * corr + P V. Per-thread tile buffers only: never N x N.
 * A few queries (decode) skip the packing: K and V rows are read in place, once
 * per group of query heads that share a KV head, and the keys are split into
 * ranges whose partial softmax results are merged (flash-decoding), so every
 * thread has work even with fewer KV heads than threads. Scratch is the
 * caller thread's (scratch.c), kept between calls: no allocation per token. */
#include <math.h>
#include <string.h>
#include "base/mem.h"
#include "kernels/kern_impl.h"

#define BQ 48   /* queries per task: 8 micro rows of 6 */
#define BK 256  /* keys per tile: a multiple of 64 (the qk micro width); 256 measured ~3% faster than 128 */
_Static_assert(BQ % 16 == 0 && BQ <= 48, "attn_amx.c reads whole 16-row tiles of the BQ-row buffers, at most 48 rows");

typedef struct { int h, r0, r1, lo, hi; } attn_task;  /* decode: [lo, hi) is one key split */

typedef struct {
    const dots_attn *a;
    const kern_ops *o;
    int bf, d, group, nkv_pad;
    int native;               /* bf16 operands in the tiles (else f32, rounded to bf16 when bf) */
    void *Kp, *Vp;            /* packed, per kv head nkv_pad * d elements */
    const float *V; size_t ldv, vstride;  /* f32 tiles: V rows (or chunks), per-key step, per-kv-head offset */
    int vch; size_t vcs;      /* f32 tiles: V chunk width (kern_impl.h pv_vchunk; 0 rows) and pv[0]'s ldv */
    attn_task *tasks;
    char *tbuf; size_t tbytes;  /* per-thread tile buffers */
    int nsplit;               /* decode: key splits per (row, head group) */
    float *part;              /* decode: per task DEC_G x (acc[d], m, l) partial softmax */
} attn_job;

/* ---- phase 1: packing ---- */

#define PACK_KEYS 64

static void pack_task(void *ctx, int t, int thread) {
    (void)thread;
    attn_job *J = ctx;
    const dots_attn *a = J->a;
    int d = J->d, nblk_task = (J->nkv_pad + PACK_KEYS - 1) / PACK_KEYS;
    int g = t / nblk_task, j0 = (t % nblk_task) * PACK_KEYS, j1 = j0 + PACK_KEYS < J->nkv_pad ? j0 + PACK_KEYS : J->nkv_pad;
    size_t hs = (size_t)J->nkv_pad * d;
    float row[1024];  /* d <= 1024 checked by the caller */
    bf16_t rb[1024];
    for (int j = j0; j < j1; j++) {
        for (int which = 0; which < 2; which++) {
            int real = j < a->n_kv;
            size_t off = (size_t)j * (which ? a->ldv : a->ldk) + (size_t)g * d;
            const void *src = which ? a->v : a->k;
            if (J->native) {
                if (!real) memset(rb, 0, (size_t)d * 2);
                else if (a->kv_dtype == DT_BF16) memcpy(rb, (const bf16_t *)src + off, (size_t)d * 2);
                else J->o->to_bf16((const float *)src + off, rb, (size_t)d);
                bf16_t *dst = (bf16_t *)(which ? J->Vp : J->Kp) + g * hs;
                if (which == 0) {
                    bf16_t *kb = dst + (size_t)(j / ATT_KB) * ATT_KB * d + 2 * (j % ATT_KB);
                    for (int c = 0; c < d; c += 2) { kb[c * ATT_KB] = rb[c]; kb[c * ATT_KB + 1] = rb[c + 1]; }
                } else {
                    bf16_t *vb = dst + (size_t)(j / 2) * 2 * d + (j & 1);
                    for (int c = 0; c < d; c++) vb[2 * c] = rb[c];
                }
            } else {
                if (!real) memset(row, 0, (size_t)d * 4);
                else if (a->kv_dtype == DT_BF16) k_bf16_to_f32((const bf16_t *)src + off, row, (size_t)d);
                else if (J->bf) J->o->round_bf16((const float *)src + off, row, (size_t)d);
                else memcpy(row, (const float *)src + off, (size_t)d * 4);
                if (which == 0) {
                    float *kb = (float *)J->Kp + g * hs + (size_t)(j / ATT_KB) * ATT_KB * d + (j % ATT_KB);
                    for (int c = 0; c < d; c++) kb[c * ATT_KB] = row[c];
                } else if (J->Vp && J->vch) { /* V in chunks of vch dims: [c / vch][j][vch] */
                    float *vb = (float *)J->Vp + g * J->vstride + (size_t)j * J->vch;
                    for (int c = 0; c < d; c += J->vch)
                        memcpy(vb + (size_t)(c / J->vch) * J->vcs, row + c, (size_t)(d - c < J->vch ? d - c : J->vch) * 4);
                } else if (J->Vp) { /* V widened (bf16 cache) or rounded (bf16 precision) */
                    memcpy((float *)J->Vp + g * hs + (size_t)j * d, row, (size_t)d * 4);
                }
            }
        }
    }
}

/* ---- phase 2: tiles ---- */

static void tile_task(void *ctx, int t, int thread) {
    attn_job *J = ctx;
    const dots_attn *a = J->a;
    const kern_ops *o = J->o;
    const attn_task *T = &J->tasks[t];
    int d = J->d, nq = T->r1 - T->r0, g = T->h / J->group, bf = J->native;
    size_t es = bf ? 2 : 4, hs = (size_t)J->nkv_pad * d;
    char *buf = J->tbuf + (size_t)thread * J->tbytes;
    void *Qt = buf;
    float *S = (float *)(buf + (size_t)BQ * d * 4);
    void *P = S + BQ * BK;
    float *O = (float *)((char *)P + (size_t)BQ * BK * 4);
    float *m = O + (size_t)BQ * d, *l = m + BQ;

    for (int i = 0; i < nq; i++) {
        const float *q = a->q + (size_t)(T->r0 + i) * a->ldq + (size_t)T->h * d;
        if (bf) o->to_bf16(q, (bf16_t *)Qt + (size_t)i * d, (size_t)d);
        else if (J->bf) o->round_bf16(q, (float *)Qt + (size_t)i * d, (size_t)d);
        else memcpy((float *)Qt + (size_t)i * d, q, (size_t)d * 4);
        m[i] = -INFINITY;
        l[i] = 0;
    }
    memset(O, 0, (size_t)nq * d * 4);
    int khi = a->causal && a->q_pos0 + T->r1 < T->hi ? a->q_pos0 + T->r1 : T->hi;
    const char *Kp = (const char *)J->Kp + g * hs * es;
    for (int jt = T->lo / ATT_KB * ATT_KB; jt < khi; jt += BK) {
        int nk = khi - jt < BK ? (khi - jt + 63) / 64 * 64 : BK;
        o->qk[bf](Qt, d, nq, Kp + (size_t)jt * d * es, nk / ATT_KB, d, S, BK, a->scale);
        /* the last key any row of the tile sees decides how much of P.V to do */
        int kmax = 0;
        for (int i = 0; i < nq; i++) {
            int hi = a->causal && a->q_pos0 + T->r0 + i + 1 < T->hi ? a->q_pos0 + T->r0 + i + 1 : T->hi;
            int b = (hi < jt + nk ? hi : jt + nk) - jt;
            if (b > kmax) kmax = b;
        }
        if (bf) kmax = (kmax + 1) & ~1;
        for (int i = 0; i < nq; i++) {
            int hi = a->causal && a->q_pos0 + T->r0 + i + 1 < T->hi ? a->q_pos0 + T->r0 + i + 1 : T->hi;
            int lo_ = T->lo > jt ? T->lo - jt : 0, hi_ = (hi < jt + nk ? hi : jt + nk) - jt;
            float *s = S + (size_t)i * BK;
            if (hi_ < lo_) hi_ = lo_;
            float *pf = bf ? NULL : (float *)P + (size_t)i * BK;
            bf16_t *pb = bf ? (bf16_t *)P + (size_t)i * BK : NULL;
            /* P row: zero outside this row's visible keys */
            if (lo_ > 0 || hi_ < kmax) memset(bf ? (void *)pb : (void *)pf, 0, (size_t)kmax * es);
            if (hi_ > lo_) {
                float mx = o->vmax(s + lo_, hi_ - lo_);
                float mn = mx > m[i] ? mx : m[i];
                if (mn == -INFINITY) {
                    memset(bf ? (void *)pb : (void *)pf, 0, (size_t)kmax * es);
                } else {
                    float corr = m[i] == -INFINITY ? 0.0f : expf(m[i] - mn);
                    float sum = o->exp_sum(s + lo_, hi_ - lo_, mn, pf ? pf + lo_ : NULL, pb ? pb + lo_ : NULL);
                    if (pf && J->bf) o->round_bf16(pf + lo_, pf + lo_, (size_t)(hi_ - lo_));
                    l[i] = l[i] * corr + sum;
                    m[i] = mn;
                    if (corr != 1.0f)
                        for (int c = 0; c < d; c++) O[(size_t)i * d + c] *= corr;
                }
            }
        }
        if (kmax == 0) continue;
        if (bf) o->pv[1](P, BK, nq, (const bf16_t *)J->Vp + g * hs + (size_t)jt * d, 0, kmax, d, O, d);
        else o->pv[0](P, BK, nq, J->V + g * J->vstride + (size_t)jt * J->ldv, J->vcs, kmax, d, O, d);
    }
    for (int i = 0; i < nq; i++) {
        float inv = l[i] > 0 ? 1.0f / l[i] : 0.0f;
        float *out = a->out + (size_t)(T->r0 + i) * a->ldo + (size_t)T->h * d;
        for (int c = 0; c < d; c++) out[c] = O[(size_t)i * d + c] * inv;
    }
}

/* ---- few queries (decode): K and V rows read in place, no packing ---- */

#define DECODE_MAX_Q 4
#define DEC_SPLIT_MIN 256  /* fewest keys worth a split of their own */

/* One query row, up to DEC_G heads that share a KV head (task h = first head) and
 * one split of the keys (flash-decoding): the unnormalised partial result
 * acc = sum_j p_j v_j with p_j = exp(s_j - m) over the split, its max m and its
 * sum l go to the task's slot; merge_splits combines the splits. Splitting the
 * keys gives every thread work even when there are fewer KV heads than threads. */
static void decode_task(void *ctx, int t, int thread) {
    attn_job *J = ctx;
    const dots_attn *a = J->a;
    const kern_ops *o = J->o;
    const attn_task *T = &J->tasks[t];
    int d = J->d, g = T->h / J->group, i = T->r0;
    int G = (g + 1) * J->group - T->h < DEC_G ? (g + 1) * J->group - T->h : DEC_G;
    size_t es = a->kv_dtype == DT_BF16 ? 2 : 4, lds = ((size_t)a->n_kv + 15) / 16 * 16;
    float *s = (float *)(J->tbuf + (size_t)thread * J->tbytes), *q = s + DEC_G * lds;
    float *slot = J->part + (size_t)t * DEC_G * (d + 2), *acc = slot, *ml = slot + (size_t)DEC_G * d;
    int lo = T->lo, hi = T->hi, n = hi > lo ? hi - lo : 0;
    memset(acc, 0, (size_t)G * d * 4);
    for (int h = 0; h < G; h++) { ml[2 * h] = -INFINITY; ml[2 * h + 1] = 0; }
    if (n == 0) return;
    for (int h = 0; h < G; h++) {
        const float *qs = a->q + (size_t)i * a->ldq + (size_t)(T->h + h) * d;
        if (J->bf) o->round_bf16(qs, q + (size_t)h * d, (size_t)d);
        else memcpy(q + (size_t)h * d, qs, (size_t)d * 4);
    }
    const char *K = (const char *)a->k + ((size_t)lo * a->ldk + (size_t)g * d) * es;
    const char *V = (const char *)a->v + ((size_t)lo * a->ldv + (size_t)g * d) * es;
    o->dot_rows(q, G, K, a->ldk, a->kv_dtype, n, d, J->bf, a->scale, s, lds);
    for (int h = 0; h < G; h++) {
        float *sh = s + h * lds;
        float mx = o->vmax(sh, n);
        ml[2 * h] = mx;
        ml[2 * h + 1] = o->exp_sum(sh, n, mx, sh, NULL);
        if (J->bf) o->round_bf16(sh, sh, (size_t)n); /* p in bf16; l keeps the f32 sum */
    }
    o->axpy_rows(s, lds, G, V, a->ldv, a->kv_dtype, n, d, J->bf, acc);
}

/* out = sum_s acc_s e^(m_s - M) / sum_s l_s e^(m_s - M), M = max_s m_s, over the
 * nsplit consecutive tasks that start at task t0 (same row and heads). */
static void merge_splits(const attn_job *J, int t0) {
    const dots_attn *a = J->a;
    const attn_task *T = &J->tasks[t0];
    int d = J->d, g = T->h / J->group, ns = J->nsplit;
    int G = (g + 1) * J->group - T->h < DEC_G ? (g + 1) * J->group - T->h : DEC_G;
    size_t slot = (size_t)DEC_G * (d + 2);
    for (int h = 0; h < G; h++) {
        float M = -INFINITY, L = 0;
        for (int k = 0; k < ns; k++) {
            const float *ml = J->part + (t0 + k) * slot + (size_t)DEC_G * d + 2 * h;
            if (ml[1] > 0 && ml[0] > M) M = ml[0];
        }
        float w[64]; /* ns <= 64: see k_attention */
        for (int k = 0; k < ns; k++) {
            const float *ml = J->part + (t0 + k) * slot + (size_t)DEC_G * d + 2 * h;
            w[k] = ml[1] > 0 ? expf(ml[0] - M) : 0.0f;
            L += ml[1] * w[k];
        }
        float inv = L > 0 ? 1.0f / L : 0.0f;
        float *out = a->out + (size_t)T->r0 * a->ldo + (size_t)(T->h + h) * d;
        for (int c = 0; c < d; c++) {
            float sum = 0;
            for (int k = 0; k < ns; k++) sum += J->part[(t0 + k) * slot + (size_t)h * d + c] * w[k];
            out[c] = sum * inv;
        }
    }
}

/* Rows [r0, r1) that share one key range [lo, hi): the packed sequences, and
 * (as the reference does) any rows outside them see all keys. */
static int segments(const dots_attn *a, int *seg, int cap) {
    int n = 0, r = 0;
    if (a->seq_bounds)
        for (int s = 0; s < a->n_seqs && r < a->n_q; s++) {
            int b0 = a->seq_bounds[s], b1 = a->seq_bounds[s + 1];
            if (b1 <= b0 || b1 <= r) continue;
            if (b0 > r) { if (n < cap) { seg[4*n] = r; seg[4*n+1] = b0 < a->n_q ? b0 : a->n_q; seg[4*n+2] = 0; seg[4*n+3] = a->n_kv; } n++; r = b0; }
            if (r >= a->n_q) break;
            if (n < cap) { seg[4*n] = r; seg[4*n+1] = b1 < a->n_q ? b1 : a->n_q; seg[4*n+2] = b0; seg[4*n+3] = b1; }
            n++;
            r = b1;
        }
    if (r < a->n_q) {
        if (n < cap) { seg[4*n] = r; seg[4*n+1] = a->n_q; seg[4*n+2] = 0; seg[4*n+3] = a->n_kv; }
        n++;
    }
    return n;
}

static int valid(const dots_attn *a) {
    if (a->n_q < 0 || a->n_kv < 0 || a->n_heads <= 0 || a->n_kv_heads <= 0 || a->head_dim <= 0) return 0;
    if (a->n_heads % a->n_kv_heads) return 0;
    if (a->kv_dtype != DT_F32 && a->kv_dtype != DT_BF16) return 0;
    if (a->precision != DT_F32 && a->precision != DT_BF16) return 0;
    if (a->seq_bounds) {
        if (a->n_seqs < 0) return 0;
        for (int s = 0; s <= a->n_seqs; s++) {
            if (a->seq_bounds[s] < 0 || a->seq_bounds[s] > a->n_kv) return 0;
            if (s && a->seq_bounds[s] < a->seq_bounds[s - 1]) return 0;
        }
    }
    return 1;
}

int k_attention(dots_pool *pool, const dots_attn *a) {
    if (!valid(a)) return -1;
    if (a->n_q == 0) return 0;
    int d = a->head_dim;
    int decode = a->n_q <= DECODE_MAX_Q && d <= 1024;
    if (!decode && (d % 16 || d > 1024)) return ref_attention(a); /* shapes the tiles do not cover */

    attn_job J;
    memset(&J, 0, sizeof J);
    J.a = a;
    J.o = kops();
    J.bf = a->precision == DT_BF16;
    J.native = J.bf && J.o->qk[1] && J.o->pv[1];
    J.d = d;
    J.group = a->n_heads / a->n_kv_heads;
    J.nkv_pad = (a->n_kv + ATT_KB - 1) / ATT_KB * ATT_KB + BK;
    int nseg = segments(a, NULL, 0);
    int ntiles = 0;
    int *seg = kern_scratch(KS_ATTN_SEG, (size_t)nseg * 4 * sizeof *seg); /* per-thread, kept: no malloc per call */
    if (!seg) return -1;
    segments(a, seg, nseg);
    for (int s = 0; s < nseg; s++) ntiles += decode ? seg[4 * s + 1] - seg[4 * s] : (seg[4 * s + 1] - seg[4 * s] + BQ - 1) / BQ;

    int T = pool_threads(pool);
    size_t es = J.native ? 2 : 4, hs = (size_t)J.nkv_pad * d;
    size_t kbytes = (size_t)a->n_kv_heads * hs * es;
    /* f32 tiles always read V from the pack: rows of the caller's V are n_kv_heads * d
     * apart (6 KB for the vision tower), which maps a 256-key tile onto a couple of
     * L1 sets; the copy is O(n_kv) next to the O(n_q n_kv) tiles */
    int widen_v = !J.native;
    J.vch = widen_v ? J.o->pv_vchunk : 0;
    size_t dv = J.vch ? ((size_t)d + J.vch - 1) / J.vch * J.vch : (size_t)d; /* V dims, padded to whole chunks */
    size_t vbytes = J.native ? kbytes : widen_v ? (size_t)a->n_kv_heads * J.nkv_pad * dv * 4 : 0;
    size_t taskbytes = ((size_t)ntiles * a->n_heads * sizeof(attn_task) + 63) / 64 * 64;
    J.tbytes = ((size_t)BQ * d * 4 * 2 + (size_t)BQ * BK * 4 * 2 + BQ * 8 + 63) / 64 * 64;
    size_t partbytes = 0;
    if (decode) { /* scores of one query + q; no packing */
        kbytes = vbytes = 0;
        J.tbytes = ((((size_t)a->n_kv + 15) / 16 * 16 + (size_t)d) * 4 * DEC_G + 63) / 64 * 64;
        /* key splits: enough tasks for the pool to balance, each split >= DEC_SPLIT_MIN keys */
        int groups = 0;
        for (int h = 0; h < a->n_heads; h += J.group - h % J.group < DEC_G ? J.group - h % J.group : DEC_G) groups++;
        int base = ntiles * groups, want = (4 * T + base - 1) / base, most = a->n_kv / DEC_SPLIT_MIN;
        J.nsplit = want < most ? want : most;
        if (J.nsplit < 1) J.nsplit = 1;
        if (J.nsplit > 64) J.nsplit = 64;
        taskbytes = ((size_t)base * J.nsplit * sizeof(attn_task) + 63) / 64 * 64;
        partbytes = (size_t)base * J.nsplit * DEC_G * (d + 2) * 4;
    }
    char *mem = kern_scratch(KS_ATTN, kbytes + vbytes + taskbytes + J.tbytes * T + partbytes);
    if (!mem) { kern_scratch_done(KS_ATTN_SEG); return -1; }
    J.Kp = mem;
    J.Vp = vbytes ? mem + kbytes : NULL;
    J.tasks = (attn_task *)(mem + kbytes + vbytes);
    J.tbuf = mem + kbytes + vbytes + taskbytes;
    J.part = (float *)(J.tbuf + J.tbytes * T);
    if (widen_v) { /* f32 tiles: V rows (or chunks) from the pack (widened, rounded or copied) */
        J.V = J.Vp; J.vstride = (size_t)J.nkv_pad * dv;
        J.ldv = J.vch ? (size_t)J.vch : (size_t)d;
        J.vcs = J.vch ? (size_t)J.nkv_pad * J.vch : (size_t)d;
    }

    int npack = a->n_kv_heads * ((J.nkv_pad + PACK_KEYS - 1) / PACK_KEYS);
    if (!decode) pool_run(pool, npack, pack_task, &J);

    int nt = 0;
    for (int h = 0; h < a->n_heads; h += decode ? (J.group - h % J.group < DEC_G ? J.group - h % J.group : DEC_G) : 1)
        for (int s = 0; s < nseg; s++)
            for (int r = seg[4 * s], step = decode ? 1 : BQ; r < seg[4 * s + 1]; r += step) {
                int lo = seg[4 * s + 2], hi = seg[4 * s + 3];
                if (!decode) {
                    attn_task *t = &J.tasks[nt++];
                    t->h = h; t->r0 = r; t->r1 = r + step < seg[4 * s + 1] ? r + step : seg[4 * s + 1];
                    t->lo = lo; t->hi = hi;
                    continue;
                }
                /* decode: the row's visible keys, cut into nsplit consecutive ranges */
                if (a->causal && a->q_pos0 + r + 1 < hi) hi = a->q_pos0 + r + 1;
                long long len = hi > lo ? hi - lo : 0;
                for (int k = 0; k < J.nsplit; k++) {
                    attn_task *t = &J.tasks[nt++];
                    t->h = h; t->r0 = r; t->r1 = r + 1;
                    t->lo = lo + (int)(len * k / J.nsplit);
                    t->hi = lo + (int)(len * (k + 1) / J.nsplit);
                }
            }
    pool_run(pool, nt, decode ? decode_task : tile_task, &J);
    if (decode)
        for (int t = 0; t < nt; t += J.nsplit) merge_splits(&J, t);
    kern_scratch_done(KS_ATTN);
    kern_scratch_done(KS_ATTN_SEG);
    return 0;
}

/* AMX-BF16 attention tile pieces (bf16 precision), the amx level: the two
 * products of a tile, S = Q K^T and O += P V, on tiles; the online softmax
 * stays where it is (attention.c, zmm code). The packs of attention.c are
 * already AMX's B layout, so nothing is repacked:
 *  - Kp[blk][c/2][16][2]: the 16 pairs of head dims c .. c + 31 of one 16-key
 *    block are one B tile (16 rows of 64 bytes); Q rows (bf16) are the A tile.
 *  - Vp[j/2][c][2]: head dims c .. c + 15 of 32 keys are one B tile (16 pair
 *    rows, 4d bytes apart); P rows (bf16) are the A tile.
 * Tiles take whole 16-row groups: rows nq .. nq rounded up to 16 of Q, P, S and
 * O are read and written too. attention.c's buffers hold BQ rows, a multiple of
 * 16, and never read those rows back; each output row depends only on its own
 * A row, so they cannot touch the rows that count.
 * Head dims that are not a multiple of 32 (qk) or 16 (pv) go to the
 * avx512bf16 pieces. Tile registers: 0-3 C, 4-5 A, 6-7 B. */
#include <string.h>
#include "kernels/amx.h"
#include "kernels/simd_avx512.h"

#define ROWS_MAX 48 /* attention.c's BQ: at most this many query rows per call */

static qk_fn qk_avx512bf16;
static pv_fn pv_avx512bf16;

/* S[i, 16b + l] = scale * sum_c Q[i,c] K[16b + l, c] for i < nq, b < nblk (a
 * multiple of 2: the driver's key tiles are whole 64s). */
static void qk_amx(const void *Qv, int ldq, int nq, const void *Kpv, int nblk, int d, float *S, int lds, float scale) {
    if (d % 32 || nblk % 2 || nq > ROWS_MAX) {
        qk_avx512bf16(Qv, ldq, nq, Kpv, nblk, d, S, lds, scale);
        return;
    }
    amx_tiles_configure();
    const bf16_t *Q = Qv, *Kp = Kpv;
    size_t sq = (size_t)ldq * sizeof(bf16_t), ss = (size_t)lds * sizeof(float), bs = (size_t)ATT_KB * d;
    for (int i = 0; i < nq; i += 32) {
        int two = nq - i > 16; /* a second 16-row tile */
        const bf16_t *q = Q + (size_t)i * ldq;
        for (int b = 0; b < nblk; b += 2) {
            const bf16_t *k = Kp + (size_t)b * bs;
            _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
            for (int c = 0; c < d; c += 32) {
                _tile_loadd(6, k + (size_t)c * ATT_KB, 64);
                _tile_loadd(7, k + bs + (size_t)c * ATT_KB, 64);
                _tile_loadd(4, q + c, sq);
                _tile_dpbf16ps(0, 4, 6);
                _tile_dpbf16ps(1, 4, 7);
                if (two) {
                    _tile_loadd(5, q + 16 * (size_t)ldq + c, sq);
                    _tile_dpbf16ps(2, 5, 6);
                    _tile_dpbf16ps(3, 5, 7);
                }
            }
            float *s = S + (size_t)i * lds + b * ATT_KB;
            _tile_stored(0, s, ss);
            _tile_stored(1, s + 16, ss);
            if (two) {
                _tile_stored(2, s + 16 * (size_t)lds, ss);
                _tile_stored(3, s + 16 * (size_t)lds + 16, ss);
            }
        }
    }
    AMX_BARRIER();
    __m512 sc = _mm512_set1_ps(scale);
    for (int i = 0; i < nq; i++)
        for (int j = 0; j < nblk * ATT_KB; j += 16) {
            float *s = S + (size_t)i * lds + j;
            _mm512_storeu_ps(s, _mm512_mul_ps(_mm512_loadu_ps(s), sc));
        }
}

/* O[i, c] += sum_{j < nkeys} P[i,j] V[j,c] for i < nq, c < d; nkeys even (the
 * driver's). A k tail of nkeys that is not a multiple of 32 takes P from a copy
 * whose columns past nkeys are zero: the V pair rows there are other keys. */
static void pv_amx(const void *Pv, int ldp, int nq, const void *Vv, size_t ldv, int nkeys, int d, float *O, int ldo) {
    if (d % 16 || nq > ROWS_MAX) {
        pv_avx512bf16(Pv, ldp, nq, Vv, ldv, nkeys, d, O, ldo);
        return;
    }
    amx_tiles_configure();
    const bf16_t *P = Pv, *V = Vv;
    int whole = nkeys / 32 * 32, tail = nkeys - whole, rows = (nq + 15) / 16 * 16;
    bf16_t ptail[ROWS_MAX * 32] __attribute__((aligned(64)));
    if (tail) {
        memset(ptail, 0, (size_t)rows * 32 * sizeof(bf16_t));
        for (int i = 0; i < rows; i++) memcpy(ptail + i * 32, P + (size_t)i * ldp + whole, (size_t)tail * sizeof(bf16_t));
    }
    AMX_BARRIER();
    size_t sp = (size_t)ldp * sizeof(bf16_t), sv = (size_t)4 * d, so = (size_t)ldo * sizeof(float);
    for (int i = 0; i < nq; i += 32) {
        int two = nq - i > 16;
        for (int c = 0; c < d; c += 32) {
            int twoc = d - c > 16; /* a second 16-dim tile */
            float *o = O + (size_t)i * ldo + c;
            _tile_loadd(0, o, so);
            if (twoc) _tile_loadd(1, o + 16, so);
            if (two) _tile_loadd(2, o + 16 * (size_t)ldo, so);
            if (two && twoc) _tile_loadd(3, o + 16 * (size_t)ldo + 16, so);
            for (int j = 0; j < nkeys; j += 32) {
                const bf16_t *v = V + (size_t)j * d + 2 * (size_t)c; /* pair row j/2: 2d elements */
                const bf16_t *p = j < whole ? P + (size_t)i * ldp + j : ptail + i * 32;
                size_t spj = j < whole ? sp : 32 * sizeof(bf16_t);
                _tile_loadd(4, p, spj);
                _tile_loadd(6, v, sv);
                _tile_dpbf16ps(0, 4, 6);
                if (twoc) {
                    _tile_loadd(7, v + 32, sv);
                    _tile_dpbf16ps(1, 4, 7);
                }
                if (two) {
                    _tile_loadd(5, p + 16 * (spj / sizeof(bf16_t)), spj);
                    _tile_dpbf16ps(2, 5, 6);
                    if (twoc) _tile_dpbf16ps(3, 5, 7);
                }
            }
            _tile_stored(0, o, so);
            if (twoc) _tile_stored(1, o + 16, so);
            if (two) _tile_stored(2, o + 16 * (size_t)ldo, so);
            if (two && twoc) _tile_stored(3, o + 16 * (size_t)ldo + 16, so);
        }
    }
    AMX_BARRIER();
    (void)ldv;
}

void kops_fill_attn_amx(kern_ops *o) {
    qk_avx512bf16 = o->qk[1]; /* filled by the avx512bf16 level just before */
    pv_avx512bf16 = o->pv[1];
    o->qk[1] = qk_amx;
    o->pv[1] = pv_amx;
}

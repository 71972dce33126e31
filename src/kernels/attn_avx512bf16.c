/* AVX512_BF16 attention tile pieces (bf16 precision; layouts: attention.c).
 * vdpbf16ps multiplies bf16 pairs: a broadcast pair of a query row (two head
 * dims) against 16 keys' same two dims, or a broadcast pair of probabilities
 * (two keys) against 16 head dims of those two keys' V rows. */
#include <string.h>
#include "kernels/simd_avx512.h"

#define MQ_MAX 6

AINL __m512bh bcast_pair(const bf16_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return (__m512bh)_mm512_set1_epi32(v);
}

/* S[i, 16x + l] = sum_c Q[i,c] K[16x + l, c], x < 4 (64 keys) */
AINL void qk_T(const int MQ, const bf16_t *Q, int ldq, const bf16_t *Kp, int d, float *S, int lds, __m512 sc) {
    __m512 acc[MQ_MAX][4];
    for (int i = 0; i < MQ; i++)
        for (int x = 0; x < 4; x++) acc[i][x] = _mm512_setzero_ps();
    const size_t bs = (size_t)ATT_KB * d;
    for (int c = 0; c < d; c += 2) {
        __m512bh k[4];
#pragma GCC unroll 4
        for (int x = 0; x < 4; x++) k[x] = (__m512bh)_mm512_loadu_si512(Kp + x * bs + (size_t)c * ATT_KB);
#pragma GCC unroll 6
        for (int i = 0; i < MQ; i++) {
            __m512bh q = bcast_pair(Q + (size_t)i * ldq + c);
#pragma GCC unroll 4
            for (int x = 0; x < 4; x++) acc[i][x] = _mm512_dpbf16_ps(acc[i][x], q, k[x]);
        }
    }
    for (int i = 0; i < MQ; i++)
        for (int x = 0; x < 4; x++) _mm512_storeu_ps(S + (size_t)i * lds + x * 16, _mm512_mul_ps(acc[i][x], sc));
}

static void qk_bf16(const void *Qv, int ldq, int nq, const void *Kpv, int nblk, int d, float *S, int lds, float scale) {
    __m512 sc = _mm512_set1_ps(scale);
    const bf16_t *Q = Qv, *Kp = Kpv;
    for (int i = 0; i < nq; i += MQ_MAX)
        for (int b = 0; b < nblk; b += 4) {
            const bf16_t *q = Q + (size_t)i * ldq, *k = Kp + (size_t)b * ATT_KB * d;
            float *s = S + (size_t)i * lds + b * ATT_KB;
            switch (nq - i < MQ_MAX ? nq - i : MQ_MAX) {
            case 1: qk_T(1, q, ldq, k, d, s, lds, sc); break;
            case 2: qk_T(2, q, ldq, k, d, s, lds, sc); break;
            case 3: qk_T(3, q, ldq, k, d, s, lds, sc); break;
            case 4: qk_T(4, q, ldq, k, d, s, lds, sc); break;
            case 5: qk_T(5, q, ldq, k, d, s, lds, sc); break;
            default: qk_T(6, q, ldq, k, d, s, lds, sc); break;
            }
        }
}

/* O[i, c0 + 16x + l] += sum_j P[i,j] V[j, c0 + 16x + l], x < nv <= 4; Vp at column c0 */
AINL void pv_T(const int MQ, const bf16_t *P, int ldp, const bf16_t *Vp, int d, int nkeys, int nv, float *O,
               int ldo) {
    __m512 acc[MQ_MAX][4];
#pragma GCC unroll 6
    for (int i = 0; i < MQ; i++)
#pragma GCC unroll 4
        for (int x = 0; x < 4; x++) acc[i][x] = x < nv ? _mm512_loadu_ps(O + (size_t)i * ldo + 16 * x) : _mm512_setzero_ps();
    for (int j = 0; j < nkeys; j += 2) {
        __m512bh v[4];
        const bf16_t *vr = Vp + (size_t)j * d;
#pragma GCC unroll 4
        for (int x = 0; x < 4; x++)
            v[x] = x < nv ? (__m512bh)_mm512_loadu_si512(vr + 32 * x) : (__m512bh)_mm512_setzero_si512();
#pragma GCC unroll 6
        for (int i = 0; i < MQ; i++) {
            __m512bh p = bcast_pair(P + (size_t)i * ldp + j);
#pragma GCC unroll 4
            for (int x = 0; x < 4; x++) acc[i][x] = _mm512_dpbf16_ps(acc[i][x], p, v[x]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < MQ; i++)
#pragma GCC unroll 4
        for (int x = 0; x < 4; x++)
            if (x < nv) _mm512_storeu_ps(O + (size_t)i * ldo + 16 * x, acc[i][x]);
}

/* nkeys is even (the driver works in whole 16-key blocks). */
static void pv_bf16(const void *Pv, int ldp, int nq, const void *Vv, size_t ldv, int nkeys, int d, float *O, int ldo) {
    (void)ldv;
    const bf16_t *P = Pv, *V = Vv;
    for (int i = 0; i < nq; i += MQ_MAX)
        for (int c = 0; c < d; c += 64) {
            int nv = (d - c) / 16 < 4 ? (d - c) / 16 : 4;
            const bf16_t *p = P + (size_t)i * ldp, *vp = V + 2 * (size_t)c;
            float *o = O + (size_t)i * ldo + c;
            switch (nq - i < MQ_MAX ? nq - i : MQ_MAX) {
            case 1: pv_T(1, p, ldp, vp, d, nkeys, nv, o, ldo); break;
            case 2: pv_T(2, p, ldp, vp, d, nkeys, nv, o, ldo); break;
            case 3: pv_T(3, p, ldp, vp, d, nkeys, nv, o, ldo); break;
            case 4: pv_T(4, p, ldp, vp, d, nkeys, nv, o, ldo); break;
            case 5: pv_T(5, p, ldp, vp, d, nkeys, nv, o, ldo); break;
            default: pv_T(6, p, ldp, vp, d, nkeys, nv, o, ldo); break;
            }
        }
}

/* Decode scores over the LM's bf16 cache in bf16 precision: vdpbf16ps straight on
 * the cached K rows (q holds bf16 values, so converting it is exact). Per head
 * and 16 keys: one accumulator per key over the head dims, one hsum16. The
 * AVX-512 version widened K to f32 through an L1 buffer first (twice the
 * products, plus the stores). Other cases go to that version. */
static void (*dot_rows_avx512)(const float *q, int G, const void *K, size_t ldk, dots_dtype kdt, int n, int d,
                               int rb, float scale, float *s, size_t lds);

static void dot_rows_bf16(const float *q, int G, const void *K, size_t ldk, dots_dtype kdt, int n, int d, int rb,
                          float scale, float *s, size_t lds) {
    if (kdt != DT_BF16 || !rb || d % 32 || d > 1024 || G > DEC_G) {
        dot_rows_avx512(q, G, K, ldk, kdt, n, d, rb, scale, s, lds);
        return;
    }
    bf16_t qb[DEC_G * 1024] __attribute__((aligned(64)));
    for (int i = 0; i < G * d; i += 16) _mm256_store_si256((__m256i *)(qb + i), cvt16_bf16(_mm512_loadu_ps(q + i)));
    const bf16_t *Kb = K;
    __m512 sc = _mm512_set1_ps(scale);
    for (int j0 = 0; j0 < n; j0 += 16) {
        int nj = n - j0 < 16 ? n - j0 : 16;
        const bf16_t *r0 = Kb + (size_t)j0 * ldk;
        size_t step[16]; /* row offsets; rows past n repeat row 0 (read, never stored) */
        for (int jj = 0; jj < 16; jj++) step[jj] = jj < nj ? (size_t)jj * ldk : 0;
        for (int g = 0; g < G; g++) {
            __m512 part[16];
            for (int jj = 0; jj < 16; jj++) part[jj] = _mm512_setzero_ps();
            for (int c = 0; c < d; c += 32) {
                __m512bh qv = (__m512bh)_mm512_load_si512(qb + (size_t)g * d + c);
#pragma GCC unroll 16
                for (int jj = 0; jj < 16; jj++)
                    part[jj] = _mm512_dpbf16_ps(part[jj], qv, (__m512bh)_mm512_loadu_si512(r0 + step[jj] + c));
            }
            _mm512_mask_storeu_ps(s + g * lds + j0, (__mmask16)((1u << nj) - 1), _mm512_mul_ps(hsum16(part), sc));
        }
    }
}

/* Decode P.V over the bf16 cache in bf16 precision: vdpbf16ps on pairs of keys.
 * unpacklo/hi_epi16 interleave two V rows within 128-bit lanes, so accumulator
 * lane order is permuted (lo: dims 8L..8L+3 of lane L, hi: 8L+4..8L+7); the
 * permutation is undone once per 64 dims at the end, not per key. */
static void (*axpy_rows_avx512)(const float *p, size_t ldp, int G, const void *V, size_t ldv, dots_dtype vdt, int n,
                                int d, int rb, float *acc);

#define AXPY_KEYS 512 /* p converted to bf16 pairs this many keys at a time */

AINL void axpy_bf16_T(const int G, const float *p, size_t ldp, const bf16_t *V, size_t ldv, int n, int d, float *acc) {
    bf16_t pb[DEC_G][AXPY_KEYS + 32] __attribute__((aligned(64)));
    const __m512i lo_idx = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
    const __m512i hi_idx = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
    for (int j0 = 0; j0 < n; j0 += AXPY_KEYS) {
        int nk = n - j0 < AXPY_KEYS ? n - j0 : AXPY_KEYS;
        for (int g = 0; g < G; g++) {
            for (int j = 0; j < nk; j += 16) {
                __mmask16 m = tailmask((size_t)(nk - j));
                _mm256_store_si256((__m256i *)(pb[g] + j), cvt16_bf16(_mm512_maskz_loadu_ps(m, p + g * ldp + j0 + j)));
            }
        }
        for (int c = 0; c < d; c += 64) {
            __m512 a[DEC_G][4];
            for (int g = 0; g < G; g++)
                for (int x = 0; x < 4; x++) a[g][x] = _mm512_setzero_ps();
            const bf16_t *v = V + (size_t)j0 * ldv + c;
            for (int j = 0; j < nk; j += 2, v += 2 * ldv) {
                __m512i r0a = _mm512_loadu_si512(v), r0b = _mm512_loadu_si512(v + 32);
                __m512i r1a = _mm512_setzero_si512(), r1b = r1a; /* odd count: the missing key has p = 0, v = 0 */
                if (j + 1 < nk) { r1a = _mm512_loadu_si512(v + ldv); r1b = _mm512_loadu_si512(v + ldv + 32); }
                __m512bh b[4] = {(__m512bh)_mm512_unpacklo_epi16(r0a, r1a), (__m512bh)_mm512_unpackhi_epi16(r0a, r1a),
                                 (__m512bh)_mm512_unpacklo_epi16(r0b, r1b), (__m512bh)_mm512_unpackhi_epi16(r0b, r1b)};
#pragma GCC unroll 6
                for (int g = 0; g < G; g++) {
                    __m512bh pp = bcast_pair(pb[g] + j);
#pragma GCC unroll 4
                    for (int x = 0; x < 4; x++) a[g][x] = _mm512_dpbf16_ps(a[g][x], pp, b[x]);
                }
            }
            for (int g = 0; g < G; g++)
                for (int h = 0; h < 2; h++) { /* 32 dims from the (lo, hi) pair 2h, 2h+1 */
                    float *o = acc + (size_t)g * d + c + 32 * h;
                    __m512 n0 = _mm512_permutex2var_ps(a[g][2 * h], lo_idx, a[g][2 * h + 1]);
                    __m512 n1 = _mm512_permutex2var_ps(a[g][2 * h], hi_idx, a[g][2 * h + 1]);
                    _mm512_storeu_ps(o, _mm512_add_ps(_mm512_loadu_ps(o), n0));
                    _mm512_storeu_ps(o + 16, _mm512_add_ps(_mm512_loadu_ps(o + 16), n1));
                }
        }
    }
}

static void axpy_rows_bf16(const float *p, size_t ldp, int G, const void *V, size_t ldv, dots_dtype vdt, int n, int d,
                           int rb, float *acc) {
    if (vdt != DT_BF16 || !rb || d % 64 || G < 1 || G > DEC_G) {
        axpy_rows_avx512(p, ldp, G, V, ldv, vdt, n, d, rb, acc);
        return;
    }
    switch (G) {
    case 1: axpy_bf16_T(1, p, ldp, V, ldv, n, d, acc); break;
    case 2: axpy_bf16_T(2, p, ldp, V, ldv, n, d, acc); break;
    case 3: axpy_bf16_T(3, p, ldp, V, ldv, n, d, acc); break;
    case 4: axpy_bf16_T(4, p, ldp, V, ldv, n, d, acc); break;
    case 5: axpy_bf16_T(5, p, ldp, V, ldv, n, d, acc); break;
    default: axpy_bf16_T(6, p, ldp, V, ldv, n, d, acc); break;
    }
}

void kops_fill_attn_avx512bf16(kern_ops *o) {
    o->qk[1] = qk_bf16;
    o->pv[1] = pv_bf16;
    dot_rows_avx512 = o->dot_rows; /* filled by the AVX-512 level just before */
    o->dot_rows = dot_rows_bf16;
    axpy_rows_avx512 = o->axpy_rows;
    o->axpy_rows = axpy_rows_bf16;
}

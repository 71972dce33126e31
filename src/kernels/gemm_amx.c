/* BF16 GEMM on AMX tiles (tdpbf16ps), the packed path of the amx level.
 *
 * One tdpbf16ps multiplies a 16 x 32 bf16 A tile by a 32 x 16 B tile into a
 * 16 x 16 f32 C tile: 8192 multiply-adds, 16 times a zmm vdpbf16ps. The kernel
 * keeps a 32 x 32 block of C in 4 tiles and, per 32 k, loads 2 A tiles (rows in
 * place, lda apart) and 2 B tiles. B comes from the avx512bf16 level's panel
 * pack unchanged: Bp[k/2][32] pairs of k is exactly AMX's B layout ("VNNI"
 * pairs), rows 128 bytes apart, the two 16-column halves 64 bytes apart.
 * C tiles are loaded from C (accumulate) or zeroed, and stored back to C.
 *
 * Blocks that are not whole tiles (mr < 32, nr < 32, or the k tail of a K that
 * is not a multiple of 32) go through zero-padded copies in the stack (A rows,
 * B rows, C), so no tile reads past A or Bp and every output row gets the same
 * bits wherever it sits in a call.
 *
 * Tile state is per thread: each thread loads the one configuration (8 tiles
 * of 16 rows x 64 bytes) on its first call and keeps it; the library does not
 * release it. Linux gives a process AMX only after arch_prctl(ARCH_REQ_XCOMP_PERM),
 * asked once by amx_bf16_usable(). */
#include <pthread.h>
#include <string.h>
#include "kernels/amx.h"
#include "kernels/simd_avx512.h"
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#include "kernels/cpu_x86.h"

#define AMR 32 /* A rows per call (2 tiles) */
#define ANR 32 /* columns per call (2 tiles); the packed sliver width */
#define AMX_KC 384 /* K chunk, rounded to whole 32-k steps by the driver: a 32-row A block (24 KB)
                     stays in L1 (768 measured 1.4x slower in a hot loop; 256-4224 end to end within 10%) */

typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_tilecfg;

static int g_amx_ok;
static pthread_once_t g_amx_once = PTHREAD_ONCE_INIT;

/* The CPU and OS side (cpu_x86.h), then Linux's permission for the process. */
static void amx_probe(void) {
    if (!cpu_has_amx_bf16()) return;
#if defined(__linux__)
    if (syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) != 0) return;
#else
    return; /* other OSes: not tried */
#endif
    g_amx_ok = 1;
}

int amx_bf16_usable(void) {
    pthread_once(&g_amx_once, amx_probe);
    return g_amx_ok;
}

static __thread int t_tiles_configured;

void amx_tiles_configure(void) {
    if (t_tiles_configured) return;
    amx_tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.rows[t] = 16;
        cfg.colsb[t] = 64;
    }
    AMX_BARRIER();
    _tile_loadconfig(&cfg);
    t_tiles_configured = 1;
}

/* The 4 C tiles (16 x 16 f32 each), ld bytes apart. */
#define TILES_C_LOAD(c, ld) \
    do { _tile_loadd(0, (c), (ld)); _tile_loadd(1, (c) + 16, (ld)); \
         _tile_loadd(2, (c) + 16 * ((ld) / 4), (ld)); _tile_loadd(3, (c) + 16 * ((ld) / 4) + 16, (ld)); } while (0)
#define TILES_C_STORE(c, ld) \
    do { _tile_stored(0, (c), (ld)); _tile_stored(1, (c) + 16, (ld)); \
         _tile_stored(2, (c) + 16 * ((ld) / 4), (ld)); _tile_stored(3, (c) + 16 * ((ld) / 4) + 16, (ld)); } while (0)

/* One 32-k step: A rows sa bytes apart (2 tiles), B 16 pair rows of 32 columns. */
AINL void step32(const bf16_t *a, size_t sa, const char *b) {
    _tile_loadd(4, a, sa);
    _tile_loadd(6, b, ANR * 4);
    _tile_loadd(7, b + 64, ANR * 4);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_loadd(5, (const char *)a + 16 * sa, sa);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
}

/* A step whose A rows (mr < 32) or k (kk < 32: the chunk's tail) are partial:
 * zero-padded copies of the A block and of the B rows, so each output gets the
 * products a whole tile gives it (the padding adds exact zeros). */
static void step_padded(const bf16_t *A, size_t lda, int mr, int kk, const char *b) {
    bf16_t at[AMR * 32] __attribute__((aligned(64)));
    uint32_t bt[16 * ANR] __attribute__((aligned(64)));
    memset(at, 0, sizeof at);
    for (int i = 0; i < mr; i++) memcpy(at + i * 32, A + (size_t)i * lda, (size_t)kk * sizeof(bf16_t));
    const char *bb = b;
    if (kk < 32) {
        int pairs = (kk + 1) / 2; /* an odd tail's last pair is (W, 0) from the pack */
        memset(bt, 0, sizeof bt);
        memcpy(bt, b, (size_t)pairs * ANR * 4);
        bb = (const char *)bt;
    }
    AMX_BARRIER();
    step32(at, 32 * sizeof(bf16_t), bb);
}

/* C[mr,nr] (= or +=) A[mr,kc] Bp (+ bias), mr <= 32, nr <= 32; see the top of the
 * file. Every output takes the same tile products whatever mr and nr are (the
 * row-exactness contract of kernels.h). */
static void amx_kernel(const float *Af, size_t lda, int mr, const float *Bpf, int kc, float *C, size_t ldc, int nr,
                       int accumulate, const float *bias, const char *pf, int npf) {
    (void)pf; (void)npf;
    amx_tiles_configure();
    const bf16_t *A = (const bf16_t *)Af;
    const char *Bp = (const char *)Bpf;
    int whole = mr == AMR && nr == ANR;
    float cbuf[AMR * ANR] __attribute__((aligned(64)));
    float *c = whole ? C : cbuf;
    size_t sc = (whole ? ldc : ANR) * sizeof(float);
    if (!whole) {
        memset(cbuf, 0, sizeof cbuf);
        if (accumulate)
            for (int i = 0; i < mr; i++) memcpy(cbuf + i * ANR, C + (size_t)i * ldc, (size_t)nr * sizeof(float));
    }
    AMX_BARRIER();
    if (accumulate || !whole) TILES_C_LOAD(c, sc);
    else { _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3); }
    int k = 0;
    if (mr == AMR)
        for (; k + 32 <= kc; k += 32) step32(A + k, lda * sizeof(bf16_t), Bp + (size_t)(k / 2) * ANR * 4);
    for (; k < kc; k += 32) step_padded(A + k, lda, mr, kc - k < 32 ? kc - k : 32, Bp + (size_t)(k / 2) * ANR * 4);
    TILES_C_STORE(c, sc);
    AMX_BARRIER();
    if (!whole)
        for (int i = 0; i < mr; i++) memcpy(C + (size_t)i * ldc, cbuf + i * ANR, (size_t)nr * sizeof(float));
    if (bias) {
        __mmask16 m0 = tailmask((size_t)nr), m1 = tailmask(nr > 16 ? (size_t)(nr - 16) : 0);
        __m512 b0 = _mm512_maskz_loadu_ps(m0, bias), b1 = _mm512_maskz_loadu_ps(m1, bias + 16);
        for (int i = 0; i < mr; i++) {
            float *ci = C + (size_t)i * ldc;
            _mm512_mask_storeu_ps(ci, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, ci), b0));
            _mm512_mask_storeu_ps(ci + 16, m1, _mm512_add_ps(_mm512_maskz_loadu_ps(m1, ci + 16), b1));
        }
    }
}

void kops_fill_amx(kern_ops *o) {
    /* on top of avx512bf16: its pack (the same layout) and, below PK16 min_m, its tiles */
    o->pk16 = (pk_ops){o->pk16.pack, amx_kernel, NULL, AMR, ANR, o->pk16.min_m, AMX_KC, 1};
    kops_fill_attn_amx(o);
    kops_fill_qpack_amx(o);
}

/* Per-thread scratch buffers for the kernel drivers: each OS thread keeps one
 * growable 64-byte aligned buffer per slot, so a call makes no allocation once
 * its sizes have been seen (decode runs ~200 linears per token), and two
 * callers on different threads never share a buffer. Buffers larger than
 * KEEP_BYTES are given back when the call is done (a 4096-patch vision
 * attention packs ~50 MB of K/V; one-off sizes should not stay resident).
 * Buffers are freed when their thread exits. */
#include <pthread.h>
#include <string.h>
#include "base/mem.h"
#include "kernels/kern_impl.h"

#define KEEP_BYTES ((size_t)32 << 20)

typedef struct { void *p[KS_COUNT]; size_t n[KS_COUNT]; int registered; } scratch_tls;

static _Thread_local scratch_tls g_tls;
static pthread_key_t g_key;
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;

static void free_tls(void *v) {
    scratch_tls *t = v;
    for (int s = 0; s < KS_COUNT; s++) { dots_free(t->p[s]); t->p[s] = NULL; t->n[s] = 0; }
}
static void make_key(void) { pthread_key_create(&g_key, free_tls); }

void *kern_scratch(kern_slot slot, size_t bytes) {
    scratch_tls *t = &g_tls;
    if (bytes == 0) bytes = 1;
    if (t->n[slot] >= bytes) return t->p[slot];
    if (!t->registered) { /* so the destructor frees this thread's buffers */
        pthread_once(&g_key_once, make_key);
        pthread_setspecific(g_key, t);
        t->registered = 1;
    }
    dots_free(t->p[slot]);
    size_t want = bytes + bytes / 4; /* headroom: sizes creep up with the KV cache */
    t->p[slot] = dots_alloc(want, "kernel scratch", NULL);
    t->n[slot] = t->p[slot] ? want : 0;
    return t->p[slot];
}

void kern_scratch_done(kern_slot slot) {
    scratch_tls *t = &g_tls;
    if (t->n[slot] > KEEP_BYTES) { dots_free(t->p[slot]); t->p[slot] = NULL; t->n[slot] = 0; }
}

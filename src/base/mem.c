#define _GNU_SOURCE
#include "base/mem.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void *dots_alloc(size_t bytes, const char *what, dots_error *e) {
    void *p = NULL;
    size_t n = (bytes + DOTS_ALIGN - 1) / DOTS_ALIGN * DOTS_ALIGN;
    if (n == 0) n = DOTS_ALIGN;
    if (n < bytes || posix_memalign(&p, DOTS_ALIGN, n) != 0 || !p) {
        dots_fail(e, DOTS_E_NOMEM, "out of memory allocating %zu bytes for %s; "
                  "lower dots_gen_opts.max_pixels or dots_engine_opts.threads", bytes, what ? what : "a buffer");
        return NULL;
    }
    return p;
}

void *dots_calloc(size_t bytes, const char *what, dots_error *e) {
    void *p = dots_alloc(bytes, what, e);
    if (p) memset(p, 0, bytes);
    return p;
}

void dots_free(void *p) { free(p); }

double dots_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static size_t status_field(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    size_t kb = 0, klen = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0) { kb = strtoull(line + klen, NULL, 10); break; }
    fclose(f);
    return kb * 1024;
}

size_t dots_peak_rss(void) { return status_field("VmHWM:"); }
size_t dots_current_rss(void) { return status_field("VmRSS:"); }

int dots_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

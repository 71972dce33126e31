#define _GNU_SOURCE
#include "base/mem.h"
#include <sched.h>
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

/* CPUs a container's CPU quota allows: ceil(quota / period) from cgroup v2's cpu.max
 * ("max 100000" when unlimited) or v1's cfs files; 0 when there is no limit. */
static int cgroup_cpu_limit(void) {
    long long quota = -1, period = 0;
    FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (f) {
        char q[32] = "";
        if (fscanf(f, "%31s %lld", q, &period) == 2 && strcmp(q, "max") != 0) quota = strtoll(q, NULL, 10);
        fclose(f);
    } else if ((f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "r"))) {
        if (fscanf(f, "%lld", &quota) != 1) quota = -1;
        fclose(f);
        if ((f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "r"))) {
            if (fscanf(f, "%lld", &period) != 1) period = 0;
            fclose(f);
        }
    }
    if (quota <= 0 || period <= 0) return 0;
    long long n = (quota + period - 1) / period;
    return n > 4096 ? 4096 : (int)n;
}

int dots_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) n = CPU_COUNT(&set);
    int limit = cgroup_cpu_limit();
    if (limit > 0 && limit < n) n = limit;
    return n < 1 ? 1 : (int)n;
}

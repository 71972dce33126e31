/* Aligned allocation that reports failure as an error, and process figures
 * (monotonic clock, peak resident memory) used by benchmarks and tests. */
#ifndef DOTS_MEM_H
#define DOTS_MEM_H
#include <stddef.h>
#include "base/error.h"

#define DOTS_ALIGN 64

/* 64-byte aligned; returns NULL and sets e (naming `what`) on failure. Free with dots_free. */
void *dots_alloc(size_t bytes, const char *what, dots_error *e);
void *dots_calloc(size_t bytes, const char *what, dots_error *e);
void dots_free(void *p);

/* Seconds from an arbitrary origin, monotonic. */
double dots_now(void);
/* Peak resident set size of this process in bytes (VmHWM), 0 if unknown. */
size_t dots_peak_rss(void);
/* Current resident set size in bytes (VmRSS), 0 if unknown. */
size_t dots_current_rss(void);
/* CPUs this process may use (>= 1): the online ones, narrowed by the affinity mask
 * (taskset, cpusets) and a cgroup CPU quota (docker --cpus). */
int dots_cpu_count(void);

#endif

/* Atomic output files, folders and output names (see outfile.h). */
#include "doc/outfile.h"
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

dots_status doc_path(char *buf, size_t size, dots_error *e, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size)
        return dots_fail(e, DOTS_E_ARG, "the output path %.200s... is longer than %zu bytes; use a shorter --out or "
                         "file name", buf, size - 1);
    return DOTS_OK;
}

dots_status doc_write_atomic(const char *path, const void *data, size_t n, dots_error *e) {
    char tmp[4200];
    dots_status st = doc_path(tmp, sizeof tmp, e, "%s.tmp.%ld", path, (long)getpid());
    if (st) return st;
    FILE *f = fopen(tmp, "wb");
    if (!f) return dots_fail(e, DOTS_E_IO, "%s: cannot create: %s", tmp, strerror(errno));
    int bad = n && fwrite(data, 1, n, f) != n;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) bad = 1;
    if (fclose(f) != 0) bad = 1;
    if (bad) {
        remove(tmp);
        return dots_fail(e, DOTS_E_IO, "%s: write error (disk full?)", path);
    }
    if (rename(tmp, path) != 0) {
        int err = errno;
        remove(tmp);
        return dots_fail(e, DOTS_E_IO, "%s: cannot replace it: %s", path, strerror(err));
    }
    return DOTS_OK;
}

dots_status doc_mkdirs(const char *path, dots_error *e) {
    char buf[4096];
    dots_status st = doc_path(buf, sizeof buf, e, "%s", path);
    if (st) return st;
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return dots_fail(e, DOTS_E_IO, "%s: cannot create the folder: %s", buf, strerror(errno));
            *p = c;
            if (!c) break;
        }
    }
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) return dots_fail(e, DOTS_E_IO, "%s: not a folder", path);
    return DOTS_OK;
}

/* FNV-1a 32 of the absolute path (the path as given when it cannot be resolved). */
static uint32_t path_hash(const char *p) {
    char abs[PATH_MAX];
    const char *s = realpath(p, abs) ? abs : p;
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static char *stem_of(const char *path, int with_ext) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char *s = strdup(base);
    if (!s) return NULL;
    char *dot = strrchr(s, '.');
    if (dot && dot != s) {
        if (with_ext) {
            *dot = '_';
            for (char *q = dot + 1; *q; q++) *q = (char)tolower((unsigned char)*q);
        } else {
            *dot = 0;
        }
    }
    return s;
}

/* Which names[i] are shared with another entry. */
static void mark_dups(char **names, int n, unsigned char *dup) {
    memset(dup, 0, (size_t)n);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (!strcmp(names[i], names[j])) dup[i] = dup[j] = 1;
}

dots_status doc_output_names(const char *const *inputs, int n, char **names, dots_error *e) {
    unsigned char *dup = malloc((size_t)(n > 0 ? n : 1));
    if (!dup) return dots_fail(e, DOTS_E_NOMEM, "out of memory naming %d inputs", n);
    dots_status st = DOTS_OK;
    for (int i = 0; i < n; i++) names[i] = NULL;
    for (int i = 0; i < n && !st; i++)
        if (!(names[i] = stem_of(inputs[i], 0))) st = DOTS_E_NOMEM;
    for (int pass = 1; pass <= 2 && !st; pass++) {
        mark_dups(names, n, dup);
        for (int i = 0; i < n && !st; i++) {
            if (!dup[i]) continue;
            char *s = stem_of(inputs[i], 1), *t = NULL;
            if (s && pass == 2 && (t = malloc(strlen(s) + 10))) sprintf(t, "%s_%08x", s, (unsigned)path_hash(inputs[i]));
            if (pass == 2) { free(s); s = t; }
            if (!s) { st = DOTS_E_NOMEM; break; }
            free(names[i]);
            names[i] = s;
        }
    }
    free(dup);
    if (st) {
        for (int i = 0; i < n; i++) { free(names[i]); names[i] = NULL; }
        return dots_fail(e, DOTS_E_NOMEM, "out of memory naming %d inputs", n);
    }
    return DOTS_OK;
}

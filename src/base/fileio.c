#include "base/fileio.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/buf.h"

dots_status read_file(const char *path, size_t max_bytes, char **out, size_t *len, dots_error *e) {
    *out = NULL;
    if (len) *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return dots_fail(e, DOTS_E_IO, "%s: cannot open: %s", path, strerror(errno));
    dots_buf b = {0};
    dots_status st = DOTS_OK;
    for (;;) {
        size_t chunk = b.n < 65536 ? 65536 : b.n; /* doubles the buffer each round */
        if (!dots_buf_reserve(&b, chunk)) { st = dots_fail(e, DOTS_E_NOMEM, "%s: out of memory reading the file", path); break; }
        size_t got = fread(b.p + b.n, 1, b.cap - 1 - b.n, f);
        b.n += got;
        if (b.n > max_bytes) { st = dots_fail(e, DOTS_E_LIMIT, "%s: larger than %zu bytes", path, max_bytes); break; }
        if (got == 0) {
            if (ferror(f)) st = dots_fail(e, DOTS_E_IO, "%s: read error: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st) { dots_buf_free(&b); return st; }
    size_t n = b.n;
    char *data = dots_buf_take(&b); /* NUL-terminated by reserve's extra byte */
    data[n] = 0;
    *out = data;
    if (len) *len = n;
    return DOTS_OK;
}

dots_status map_file(const char *path, size_t min_size, const char *kind, const char *short_why, void **map,
                     size_t *size, dots_error *e) {
    *map = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return dots_fail(e, DOTS_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return dots_fail(e, DOTS_E_IO, "%s: not a regular file", path);
    }
    size_t n = (size_t)sb.st_size;
    if (n < min_size) {
        close(fd);
        return dots_fail(e, DOTS_E_FORMAT, "%s: not a %s file: %zu bytes, %s", path, kind, n, short_why);
    }
    void *m = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return dots_fail(e, DOTS_E_IO, "%s: cannot map %zu bytes: %s", path, n, strerror(errno));
    *map = m;
    *size = n;
    return DOTS_OK;
}

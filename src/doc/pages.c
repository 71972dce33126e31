#include "doc/pages.h"
#include <ctype.h>
#include <limits.h>
#include <string.h>

static int read_num(const char **p, long *v) {
    if (!isdigit((unsigned char)**p)) return 0;
    long x = 0;
    while (isdigit((unsigned char)**p)) {
        if (x > INT_MAX / 10) return 0;
        x = x * 10 + (*(*p)++ - '0');
    }
    *v = x;
    return 1;
}

/* n_pages < 0: syntax only. */
static dots_status walk(const char *spec, int n_pages, unsigned char *sel, int *n_sel, dots_error *e) {
    const char *p = spec;
    int count = 0;
    if (sel && n_pages > 0) memset(sel, 0, (size_t)n_pages);
    if (!spec || !*spec) {
        for (int i = 0; i < n_pages; i++) sel[i] = 1;
        if (n_sel) *n_sel = n_pages > 0 ? n_pages : 0;
        return DOTS_OK;
    }
    while (*p) {
        const char *item = p;
        long a, b;
        while (*p == ' ') p++;
        if (!read_num(&p, &a) || a < 1)
            return dots_fail(e, DOTS_E_ARG, "--pages '%s': expected a page number (from 1) at '%s'", spec, item);
        b = a;
        if (*p == '-') {
            p++;
            if (*p == ',' || *p == 0 || *p == ' ') b = n_pages < 0 ? LONG_MAX : n_pages; /* open range */
            else if (!read_num(&p, &b) || b < a)
                return dots_fail(e, DOTS_E_ARG, "--pages '%s': bad range at '%s' (use A-B with A <= B)", spec, item);
        }
        while (*p == ' ') p++;
        if (*p == ',') { p++; if (!*p) return dots_fail(e, DOTS_E_ARG, "--pages '%s': trailing comma", spec); }
        else if (*p) return dots_fail(e, DOTS_E_ARG, "--pages '%s': unexpected '%c' (use e.g. 1-3,7)", spec, *p);
        if (n_pages >= 0) {
            if (a > n_pages)
                return dots_fail(e, DOTS_E_ARG, "--pages '%s': page %ld is beyond the document's %d page%s", spec, a,
                                 n_pages, n_pages == 1 ? "" : "s");
            if (b > n_pages)
                return dots_fail(e, DOTS_E_ARG, "--pages '%s': page %ld is beyond the document's %d page%s", spec, b,
                                 n_pages, n_pages == 1 ? "" : "s");
            for (long i = a; i <= b; i++)
                if (!sel[i - 1]) { sel[i - 1] = 1; count++; }
        }
    }
    if (n_sel) *n_sel = count;
    return DOTS_OK;
}

dots_status doc_pages_check(const char *spec, dots_error *e) { return walk(spec, -1, NULL, NULL, e); }

dots_status doc_pages_select(const char *spec, int n_pages, unsigned char *sel, int *n_sel, dots_error *e) {
    return walk(spec, n_pages, sel, n_sel, e);
}

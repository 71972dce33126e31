/* SVG extraction (see svg.h). */
#include "doc/svg.h"
#include <stdlib.h>
#include <string.h>

/* The last occurrence of needle in hay at or after from, or NULL. */
static const char *last_of(const char *from, const char *needle) {
    const char *last = NULL;
    for (const char *p = strstr(from, needle); p; p = strstr(p + 1, needle)) last = p;
    return last;
}

char *doc_svg_extract(const char *text) {
    if (!text) return NULL;
    const char *a = strstr(text, "<svg");
    /* "<svg" must start an element: "<svgfoo" is not it */
    while (a && !(a[4] == ' ' || a[4] == '>' || a[4] == '\n' || a[4] == '\t' || a[4] == '\r' || a[4] == '/'))
        a = strstr(a + 1, "<svg");
    if (!a) return NULL;
    const char *z = last_of(a, "</svg>");
    if (!z) return NULL;
    z += 6;
    const char *x = strstr(text, "<?xml");  /* keep a declaration that directly precedes the element */
    if (x && x < a) {
        const char *xe = strstr(x, "?>");
        const char *p = xe ? xe + 2 : NULL;
        while (p && p < a && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
        if (p == a) a = x;
    }
    size_t n = (size_t)(z - a);
    char *s = malloc(n + 1);
    if (!s) return NULL;
    memcpy(s, a, n);
    s[n] = 0;
    return s;
}

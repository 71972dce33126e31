#define _GNU_SOURCE /* memmem */
#include "server/multipart.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Copies the value of `key=` (quoted or a token) from a header's parameters into out. */
static int header_param(const char *h, size_t hn, const char *key, char *out, size_t cap) {
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl + 1 <= hn; i++) {
        int at_start = i == 0 || h[i - 1] == ';' || h[i - 1] == ' ' || h[i - 1] == '\t';
        if (!at_start || strncasecmp(h + i, key, kl) || h[i + kl] != '=') continue;
        size_t j = i + kl + 1, k = 0;
        int quoted = j < hn && h[j] == '"';
        if (quoted) j++;
        for (; j < hn; j++) {
            char c = h[j];
            if (quoted && c == '\\' && j + 1 < hn) c = h[++j];
            else if (quoted ? c == '"' : (c == ';' || c == ' ' || c == '\t' || c == '\r')) break;
            if (k + 1 >= cap) return -1;
            out[k++] = c;
        }
        out[k] = 0;
        return 1;
    }
    return 0;
}

/* Parses one part's header block h[0..hn) (lines separated by CRLF). */
static dots_status part_headers(const char *h, size_t hn, size_t off, srv_part *p, dots_error *e) {
    size_t i = 0;
    while (i < hn) {
        const char *eol = memmem(h + i, hn - i, "\r\n", 2);
        size_t ln = eol ? (size_t)(eol - (h + i)) : hn - i;
        const char *line = h + i;
        const char *colon = memchr(line, ':', ln);
        if (!colon) return dots_fail(e, DOTS_E_FORMAT, "multipart body: a part header at byte %zu has no ':'", off + i);
        size_t name_n = (size_t)(colon - line), vi = name_n + 1;
        while (vi < ln && (line[vi] == ' ' || line[vi] == '\t')) vi++;
        if (name_n == 19 && !strncasecmp(line, "Content-Disposition", 19)) {
            if (header_param(line + vi, ln - vi, "name", p->name, sizeof p->name) < 0 ||
                header_param(line + vi, ln - vi, "filename", p->filename, sizeof p->filename) < 0)
                return dots_fail(e, DOTS_E_FORMAT, "multipart body: a name or filename at byte %zu is too long", off + i);
        } else if (name_n == 12 && !strncasecmp(line, "Content-Type", 12)) {
            size_t vn = ln - vi;
            if (vn >= sizeof p->content_type) vn = sizeof p->content_type - 1;
            memcpy(p->content_type, line + vi, vn);
            p->content_type[vn] = 0;
        }
        i += ln + 2;
    }
    return DOTS_OK;
}

static dots_status boundary_of(const char *ct, char *b, size_t cap, dots_error *e) {
    if (!ct || strncasecmp(ct, "multipart/form-data", 19))
        return dots_fail(e, DOTS_E_FORMAT, "Content-Type '%s' is not multipart/form-data", ct ? ct : "");
    int r = header_param(ct, strlen(ct), "boundary", b + 2, cap - 2);
    if (r <= 0 || !b[2])
        return dots_fail(e, DOTS_E_FORMAT, "Content-Type multipart/form-data has %s boundary parameter",
                         r < 0 ? "a too long" : "no");
    b[0] = b[1] = '-';
    return DOTS_OK;
}

dots_status srv_multipart_parse(const char *content_type, const unsigned char *body, size_t n, srv_part *parts,
                                int *n_parts, dots_error *e) {
    *n_parts = 0;
    char delim[2 + 2 + 72 + 1] = "\r\n"; /* CRLF "--" boundary: RFC 2046 caps a boundary at 70 characters */
    dots_status st = boundary_of(content_type, delim + 2, sizeof delim - 2, e);
    if (st) return st;
    const char *s = (const char *)body, *dl = delim + 2; /* the first delimiter may open the body */
    size_t dn = strlen(dl), pos;
    if (n >= dn && !memcmp(s, dl, dn)) pos = dn;
    else {
        const char *f = memmem(s, n, delim, dn + 2);
        if (!f) return dots_fail(e, DOTS_E_FORMAT, "multipart body: the boundary '%s' never occurs", dl + 2);
        pos = (size_t)(f - s) + dn + 2;
    }
    for (;;) {
        if (pos + 2 <= n && s[pos] == '-' && s[pos + 1] == '-') return DOTS_OK; /* close delimiter */
        while (pos < n && (s[pos] == ' ' || s[pos] == '\t')) pos++;
        if (pos + 2 > n || s[pos] != '\r' || s[pos + 1] != '\n')
            return dots_fail(e, DOTS_E_FORMAT, "multipart body: expected CRLF after the boundary at byte %zu", pos);
        pos += 2;
        if (*n_parts == SRV_MULTIPART_MAX_PARTS)
            return dots_fail(e, DOTS_E_LIMIT, "multipart body: more than %d parts", SRV_MULTIPART_MAX_PARTS);
        srv_part *p = &parts[*n_parts];
        memset(p, 0, sizeof *p);
        const char *hend = pos + 2 <= n && s[pos] == '\r' && s[pos + 1] == '\n' ? s + pos
                           : memmem(s + pos, n - pos, "\r\n\r\n", 4);
        if (!hend) return dots_fail(e, DOTS_E_FORMAT, "multipart body: the part at byte %zu has no end of headers", pos);
        size_t hn = (size_t)(hend - (s + pos));
        if ((st = part_headers(s + pos, hn, pos, p, e))) return st;
        pos += hn + (hn ? 4 : 2);
        const char *next = pos <= n ? memmem(s + pos, n - pos, delim, dn + 2) : NULL;
        if (!next)
            return dots_fail(e, DOTS_E_FORMAT, "multipart body: the part starting at byte %zu is not closed by the boundary "
                             "(truncated upload?)", pos);
        p->data = body + pos;
        p->size = (size_t)(next - (s + pos));
        (*n_parts)++;
        pos = (size_t)(next - s) + dn + 2;
    }
}

const srv_part *srv_multipart_find(const srv_part *parts, int n_parts, const char *name) {
    for (int i = 0; i < n_parts; i++)
        if (!strcmp(parts[i].name, name)) return &parts[i];
    return NULL;
}

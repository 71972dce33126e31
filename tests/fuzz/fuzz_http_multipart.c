/* libFuzzer harness: the multipart/form-data parser. The first input line is the
 * boundary (so the fuzzer explores both), the rest the body; parts must lie inside it.
 * Build (clang): clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
 *   tests/fuzz/fuzz_http_multipart.c src/server/multipart.c src/base/error.c -o fuzz_http_multipart */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nl = memchr(data, '\n', size < 80 ? size : 80);
    if (!nl) return 0;
    char ct[128];
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%.*s", (int)(nl - data), (const char *)data);
    const uint8_t *body = nl + 1;
    size_t n = size - (size_t)(body - data);
    srv_part parts[SRV_MULTIPART_MAX_PARTS];
    int np = 0;
    dots_error e = {0};
    if (srv_multipart_parse(ct, body, n, parts, &np, &e) == DOTS_OK) {
        if (np < 0 || np > SRV_MULTIPART_MAX_PARTS) abort();
        for (int i = 0; i < np; i++)
            if (parts[i].data < body || parts[i].data + parts[i].size > body + n) abort();
    } else if (!e.msg[0]) {
        abort();
    }
    return 0;
}

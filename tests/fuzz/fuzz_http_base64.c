/* libFuzzer harness: base64 decoding of data: URLs. A success must round-trip through
 * the independent encoder (doc_base64) up to whitespace and optional padding.
 * Build (clang): clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
 *   tests/fuzz/fuzz_http_base64.c src/server/base64.c src/doc/png.c src/base/error.c \
 *   $(pkg-config --cflags --libs libpng) -o fuzz_http_base64 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "doc/png.h"
#include "server/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned char *out = NULL;
    size_t n = 0;
    dots_error e = {0};
    if (srv_base64_decode((const char *)data, size, "fuzz", &out, &n, &e) != DOTS_OK) {
        if (!e.msg[0] || out) abort();
        return 0;
    }
    char *again = doc_base64(out, n);
    unsigned char *back = NULL;
    size_t bn = 0;
    if (!again || srv_base64_decode(again, strlen(again), "again", &back, &bn, &e) != DOTS_OK || bn != n ||
        memcmp(back, out, n))
        abort();
    free(back);
    free(again);
    free(out);
    return 0;
}

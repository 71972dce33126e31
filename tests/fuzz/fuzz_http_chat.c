/* libFuzzer harness: the OpenAI chat-request parser (JSON, data URLs, base64, image
 * decoding) on arbitrary bodies. Every input must either parse into a consistent
 * request or fail with a message and the field at fault.
 * Build (clang): clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
 *   tests/fuzz/fuzz_http_chat.c src/server/chat.c src/server/base64.c src/doc/strutil.c \
 *   src/base/error.c src/base/mem.c src/image/decode*.c \
 *   $(pkg-config --cflags --libs json-c libpng libjpeg) -lm -o fuzz_http_chat */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "server/chat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    srv_chat_limits lim = {4000000, 256};
    srv_chat_request r;
    dots_error e = {0};
    char param[160];
    dots_status st = srv_chat_parse((const char *)data, size, &lim, &r, param, sizeof param, &e);
    if (st == DOTS_OK) {
        if (!r.user_text || r.n_images > SRV_MAX_IMAGES || r.max_tokens < 1 || r.max_tokens > 256) abort();
        srv_chat_request_free(&r);
    } else if (!e.msg[0] || (!param[0] && st != DOTS_E_NOMEM)) {
        abort();
    }
    return 0;
}

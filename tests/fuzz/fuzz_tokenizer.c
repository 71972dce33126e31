/* libFuzzer: tokenizer.json loaded from memory; a loaded one also encodes and decodes a text. */
#include <stdlib.h>
#include <string.h>
#include "text/tokenizer.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    dots_tokenizer *t = NULL;
    dots_error e;
    if (tok_load_mem("tokenizer.json", (const char *)data, size, &t, &e) != DOTS_OK) return 0;
    static const char text[] = "Hello world 123 <|imgpad|> caf\xc3\xa9  \n\n table";
    int *ids = NULL;
    size_t n = 0;
    if (tok_encode(t, text, sizeof text - 1, &ids, &n, &e) == DOTS_OK) {
        char *out = NULL;
        if (tok_decode(t, ids, n, 1, &out, &e) == DOTS_OK) free(out);
        free(ids);
    }
    tok_free(t);
    return 0;
}

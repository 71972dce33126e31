/* libFuzzer harness for the GGUF reader: clang -fsanitize=fuzzer,address
 * -Iinclude -Isrc tests/fuzz/fuzz_gguf.c src/io/gguf.c src/base/dtype.c src/base/error.c */
#include <stddef.h>
#include <stdint.h>
#include "io/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gguf_file *f = NULL;
    dots_error e = {0};
    if (gguf_parse(data, size, "fuzz.gguf", &f, &e) == DOTS_OK) {
        for (int64_t i = 0; i < f->n_kv; i++) { /* touch every string of every array */
            const gguf_kv *kv = &f->kv[i];
            uint64_t len;
            if (kv->type == GGUF_ARRAY && kv->elem_type == GGUF_STRING)
                for (uint64_t k = 0; k < kv->n; k++) (void)gguf_arr_str(kv, k, &len);
        }
        gguf_close(f);
    }
    return 0;
}

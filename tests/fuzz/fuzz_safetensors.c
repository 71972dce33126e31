/* libFuzzer: a safetensors file (8-byte length, JSON header, data) parsed from memory. */
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    st_file *f = NULL;
    dots_error e;
    if (st_parse(data, size, "fuzz.safetensors", &f, &e) == DOTS_OK) {
        for (int i = 0; i < f->n; i++) (void)st_find(f, f->tensors[i].name);
        st_close(f);
    }
    return 0;
}

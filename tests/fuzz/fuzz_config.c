/* libFuzzer: config.json (with the same bytes as generation and preprocessor config). */
#include <stdlib.h>
#include <string.h>
#include "io/config.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    dots_config c;
    dots_error e;
    config_parse("config.json", s, NULL, NULL, &c, &e);
    config_parse("config.json", s, s, s, &c, &e);
    free(s);
    return 0;
}

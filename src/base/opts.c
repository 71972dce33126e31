/* One copy-in for the public option structs (see opts.h). */
#include "base/opts.h"
#include <string.h>
#include "base/error.h"

dots_status opts_take(void *dst, size_t dst_size, const void *src, const char *name, dots_error *e) {
    size_t given;
    memcpy(&given, src, sizeof given);
    if (given < sizeof(size_t) || given > dst_size)
        return dots_fail(e, DOTS_E_ARG, "%s: struct_size %zu is not that of any version (this one is %zu); "
                         "fill it with %s_init", name, given, dst_size, name);
    memcpy(dst, src, given);
    memcpy(dst, &dst_size, sizeof dst_size);
    return DOTS_OK;
}

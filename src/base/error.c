#include "base/error.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *dots_status_name(dots_status s) {
    switch (s) {
    case DOTS_OK: return "ok";
    case DOTS_E_ARG: return "argument";
    case DOTS_E_IO: return "io";
    case DOTS_E_FORMAT: return "format";
    case DOTS_E_MODEL: return "model";
    case DOTS_E_NOMEM: return "out-of-memory";
    case DOTS_E_UNSUPPORTED: return "unsupported";
    case DOTS_E_LIMIT: return "limit";
    case DOTS_E_INTERRUPTED: return "interrupted";
    case DOTS_E_INTERNAL: return "internal";
    }
    return "unknown";
}

/* The code of this thread's last failure, for callers that passed no dots_error: dots_context
 * then still returns the real code (a missing file stays DOTS_E_IO, not "internal"). */
static _Thread_local dots_status t_last_code = DOTS_OK;

dots_status dots_fail(dots_error *e, dots_status code, const char *fmt, ...) {
    t_last_code = code;
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        if (vsnprintf(e->msg, sizeof e->msg, fmt, ap) >= (int)sizeof e->msg)
            memcpy(e->msg + sizeof e->msg - 4, "...", 4);
        va_end(ap);
        e->code = code;
    }
    return code;
}

dots_status dots_context(dots_error *e, const char *fmt, ...) {
    if (!e) return t_last_code != DOTS_OK ? t_last_code : DOTS_E_INTERNAL;
    char prefix[512], old[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    if (snprintf(e->msg, sizeof e->msg, "%s: %s", prefix, old) >= (int)sizeof e->msg)
        memcpy(e->msg + sizeof e->msg - 4, "...", 4); /* show that the message was cut */
    return e->code;
}

void dots_error_clear(dots_error *e) {
    if (e) { e->code = DOTS_OK; e->msg[0] = 0; }
}

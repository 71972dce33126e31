/* dotsocr — public C API.
 *
 * Every fallible call returns a dots_status and fills a caller-owned
 * dots_error with a message that names the file, tensor, field or offset at
 * fault and says what to do. Handles are opaque. */
#ifndef DOTSOCR_H
#define DOTSOCR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DOTSOCR_VERSION "0.1.0"

typedef enum dots_status {
    DOTS_OK = 0,
    DOTS_E_ARG,          /* bad argument or flag */
    DOTS_E_IO,           /* a file could not be opened, read or written */
    DOTS_E_FORMAT,       /* a file is malformed (JSON, safetensors, image, PDF) */
    DOTS_E_MODEL,        /* checkpoint inconsistent with its config */
    DOTS_E_NOMEM,        /* an allocation failed */
    DOTS_E_UNSUPPORTED,  /* valid input we do not handle (say which) */
    DOTS_E_LIMIT,        /* a configured limit was exceeded (pixels, context) */
    DOTS_E_INTERRUPTED,  /* stopped by the user */
    DOTS_E_INTERNAL      /* a bug: please report */
} dots_status;

typedef struct dots_error {
    dots_status code;
    char msg[2048];
} dots_error;

/* Short stable name of a status, e.g. "format". */
const char *dots_status_name(dots_status s);

#ifdef __cplusplus
}
#endif
#endif

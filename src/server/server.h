/* dotsocr serve: an OpenAI-compatible HTTP server (libmicrohttpd) over one engine. */
#ifndef DOTS_SERVER_H
#define DOTS_SERVER_H
#include <signal.h>
#include "base/error.h"

typedef struct dots_server_opts {
    const char *model_dir;
    const char *host;            /* NULL: 127.0.0.1 (loopback only) */
    int port;                    /* 0: any free port (printed when listening) */
    const char *api_key;         /* NULL: no key; else "Authorization: Bearer KEY" on /v1/... */
    long long max_body_bytes;    /* <= 0: 64 MiB */
    long long max_pixels;        /* decoded pixels per request; <= 0: 50 million */
    int max_tokens;              /* cap on new tokens per request; <= 0: 16384 */
    double timeout_s;            /* per request, queue wait included; <= 0: 600 */
    int queue;                   /* requests that may wait for the engine; <= 0: 16 */
    int threads, max_context;    /* engine options (0: defaults) */
} dots_server_opts;

/* Opens the engine, listens, serves until *stop becomes non-zero, then shuts down
 * cleanly (waiting requests get 503). Prints "dotsocr: listening on http://HOST:PORT"
 * to stderr once it accepts connections. */
dots_status dots_server_run(const dots_server_opts *opts, volatile sig_atomic_t *stop, dots_error *e);

#endif

/* dotsocr serve: flags -> dots_server_opts; the server itself is src/server/. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#if DOTS_WITH_SERVER
#include "server/server.h"

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static void usage(FILE *f) {
    fprintf(f,
            "usage: dotsocr serve --model DIR [options]\n"
            "An OpenAI-compatible server: POST /v1/chat/completions, POST /v1/parse, GET /v1/models, /health, /metrics.\n"
            "  --model DIR        dots.ocr / dots.mocr Hugging Face folder\n"
            "  --host H           address to listen on (default 127.0.0.1: this machine only)\n"
            "  --port N           TCP port (default 8000; 0: any free port, printed at start)\n"
            "  --api-key KEY      require 'Authorization: Bearer KEY' on /v1/... (default: none)\n"
            "  --max-body-mb N    largest request body in MiB (default 64)\n"
            "  --max-pixels N     decoded pixels per request, all images together (default 50000000)\n"
            "  --max-tokens N     new tokens per request at most; larger requests are lowered to it (default 16384)\n"
            "  --timeout S        seconds per request, waiting included (default 600)\n"
            "  --queue N          requests that may wait for the engine; more get 429 (default 16)\n"
            "  --threads N        compute threads (default: one per core)\n"
            "  --max-context N    context limit in tokens (default: the model's)\n");
}

int cmd_serve(int argc, char **argv) {
    dots_server_opts o = {0};
    o.port = 8000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long l;
        double d;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        if (!(v = cli_value(argc, argv, i))) return 2;
        i++;
        if (!strcmp(a, "--model")) o.model_dir = v;
        else if (!strcmp(a, "--host")) o.host = v;
        else if (!strcmp(a, "--api-key")) o.api_key = v;
        else if (!strcmp(a, "--port")) { if (!cli_int(a, v, 0, 65535, &l)) return 2; o.port = (int)l; }
        else if (!strcmp(a, "--max-body-mb")) { if (!cli_int(a, v, 1, 1 << 16, &l)) return 2; o.max_body_bytes = (long long)l << 20; }
        else if (!strcmp(a, "--max-pixels")) { if (!cli_int(a, v, 1, 1L << 40, &l)) return 2; o.max_pixels = l; }
        else if (!strcmp(a, "--max-tokens")) { if (!cli_int(a, v, 1, 1 << 30, &l)) return 2; o.max_tokens = (int)l; }
        else if (!strcmp(a, "--timeout")) { if (!cli_double(a, v, 0.001, 1e7, &d)) return 2; o.timeout_s = d; }
        else if (!strcmp(a, "--queue")) { if (!cli_int(a, v, 1, 1 << 16, &l)) return 2; o.queue = (int)l; }
        else if (!strcmp(a, "--threads")) { if (!cli_int(a, v, 0, 1024, &l)) return 2; o.threads = (int)l; }
        else if (!strcmp(a, "--max-context")) { if (!cli_int(a, v, 1, 1 << 30, &l)) return 2; o.max_context = (int)l; }
        else { fprintf(stderr, "dotsocr: unknown option '%s' (see dotsocr serve --help)\n", a); return 2; }
    }
    if (!o.model_dir) { fprintf(stderr, "dotsocr: serve needs --model DIR\n"); return 2; }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN); /* a client that goes away must not end the server */
    dots_error e = {0};
    return dots_server_run(&o, &g_stop, &e) ? cli_report(&e) : 0;
}
#else
int cmd_serve(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "dotsocr: this build has no server (configure with -DDOTS_WITH_SERVER=ON and libmicrohttpd-dev)\n");
    return 2;
}
#endif

/* The OpenAI chat-completions request: JSON body -> what dots_generate needs. */
#ifndef DOTS_SERVER_CHAT_H
#define DOTS_SERVER_CHAT_H
#include <stddef.h>
#include <stdint.h>
#include "base/error.h"

#define SRV_MAX_STOP 4
#define SRV_MAX_IMAGES 16

typedef struct srv_chat_limits {
    long long max_pixels;  /* decoded pixels, all images of the request together */
    int max_tokens;        /* a larger max_tokens is lowered to this */
} srv_chat_limits;

typedef struct srv_chat_request {
    char *model;           /* as sent (echoed in the answer) */
    char *system;          /* system/developer messages joined, or NULL */
    char *user_text;       /* the user turn's text, the image markers taken out */
    dots_image images[SRV_MAX_IMAGES];
    int n_images;
    int max_tokens;        /* >= 1 (the limit if the request gave none) */
    float temperature, top_p;
    uint64_t seed;
    int has_seed;
    char *stop[SRV_MAX_STOP];
    int n_stop;
    int stream, include_usage;
} srv_chat_request;

/* Parses and checks the body; decodes the images (data: URLs only). On failure the
 * error says what is wrong and *param names the offending field (a static string or
 * one inside param_buf) for OpenAI's error JSON. */
dots_status srv_chat_parse(const char *body, size_t n, const srv_chat_limits *lim, srv_chat_request *out,
                           char *param_buf, size_t param_cap, dots_error *e);
void srv_chat_request_free(srv_chat_request *r);

#endif

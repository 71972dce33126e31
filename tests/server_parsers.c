/* The server's parsers: base64 against RFC 4648's vectors and doc_base64 round trips,
 * the chat-request parser and the multipart parser on known inputs, then a mutation
 * test of all three (bit flips, inserted/deleted/duplicated bytes, truncations of
 * valid requests): every input either parses into something consistent or fails
 * with a message (and, for chat requests, the field at fault) -- never a crash
 * (run it under DOTS_SANITIZE to catch memory errors). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "doc/png.h"
#include "server/base64.h"
#include "server/chat.h"
#include "server/multipart.h"
#include "testutil.h"

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 16);
}

static void test_base64_vectors(void) {
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    static const char *const unpadded[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    dots_error e = {0};
    for (int i = 0; i < 7; i++) {
        for (int v = 0; v < 2; v++) {
            const char *in = v ? unpadded[i] : enc[i];
            unsigned char *out;
            size_t n;
            dots_status st = srv_base64_decode(in, strlen(in), "t", &out, &n, &e);
            CHECK(st == DOTS_OK && n == strlen(plain[i]) && !memcmp(out, plain[i], n), "decode '%s': %s", in, e.msg);
            free(out);
        }
    }
    unsigned char *out;
    size_t n;
    CHECK(!srv_base64_decode("Zm9v\r\nYmFy", 10, "t", &out, &n, &e) && n == 6 && !memcmp(out, "foobar", 6),
          "line breaks are skipped");
    free(out);
    static const struct { const char *in; const char *needle; } bad[] = {
        {"Zm9v!mFy", "byte 4"}, {"Z", "lone"}, {"Zg=a", "after the '='"}, {"=Zg", "padding"},
        {"Zg===", "padding"}, {"Zm9=v", "after"}, {"Zm8==", "padding"}, {"Zm9v\x80", "byte 4"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        dots_status st = srv_base64_decode(bad[i].in, strlen(bad[i].in), "field.x", &out, &n, &e);
        CHECK(st == DOTS_E_FORMAT && strstr(e.msg, bad[i].needle) && strstr(e.msg, "field.x") && !out,
              "bad base64 '%s': %d %s", bad[i].in, st, e.msg);
    }
    /* round trips through the independent encoder of the Markdown crops */
    for (int t = 0; t < 300; t++) {
        size_t len = rnd() % 200;
        unsigned char buf[200];
        for (size_t k = 0; k < len; k++) buf[k] = (unsigned char)rnd();
        char *b64 = doc_base64(buf, len);
        dots_status st = srv_base64_decode(b64, strlen(b64), "t", &out, &n, &e);
        CHECK(st == DOTS_OK && n == len && !memcmp(out, buf, len), "round trip of %zu bytes", len);
        free(out);
        free(b64);
    }
}

/* A valid upstream-style request around a small PNG (data URL), as dots.ocr sends it. */
static char *upstream_request(void) {
    unsigned char rgb[12 * 10 * 3];
    for (size_t i = 0; i < sizeof rgb; i++) rgb[i] = (unsigned char)(i * 37);
    dots_image img = {12, 10, rgb};
    unsigned char *png;
    size_t pn;
    dots_error e = {0};
    if (doc_png_encode(&img, &png, &pn, &e)) return NULL;
    char *b64 = doc_base64(png, pn);
    free(png);
    size_t cap = strlen(b64) + 1024;
    char *req = malloc(cap);
    snprintf(req, cap,
             "{\"model\":\"model\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\","
             "\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,%s\"}},"
             "{\"type\":\"text\",\"text\":\"<|img|><|imgpad|><|endofimg|>Read it.\"}]}],"
             "\"max_completion_tokens\":100,\"temperature\":0.1,\"top_p\":1.0,\"seed\":7,\"stop\":[\"END\"],"
             "\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
             b64);
    free(b64);
    return req;
}

static void test_chat_known(const char *req) {
    srv_chat_limits lim = {1000000, 50};
    srv_chat_request r;
    dots_error e = {0};
    char param[128];
    dots_status st = srv_chat_parse(req, strlen(req), &lim, &r, param, sizeof param, &e);
    CHECK(st == DOTS_OK, "upstream request parses: %s", e.msg);
    if (st == DOTS_OK) {
        CHECK(r.n_images == 1 && r.images[0].width == 12 && r.images[0].height == 10, "one 12x10 image");
        CHECK(!strcmp(r.user_text, "Read it."), "markers taken out: '%s'", r.user_text);
        CHECK(r.system && !strcmp(r.system, "Be brief."), "system message");
        CHECK(r.max_tokens == 50, "max_completion_tokens 100 lowered to the limit 50: %d", r.max_tokens);
        CHECK(r.temperature > 0.099f && r.temperature < 0.101f && r.top_p == 1.0f && r.has_seed && r.seed == 7,
              "sampling fields");
        CHECK(r.n_stop == 1 && !strcmp(r.stop[0], "END") && r.stream && r.include_usage, "stop/stream fields");
        srv_chat_request_free(&r);
    }
    static const struct { const char *body, *param; } bad[] = {
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":1.5}", "max_tokens"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"seed\":\"7\"}", "seed"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":2}", "n"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", "stop"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}", "messages[0].content[0].text"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":"
         "\"data:image/png;base64,@@@@\"}}]}]}", "messages[0].content[0].image_url.url"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":"
         "\"http://x/y.png\"}}]}]}", "messages[0].content[0].image_url.url"},
        {"{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "messages[0].role"},
        {"{\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}", "messages"},
        {"{\"messages\":[]", "body"},
        {"{\"messages\":[1]}", "messages[0]"},
        {"{\"model\":3,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "model"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        st = srv_chat_parse(bad[i].body, strlen(bad[i].body), &lim, &r, param, sizeof param, &e);
        CHECK(st != DOTS_OK && !strcmp(param, bad[i].param) && strlen(e.msg) > 10, "'%s': st %d param '%s' (want '%s'): %s",
              bad[i].body, st, param, bad[i].param, e.msg);
    }
}

static const char k_multipart[] =
    "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"pages\"\r\n\r\n1-2\r\n"
    "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a b.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
    "%PDF-1.4 \r\n--Xy not the end\r\n--XyZ--\r\nepilogue";

static void test_multipart_known(void) {
    srv_part parts[SRV_MULTIPART_MAX_PARTS];
    int n;
    dots_error e = {0};
    const char *ct = "multipart/form-data; boundary=\"XyZ\"";
    dots_status st = srv_multipart_parse(ct, (const unsigned char *)k_multipart, sizeof k_multipart - 1, parts, &n, &e);
    CHECK(st == DOTS_OK && n == 2, "two parts: %d %s", n, e.msg);
    const srv_part *f = srv_multipart_find(parts, n, "file"), *p = srv_multipart_find(parts, n, "pages");
    CHECK(p && p->size == 3 && !memcmp(p->data, "1-2", 3), "pages part");
    CHECK(f && !strcmp(f->filename, "a b.pdf") && !strcmp(f->content_type, "application/pdf") &&
          f->size == strlen("%PDF-1.4 \r\n--Xy not the end") && !memcmp(f->data, "%PDF", 4), "file part");
    static const struct { const char *ct, *body, *needle; } bad[] = {
        {"text/plain", "x", "not multipart"},
        {"multipart/form-data", "x", "no boundary"},
        {"multipart/form-data; boundary=B", "no boundary here", "never occurs"},
        {"multipart/form-data; boundary=B", "--B\r\nContent-Disposition: form-data\r\n\r\ndata without end", "not closed"},
        {"multipart/form-data; boundary=B", "--B\r\nbroken header\r\n\r\nx\r\n--B--", "no ':'"},
        {"multipart/form-data; boundary=B", "--Bjunk", "CRLF"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        st = srv_multipart_parse(bad[i].ct, (const unsigned char *)bad[i].body, strlen(bad[i].body), parts, &n, &e);
        CHECK(st != DOTS_OK && strstr(e.msg, bad[i].needle), "multipart '%s': %s", bad[i].body, e.msg);
    }
}

/* One random edit of buf[0..*n) (capacity cap). */
static void mutate(unsigned char *buf, size_t *n, size_t cap) {
    size_t len = *n;
    switch (rnd() % 6) {
    case 0: if (len) buf[rnd() % len] ^= (unsigned char)(1u << (rnd() % 8)); break;
    case 1: if (len) buf[rnd() % len] = (unsigned char)rnd(); break;
    case 2: if (len < cap) { size_t at = rnd() % (len + 1); memmove(buf + at + 1, buf + at, len - at); buf[at] = "{}[]\",:\\=-\r\n0"[rnd() % 14]; len++; } break;
    case 3: if (len) { size_t at = rnd() % len, k = 1 + rnd() % 8; if (at + k > len) k = len - at; memmove(buf + at, buf + at + k, len - at - k); len -= k; } break;
    case 4: if (len) len = rnd() % len; break;
    case 5: if (len) { size_t at = rnd() % len, k = 1 + rnd() % 16; if (at + k > len) k = len - at;
                       if (len + k <= cap) { memmove(buf + at + k, buf + at, len - at); len += k; } } break;
    }
    *n = len;
}

static void fuzz_all(const char *chat_seed) {
    const size_t cap = strlen(chat_seed) + 4096;
    unsigned char *buf = malloc(cap);
    srv_chat_limits lim = {1000000, 64};
    dots_error e;
    int ok[3] = {0, 0, 0}, failed_clean[3] = {0, 0, 0}, bad_fail[3] = {0, 0, 0};
    for (int it = 0; it < 40000; it++) {
        /* chat requests */
        size_t n = strlen(chat_seed);
        memcpy(buf, chat_seed, n);
        for (int k = 1 + rnd() % 4; k > 0; k--) mutate(buf, &n, cap);
        srv_chat_request r;
        char param[128];
        memset(&e, 0, sizeof e);
        dots_status st = srv_chat_parse((const char *)buf, n, &lim, &r, param, sizeof param, &e);
        if (st == DOTS_OK) {
            ok[0]++;
            if (!r.user_text || r.n_images > SRV_MAX_IMAGES || r.max_tokens < 1 || r.max_tokens > 64 || r.n_stop > 4)
                bad_fail[0]++;
            srv_chat_request_free(&r);
        } else if (e.msg[0] && (param[0] || st == DOTS_E_NOMEM)) failed_clean[0]++;
        else { bad_fail[0]++; fprintf(stderr, "chat error without message/param: %d '%s' '%s'\n", st, e.msg, param); }

        /* multipart bodies */
        n = sizeof k_multipart - 1;
        memcpy(buf, k_multipart, n);
        for (int k = 1 + rnd() % 4; k > 0; k--) mutate(buf, &n, cap);
        srv_part parts[SRV_MULTIPART_MAX_PARTS];
        int np = 0;
        memset(&e, 0, sizeof e);
        st = srv_multipart_parse("multipart/form-data; boundary=XyZ", buf, n, parts, &np, &e);
        if (st == DOTS_OK) {
            ok[1]++;
            for (int i = 0; i < np; i++)
                if (parts[i].data < buf || parts[i].data + parts[i].size > buf + n) bad_fail[1]++;
        } else if (e.msg[0]) failed_clean[1]++;
        else bad_fail[1]++;

        /* base64 */
        static const char b64seed[] = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==";
        n = sizeof b64seed - 1;
        memcpy(buf, b64seed, n);
        for (int k = 1 + rnd() % 3; k > 0; k--) mutate(buf, &n, cap);
        unsigned char *out = NULL;
        size_t on = 0;
        memset(&e, 0, sizeof e);
        st = srv_base64_decode((const char *)buf, n, "fuzz", &out, &on, &e);
        if (st == DOTS_OK) {
            ok[2]++;
            if (on > n / 4 * 3 + 2) bad_fail[2]++;
        } else if (e.msg[0] && !out) failed_clean[2]++;
        else bad_fail[2]++;
        free(out);
    }
    static const char *const names[3] = {"chat", "multipart", "base64"};
    for (int k = 0; k < 3; k++) {
        fprintf(stderr, "fuzz %s: %d parsed, %d refused with a message\n", names[k], ok[k], failed_clean[k]);
        CHECK(bad_fail[k] == 0, "%s: %d inputs broke an invariant or failed without a message", names[k], bad_fail[k]);
        CHECK(ok[k] > 0 && failed_clean[k] > 0, "%s: the mutations reach both outcomes", names[k]);
    }
    free(buf);
}

int main(void) {
    test_base64_vectors();
    char *req = upstream_request();
    CHECK(req != NULL, "test request built");
    if (req) {
        test_chat_known(req);
        test_multipart_known();
        fuzz_all(req);
    }
    free(req);
    return test_finish("server_parsers");
}

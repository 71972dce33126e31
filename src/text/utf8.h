/* UTF-8 helpers for the tokenizer: strict validation (what Python's str accepts: no overlongs,
 * no surrogates, nothing above U+10FFFF) and lossy conversion that replaces each maximal invalid
 * subpart with U+FFFD, the rule of both Rust's String::from_utf8_lossy and Python's
 * bytes.decode('utf-8', 'replace'). */
#ifndef DOTS_TEXT_UTF8_H
#define DOTS_TEXT_UTF8_H
#include <stddef.h>

/* Length of the valid sequence at s[0..n), or 0 when s starts with an invalid byte. When the bytes
 * are a valid but truncated prefix (more would be needed), returns 0 and sets *incomplete = 1. */
size_t utf8_seq_len(const unsigned char *s, size_t n, int *incomplete);
/* Offset of the first invalid byte, or n when s is valid UTF-8. */
size_t utf8_first_invalid(const unsigned char *s, size_t n);
/* Appends the lossy conversion of s[0..n) to out (needs room for 3*n bytes); returns bytes written.
 * With keep_tail, a valid-but-incomplete tail is not converted: *consumed tells how much was used. */
size_t utf8_lossy(const unsigned char *s, size_t n, char *out, int keep_tail, size_t *consumed);

#endif

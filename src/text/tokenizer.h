/* Qwen2 byte-level BPE tokenizer read from a Hugging Face tokenizer.json,
 * id-for-id equal to the `tokenizers` library (MODEL_SPEC section 5). */
#ifndef DOTS_TOKENIZER_H
#define DOTS_TOKENIZER_H
#include <stddef.h>
#include "base/error.h"

typedef struct dots_tokenizer dots_tokenizer;

/* Supported tokenizer.json constructs: normalizer null/NFC (or a Sequence of NFC), pre_tokenizer
 * [Split(Regex|String, Isolated)] + ByteLevel (add_prefix_space false; use_regex true alone means
 * the GPT-2 pattern), model BPE (merges as "a b" or ["a","b"], ignore_merges; no dropout, unk,
 * prefixes/suffixes, byte_fallback), decoder ByteLevel, post_processor null/ByteLevel, added_tokens
 * without lstrip/rstrip/single_word. Anything else fails with DOTS_E_UNSUPPORTED naming the field.
 * \p{L}, \p{N}, \s of the split regex use Unicode 16 tables (those of tokenizers' Oniguruma). */
dots_status tok_load(const char *path, dots_tokenizer **out, dots_error *e);
/* Same from memory (label names it in messages). */
dots_status tok_load_mem(const char *label, const char *json, size_t len, dots_tokenizer **out, dots_error *e);
void tok_free(dots_tokenizer *t);

/* Encodes UTF-8 text; added/special tokens written in the text are recognised (leftmost-longest),
 * the rest is NFC-normalized, split and BPE-encoded. *ids is malloc'd (never NULL on success).
 * Invalid UTF-8 (overlongs, surrogates, > U+10FFFF, truncated sequences) is rejected with DOTS_E_ARG
 * naming the byte offset; tok_utf8_sanitize first gives what Python's
 * bytes.decode('utf-8', 'replace') gives. Thread-safe: concurrent calls on one tokenizer take
 * turns (it fills a per-tokenizer BPE cache); decode and the streams only read and run in parallel. */
dots_status tok_encode(dots_tokenizer *t, const char *text, size_t len, int **ids, size_t *n, dots_error *e);
/* Replaces each maximal invalid UTF-8 subpart with U+FFFD (malloc'd, NUL-terminated). */
dots_status tok_utf8_sanitize(const char *text, size_t len, char **out, size_t *out_len, dots_error *e);
/* Decodes ids to UTF-8 (malloc'd, NUL-terminated); skip_special drops special tokens. Bytes that
 * do not form UTF-8 become U+FFFD. Ids without a token (>= vocab size, gaps) are skipped as
 * tokenizers does; a negative id is DOTS_E_ARG. */
dots_status tok_decode(const dots_tokenizer *t, const int *ids, size_t n, int skip_special, char **out, dots_error *e);
/* Same, with the length (the text may hold NUL characters). */
dots_status tok_decode_len(const dots_tokenizer *t, const int *ids, size_t n, int skip_special, char **out, size_t *out_len,
                           dots_error *e);
/* Id of an added token by its content ("<|imgpad|>"), or -1. */
int tok_token_id(const dots_tokenizer *t, const char *content);
int tok_is_special(const dots_tokenizer *t, int id);
int tok_vocab_size(const dots_tokenizer *t);

/* Streaming decoder: feed ids one at a time, get only complete UTF-8 back. */
typedef struct tok_stream tok_stream;
tok_stream *tok_stream_new(const dots_tokenizer *t, int skip_special);
/* Appends the newly completed text to *out (malloc'd; may be empty, *len 0). */
dots_status tok_stream_push(tok_stream *s, int id, char **out, size_t *len, dots_error *e);
/* Flushes what is left (an incomplete sequence becomes U+FFFD, as tokenizers does). */
dots_status tok_stream_finish(tok_stream *s, char **out, size_t *len, dots_error *e);
void tok_stream_free(tok_stream *s);

/* The chat prompt of MODEL_SPEC section 5:
 * <|user|> (<|img|> <|imgpad|> x pad_counts[i] <|endofimg|>)* user_text <|endofuser|><|assistant|>.
 * *ids is malloc'd. */
dots_status prompt_build_ids(dots_tokenizer *t, const char *user_text, const int *pad_counts, int n_images,
                             int **ids, size_t *n, dots_error *e);
/* The same after a system turn, as the chat template frames it:
 * "<|system|>" system "<|endofsystem|>\n" (plain text: not added tokens) then the user turn.
 * system NULL: no system turn (prompt_build_ids). */
dots_status prompt_build_ids_sys(dots_tokenizer *t, const char *system, const char *user_text, const int *pad_counts,
                                 int n_images, int **ids, size_t *n, dots_error *e);
/* <|imgpad|> copies for an image of grid_t x grid_h x grid_w patches: t*h*w / merge^2 (N/4 for merge 2). */
int prompt_image_pad_count(int grid_t, int grid_h, int grid_w, int merge_size);
/* The prompt as text with each image's pads written out (what tokenizers would be given). */
dots_status prompt_build_text(const char *user_text, const int *pad_counts, int n_images, char **out, dots_error *e);

#endif

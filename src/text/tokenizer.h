/* Qwen2 byte-level BPE tokenizer read from a Hugging Face tokenizer.json,
 * id-for-id equal to the `tokenizers` library (MODEL_SPEC section 5). */
#ifndef DOTS_TOKENIZER_H
#define DOTS_TOKENIZER_H
#include <stddef.h>
#include "base/error.h"

typedef struct dots_tokenizer dots_tokenizer;

dots_status tok_load(const char *path, dots_tokenizer **out, dots_error *e);
void tok_free(dots_tokenizer *t);

/* Encodes UTF-8 text; added/special tokens written in the text are recognised.
 * *ids is malloc'd. */
dots_status tok_encode(dots_tokenizer *t, const char *text, size_t len, int **ids, size_t *n, dots_error *e);
/* Decodes ids to UTF-8 (malloc'd, NUL-terminated); skip_special drops special tokens. */
dots_status tok_decode(const dots_tokenizer *t, const int *ids, size_t n, int skip_special, char **out, dots_error *e);
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

#endif

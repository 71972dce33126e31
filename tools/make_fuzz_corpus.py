#!/usr/bin/env python3
"""Writes the small seed corpora of the libFuzzer harnesses into tests/fuzz/corpus/<name>/
(committed; rerun only to change them). Needs the .venv (Pillow, numpy, safetensors)."""
import io, json, os, struct, sys
import numpy as np
from PIL import Image
from safetensors.numpy import save

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
out = os.path.join(root, "tests", "fuzz", "corpus")
shared = os.path.join(root, "..", "shared", "reference", "dots.ocr")

def put(name, fname, data):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

# config.json: the published one, the tiny test ones
for src, fname in [(os.path.join(shared, "config.json"), "dots_ocr.json"),
                   (os.path.join(root, "tests/data/tiny-dots/config.json"), "tiny.json"),
                   (os.path.join(root, "tests/data/lm/qwen2-f32/config.json"), "lm.json")]:
    put("config", fname, open(src, "rb").read())
put("config", "minimal.json", json.dumps({"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
    "num_attention_heads": 2, "vocab_size": 64, "vision_config": {"embed_dim": 8, "hidden_size": 16,
    "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2}}))

# safetensors headers + data
rng = np.random.default_rng(1)
put("safetensors", "f32.safetensors", save({"a": rng.standard_normal((2, 3)).astype(np.float32),
                                             "b.weight": np.zeros((4,), np.float32)}, metadata={"format": "pt"}))
put("safetensors", "f16.safetensors", save({"x": rng.standard_normal((3,)).astype(np.float16),
                                             "empty": np.zeros((0, 5), np.float32)}))
hdr = b'{"t":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]}}'
hdr += b" " * (-len(hdr) % 8)
put("safetensors", "bf16.safetensors", struct.pack("<Q", len(hdr)) + hdr + bytes(8))

# tokenizer.json: small BPE models in the supported shapes
small = {"version": "1.0", "truncation": None, "padding": None,
         "added_tokens": [{"id": 9, "content": "<|x|>", "single_word": False, "lstrip": False, "rstrip": False,
                           "normalized": False, "special": True}],
         "normalizer": {"type": "NFC"},
         "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
             {"type": "Split", "pattern": {"Regex": "\\p{L}+|\\s+|\\p{N}"}, "behavior": "Isolated", "invert": False},
             {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
         "post_processor": None,
         "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
         "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                   "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                   "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4, "\u0120": 5, "1": 6},
                   "merges": ["a b", ["ab", "c"]]}}
put("tokenizer", "small.json", json.dumps(small))
s2 = json.loads(json.dumps(small))
s2["normalizer"] = None
s2["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
s2["model"]["ignore_merges"] = True
put("tokenizer", "bytelevel_regex.json", json.dumps(s2))

# PNG and JPEG: the colour types, bit depths and codings the decoders handle
def img(mode, size=(7, 5)):
    a = (np.arange(size[0] * size[1] * 4).reshape(size[1], size[0], 4) * 37 % 256).astype(np.uint8)
    return Image.fromarray(a, "RGBA").convert(mode)
for mode in ["RGB", "RGBA", "L", "LA", "P", "1"]:
    b = io.BytesIO(); img(mode).save(b, "PNG"); put("png", f"{mode}.png", b.getvalue())
b = io.BytesIO(); img("RGB").save(b, "PNG", optimize=True)
put("png", "optimized.png", b.getvalue())
b = io.BytesIO(); Image.fromarray((np.arange(35).reshape(5, 7) * 1800).astype(np.uint16)).save(b, "PNG")
put("png", "I16.png", b.getvalue())
for mode, kw, name in [("RGB", {}, "baseline"), ("RGB", {"progressive": True}, "progressive"),
                       ("L", {}, "gray"), ("CMYK", {}, "cmyk"), ("RGB", {"subsampling": 0}, "444")]:
    b = io.BytesIO(); img(mode, (17, 9)).save(b, "JPEG", quality=80, **kw); put("jpeg", f"{name}.jpg", b.getvalue())

# PDF: a one-page document with text and a rectangle, written by hand (offsets computed)
def pdf(content):
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    o = b"%PDF-1.4\n"
    offs = []
    for i, ob in enumerate(objs):
        offs.append(len(o))
        o += b"%d 0 obj\n" % (i + 1) + ob + b"\nendobj\n"
    x = len(o)
    o += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    o += b"".join(b"%010d 00000 n \n" % v for v in offs)
    o += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, x)
    return o
put("pdf", "text.pdf", pdf(b"BT /F1 12 Tf 20 50 Td (Hello dots) Tj ET 10 10 50 20 re f"))
put("pdf", "empty.pdf", pdf(b""))

# layout answers: valid, broken, truncated, repeated
cells = [{"bbox": [10, 20, 300, 60], "category": "Title", "text": "# A title"},
         {"bbox": [10, 80, 500, 400], "category": "Table", "text": "<table><tr><td>1</td></tr></table>"},
         {"bbox": [10, 420, 200, 440], "category": "Page-footer", "text": "3"}]
put("layout", "valid.json", json.dumps(cells))
put("layout", "truncated.json", json.dumps(cells)[:150])
put("layout", "repeated.json", json.dumps(cells + [{"bbox": [10, 20 + i, 30, 40 + i], "category": "Text",
                                                     "text": "x"} for i in range(20)])[:-40])
put("layout", "bad_bbox.json", '[{"bbox": [1, 2, "x", 4], "category": "Text", "text": "a"}, {"bbox": [5,5,1,1]}]')
put("layout", "not_json.txt", "The page says hello.\n\n| a | b |\n")
print("corpora written to", out)

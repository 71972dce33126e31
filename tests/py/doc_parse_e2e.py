#!/usr/bin/env python3
"""End-to-end test of `dotsocr parse` with the tiny random checkpoint: every
page gets its JSON / Markdown / layout picture and a valid JSONL record; bad
inputs are recorded and the exit code says so. Standard library only.

usage: doc_parse_e2e.py DOTSOCR_BIN SOURCE_DIR WORK_DIR
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib

BIN, SRC, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
MODEL = os.path.join(SRC, "tests", "data", "tiny-dots")
SAMPLE = os.path.join(SRC, "samples", "sample.pdf")
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def run(*args, env_model=None):
    env = dict(os.environ)
    env.pop("DOTSOCR_MODEL", None)
    if env_model:
        env["DOTSOCR_MODEL"] = env_model
    try:
        p = subprocess.run([BIN, "parse", *args], capture_output=True, text=True, env=env, timeout=120,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as t:
        check(False, f"timed out: dotsocr parse {' '.join(args)}\n{t.stderr}")
        return -1, "", ""
    return p.returncode, p.stdout, p.stderr


def write_png(path, w, h):
    rows = b"".join(b"\x00" + b"".join(bytes((x % 256, y % 256, 200)) for x in range(w)) for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def records(path):
    with open(path, encoding="utf-8") as f:
        lines = [l for l in f.read().split("\n") if l]
    return [json.loads(l) for l in lines]


def is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


CATEGORIES = {"Caption", "Footnote", "Formula", "List-item", "Page-footer", "Page-header", "Picture",
              "Section-header", "Table", "Text", "Title"}


def generate(image, prompt, tokens):
    """The model's answer from `dotsocr generate` (the engine alone, no parse pipeline)."""
    p = subprocess.run([BIN, "generate", "--model", MODEL, "--image", image, "--prompt", prompt, "--max-tokens",
                        str(tokens), "--threads", "2"], capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, f"generate {image}: {p.stderr}")
    return p.stdout[:-1] if p.stdout.endswith("\n") else p.stdout


def check_cells(base, r):
    """The page JSON holds the cells of the answer: boxes inside the page, known categories;
    for a repaired page its Markdown is the cells' text joined by blank lines (upstream), and
    the raw answer is what the engine gives for the page on its own."""
    n = r["page_no"]
    cells = json.load(open(base + ".json", encoding="utf-8"))
    check(isinstance(cells, list) and all(isinstance(c, dict) for c in cells), f"page {n}: JSON is an array of cells")
    for c in cells if isinstance(cells, list) else []:
        b = c.get("bbox")
        check(isinstance(b, list) and len(b) == 4 and all(isinstance(v, int) for v in b)
              and 0 <= b[0] <= r["width"] and 0 <= b[2] <= r["width"] and 0 <= b[1] <= r["height"]
              and 0 <= b[3] <= r["height"], f"page {n}: bbox {b} inside the page")
        check(c.get("category") in CATEGORIES, f"page {n}: category {c.get('category')}")
    md = open(base + ".md", encoding="utf-8").read()
    if r.get("filtered"):
        want = "\n\n".join(c["text"] for c in cells if isinstance(c.get("text"), str))
        check(md == want, f"page {n}: a repaired page's Markdown is its cells' text: {md!r} vs {want!r}")
        raw = open(r["raw_output_path"], encoding="utf-8").read()
        if not cells:  # nothing drawn: the layout picture is the page itself, so the engine can be asked
            check(raw == generate(base + ".png", "layout-all", 24), f"page {n}: raw answer = dotsocr generate's")


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
common = ["--max-tokens", "24", "--threads", "2", "--quiet"]

# 1. the sample PDF, both pages (72 dpi keeps the tiny run fast)
out = os.path.join(WORK, "out1")
rc, so, se = run(SAMPLE, "--model", MODEL, "--out", out, "--dpi", "72", *common)
check(rc == 0, f"pdf parse exit {rc}: {se}")
jl = os.path.join(out, "sample.jsonl")
check(os.path.exists(jl), "sample.jsonl written")
if os.path.exists(jl):
    recs = records(jl)
    check([r.get("page_no") for r in recs] == [0, 1], f"one record per page: {recs}")
    for r in recs:
        n = r["page_no"]
        base = os.path.join(out, "sample", f"sample_page_{n}")
        for key, path in [("layout_info_path", base + ".json"), ("layout_image_path", base + ".png"),
                          ("md_content_path", base + ".md"), ("md_content_nohf_path", base + "_nohf.md")]:
            check(r.get(key) and os.path.samefile(r[key], path), f"page {n}: {key} = {r.get(key)}")
            check(os.path.exists(path), f"page {n}: {path} exists")
        check_cells(base, r)
        check(is_png(base + ".png"), f"page {n}: PNG picture")
        for k in ("input_width", "input_height", "stop_reason", "timings", "filtered", "generated_tokens"):
            check(k in r, f"page {n}: record has {k}")
        check(r.get("width") == 612 and r.get("height") == 792, f"page {n}: 72 dpi page size {r.get('width')}x{r.get('height')}")
        check(r.get("input_width", 0) % 28 == 0 and r.get("input_height", 0) % 28 == 0, "input size is a multiple of 28")
        check(r.get("stop_reason") == "max-tokens" and r.get("generated_tokens") == 24, f"stop: {r.get('stop_reason')}")

# 2. --pages 2 and the model from DOTSOCR_MODEL
out = os.path.join(WORK, "out2")
rc, so, se = run(SAMPLE, "--out", out, "--pages", "2", "--dpi", "72", *common, env_model=MODEL)
check(rc == 0, f"--pages exit {rc}: {se}")
if rc == 0:
    recs = records(os.path.join(out, "sample.jsonl"))
    check([r["page_no"] for r in recs] == [1], f"only page 2 (page_no 1): {recs}")
    check(not os.path.exists(os.path.join(out, "sample", "sample_page_0.json")), "page 1 skipped")

# 3. a folder with an image (fitz preprocess: 200x100 at 96 dpi -> 417x209) and a broken file
folder = os.path.join(WORK, "in")
os.makedirs(folder)
write_png(os.path.join(folder, "pic.png"), 200, 100)
with open(os.path.join(folder, "broken.png"), "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
out = os.path.join(WORK, "out3")
rc, so, se = run(folder, "--model", MODEL, "--out", out, *common)
check(rc == 1, f"a broken file makes exit 1, got {rc}: {se}")
pic = os.path.join(out, "pic.jsonl")
if os.path.exists(pic):
    r = records(pic)[0]
    check("error" not in r and os.path.exists(os.path.join(out, "pic", "pic.json")), f"image parsed: {r}")
    check(r.get("width") == 200 and r.get("height") == 100, "original size recorded")
    # smart_resize(209, 417) = (196, 420): the fitz-rendered image went to the model
    check((r.get("input_width"), r.get("input_height")) == (420, 196), f"fitz input size {r.get('input_width')}x{r.get('input_height')}")
else:
    check(False, "pic.jsonl written")
bj = os.path.join(out, "broken.jsonl")
check(os.path.exists(bj) and "error" in records(bj)[0] and "broken.png" in records(bj)[0]["error"],
      "broken file recorded with its reason")

# 4. --no-fitz-preprocess sends the image as it is; --prompt ocr writes text as Markdown
out = os.path.join(WORK, "out4")
rc, so, se = run(os.path.join(folder, "pic.png"), "--model", MODEL, "--out", out, "--no-fitz-preprocess",
                 "--prompt", "ocr", *common)
check(rc == 0, f"ocr exit {rc}: {se}")
if rc == 0:
    r = records(os.path.join(out, "pic.jsonl"))[0]
    check((r.get("input_width"), r.get("input_height")) == (196, 112), f"no fitz: input {r.get('input_width')}x{r.get('input_height')}")
    check(os.path.exists(os.path.join(out, "pic", "pic.md")) and "layout_info_path" not in r, "ocr writes .md only")
    if os.path.exists(os.path.join(out, "pic", "pic.md")):
        md = open(os.path.join(out, "pic", "pic.md"), encoding="utf-8").read()
        check(md == generate(os.path.join(folder, "pic.png"), "ocr", 24), "ocr Markdown = dotsocr generate's answer")

# 5. usage errors
rc, _, se = run(SAMPLE, "--model", MODEL, "--pages", "x")
check(rc == 2 and "--pages" in se, f"bad --pages: {rc} {se}")
rc, _, se = run(SAMPLE)
check(rc == 2 and "DOTSOCR_MODEL" in se, f"no model: {rc} {se}")
rc, _, se = run(SAMPLE, "--model", MODEL, "--pages", "5", "--out", os.path.join(WORK, "out5"), *common)
check(rc == 1 and "beyond" in se, f"page beyond the document: {rc} {se}")

print(f"doc_parse_e2e: {'FAILED ' + str(len(failures)) if failures else 'all passed'}")
sys.exit(1 if failures else 0)

#!/usr/bin/env python3
"""`dotsocr parse --batch 4` against `--batch 1` with the tiny random checkpoint: a PDF made
here (pages of different sizes, so different prompts, loops found at different lengths, one
page running to --max-tokens, one page too large to render) and two images after it (pages of
several documents in one batch) give byte-identical page files and JSONL records equal apart
from timings and the output folder; the failed page is recorded and the others go on. Also `generate` with the repetition-guard flags: its note on the cut
tail matches what was streamed. Prints the wall times of both runs (not asserted).
Standard library only.

usage: doc_parse_batch.py DOTSOCR_BIN SOURCE_DIR WORK_DIR
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib

BIN, SRC, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
MODEL = os.path.join(SRC, "tests", "data", "tiny-dots")
sys.path.insert(0, os.path.join(SRC, "tools"))
import make_sample_pdf as sample  # noqa: E402  (page contents in PDF syntax)

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def write_pdf(path, pages):
    """pages: [(width_pt, height_pt, content stream)] with the sample's standard fonts."""
    fonts = {"F1": "Helvetica", "F2": "Helvetica-Bold", "F3": "Times-Roman", "F4": "Symbol"}
    objs = []

    def add(body):
        objs.append(body)
        return len(objs)

    font_ids = {n: add(f"<< /Type /Font /Subtype /Type1 /BaseFont /{b} >>") for n, b in fonts.items()}
    res = "<< /Font << " + " ".join(f"/{n} {i} 0 R" for n, i in font_ids.items()) + " >> >>"
    cids = [add(f"<< /Length {len(c.encode('latin-1'))} >>\nstream\n{c}endstream") for _, _, c in pages]
    pages_id = len(objs) + len(pages) + 1
    pids = [add(f"<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 {w} {h}] /Resources {res} /Contents {cid} 0 R >>")
            for (w, h, _), cid in zip(pages, cids)]
    assert add("<< /Type /Pages /Kids [" + " ".join(f"{p} 0 R" for p in pids) + f"] /Count {len(pids)} >>") == pages_id
    root = add(f"<< /Type /Catalog /Pages {pages_id} 0 R >>")
    out = bytearray(b"%PDF-1.4\n")
    offs = []
    for i, body in enumerate(objs, 1):
        offs.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offs)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root {root} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    with open(path, "wb") as f:
        f.write(out)


def write_png(path, w, h):
    rows = b"".join(b"\x00" + b"".join(bytes((x * 7 % 256, y * 3 % 256, (x ^ y) % 256)) for x in range(w)) for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def run(args, timeout=300):
    env = dict(os.environ)
    env.pop("DOTSOCR_MODEL", None)
    t0 = time.monotonic()
    p = subprocess.run([BIN, *args], capture_output=True, text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL)
    return p, time.monotonic() - t0


def records(path, out_dir):
    """The JSONL records with timings dropped and the output folder written as OUT."""
    recs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                r.pop("timings", None)
                recs.append(json.loads(json.dumps(r).replace(out_dir, "OUT")))
    return recs


def files(folder):
    return {n: open(os.path.join(folder, n), "rb").read() for n in sorted(os.listdir(folder))}


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
pdf = os.path.join(WORK, "four.pdf")
short = sample.text(40, 200, "A short page.", "F2", 18)
write_pdf(pdf, [(612, 792, sample.page1()), (792, 612, sample.page2()), (20000, 20000, short),
                (300, 420, short), (612, 792, sample.page2())])
# two images after the PDF: one run batches pages of several documents together
write_png(os.path.join(WORK, "wide.png"), 300, 200)
write_png(os.path.join(WORK, "tall.png"), 160, 400)
INPUTS = [pdf, os.path.join(WORK, "wide.png"), os.path.join(WORK, "tall.png")]
# small inputs and loop thresholds so pages stop at different lengths within seconds
COMMON = ["--model", MODEL, "--max-pixels", "200000", "--max-tokens", "160", "--rep-min-tokens", "40",
          "--rep-min-cycles", "3", "--threads", "2", "--quiet"]
outs, secs = {}, {}
for b in (1, 4):
    out = os.path.join(WORK, f"out{b}")
    p, secs[b] = run(["parse", *INPUTS, "--out", out, "--batch", str(b)] + COMMON)
    check(p.returncode == 1, f"--batch {b}: exit 1 (one page fails), got {p.returncode}: {p.stderr}")
    check("page 3:" in p.stderr and "pixels" in p.stderr, f"--batch {b}: page 3's error on stderr: {p.stderr}")
    outs[b] = out
    print(f"--batch {b}: {secs[b]:.2f} s wall")

r1, r4 = (records(os.path.join(outs[b], "four.jsonl"), outs[b]) for b in (1, 4))
check(r1 == r4, f"JSONL records differ:\n{r1}\n{r4}")
check([r["page_no"] for r in r4] == [0, 1, 2, 3, 4], f"one record per page, sorted: {[r['page_no'] for r in r4]}")
bad = [r for r in r4 if "stop_reason" not in r]  # runaway (looping) pages carry an error too
check(len(bad) == 1 and bad[0]["page_no"] == 2 and bad[0].get("error_kind") == "limit",
      f"page 3 (20000 pt square) fails alone with a limit error: {bad}")
good = [r for r in r4 if "stop_reason" in r]
stops = [r.get("stop_reason") for r in good]
lens = [r.get("generated_tokens") for r in good]
print("stops:", stops, "generated tokens:", lens, "prompt tokens:", [r.get("prompt_tokens") for r in good])
check("max-tokens" in stops and len(set(lens)) >= 3, f"pages of different lengths, one stopped by max tokens: {stops} {lens}")
f1, f4 = (files(os.path.join(outs[b], "four")) for b in (1, 4))
check(len(f1) == 4 * 5, f"5 files for each of the 4 good pages: {sorted(f1)}")
check(f1.keys() == f4.keys(), f"same page files: {sorted(f1)} vs {sorted(f4)}")
for n in sorted(f1.keys() & f4.keys()):
    check(f1[n] == f4[n], f"{n}: --batch 4 differs from --batch 1")
for name in ("wide", "tall"):
    i1, i4 = (records(os.path.join(outs[b], name + ".jsonl"), outs[b]) for b in (1, 4))
    check(len(i1) == 1 and i1 == i4, f"{name}.png: records differ: {i1} {i4}")
    g1, g4 = (files(os.path.join(outs[b], name)) for b in (1, 4))
    check(len(g1) == 5 and g1 == g4, f"{name}.png: page files differ: {sorted(g1)} {sorted(g4)}")
print(f"batch 4 / batch 1 wall time: {secs[4] / secs[1]:.2f}")

p, _ = run(["parse", pdf, "--out", os.path.join(WORK, "bad"), "--batch", "0"] + COMMON)
check(p.returncode == 2 and "--batch" in p.stderr, f"--batch 0 is a usage error: {p.returncode} {p.stderr}")

# generate with the loop flags: the stream cannot take back the repeats, so the CLI says how
# many printed bytes the answer drops; what is left is parse's raw answer for the same image.
img = os.path.join(WORK, "page.png")
raw_png = os.path.join(outs[1], "four", "four_page_3.png")
shutil.copy(raw_png, img)
g, _ = run(["generate", "--model", MODEL, "--image", img, "--max-pixels", "200000", "--max-tokens", "160",
            "--rep-min-tokens", "40", "--rep-min-cycles", "3", "--threads", "2"])
check(g.returncode == 0, f"generate: {g.stderr}")
note = [l for l in g.stderr.splitlines() if "are not part of the answer" in l]
if "stop: repetition" in g.stderr:
    check(len(note) == 1, f"generate: a repetition stop that cut bytes says so: {g.stderr}")
if note:
    cut = int(note[0].split("the last ")[1].split(" bytes")[0])
    kept = int(note[0].split("(")[-1].split(" bytes")[0])
    streamed = g.stdout.encode()[:-1]
    check(len(streamed) == kept + cut, f"generate: streamed {len(streamed)} bytes = answer {kept} + cut {cut}")

if failures:
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
print("ok")

#!/usr/bin/env python3
"""The progress line of `dotsocr parse` on a terminal, with the tiny random checkpoint on
upstream's sample PDF (2 pages) and a sample image. stderr is a pseudo-terminal (raw mode, so
the bytes are the program's own):

- --batch 1: each update is "\\r\\033[K" + "NAME: page I/N  R tok/s  elapsed MM:SS  ETA T";
  the pages count up in order, ETA is --:-- before the first page ends and a time after, the
  rate drawn as page 2 starts is page 1's decode rate from its JSONL record, the rate drawn
  mid-page is the tokens streamed so far over the page's time (> 0), and each document ends
  with "NAME: K pages in MM:SS" and a newline;
- --batch 2: "2 files: D/3 pages done, in flight: ..." with D counting up to 3/3;
- --quiet on a terminal, and any run whose stderr is a pipe, write no control bytes;
- the saved files are the same whether stderr is a terminal or not.
Standard library only.

usage: doc_parse_tty.py DOTSOCR_BIN SOURCE_DIR WORK_DIR SHARED_DIR
"""
import json
import os
import pty
import re
import shutil
import subprocess
import sys
import threading
import tty

BIN, SRC, WORK, SHARED = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
MODEL = os.path.join(SRC, "tests", "data", "tiny-dots")
SAMPLES = os.path.join(SHARED, "reference", "samples")
INPUTS = [os.path.join(SAMPLES, n) for n in ("demo_pdf1.pdf", "demo_image2.png")]
NAMES = ["demo_pdf1", "demo_image2"]
# every page runs to --max-tokens (no loop guard): long enough for updates within a page
COMMON = ["--model", MODEL, "--max-pixels", "200000", "--max-tokens", "700", "--no-repetition-guard",
          "--threads", "2"]
TIME = r"(\d\d:\d\d|\d+:\d\d:\d\d)"
PAGE_LINE = re.compile(r"^(\S+): page (\d+)/(\d+)  (\d+\.\d) tok/s  elapsed " + TIME + r"  ETA (--:--|" +
                       r"\d\d:\d\d|\d+:\d\d:\d\d)$")
DONE_LINE = re.compile(r"^(\S+): (\d+) pages? in " + TIME + "$")
BATCH_LINE = re.compile(r"^2 files: (\d+)/3 pages done, in flight: (\S+)  (\d+\.\d) tok/s  elapsed " + TIME +
                        r"  ETA (--:--|\d\d:\d\d|\d+:\d\d:\d\d)$")
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def run_on_tty(args):
    """Runs dotsocr with stderr on a raw pseudo-terminal: (exit status, the bytes it wrote)."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    chunks = []

    def drain():
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO once the last writer has closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    p = subprocess.run([BIN, "parse", *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                       timeout=600)
    os.close(slave)
    reader.join(timeout=60)
    os.close(master)
    return p.returncode, b"".join(chunks).decode("utf-8", "replace")


def updates(text):
    """The terminal's lines: (kind, text) with kind 'redraw' after "\\r\\033[K", 'line' otherwise."""
    out = []
    for piece in re.split(r"(\r\033\[K|\n)", text):
        if piece in ("\r\033[K", "\n", ""):
            if piece == "\r\033[K":
                out.append(["redraw", ""])
            elif piece == "\n":
                out.append(["line", ""])
            continue
        if out:
            out[-1][1] += piece
        else:
            out.append(["line", piece])
    return [(k, t) for k, t in out if t]


def saved(out):
    """{relative path: bytes} of the page files, and the records without timings or paths."""
    files, recs = {}, {}
    for name in NAMES:
        folder = os.path.join(out, name)
        for f in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            files[f"{name}/{f}"] = open(os.path.join(folder, f), "rb").read()
        for line in open(os.path.join(out, name + ".jsonl"), encoding="utf-8"):
            r = json.loads(line)
            recs[(name, r["page_no"])] = {k: v for k, v in r.items() if k != "timings" and not k.endswith("_path")}
    return files, recs


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)

# the reference: stderr a pipe
ref = os.path.join(WORK, "pipe")
p = subprocess.run([BIN, "parse", *INPUTS, "--out", ref, "--batch", "1"] + COMMON, capture_output=True,
                   text=True, timeout=600)
check(p.returncode == 0, f"pipe run: exit {p.returncode}: {p.stderr}")
check("\r" not in p.stderr and "\033" not in p.stderr, f"stderr a pipe: no control bytes: {p.stderr!r}")
ref_files, ref_recs = saved(ref)

# --batch 1 on a terminal
out1 = os.path.join(WORK, "tty1")
rc, text = run_on_tty([*INPUTS, "--out", out1, "--batch", "1"] + COMMON)
check(rc == 0, f"tty --batch 1: exit {rc}: {text!r}")
ups = updates(text)
print(f"tty --batch 1: {len(ups)} updates")
page_draws = [(PAGE_LINE.match(t), t) for k, t in ups if k == "redraw" and ": page " in t]
for m, t in page_draws:
    check(m is not None, f"progress line format: {t!r}")
draws = [m for m, _ in page_draws if m]
seen = [(m.group(1), int(m.group(2)), int(m.group(3))) for m in draws]
want_order = [("demo_pdf1.pdf", 1, 2), ("demo_pdf1.pdf", 2, 2), ("demo_image2.png", 1, 1)]
check([s for i, s in enumerate(seen) if i == 0 or s != seen[i - 1]] == want_order,
      f"pages drawn in order: {sorted(set(seen), key=seen.index)}")
for m in draws:
    name, page = m.group(1), int(m.group(2))
    eta = m.group(6)
    check((eta == "--:--") == (page == 1), f"ETA is --:-- exactly before a document's first page ends: {m.group(0)!r}")
pdf_p1 = [m for m in draws if m.group(1) == "demo_pdf1.pdf" and m.group(2) == "1"]
pdf_p2 = [m for m in draws if m.group(1) == "demo_pdf1.pdf" and m.group(2) == "2"]
rec0 = json.loads(open(os.path.join(out1, "demo_pdf1.jsonl"), encoding="utf-8").readline())
want_rate = rec0["generated_tokens"] / rec0["timings"]["decode"]
if pdf_p2:
    check(abs(float(pdf_p2[0].group(4)) - want_rate) <= 0.051,
          f"page 2's first rate is page 1's decode rate {want_rate:.2f}: {pdf_p2[0].group(0)!r}")
page1_s = sum(rec0["timings"].values())
if page1_s > 0.8:  # redraws come at most every 0.25 s, and a mid-page rate after 0.5 s of the page
    check(len(pdf_p1) >= 2, f"page 1 ({page1_s:.2f} s) redrawn while decoding: {len(pdf_p1)} draws")
    check(any(float(m.group(4)) > 0 for m in pdf_p1[1:]),
          f"a mid-page rate > 0 on page 1 ({page1_s:.2f} s): {[m.group(4) for m in pdf_p1]}")
else:
    print(f"page 1 took {page1_s:.2f} s: too short to check the mid-page redraws")
done = [(k, DONE_LINE.match(t), t) for k, t in ups if " in " in t and "page" in t and ": page " not in t]
done_seen = [(m.group(1), int(m.group(2))) for k, m, _ in done if m and k == "redraw"]
check(done_seen == [("demo_pdf1.pdf", 2), ("demo_image2.png", 1)], f"documents' end lines: {done}")
for name, n in [("demo_pdf1.pdf", 2), ("demo_image2.png", 1)]:
    end = f"\r\033[K{name}: {n} page{'s' if n > 1 else ''} in "
    i = text.find(end)
    check(i >= 0 and re.match(TIME + "\n", text[i + len(end):]) is not None,
          f"{name}'s end line ends with a newline: {text[i:i + 60]!r}")
tty_files, tty_recs = saved(out1)
check(tty_files == ref_files, "tty --batch 1: the page files equal the pipe run's")
check(tty_recs == ref_recs, "tty --batch 1: the records equal the pipe run's")

# --batch 2 on a terminal: the group's line
out2 = os.path.join(WORK, "tty2")
rc, text = run_on_tty([*INPUTS, "--out", out2, "--batch", "2"] + COMMON)
check(rc == 0, f"tty --batch 2: exit {rc}: {text!r}")
bups = [t for k, t in updates(text) if k == "redraw" and "pages done" in t]
bm = [(BATCH_LINE.match(t), t) for t in bups]
for m, t in bm:
    check(m is not None, f"batch progress line format: {t!r}")
counts = [int(m.group(1)) for m, _ in bm if m]
print(f"tty --batch 2: {len(bups)} updates, done counts {sorted(set(counts))}")
check(counts and counts == sorted(counts) and counts[0] == 0 and counts[-1] == 3,
      f"pages done count up from 0 to 3/3: {counts}")
flights = {f for m, _ in bm if m for f in m.group(2).split(",") if f != "-"}
check(flights >= {"demo_pdf1.pdf:1", "demo_pdf1.pdf:2", "demo_image2.png:1"}, f"every page shown in flight: {sorted(flights)}")
b_files, _ = saved(out2)
check(b_files.keys() == ref_files.keys(), f"tty --batch 2 saves every page: {sorted(b_files)}")

# --quiet on a terminal: nothing drawn
out3 = os.path.join(WORK, "tty3")
rc, text = run_on_tty([*INPUTS, "--out", out3, "--batch", "1", "--quiet"] + COMMON)
check(rc == 0, f"tty --quiet: exit {rc}: {text!r}")
check("\r" not in text and "\033" not in text, f"--quiet on a terminal: no control bytes: {text!r}")

if failures:
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
print("ok")

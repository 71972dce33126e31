#!/usr/bin/env python3
"""Ctrl-C during `dotsocr parse`, with the tiny random checkpoint on upstream's sample PDF
(2 pages) and two sample images: SIGINT after the first page's record is written must end
the run with exit status 130 and "interrupted: N pages saved"; each page recorded by then has
its files, byte-identical to an uninterrupted run's, and no page has files without a record
(no partial output). `--resume` then completes the rest, and the whole output equals the
uninterrupted run's. Standard library only.

usage: doc_parse_interrupt.py DOTSOCR_BIN SOURCE_DIR WORK_DIR SHARED_DIR
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

BIN, SRC, WORK, SHARED = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
MODEL = os.path.join(SRC, "tests", "data", "tiny-dots")
SAMPLES = os.path.join(SHARED, "reference", "samples")
INPUTS = [os.path.join(SAMPLES, n) for n in ("demo_pdf1.pdf", "demo_image2.png", "demo_image3.jpg")]
NAMES = ["demo_pdf1", "demo_image2", "demo_image3"]
# every page runs to --max-tokens (no loop guard), so a page takes long enough to be interrupted
COMMON = ["--model", MODEL, "--max-pixels", "200000", "--max-tokens", "400", "--no-repetition-guard",
          "--threads", "2", "--batch", "1", "--quiet"]
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def tree(out):
    """{relative path: bytes} of the page files, and the JSONL records without timings."""
    files, recs = {}, {}
    for name in NAMES:
        folder = os.path.join(out, name)
        if os.path.isdir(folder):
            for f in sorted(os.listdir(folder)):
                files[f"{name}/{f}"] = open(os.path.join(folder, f), "rb").read()
        path = os.path.join(out, name + ".jsonl")
        if os.path.exists(path):
            for line in open(path, encoding="utf-8"):
                r = json.loads(line)
                recs[(name, r["page_no"])] = {k: v.replace(out, "OUT") if isinstance(v, str) else v
                                              for k, v in r.items() if k != "timings"}
    return files, recs


def page_stem(path):
    """demo_pdf1/demo_pdf1_page_0_nohf.md -> demo_pdf1_page_0"""
    stem = os.path.splitext(os.path.basename(path))[0]
    for suffix in ("_nohf", "_raw"):
        if stem.endswith(suffix):
            return stem[:-len(suffix)]
    return stem


def record_count(out):
    n = 0
    for name in NAMES:
        path = os.path.join(out, name + ".jsonl")
        if os.path.exists(path):
            n += sum(1 for line in open(path, encoding="utf-8") if line.endswith("\n"))
    return n


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
full = os.path.join(WORK, "full")
t0 = time.time()
p = subprocess.run([BIN, "parse", *INPUTS, "--out", full] + COMMON, capture_output=True, text=True, timeout=600)
print(f"uninterrupted run: {time.time() - t0:.2f} s, exit {p.returncode}")
check(p.returncode == 0, f"uninterrupted run: exit {p.returncode}: {p.stderr}")
full_files, full_recs = tree(full)
check(len(full_recs) == 4, f"4 pages recorded: {sorted(full_recs)}")

cut = os.path.join(WORK, "cut")
proc = subprocess.Popen([BIN, "parse", *INPUTS, "--out", cut] + COMMON, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)
deadline = time.time() + 300
while record_count(cut) < 1 and proc.poll() is None and time.time() < deadline:
    time.sleep(0.005)
proc.send_signal(signal.SIGINT)
try:
    _, err = proc.communicate(timeout=120)
except subprocess.TimeoutExpired:
    proc.kill()
    _, err = proc.communicate()
    check(False, "parse did not end within 120 s of SIGINT")
check(proc.returncode == 130, f"interrupted run: exit 130, got {proc.returncode}: {err}")
saved = [l for l in err.splitlines() if "interrupted:" in l]
check(len(saved) == 1, f"one 'interrupted' line on stderr: {err}")
n_saved = int(saved[0].split("interrupted: ")[1].split(" page")[0]) if saved else -1
cut_files, cut_recs = tree(cut)
print(f"interrupted after {n_saved} page(s); files: {sorted(cut_files)}")
check(1 <= n_saved < 4, f"SIGINT after the first page leaves 1-3 pages saved: {n_saved}")
check(len(cut_recs) == n_saved, f"{n_saved} pages saved, {len(cut_recs)} records")
for key, rec in cut_recs.items():
    check(rec == full_recs.get(key), f"record {key} differs from the uninterrupted run's: {rec}")
recorded_stems = set()
for name, page in cut_recs:
    stem = f"{name}_page_{page}" if name == "demo_pdf1" else name
    recorded_stems.add(stem)
for path, data in cut_files.items():
    stem = page_stem(path)
    check(stem in recorded_stems, f"{path}: files of a page without a record (partial output)")
    check(data == full_files.get(path), f"{path}: differs from the uninterrupted run's")
for stem in recorded_stems:
    have = [p for p in cut_files if page_stem(p) == stem]
    want = [p for p in full_files if page_stem(p) == stem]
    check(sorted(have) == sorted(want), f"{stem}: files {have}, the uninterrupted run has {want}")
leftovers = [f for d, _, fs in os.walk(cut) for f in fs if f.endswith((".tmp", ".part")) or f.startswith(".")]
check(not leftovers, f"no temporary files left: {leftovers}")

p = subprocess.run([BIN, "parse", *INPUTS, "--out", cut, "--resume"] + COMMON, capture_output=True, text=True,
                   timeout=600)
check(p.returncode == 0, f"--resume: exit {p.returncode}: {p.stderr}")
res_files, res_recs = tree(cut)
check(res_files == full_files, f"--resume: the page files equal the uninterrupted run's: {sorted(res_files)}")
check(res_recs == full_recs, "--resume: the records equal the uninterrupted run's")

if failures:
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
print("ok")

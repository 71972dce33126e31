#!/usr/bin/env python3
"""dotsocr dump-vision as a command: --help, every bad flag/file is a clear error (exit code and a
message naming the flag, file or tensor), and a good run writes the stages the golden lists
(compared with the upstream golden: max abs <= 1e-4)."""
import os
import subprocess
import sys
import tempfile

import numpy as np
from safetensors.numpy import load_file, save_file

BIN = os.environ["DOTS_BIN"]
DATA = os.environ["DOTS_TEST_DATA"]
G = os.path.join(DATA, "golden", "vision-tiny-f32")
GOLD = os.path.join(G, "golden.safetensors")
fails = 0


def run(*args):
    return subprocess.run([BIN, "dump-vision", *args], capture_output=True, text=True)


def expect(args, code, needles, what):
    global fails
    r = run(*args)
    text = r.stdout + r.stderr
    ok = (r.returncode == code if code is not None else r.returncode != 0) and all(n in text for n in needles)
    ok = ok and "Segmentation" not in text and r.returncode >= 0
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {what}: exit {r.returncode}: {text.strip().splitlines()[0] if text.strip() else ''}")
    if not ok:
        print(f"     wanted exit {code} and {needles}; got:\n{text}")


with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "out.safetensors")
    expect(["--help"], 0, ["usage: dotsocr dump-vision", "--threads"], "--help")
    expect([], 2, ["--model DIR is required"], "no flags")
    expect(["--model", G, "--input", GOLD], 2, ["--out FILE is required"], "no --out")
    expect(["--model", G, "--input", GOLD, "--out", out, "--bogus"], 2, ["unknown option '--bogus'"], "unknown flag")
    expect(["--model", G, "--input", GOLD, "--out", out, "--threads", "zero"], 2, ["--threads"], "bad --threads")
    expect(["--model", G, "--input", GOLD, "--out", out, "--threads"], 2, ["--threads needs a value"], "missing value")
    expect(["--model", os.path.join(tmp, "nope"), "--input", GOLD, "--out", out], 1, ["nope", "config.json"], "no model dir")
    expect(["--model", G, "--input", os.path.join(tmp, "nope.safetensors"), "--out", out], 1, ["nope.safetensors"],
           "no input file")
    g = load_file(GOLD)
    bad = os.path.join(tmp, "bad.safetensors")
    save_file({"input.pixel_values": g["input.pixel_values"]}, bad)
    expect(["--model", G, "--input", bad, "--out", out], 1, ["input.grid_thw", "missing"], "input without grid")
    save_file({"input.pixel_values": g["input.pixel_values"][:-4], "input.grid_thw": g["input.grid_thw"]}, bad)
    expect(["--model", G, "--input", bad, "--out", out], 1, ["input.pixel_values", "[52, 588]"], "pixel rows vs grid")
    save_file({"input.pixel_values": g["input.pixel_values"], "input.grid_thw": np.array([[1, 4, 13]], np.int32)}, bad)
    expect(["--model", G, "--input", bad, "--out", out], 1, ["input.grid_thw[0]", "grid 4x13", "even"], "odd grid")
    save_file({"input.pixel_values": g["input.pixel_values"], "input.grid_thw": g["input.grid_thw"].astype(np.float32)}, bad)
    expect(["--model", G, "--input", bad, "--out", out], 1, ["input.grid_thw", "I32"], "float grid")
    with open(bad, "wb") as f:
        f.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    expect(["--model", G, "--input", bad, "--out", out], 1, ["bad.safetensors"], "garbage input file")
    expect(["--model", G, "--input", GOLD, "--out", os.path.join(tmp, "no", "such", "dir", "o.safetensors")], 1,
           ["o.safetensors"], "unwritable output")
    # a good run (with I64 grid and bf16-stored pixels accepted as well)
    r = run("--model", G, "--input", GOLD, "--out", out, "--threads", "2")
    if r.returncode != 0:
        print(f"FAIL good run: {r.stderr}")
        fails += 1
    else:
        o = load_file(out)
        names = sorted(k for k in g if k.startswith("stage."))
        for k in names:
            err = float(np.abs(o[k] - g[k]).max()) if k in o and o[k].shape == g[k].shape else float("inf")
            ok = err <= 1e-4
            fails += not ok
            print(f"{'ok  ' if ok else 'FAIL'} good run {k}: max abs err {err:.2e}")
    save_file({"input.pixel_values": g["input.pixel_values"], "input.grid_thw": g["input.grid_thw"].astype(np.int64)}, bad)
    r = run("--model", G, "--input", bad, "--out", out)
    ok = r.returncode == 0 and float(np.abs(load_file(out)["stage.merger"] - g["stage.merger"]).max()) <= 1e-4
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} I64 grid accepted")
print(f"vision_cli: {'FAILED ' + str(fails) if fails else 'all passed'}")
sys.exit(1 if fails else 0)

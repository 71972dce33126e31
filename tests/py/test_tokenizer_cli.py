#!/usr/bin/env python3
"""`dotsocr tokenize` error handling and output shape (ids from tokenizers: 'Hello world' = 9707 1879)."""
import os, subprocess, sys

BIN, TOK = os.environ["DOTS_BIN"], sys.argv[1]
ok = bad = 0


def check(cond, what):
    global ok, bad
    ok += bool(cond); bad += not cond
    if not cond: print("FAIL", what, file=sys.stderr)


def run(*args):
    return subprocess.run([BIN, "tokenize", *args], capture_output=True, timeout=60)


r = run("--tokenizer", TOK, "--text", "Hello world")
check(r.returncode == 0 and r.stdout == b"9707 1879\n", f"encode: {r.stdout!r} {r.stderr!r}")
r = run("--tokenizer", TOK, "--text", "9707,1879 151665", "--decode", "--keep-special")
check(r.returncode == 0 and r.stdout == b"Hello world<|imgpad|>\n", f"decode: {r.stdout!r}")
r = subprocess.run([BIN, "tokenize", "--tokenizer", TOK, "--text", b"ab\xffc"], capture_output=True, timeout=60)
check(r.returncode != 0 and b"not valid UTF-8 at byte 2" in r.stderr, f"invalid UTF-8: {r.stderr!r}")
r = run("--tokenizer", "/nonexistent/tokenizer.json", "--text", "x")
check(r.returncode != 0 and b"/nonexistent/tokenizer.json" in r.stderr, f"missing file: {r.stderr!r}")
r = run("--tokenizer", TOK)
check(r.returncode == 2, "no input")
r = run("--tokenizer", TOK, "--prompt-mode", "grounding")
check(r.returncode != 0 and b"bbox" in r.stderr, f"grounding without bbox: {r.stderr!r}")
print(f"tokenizer_cli: {ok} passed, {bad} failed")
sys.exit(1 if bad else 0)

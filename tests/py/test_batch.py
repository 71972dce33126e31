#!/usr/bin/env python3
"""Batched generation: builds the checkpoints and runs tests/batch_check.c on them.

  exact: a random dots.ocr checkpoint (tools/make_random_checkpoint.py --preset small: text D=256,
         head_dim 128, so the bf16 GEMM tiles and attention kernels run) -- batched == alone,
         bit for bit in every step's logits; KV budget admission and refusal; KV reserved first.
  loop:  tools/make_loop_checkpoint.py (zero layers; the chain "Header" then "1 Item\\n2Item\\n\\n"
         forever): the repetition guard end to end, batched == alone.
  fail:  the loop checkpoint with an allocation made to fail mid-decode: text kept, stop "error".
usage: test_batch.py BATCH_CHECK_BINARY [MODE...]   (default: all three modes; tests/batch.cmake runs
       "exact" alone once per kernel level, with DOTS_ISA set, since batched == alone rests on the kernels'
       row exactness, kernels.h)
"""
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("DOTS_SOURCE", os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.environ.get("DOTS_TEST_DATA", os.path.join(SRC, "tests", "data"))
TOK = os.path.join(DATA, "tiny-dots", "tokenizer.json")
PY = sys.executable


def run(cmd):
    print("+", " ".join(cmd), flush=True)
    env = dict(os.environ)
    # the impossible KV reservation must fail as NULL, also under AddressSanitizer
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":allocator_may_return_null=1").lstrip(":")
    r = subprocess.run(cmd, env=env)
    return r.returncode


def main():
    binary = sys.argv[1]
    fails = 0
    with tempfile.TemporaryDirectory() as d:
        small = os.path.join(d, "small")
        if run([PY, os.path.join(SRC, "tools", "make_random_checkpoint.py"), "--out", small, "--preset", "small",
                "--seed", "3"]):
            return 1
        shutil.copyfile(TOK, os.path.join(small, "tokenizer.json"))
        loop = os.path.join(d, "loop")
        mk = os.path.join(SRC, "tools", "make_loop_checkpoint.py")
        if run([PY, mk, "--out", loop, "--tokenizer", TOK]):
            return 1
        modes = sys.argv[2:] or ["exact", "loop", "fail"]
        for mode, model in (("exact", small), ("loop", loop), ("fail", loop)):
            if mode not in modes:
                continue
            rc = run([binary, mode, model])
            print(f"{mode}: exit {rc}")
            fails += rc != 0
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())

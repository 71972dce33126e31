#!/usr/bin/env python3
"""Parity of `dotsocr tokenize` with the `tokenizers` library (the oracle) on the test tokenizer.

    test_tokenizer_parity.py TOKENIZER_JSON [--seed N] [--count N] [--no-sweep]

Checks, each against tokenizers: encode ids on a corpus (tools/make_token_corpus.py) of --count
strings; every code point in several contexts (planes 0-3 and 14, a sample of the rest); invalid
UTF-8 (rejected at the byte offset Python reports; with --lossy equal to encoding
bytes.decode('utf-8', 'replace')); the list form of merges; decode with and without special tokens
on random ids; decode(encode(s)) == NFC(s); every prompt mode framed as the chat prompt.
A new --seed gives strings the tests never saw. Prints 'tokenizer_parity: N passed, N failed'."""
import argparse, json, os, random, subprocess, sys, tempfile, time

SRC = os.environ.get("DOTS_SOURCE", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tools"))
import make_token_corpus as mc  # noqa: E402
from tokenizers import Tokenizer, normalizers  # noqa: E402

BIN = os.environ.get("DOTS_BIN", "dotsocr")
SHARED = os.environ.get("DOTS_SHARED", os.path.join(SRC, "..", "shared"))
passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {what}: {detail}"[:3000], file=sys.stderr)


def run_batch(tok_path, lines, *flags):
    with tempfile.NamedTemporaryFile("w", suffix=".hex", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    try:
        t0 = time.time()
        r = subprocess.run([BIN, "tokenize", "--tokenizer", tok_path, "--batch-hex", path, *flags],
                           capture_output=True, timeout=600)
        dt = time.time() - t0
    finally:
        os.unlink(path)
    out = r.stdout.decode("utf-8").split("\n")
    if out and out[-1] == "":
        out.pop()
    check(r.returncode == 0, "batch exit code", r.stderr.decode()[:500])
    check(len(out) == len(lines), "batch line count", f"{len(out)} != {len(lines)}")
    return out, dt


def compare_encode(tok, tok_path, texts, label, *flags, expect=None):
    if expect is None:
        expect = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    got, dt = run_batch(tok_path, [t.encode("utf-8").hex() for t in texts], *flags)
    bad = 0
    for s, exp, g in zip(texts, expect, got):
        if g != " ".join(map(str, exp)):
            bad += 1
            if bad <= 5:
                check(False, f"{label} encode", f"{s!r}\n  tokenizers: {exp}\n  dotsocr:    {g}")
    check(bad == 0, f"{label}: {bad} mismatches of {len(texts)}")
    print(f"{label}: {len(texts)} strings, {bad} mismatches ({dt:.1f} s for the CLI)")
    return got


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tokenizer")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=12000)
    ap.add_argument("--no-sweep", action="store_true")
    a = ap.parse_args()
    tok = Tokenizer.from_file(a.tokenizer)
    nfc = normalizers.NFC()
    rng = random.Random(a.seed)

    corpus = mc.build_corpus(a.seed, a.count)
    print(f"corpus: {len(corpus)} strings, {sum(len(s.encode()) for s in corpus)} bytes (seed {a.seed})")
    got = compare_encode(tok, a.tokenizer, corpus, "corpus")

    # decode(encode(s)) == NFC(s): C decode of the C ids, special tokens kept.
    dec, _ = run_batch(a.tokenizer, got, "--decode", "--keep-special")
    bad = sum(1 for s, d in zip(corpus, dec) if bytes.fromhex(d) != nfc.normalize_str(s).encode("utf-8"))
    check(bad == 0, "roundtrip decode(encode(s)) == NFC(s)", f"{bad} differ")
    print(f"roundtrip: {bad} of {len(corpus)} differ")

    if not a.no_sweep:
        sweep = mc.sweep_strings(step=1, per=24)
        sweep = [s for s in sweep if ord(s[0]) < 0x32400 or 0xE0000 <= ord(s[0]) < 0xE0200] + \
                [s for i, s in enumerate(sweep) if 0x32400 <= ord(s[0]) < 0x110000 and not 0xE0000 <= ord(s[0]) < 0xE0200 and i % 41 == 0]
        compare_encode(tok, a.tokenizer, sweep, "code point sweep")

    # Combining marks in orders NFC may change (tokenizers' NFC tables are older than Unicode 15).
    import unicodedata
    marks = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000 and unicodedata.combining(chr(c))]
    marks += [chr(c) for c in range(0x10D00, 0x11A00)] + [chr(c) for c in range(0x1AB0, 0x1B00)]
    mark_strs = [f"{m}\u0334x \u0345{m}y a{m}\u0301 \u0915{m}\u093c" for m in marks]
    compare_encode(tok, a.tokenizer, mark_strs, "combining-mark order")

    # Invalid UTF-8: rejected at the offset Python reports; --lossy == tokenizers on decode('replace').
    inv = mc.invalid_bytes(a.seed, 1000)
    got, _ = run_batch(a.tokenizer, [b.hex() for b in inv])
    bad = 0
    for b, g in zip(inv, got):
        try:
            b.decode("utf-8")
            pos = None
        except UnicodeDecodeError as ex:
            pos = ex.start
        if pos is None or not g.startswith("ERR ") or f"at byte {pos} " not in g:
            bad += 1
            if bad <= 3:
                check(False, "invalid UTF-8 rejected", f"{b!r} (Python: offset {pos}) -> {g}")
    check(bad == 0, f"invalid UTF-8: {bad} of {len(inv)} not rejected at the right offset")
    lossy = [b.decode("utf-8", "replace") for b in inv]
    compare_encode(tok, a.tokenizer, lossy, "invalid UTF-8 --lossy", "--lossy",
                   expect=[e.ids for e in tok.encode_batch(lossy, add_special_tokens=False)])
    got_l, _ = run_batch(a.tokenizer, [b.hex() for b in inv], "--lossy")
    exp_l = [" ".join(map(str, e.ids)) for e in tok.encode_batch(lossy, add_special_tokens=False)]
    bad = sum(g != x for g, x in zip(got_l, exp_l))
    check(bad == 0, f"--lossy on raw invalid bytes: {bad} mismatches")
    print(f"invalid UTF-8: {len(inv)} byte strings, {bad} lossy mismatches")

    # The list form of merges: same ids.
    tj = json.load(open(a.tokenizer, encoding="utf-8"))
    tj["model"]["merges"] = [m.split(" ") if isinstance(m, str) else m for m in tj["model"]["merges"]]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False)
        list_path = f.name
    try:
        tok_list = Tokenizer.from_file(list_path)
        compare_encode(tok_list, list_path, corpus[:1500], "merges as lists")
    finally:
        os.unlink(list_path)

    # Decode: random ids (vocab, added, gaps/out of range), special tokens skipped and kept.
    n_ids = tok.get_vocab_size(with_added_tokens=True)
    seqs = []
    for i in range(3000):
        k = rng.randint(1, 40)
        seq = []
        for _ in range(k):
            r = rng.random()
            seq.append(rng.randint(151643, 151687) if r < 0.1 else rng.randint(0, 300) if r < 0.4 else
                       rng.randint(151688, 160000) if r < 0.42 else rng.randint(0, 151642))
        seqs.append(seq)
    for keep in (False, True):
        exp = tok.decode_batch(seqs, skip_special_tokens=not keep)
        got, _ = run_batch(a.tokenizer, [" ".join(map(str, s)) for s in seqs], "--decode", *(["--keep-special"] if keep else []))
        bad = 0
        for s, e_, g in zip(seqs, exp, got):
            if g.startswith("ERR") or bytes.fromhex(g) != e_.encode("utf-8"):
                bad += 1
                if bad <= 3:
                    check(False, "decode", f"{s} keep={keep}\n  tokenizers: {e_!r}\n  dotsocr: {g}")
        check(bad == 0, f"decode keep_special={keep}: {bad} mismatches of {len(seqs)}")
        print(f"decode (keep special {keep}): {len(seqs)} id sequences, {bad} mismatches (vocab {n_ids})")

    # Prompt modes, framed as the chat prompt with images.
    prompts = json.load(open(os.path.join(SHARED, "reference/dots.ocr/prompts.json"), encoding="utf-8"))
    modes = {"layout-all": "prompt_layout_all_en", "layout-only": "prompt_layout_only_en", "ocr": "prompt_ocr",
             "grounding": "prompt_grounding_ocr", "web": "prompt_web_parsing", "scene": "prompt_scene_spotting",
             "svg": "prompt_image_to_svg", "general": "prompt_general"}
    for mode, key in modes.items():
        text = prompts[key]
        extra = []
        if mode == "grounding":
            text += str([12, 34, 560, 78]); extra = ["--bbox", "12,34,560,78"]
        if mode == "svg":
            text = text.replace("{width}", "640").replace("{height}", "480"); extra = ["--svg-size", "640x480"]
        full = "<|user|>" + "<|img|>" + "<|imgpad|>" * 6 + "<|endofimg|>" + "<|img|>" + "<|imgpad|>" * 2 + "<|endofimg|>" + \
               text + "<|endofuser|><|assistant|>"
        exp = tok.encode(full, add_special_tokens=False).ids
        r = subprocess.run([BIN, "tokenize", "--tokenizer", a.tokenizer, "--prompt-mode", mode, "--chat", "--image-pads", "6,2",
                            *extra], capture_output=True, timeout=60)
        check(r.returncode == 0 and r.stdout.decode().split() == [str(i) for i in exp], f"prompt mode {mode}",
              f"{r.stderr.decode()} got {r.stdout.decode()[:300]} want {exp[:40]}")
    print(f"prompt modes: {len(modes)} checked")

    print(f"tokenizer_parity: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())

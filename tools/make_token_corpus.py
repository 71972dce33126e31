#!/usr/bin/env python3
"""Builds a tokenizer test corpus: strings in many scripts and shapes (see build_corpus), invalid
UTF-8 byte strings, and a code point sweep. Deterministic for a seed; a new seed gives strings the
tests never saw. Used by tests/py/test_tokenizer_parity.py; run alone it writes the C test's golden
file (ids from the `tokenizers` library):

    python tools/make_token_corpus.py --golden TOKENIZER_JSON tests/data/tokenizer/golden.txt
"""
import random, sys

RANGES = {
    "cjk": (0x4E00, 0x9FFF), "cjk_ext_b": (0x20000, 0x2A6DF), "hiragana": (0x3041, 0x3096), "katakana": (0x30A1, 0x30FA),
    "hangul": (0xAC00, 0xD7A3), "jamo": (0x1100, 0x11FF), "arabic": (0x0600, 0x06FF), "devanagari": (0x0900, 0x097F),
    "tibetan": (0x0F00, 0x0FDA), "kannada": (0x0C80, 0x0CF3), "cyrillic": (0x0400, 0x04FF), "greek": (0x0370, 0x03FF),
    "latin_ext": (0x00C0, 0x024F), "thai": (0x0E01, 0x0E5B), "hebrew": (0x0591, 0x05F4), "bengali": (0x0980, 0x09FE),
    "tamil": (0x0B80, 0x0BFA), "georgian": (0x10A0, 0x10FF), "armenian": (0x0531, 0x058A), "ethiopic": (0x1200, 0x137C),
    "emoji": (0x1F300, 0x1FAFF), "symbols": (0x2000, 0x2BFF), "math_alnum": (0x1D400, 0x1D7FF), "fullwidth": (0xFF01, 0xFF65),
    "combining": (0x0300, 0x036F), "compat_ideo": (0xF900, 0xFAD9), "box": (0x2500, 0x257F), "pua": (0xE000, 0xE0FF),
    "new_in_16": (0x1C89, 0x1C8A), "kawi": (0x11F00, 0x11F5A), "cjk_ext_h": (0x31350, 0x323AF), "tulu": (0x11380, 0x113E2),
}
SPECIALS = ["<|endoftext|>", "<|imgpad|>", "<|img|>", "<|endofimg|>", "<|user|>", "<|endofuser|>", "<|assistant|>",
            "<|endofassistant|>", "[PAD]", "<|im_start|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|ref_start|>",
            "[SEP]", "<|pic|>", "<|image_gen_end|>"]
NEAR_SPECIALS = ["<|imgpad|", "<|img", "|>", "<|", "<|system|>", "<|endofsystem|>", "<|IMGPAD|>", "< |img|>", "[PAD", "<<|img|>>",
                 "<|img|><|imgpad|>", "<|endofimg|>>", "<|<|user|>|>"]
NFC_CASES = ["e\u0301", "A\u030A", "\u212B", "\u2126", "\u1100\u1161\u11A8", "a\u0323\u0302", "a\u0302\u0323", "o\u0308\u0304",
             "\u0041\u0301\u0327", "\u00C5\u0301", "\uF900\uF901", "\u0958", "\u0915\u093C", "\u1E9B\u0323", "\u0CBF\u0CD5",
             "\u0DD9\u0DCF", "\u0F73", "\u0F40\u0FB5", "\u0B47\u0B3E", "\u3099\u304B", "\u304B\u3099", "\u1026\u102E",
             "\u0627\u0653", "\u05D0\u05B8", "\U0001D15E", "\u2ADC", "\u0344", "\u0374", "\u037E", "\u0387", "\u1F71",
             "\u11131\u11127", "\U00011131\U00011127", "\U000105D2\u0307", "\U00011383\U000113C9"]
WHITESPACE = [" ", "  ", "\t", "\n", "\r\n", "\r", "\n\n", " \n", "\t\t", "\u00A0", "\u3000", "\u2028", "\u2029", "\u180E",
              "\u0085", "\x0B", "\x0C", "\u2003", "\u202F", "\u200B", "\uFEFF", "    ", "\n   \n", " \t \n", "\x1C", "\x1F"]
WORDS = ("the of and to in is that for it as was with be by on not he I this are or his from at which but have an they you "
         "were her she there one all we their been has when who will more no if out so said what up its about into than them "
         "can only other new some could time these two may then do first any my now such like our over man me even most made "
         "after also did many before must through back years where much your way well down should because each just those "
         "people Mr how too little state good very make world still own see men work long get here between both life being "
         "under never day same another know while last might us great old year off come since against go came right used take "
         "three document table figure page header footer section caption formula Title Text List-item Picture").split()
CODE = ["def f(x):\n    return x**2 + 1\n", "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}\n", "const x = {a: 1, 'b': [2, 3]};",
        "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); }", "if x != None and y >= 3: pass  # comment",
        "SELECT * FROM t WHERE id = 7;", "x = lambda a, *b, **c: (a, b, c)", "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }",
        "$ git log --oneline | head -n 5 && echo 'done'", "<div class=\"row\"><span id='a'>&nbsp;&amp;</span></div>"]
LATEX = ["$\\frac{a}{b} + \\sqrt{x^2+y^2}$", "\\begin{equation}E = mc^2\\end{equation}", "$$\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}$$",
         "\\alpha\\beta\\gamma_{ij}^{(k)}", "\\mathbb{R}^{n \\times m}", "\\left( \\int_0^\\infty e^{-x} dx \\right)",
         "\\text{if } x \\in [0, 1)", "a_{1}, a_{2}, \\ldots, a_{n}"]
HTML = ["<table><thead><tr><th>Year</th><th>Revenue</th></tr></thead><tbody><tr><td>2023</td><td>1,234.5</td></tr></tbody></table>",
        "<table border=\"1\"><tr><td rowspan=\"2\">合计</td><td colspan=3>٣٤٥</td></tr></table>", "<tr><td></td><td> </td></tr>"]
DIGITS = ["0", "42", "3.14159", "1,000,000", "2024-05-17", "١٢٣٤٥", "०१२३", "１２３", "Ⅻ", "½", "²³", "10^9", "-0.5e-10", "0x1F",
          "૧૨", "๑๒๓", "၁၂", "𝟘𝟙", "⑴⑵", "₁₂"]
APOS = ["'s", "'S", "'t", "'re", "'VE", "'m", "'ll", "'d", "'D", "'LL", "'ſ", "’s", "don't", "DON'T", "it's", "'", "''", "'x", "rock'n'roll"]
EMOJI = ["👨‍👩‍👧‍👦", "👩🏽‍💻", "🏳️‍🌈", "🇯🇵", "🇺🇸🇬🇧", "❤️", "☺︎", "👍🏿", "🧑‍🤝‍🧑", "😀😃😄", "#️⃣", "🫠", "\u200D", "\uFE0F"]


def rand_chars(rng, name, n):
    lo, hi = RANGES[name]
    return "".join(chr(rng.randint(lo, hi)) for _ in range(n))


def any_codepoint(rng):
    while True:
        c = rng.randint(0, 0x10FFFF) if rng.random() < 0.5 else rng.randint(0, 0x2FFFF)
        if not 0xD800 <= c < 0xE000:
            return chr(c)


def fragment(rng):
    k = rng.random()
    if k < 0.22: return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12))) + rng.choice(["", ".", ",", "!", "?", ":", ";"])
    if k < 0.40: return rand_chars(rng, rng.choice(list(RANGES)), rng.randint(1, 12))
    if k < 0.46: return rng.choice(SPECIALS)
    if k < 0.49: return rng.choice(NEAR_SPECIALS)
    if k < 0.55: return rng.choice(NFC_CASES)
    if k < 0.63: return "".join(rng.choice(WHITESPACE) for _ in range(rng.randint(1, 4)))
    if k < 0.68: return rng.choice(CODE)
    if k < 0.72: return rng.choice(LATEX)
    if k < 0.74: return rng.choice(HTML)
    if k < 0.80: return rng.choice(DIGITS)
    if k < 0.85: return rng.choice(APOS)
    if k < 0.89: return rng.choice(EMOJI)
    if k < 0.95: return "".join(any_codepoint(rng) for _ in range(rng.randint(1, 6)))
    return "".join(chr(rng.randint(0, 0x7F)) for _ in range(rng.randint(1, 10)))


def long_string(rng):
    k = rng.randint(0, 7)
    n = rng.randint(50, 1500)
    if k == 0: return "a" * n
    if k == 1: return " " * n + rng.choice(["x", "", "\n"])
    if k == 2: return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))
    if k == 3: return rand_chars(rng, rng.choice(["cjk", "arabic", "devanagari", "hangul"]), n // 3)
    if k == 4: return "\n" * n
    if k == 5: return "-" * n + "=" * (n // 2)
    if k == 6: return "".join(rng.choice("ab") for _ in range(n))
    return "." * n


def build_corpus(seed, n):
    """n strings (unique, in a fixed order for the seed)."""
    rng = random.Random(seed)
    out, seen = [], set()
    fixed = ["", " ", "\n", "Hello world", "<|user|><|img|><|imgpad|><|endofimg|>Extract the text content from this image.<|endofuser|><|assistant|>"]
    fixed += SPECIALS + NEAR_SPECIALS + NFC_CASES + WHITESPACE + CODE + LATEX + HTML + DIGITS + APOS + EMOJI
    for s in fixed:
        if s not in seen: seen.add(s); out.append(s)
    while len(out) < n:
        r = rng.random()
        if r < 0.03: s = long_string(rng)
        elif r < 0.10: s = rng.choice(fragment(rng)) if False else fragment(rng) + rng.choice(SPECIALS) + fragment(rng)
        else:
            parts = [fragment(rng) for _ in range(rng.randint(1, 6))]
            sep = rng.choice(["", "", " ", "\n", "\t"])
            s = sep.join(parts)
        if s not in seen:
            seen.add(s); out.append(s)
    return out


def invalid_bytes(seed, n):
    """Byte strings that are not UTF-8: stray continuations, truncations, overlongs, surrogates, > U+10FFFF."""
    rng = random.Random(seed ^ 0x5EED)
    bad = [b"\x80", b"\xBF", b"\xC0\xAF", b"\xC1\xBF", b"\xE0\x80\xAF", b"\xED\xA0\x80", b"\xED\xBF\xBF", b"\xF4\x90\x80\x80",
           b"\xF5\x80\x80\x80", b"\xFF", b"\xFE", b"\xE4\xBD", b"\xF0\x9F\x98", b"\xC3", b"\xF8\x88\x80\x80\x80"]
    out = []
    while len(out) < n:
        good = fragment(rng).encode("utf-8")
        pos = rng.randint(0, len(good))
        b = good[:pos] + rng.choice(bad) + good[pos:]
        if rng.random() < 0.3:
            b += bytes(rng.randint(0x80, 0xFF) for _ in range(rng.randint(1, 3)))
        try:
            b.decode("utf-8")  # an insertion can complete a sequence: not a test case then
        except UnicodeDecodeError:
            out.append(b)
    return out


def sweep_strings(step=1, per=24):
    """Every code point (but surrogates) in a few contexts, `per` code points to a string."""
    cps = [c for c in range(0, 0x110000, step) if not 0xD800 <= c < 0xE000]
    out = []
    for i in range(0, len(cps), per):
        parts = []
        for c in cps[i:i + per]:
            ch = chr(c)
            parts.append(f"{ch}x {ch}{ch}1 '{ch}\n{ch} \t{ch}a")
        out.append("|".join(parts))
    return out


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--golden":
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(sys.argv[2])
        corpus = build_corpus(20240517, 400)
        enc = tok.encode_batch(corpus, add_special_tokens=False)
        with open(sys.argv[3], "w") as f:
            f.write("# hex(utf-8 text) TAB ids from tokenizers %s (tools/make_token_corpus.py --golden)\n" % __import__("tokenizers").__version__)
            for s, e in zip(corpus, enc):
                f.write(s.encode("utf-8").hex() + "\t" + " ".join(map(str, e.ids)) + "\n")
        print("wrote", sys.argv[3], len(corpus), "strings")
        return
    sys.exit(__doc__)


if __name__ == "__main__":
    main()

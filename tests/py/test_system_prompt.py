#!/usr/bin/env python3
"""The system turn (dots.mocr's general mode: "You are a helpful assistant.") is framed
as the model's own chat template frames it: the reference chat_template.json rendered with
jinja2 for [system, user] with the user content as upstream's client sends it (the string
"<|img|><|imgpad|><|endofimg|>" + question; the template emits <|user|>..<|endofuser|>
only for string content), the pad expanded per image, then encoded by the `tokenizers`
library, must equal `dotsocr tokenize --chat --system`'s ids.

usage: test_system_prompt.py DOTSOCR_BIN TOKENIZER_JSON CHAT_TEMPLATE_JSON
"""
import json
import subprocess
import sys

import jinja2
from tokenizers import Tokenizer

BIN, TOK, TEMPLATE = sys.argv[1:4]
template = jinja2.Environment().from_string(json.load(open(TEMPLATE, encoding="utf-8"))["chat_template"])
tok = Tokenizer.from_file(TOK)
failures = 0
cases = [("You are a helpful assistant.", "Please describe the content of this image.", 6),
         ("You are a helpful assistant.", "What is written on the sign? Answer in 中文.", 3),
         ("Be terse.\nOne line only.", "Count the boxes.", 1)]
for system, question, pads in cases:
    messages = [{"role": "system", "content": system},
                {"role": "user", "content": "<|img|><|imgpad|><|endofimg|>" + question}]
    text = template.render(messages=messages, add_vision_id=False)
    text = text.replace("<|imgpad|>", "<|imgpad|>" * pads)   # the processor expands the one pad per image
    want = tok.encode(text, add_special_tokens=False).ids
    r = subprocess.run([BIN, "tokenize", "--tokenizer", TOK, "--text", question, "--chat", "--image-pads", str(pads),
                        "--system", system], capture_output=True, text=True, timeout=60)
    got = [int(v) for v in r.stdout.split()] if r.returncode == 0 else None
    if got != want:
        failures += 1
        print(f"FAIL: system {system!r}: rendered {text!r}\n  want {want}\n  got  {got} {r.stderr}")
    # and without the system turn the framing is unchanged
    plain = template.render(messages=messages[1:], add_vision_id=False).replace("<|imgpad|>", "<|imgpad|>" * pads)
    r = subprocess.run([BIN, "tokenize", "--tokenizer", TOK, "--text", question, "--chat", "--image-pads", str(pads)],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0 or [int(v) for v in r.stdout.split()] != tok.encode(plain, add_special_tokens=False).ids:
        failures += 1
        print(f"FAIL: no system turn: {plain!r}: {r.stdout[:200]} {r.stderr}")
print(f"test_system_prompt: {len(cases) * 2 - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)

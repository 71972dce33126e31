#!/usr/bin/env python3
"""`dotsocr serve` end to end on loopback with the tiny random checkpoint.

The real `openai` client (PyPI), whole and streamed, must give the text that
`dotsocr generate` gives for the same image and prompt; the request built the way
dots.ocr's parser builds it (dots_ocr/model/inference.py: a PNG data URL part, then
the text part "<|img|><|imgpad|><|endofimg|>" + prompt, temperature 0.1, top_p 1.0,
max_completion_tokens) must match `dotsocr generate` with the same sampling and seed;
every bad input gets its 4xx with OpenAI's error JSON while /health keeps answering;
concurrent clients all get their own answers; a full queue gives 429, a request past
--timeout 504, a client that leaves stops its generation; /v1/parse on the sample PDF
matches `dotsocr parse`.

usage: test_server.py DOTSOCR_BIN SOURCE_DIR WORK_DIR
"""
import base64
import concurrent.futures
import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import openai
from PIL import Image

BIN, SRC, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
MODEL = os.path.join(SRC, "tests", "data", "tiny-dots")
SAMPLE = os.path.join(SRC, "samples", "sample.pdf")
KEY = "test-key-123"
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, flush=True)
    return cond


# ------------------------------------------------------------------ server


class Server:
    def __init__(self, *args):
        self.log = open(os.path.join(WORK, f"server{len(os.listdir(WORK))}.log"), "w+")
        self.p = subprocess.Popen([BIN, "serve", "--model", MODEL, "--port", "0", "--threads", "2", *args],
                                  stdout=subprocess.DEVNULL, stderr=self.log, stdin=subprocess.DEVNULL)
        self.port = None
        for _ in range(300):
            self.log.seek(0)
            text = self.log.read()
            if "listening on http://" in text:
                self.port = int(text.split("listening on http://")[1].split()[0].rsplit(":", 1)[1])
                break
            if self.p.poll() is not None:
                break
            time.sleep(0.1)
        if self.port is None:
            self.log.seek(0)
            raise SystemExit(f"the server did not start:\n{self.log.read()}")

    def request(self, method, path, body=None, headers=None, key=KEY, timeout=60):
        h = dict(headers or {})
        if key:
            h["Authorization"] = f"Bearer {key}"
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def healthy(self):
        try:
            st, body = self.request("GET", "/health", key=None, timeout=10)
            return st == 200 and json.loads(body)["status"] == "ok"
        except OSError:
            return False

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = "hung"
        check(rc == 0, f"the server exits 0 on SIGTERM (got {rc})")
        self.log.seek(0)
        return self.log.read()


def client(srv, key=KEY):
    return openai.OpenAI(api_key=key, base_url=f"http://127.0.0.1:{srv.port}/v1", max_retries=0, timeout=120)


# ------------------------------------------------------------------ inputs


def png_bytes(w, h, seed=0):
    im = Image.new("RGB", (w, h))
    im.putdata([((x * 7 + seed) % 256, (y * 5 + seed * 3) % 256, (x * y + seed) % 256) for y in range(h) for x in range(w)])
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def data_url(b, mime="image/png"):
    return f"data:{mime};base64," + base64.b64encode(b).decode()


def generate(img_path, *args):
    p = subprocess.run([BIN, "generate", "--model", MODEL, "--image", img_path, "--threads", "2", *args],
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    check(p.returncode == 0, f"dotsocr generate {args}: exit {p.returncode}: {p.stderr}")
    return p.stdout[:-1] if p.stdout.endswith("\n") else p.stdout  # generate adds one newline


def upstream_prompts():
    for path in [os.path.join(os.environ.get("DOTS_SHARED", ""), "reference", "dots.ocr", "prompts.json"),
                 os.path.join(MODEL, "prompts.json")]:
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                return json.load(f)
    raise SystemExit("prompts.json not found")


# ------------------------------------------------------------------- tests


def test_openai_client(srv, img, img_path):
    want = generate(img_path, "--prompt-text", "Read the text.", "--max-tokens", "20")
    check(len(want) > 0, "dotsocr generate gave some text")
    c = client(srv)
    msgs = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": data_url(img)}},
                                         {"type": "text", "text": "Read the text."}]}]
    r = c.chat.completions.create(model="model", messages=msgs, max_tokens=20, temperature=0)
    check(r.choices[0].message.content == want, f"openai whole: {r.choices[0].message.content!r} != generate {want!r}")
    check(r.object == "chat.completion" and r.choices[0].message.role == "assistant", f"shape: {r}")
    check(r.choices[0].finish_reason in ("stop", "length"), f"finish_reason {r.choices[0].finish_reason}")
    check(r.usage.completion_tokens <= 20 and r.usage.prompt_tokens > 20 and
          r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens, f"usage {r.usage}")
    pieces, finish, usage = [], None, None
    for ch in c.chat.completions.create(model="model", messages=msgs, max_tokens=20, temperature=0, stream=True,
                                        stream_options={"include_usage": True}):
        check(ch.object == "chat.completion.chunk", f"chunk object {ch.object}")
        if ch.usage:
            usage = ch.usage
        for choice in ch.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
            if choice.finish_reason:
                finish = choice.finish_reason
    check("".join(pieces) == want, f"openai streamed: {''.join(pieces)!r} != generate {want!r}")
    check(len(pieces) > 1, f"the stream came in pieces ({len(pieces)})")
    check(finish == r.choices[0].finish_reason, f"stream finish_reason {finish}")
    check(usage is not None and usage.completion_tokens == r.usage.completion_tokens, f"stream usage {usage}")
    # the raw stream ends with data: [DONE]
    body = dict(model="m", messages=msgs, max_tokens=3, stream=True)
    st, raw = srv.request("POST", "/v1/chat/completions", body)
    check(st == 200 and raw.rstrip().endswith(b"data: [DONE]"), f"raw SSE ends with [DONE]: {raw[-80:]!r}")
    # a plain string content, no image, and a system message
    text_only = generate(img_path, "--prompt-text", "Hello", "--max-tokens", "6")  # with the image: must differ
    r2 = c.chat.completions.create(model="model", messages=[{"role": "user", "content": "Hello"}], max_tokens=6)
    check(isinstance(r2.choices[0].message.content, str) and r2.usage.prompt_tokens < 10,
          f"text-only request: {r2}")
    check(r2.choices[0].message.content != text_only or r2.usage.prompt_tokens < 10, "text-only ran without the image")
    r3 = c.chat.completions.create(model="model", messages=[{"role": "system", "content": "You are a helpful assistant."},
                                                            {"role": "user", "content": "Hello"}], max_tokens=6)
    check(r3.usage.prompt_tokens > r2.usage.prompt_tokens, f"the system message reaches the prompt: {r3.usage}")
    # a stop string cuts the answer (whole and streamed alike)
    if len(want) > 6:
        stop = want[3:6]
        cut = want[:want.find(stop)]
        r4 = c.chat.completions.create(model="model", messages=msgs, max_tokens=20, stop=[stop])
        check(r4.choices[0].message.content == cut and r4.choices[0].finish_reason == "stop",
              f"stop {stop!r}: {r4.choices[0].message.content!r} != {cut!r}")
        s4 = "".join(ch.choices[0].delta.content or "" for ch in c.chat.completions.create(
            model="model", messages=msgs, max_tokens=20, stop=stop, stream=True) if ch.choices)
        check(s4 == cut, f"streamed stop {stop!r}: {s4!r} != {cut!r}")
    models = c.models.list()
    check([m.id for m in models.data] == ["tiny-dots"], f"/v1/models: {models}")


def test_upstream_request(srv, img, img_path):
    """The request exactly as dots_ocr/model/inference.py builds it (through the openai client)."""
    prompt = upstream_prompts()["prompt_layout_all_en"]
    want = generate(img_path, "--prompt", "layout-all", "--temperature", "0.1", "--top-p", "1", "--seed", "7",
                    "--max-tokens", "24")
    c = client(srv)
    messages = [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": data_url(img)}},
        {"type": "text", "text": f"<|img|><|imgpad|><|endofimg|>{prompt}"}]}]
    got = [c.chat.completions.create(messages=messages, model="model", max_completion_tokens=24, temperature=0.1,
                                     top_p=1.0, seed=7).choices[0].message.content for _ in range(2)]
    check(got[0] == got[1], f"seeded upstream request is deterministic: {got}")
    check(got[0] == want, f"upstream request {got[0]!r} != dotsocr generate --prompt layout-all {want!r}")
    # the same without the placeholder tokens in the text part
    r = c.chat.completions.create(messages=[{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": data_url(img)}}, {"type": "text", "text": prompt}]}],
        model="model", max_completion_tokens=24, temperature=0.1, top_p=1.0, seed=7)
    check(r.choices[0].message.content == want, "a text part without <|img|><|imgpad|><|endofimg|> works too")


def expect_error(srv, what, status, method="POST", path="/v1/chat/completions", body=None, key=KEY, headers=None,
                 param=None):
    st, raw = srv.request(method, path, body, headers=headers, key=key)
    try:
        err = json.loads(raw)["error"]
        ok = isinstance(err["message"], str) and len(err["message"]) > 10 and "type" in err and "param" in err \
             and "code" in err
    except (ValueError, KeyError, TypeError):
        err, ok = raw[:200], False
    check(st == status, f"{what}: HTTP {st}, want {status}: {raw[:300]!r}")
    check(ok, f"{what}: OpenAI error JSON with a message: {raw[:300]!r}")
    if param is not None and isinstance(err, dict):
        check(err.get("param") == param, f"{what}: param {err.get('param')!r}, want {param!r}")
    check(srv.healthy(), f"/health answers after: {what}")
    return err


def test_bad_inputs(srv, img):
    user = lambda content: {"messages": [{"role": "user", "content": content}], "max_tokens": 2}
    img_part = lambda url: [{"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": "hi"}]
    expect_error(srv, "malformed JSON", 400, body=b'{"messages": [', param="body")
    expect_error(srv, "not JSON at all", 400, body=b"\x00\xff garbage", param="body")
    expect_error(srv, "trailing data", 400, body=b'{"messages": []} {}', param="body")
    expect_error(srv, "a JSON array body", 400, body=b"[1, 2]", param="body")
    expect_error(srv, "missing messages", 400, body={"model": "m"}, param="messages")
    expect_error(srv, "empty messages", 400, body={"messages": []}, param="messages")
    expect_error(srv, "messages not an array", 400, body={"messages": "hi"}, param="messages")
    expect_error(srv, "max_tokens a string", 400, body={**user("hi"), "max_tokens": "ten"}, param="max_tokens")
    expect_error(srv, "max_tokens zero", 400, body={**user("hi"), "max_tokens": 0}, param="max_tokens")
    expect_error(srv, "temperature a string", 400, body={**user("hi"), "temperature": "hot"}, param="temperature")
    expect_error(srv, "temperature too high", 400, body={**user("hi"), "temperature": 5}, param="temperature")
    expect_error(srv, "top_p zero", 400, body={**user("hi"), "top_p": 0}, param="top_p")
    expect_error(srv, "stream not a boolean", 400, body={**user("hi"), "stream": "yes"}, param="stream")
    expect_error(srv, "stop a number", 400, body={**user("hi"), "stop": 3}, param="stop")
    expect_error(srv, "content a number", 400, body=user(42), param="messages[0].content")
    expect_error(srv, "role missing", 400, body={"messages": [{"content": "hi"}]}, param="messages[0].role")
    expect_error(srv, "unknown part type", 400, body=user([{"type": "audio", "audio": "x"}]),
                 param="messages[0].content[0].type")
    expect_error(srv, "two user turns", 400, body={"messages": [{"role": "user", "content": "a"},
                                                                {"role": "assistant", "content": "b"},
                                                                {"role": "user", "content": "c"}]})
    expect_error(srv, "placeholder without an image", 400, body=user("<|img|><|imgpad|><|endofimg|>hi"))
    p = "messages[0].content[0].image_url.url"
    expect_error(srv, "bad base64", 400, body=user(img_part("data:image/png;base64,iVBOR***notbase64")), param=p)
    expect_error(srv, "non-image bytes", 400,
                 body=user(img_part(data_url(b"this is plain text, not a picture at all"))), param=p)
    expect_error(srv, "truncated PNG", 400, body=user(img_part(data_url(img[:len(img) // 2]))), param=p)
    expect_error(srv, "too many pixels", 400, body=user(img_part(data_url(png_bytes(1100, 1000)))), param=p)
    e = expect_error(srv, "remote image URL", 400, body=user(img_part("https://example.com/page.png")), param=p)
    check("remote" in str(e), f"the remote-URL error says why: {e}")
    expect_error(srv, "not a data URL", 400, body=user(img_part("file:///etc/passwd")), param=p)
    expect_error(srv, "unknown route", 404, path="/v1/completions", body={"prompt": "x"})
    expect_error(srv, "wrong method", 405, method="GET", path="/v1/chat/completions")
    expect_error(srv, "wrong key", 401, body=user("hi"), key="not-the-key")
    expect_error(srv, "missing key", 401, body=user("hi"), key=None)
    expect_error(srv, "/v1/models without the key", 401, method="GET", path="/v1/models", key=None)
    # the openai client sees the same errors as exceptions
    try:
        client(srv, key="wrong").chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        check(False, "openai client with a wrong key raises")
    except openai.AuthenticationError:
        pass
    try:
        client(srv).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], max_tokens=-1)
        check(False, "openai client with max_tokens -1 raises")
    except openai.BadRequestError as ex:
        check(ex.body and ex.body.get("param") == "max_tokens", f"BadRequestError names the field: {ex.body}")
    test_huge_bodies(srv)


def test_huge_bodies(srv):
    # declared too big: refused before the body is read (as curl does, with Expect: 100-continue)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY.encode() +
              b"\r\nContent-Type: application/json\r\nContent-Length: 500000000\r\nExpect: 100-continue\r\n\r\n")
    resp = b""
    while b"\r\n\r\n" not in resp or not resp.rstrip().endswith(b"}"):
        chunk = s.recv(65536)
        if not chunk:
            break
        resp += chunk
    s.close()
    check(resp.startswith(b"HTTP/1.1 413") and b"request_too_large" in resp, f"huge declared body: {resp[:300]!r}")
    check(srv.healthy(), "/health answers after a huge declared body")
    # chunked, no length given: read past the limit, thrown away, refused
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    c.request("POST", "/v1/chat/completions", body=iter([b"x" * 65536] * 40), encode_chunked=True,
              headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    r = c.getresponse()
    raw = r.read()
    check(r.status == 413 and b"request_too_large" in raw, f"huge chunked body: {r.status} {raw[:200]!r}")
    c.close()
    check(srv.healthy(), "/health answers after a huge chunked body")


def test_concurrent(srv, img):
    prompts = [f"Question number {i}?" for i in range(4)]
    msgs = lambda p: [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": data_url(img)}},
                                                   {"type": "text", "text": p}]}]
    c = client(srv)
    alone = [c.chat.completions.create(model="m", messages=msgs(p), max_tokens=12).choices[0].message.content
             for p in prompts]
    check(len(set(alone)) > 1, f"the prompts give different answers: {alone}")
    barrier = threading.Barrier(len(prompts))

    def one(i):
        barrier.wait()
        stream = i % 2 == 1
        r = client(srv).chat.completions.create(model="m", messages=msgs(prompts[i]), max_tokens=12, stream=stream)
        if stream:
            return "".join(ch.choices[0].delta.content or "" for ch in r if ch.choices)
        return r.choices[0].message.content

    with concurrent.futures.ThreadPoolExecutor(len(prompts)) as ex:
        together = list(ex.map(one, range(len(prompts))))
    check(together == alone, f"concurrent answers {together} != one at a time {alone}")


def test_limits():
    """A second server with a queue of 1 and a 5 s timeout: 429 when full, 504 past the time,
    and a client that leaves stops its generation."""
    srv = Server("--queue", "1", "--timeout", "5", "--max-tokens", "100000", "--max-body-mb", "1")
    long_req = {"messages": [{"role": "user", "content": "Tell a long story."}], "max_tokens": 100000}
    barrier = threading.Barrier(4)

    def one(_):
        barrier.wait()
        return srv.request("POST", "/v1/chat/completions", long_req, key=None)

    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        res = list(ex.map(one, range(4)))
    codes = sorted(st for st, _ in res)
    check(codes.count(429) >= 1 and all(c in (429, 504) for c in codes), f"queue 1: 429s and 504s, got {codes}")
    for st, raw in res:
        err = json.loads(raw)["error"]
        check(err["code"] in ("queue_full", "timeout") and err["message"], f"error body {err}")
    check(srv.healthy(), "/health after 429/504")
    # a client that disconnects mid-stream cancels its generation
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    body = json.dumps({**long_req, "stream": True}).encode()
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
              + str(len(body)).encode() + b"\r\n\r\n" + body)
    got = s.recv(4096)
    check(got.startswith(b"HTTP/1.1 200"), f"stream starts: {got[:100]!r}")
    s.close()
    t0 = time.time()
    running = 1
    while time.time() - t0 < 2.5 and running:
        running = json.loads(srv.request("GET", "/health", key=None)[1])["running"]
        time.sleep(0.05)
    check(running == 0, "a client that disconnects stops its generation well before the timeout")
    # the same for a whole (non-streamed) answer: the server watches the socket while it waits
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    body = json.dumps(long_req).encode()
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
              + str(len(body)).encode() + b"\r\n\r\n" + body)
    time.sleep(0.5)
    check(json.loads(srv.request("GET", "/health", key=None)[1])["running"] == 1, "the whole-answer request runs")
    s.close()
    t0 = time.time()
    running = 1
    while time.time() - t0 < 2.5 and running:
        running = json.loads(srv.request("GET", "/health", key=None)[1])["running"]
        time.sleep(0.05)
    check(running == 0, "a client that disconnects while waiting for a whole answer stops its generation")
    metrics = srv.request("GET", "/metrics", key=None)[1].decode()
    check('route="/v1/chat/completions",code="499"} 1' in metrics, "the client gone before its answer is counted as 499")
    # a stream that runs past the timeout ends with an error event and [DONE]
    st, raw = srv.request("POST", "/v1/chat/completions", {**long_req, "stream": True}, key=None, timeout=30)
    events = [l[6:] for l in raw.decode().split("\n") if l.startswith("data: ")]
    check(st == 200 and events[-1] == "[DONE]" and json.loads(events[-2])["error"]["code"] == "timeout",
          f"a stream past --timeout ends with an error event: {events[-2:] if events else raw[:200]}")
    log = srv.stop()
    check("timeout" in log or "504" in log, "the server log names the 504")


def parse_outputs():
    out = os.path.join(WORK, "parse")
    p = subprocess.run([BIN, "parse", SAMPLE, "--model", MODEL, "--out", out, "--dpi", "72", "--max-tokens", "24",
                        "--threads", "2", "--quiet"], capture_output=True, text=True, timeout=300,
                       stdin=subprocess.DEVNULL)
    check(p.returncode == 0, f"dotsocr parse: exit {p.returncode}: {p.stderr}")
    pages = {}
    for n in (0, 1):
        base = os.path.join(out, "sample", f"sample_page_{n}")
        with open(base + ".json", encoding="utf-8") as f:
            cells = json.load(f)
        with open(base + ".md", encoding="utf-8") as f:
            md = f.read()
        with open(base + "_nohf.md", encoding="utf-8") as f:
            nohf = f.read()
        with open(base + "_raw.txt", encoding="utf-8") as f:
            raw = f.read()
        check(len(raw) > 20, f"dotsocr parse page {n} generated text")
        pages[n] = (cells, md, nohf, raw)
    return pages


def check_parse_page(what, got, want):
    cells, md, nohf, raw = want
    check(got.get("raw_text") == raw, f"{what}: raw_text {got.get('raw_text', '')[:60]!r} != parse {raw[:60]!r}")
    check(json.loads(got["cells_json"]) == cells if "cells_json" in got else got.get("cells") is not None,
          f"{what}: cells as dotsocr parse wrote them")
    gc = [{k: c[k] for k in ("bbox", "category", "text") if k in c} for c in got.get("cells", [])]
    wc = [{k: c[k] for k in ("bbox", "category", "text") if k in c} for c in cells]
    check(gc == wc, f"{what}: cells {gc[:2]} != parse {wc[:2]}")
    check(got.get("markdown") == md, f"{what}: markdown {got.get('markdown', '')[:80]!r} != parse {md[:80]!r}")
    check(got.get("markdown_nohf") == nohf, f"{what}: markdown_nohf differs from parse")


def test_parse(srv):
    want = parse_outputs()
    with open(SAMPLE, "rb") as f:
        pdf = f.read()
    st, raw = srv.request("POST", "/v1/parse?dpi=72&max_tokens=24", pdf, headers={"Content-Type": "application/pdf"},
                          timeout=300)
    check(st == 200, f"/v1/parse raw PDF: {st} {raw[:300]!r}")
    if st == 200:
        doc = json.loads(raw)
        check([p["page_no"] for p in doc["pages"]] == [0, 1], f"/v1/parse pages {[p.get('page_no') for p in doc['pages']]}")
        for p in doc["pages"]:
            check_parse_page(f"raw page {p['page_no']}", p, want[p["page_no"]])
        check(doc["usage"]["completion_tokens"] == sum(p["generated_tokens"] for p in doc["pages"]), "parse usage")
    # multipart, page 2 only, parameters as form fields
    bnd = "----dotsocr-test-boundary"
    parts = [(b'Content-Disposition: form-data; name="pages"', b"2"),
             (b'Content-Disposition: form-data; name="dpi"', b"72"),
             (b'Content-Disposition: form-data; name="max_tokens"', b"24"),
             (b'Content-Disposition: form-data; name="file"; filename="sample.pdf"\r\nContent-Type: application/pdf', pdf)]
    body = b"".join(b"--" + bnd.encode() + b"\r\n" + h + b"\r\n\r\n" + d + b"\r\n" for h, d in parts) + \
        b"--" + bnd.encode() + b"--\r\n"
    st, raw = srv.request("POST", "/v1/parse", body, headers={"Content-Type": f"multipart/form-data; boundary={bnd}"},
                          timeout=300)
    check(st == 200, f"/v1/parse multipart: {st} {raw[:300]!r}")
    if st == 200:
        doc = json.loads(raw)
        check([p["page_no"] for p in doc["pages"]] == [1], "multipart pages=2 gives page 2 only")
        check_parse_page("multipart page 1", doc["pages"][0], want[1])
    expect_error(srv, "/v1/parse of text bytes", 400, path="/v1/parse", body=b"not a pdf or an image at all")
    expect_error(srv, "/v1/parse bad pages", 400, path="/v1/parse?pages=x-y", body=pdf, param="pages")
    expect_error(srv, "/v1/parse page out of range", 400, path="/v1/parse?pages=9&dpi=72", body=pdf)
    expect_error(srv, "/v1/parse bad prompt", 400, path="/v1/parse?prompt=poem", body=pdf, param="prompt")
    expect_error(srv, "/v1/parse empty body", 400, path="/v1/parse", body=b"")
    expect_error(srv, "/v1/parse broken multipart", 400, path="/v1/parse", body=b"--x\r\nno end",
                 headers={"Content-Type": "multipart/form-data; boundary=x"})


def test_metrics(srv):
    st, raw = srv.request("GET", "/metrics", key=None)
    text = raw.decode()
    check(st == 200, f"/metrics {st}")
    for needle in ['dotsocr_requests_total{route="/v1/chat/completions",code="200"}',
                   'dotsocr_requests_total{route="/v1/chat/completions",code="400"}',
                   'dotsocr_requests_total{route="/v1/chat/completions",code="401"}',
                   "dotsocr_completion_tokens_total", "dotsocr_queue_depth 0",
                   'dotsocr_phase_seconds_sum{phase="decode"}']:
        check(needle in text, f"/metrics has {needle}")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name_labels, value = line.rsplit(" ", 1)
            try:
                float(value)
            except ValueError:
                check(False, f"/metrics line {line!r}")


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    t0 = time.time()
    img = png_bytes(200, 150)
    img_path = os.path.join(WORK, "page.png")
    with open(img_path, "wb") as f:
        f.write(img)
    srv = Server("--api-key", KEY, "--max-body-mb", "1", "--max-pixels", "1000000", "--max-tokens", "64",
                 "--queue", "4")
    try:
        for name, fn in [("openai client", lambda: test_openai_client(srv, img, img_path)),
                         ("upstream request", lambda: test_upstream_request(srv, img, img_path)),
                         ("bad inputs", lambda: test_bad_inputs(srv, img)),
                         ("concurrent", lambda: test_concurrent(srv, img)),
                         ("parse", lambda: test_parse(srv)),
                         ("metrics", lambda: test_metrics(srv))]:
            t = time.time()
            fn()
            print(f"{name}: {time.time() - t:.1f} s", flush=True)
    finally:
        srv.stop()
    t = time.time()
    test_limits()
    print(f"limits: {time.time() - t:.1f} s", flush=True)
    print(f"total {time.time() - t0:.1f} s")
    if failures:
        print(f"{len(failures)} failure(s)")
        sys.exit(1)
    print("ok")


main()

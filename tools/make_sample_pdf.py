#!/usr/bin/env python3
"""Writes samples/sample.pdf: our own two-page test document (title, paragraphs,
a list, a table, a formula, header and footer), in plain PDF syntax with the
standard Helvetica/Times/Symbol fonts. Standard library only.

usage: tools/make_sample_pdf.py [OUT.pdf]   (default: samples/sample.pdf)
"""
import os
import sys

W, H = 612, 792  # US Letter in points: 1700x2200 px at 200 dpi


def esc(s):
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def text(x, y, s, font="F1", size=11):
    return f"BT /{font} {size} Tf {x} {y} Td ({esc(s)}) Tj ET\n"


def page1():
    c = ""
    c += text(72, 760, "dotsocr sample document", "F1", 8)
    c += text(500, 760, "Draft 1", "F1", 8)
    c += "0.6 G 72 752 m 540 752 l S 0 G\n"
    c += text(72, 700, "Parsing Documents on the CPU", "F2", 22)
    c += text(72, 660, "1. Introduction", "F2", 14)
    para = [
        "This page is a small test document for the dotsocr command line. It holds a",
        "title, paragraphs, a bulleted list, a table and a formula, so that every kind",
        "of layout element appears at least once in the output.",
    ]
    y = 636
    for line in para:
        c += text(72, y, line)
        y -= 15
    y -= 12
    for item in ["Layout JSON with boxes in page pixels", "Markdown with and without headers",
                 "A picture of the detected layout"]:
        c += text(84, y, "\x95", "F1", 11)  # bullet (WinAnsi)
        c += text(96, y, item)
        y -= 16
    y -= 14
    c += text(72, y, "Table 1: Pages per second on two machines.", "F3", 10)
    y -= 12
    rows = [["Machine", "Threads", "Pages/s"], ["Laptop", "8", "0.05"], ["Server", "64", "0.40"]]
    top = y
    for r, row in enumerate(rows):
        for k, cell in enumerate(row):
            c += text(80 + 120 * k, top - 16 - 20 * r, cell, "F2" if r == 0 else "F1", 10)
    c += "0.5 w\n"
    for r in range(len(rows) + 1):
        yy = top - 20 * r
        c += f"72 {yy} m 432 {yy} l S\n"
    for k in range(4):
        xx = 72 + 120 * k
        c += f"{xx} {top} m {xx} {top - 20 * len(rows)} l S\n"
    c += text(300, 40, "1", "F1", 9)
    return c


def page2():
    c = ""
    c += text(72, 760, "dotsocr sample document", "F1", 8)
    c += "0.6 G 72 752 m 540 752 l S 0 G\n"
    c += text(72, 710, "2. A Formula", "F2", 14)
    c += text(72, 686, "The energy of a body at rest is given by the well known relation")
    c += text(250, 650, "E = mc", "F3", 16)
    c += text(302, 658, "2", "F3", 10)
    c += text(72, 614, "and the area of a circle of radius r is")
    c += text(240, 580, "A = ", "F3", 16)
    c += text(272, 580, "p", "F4", 16)  # pi in the Symbol font
    c += text(282, 580, "r", "F3", 16)
    c += text(291, 588, "2", "F3", 10)
    c += text(72, 540, "Both lines above should come out as LaTeX in the Markdown file.")
    c += "0.85 g 72 380 200 130 re f 0 g\n"  # a grey block standing in for a figure
    c += text(72, 364, "Figure 1: A grey rectangle.", "F3", 10)
    c += text(300, 40, "2", "F1", 9)
    return c


def build():
    fonts = {"F1": "Helvetica", "F2": "Helvetica-Bold", "F3": "Times-Roman", "F4": "Symbol"}
    objs = []  # object bodies, 1-based numbering

    def add(body):
        objs.append(body)
        return len(objs)

    font_ids = {}
    for name, base in fonts.items():
        enc = "" if base == "Symbol" else " /Encoding /WinAnsiEncoding"
        font_ids[name] = add(f"<< /Type /Font /Subtype /Type1 /BaseFont /{base}{enc} >>")
    res = "<< /Font << " + " ".join(f"/{n} {i} 0 R" for n, i in font_ids.items()) + " >> >>"
    pages_id = len(objs) + 1 + 4  # placeholder, fixed below
    contents = [page1(), page2()]
    content_ids = []
    for c in contents:
        data = c.encode("latin-1")
        content_ids.append(add(f"<< /Length {len(data)} >>\nstream\n" + c + "endstream"))
    pages_id = len(objs) + 3
    page_ids = [add(f"<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 {W} {H}] /Resources {res} "
                    f"/Contents {cid} 0 R >>") for cid in content_ids]
    assert add("<< /Type /Pages /Kids [" + " ".join(f"{p} 0 R" for p in page_ids) + f"] /Count {len(page_ids)} >>") == pages_id
    catalog = add(f"<< /Type /Catalog /Pages {pages_id} 0 R >>")

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root {catalog} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "samples", "sample.pdf")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(build())
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

/* The GPT-2 byte-level alphabet: printable Latin-1 bytes stand for themselves, the other 68 bytes
 * take the code points 256, 257, ... in byte order. */
#include "text/tok_internal.h"

static int printable(unsigned b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE); }

unsigned bytelevel_char(unsigned char b) {
    if (printable(b)) return b;
    unsigned k = 0;
    for (unsigned x = 0; x < b; x++) k += !printable(x);
    return 256 + k;
}

int bytelevel_byte(unsigned cp) {
    if (cp < 256) return printable(cp) ? (int)cp : -1;
    if (cp >= 256 + 68) return -1;
    unsigned k = cp - 256;
    for (unsigned x = 0; x < 256; x++)
        if (!printable(x) && k-- == 0) return (int)x;
    return -1;
}

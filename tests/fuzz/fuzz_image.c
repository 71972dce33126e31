/* libFuzzer: PNG and JPEG decoding from memory (told apart by magic bytes), with a pixel limit
 * so a crafted header cannot ask for gigabytes. Built twice, with the PNG and the JPEG corpus. */
#include "dotsocr.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    dots_image img;
    dots_error e;
    dots_image_limits lim = {1 << 22};
    if (dots_image_decode(data, size, "fuzz-image", &lim, &img, &e) == DOTS_OK) dots_image_free(&img);
    return 0;
}

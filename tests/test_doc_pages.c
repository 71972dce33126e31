/* --pages spec parsing. */
#include <string.h>
#include "doc/pages.h"
#include "testutil.h"

static void sel(const char *spec, int n, const char *want, int ok) {
    unsigned char s[32];
    int k = -1;
    dots_error e;
    dots_status st = doc_pages_select(spec, n, s, &k, &e);
    if (!ok) { CHECK(st == DOTS_E_ARG && strstr(e.msg, "--pages"), "'%s' of %d should fail", spec ? spec : "", n); return; }
    CHECK(st == DOTS_OK, "'%s': %s", spec ? spec : "", e.msg);
    char got[33];
    int cnt = 0;
    for (int i = 0; i < n; i++) { got[i] = s[i] ? '1' : '0'; cnt += s[i]; }
    got[n] = 0;
    CHECK(!strcmp(got, want) && k == cnt, "'%s' -> %s want %s", spec ? spec : "", got, want);
}

int main(void) {
    sel(NULL, 5, "11111", 1);
    sel("", 3, "111", 1);
    sel("1-3,7", 8, "11100010", 1);
    sel("2", 3, "010", 1);
    sel("3-", 5, "00111", 1);
    sel("1,1,2-2", 3, "110", 1);
    sel(" 1 , 3", 4, "1010", 1);
    sel("9", 3, "", 0);
    sel("2-9", 3, "", 0);
    sel("0", 3, "", 0);
    sel("3-1", 3, "", 0);
    sel("a", 3, "", 0);
    sel("1,", 3, "", 0);
    sel("1;2", 3, "", 0);
    dots_error e;
    CHECK(doc_pages_check("1-3,7,10-", &e) == DOTS_OK, "syntax ok");
    CHECK(doc_pages_check("x", &e) == DOTS_E_ARG, "syntax bad");
    return test_finish("test_doc_pages");
}

/* The --pages spec: comma-separated 1-based pages and ranges ("1-3,7", "5-" = 5 to the end). */
#ifndef DOTS_DOC_PAGES_H
#define DOTS_DOC_PAGES_H
#include "base/error.h"

/* Checks the syntax only (before any document is opened). */
dots_status doc_pages_check(const char *spec, dots_error *e);
/* Marks sel[i] = 1 for each selected 0-based page i < n_pages (sel has n_pages entries, zeroed here).
 * spec NULL or "" selects all. A page beyond n_pages is an error naming it; returns the count in *n_sel. */
dots_status doc_pages_select(const char *spec, int n_pages, unsigned char *sel, int *n_sel, dots_error *e);

#endif

/* OUT/<name>.jsonl of `dotsocr parse`: the records of one document, one per page, kept
 * sorted by page_no. Records already in the file are loaded first and kept, so a run over
 * some pages (or a resumed run) never loses the others; every change rewrites the file
 * atomically. */
#ifndef DOTS_CLI_PARSE_JSONL_H
#define DOTS_CLI_PARSE_JSONL_H
#include <json-c/json.h>
#include "dotsocr.h"

typedef struct jsonl_store {
    char path[4096];
    json_object **recs;   /* n records, owned, sorted by page_no */
    int n, cap;
    int n_unreadable;     /* lines of the old file that were not JSON objects (dropped) */
} jsonl_store;

/* Loads path if it exists (a missing file is an empty store). */
dots_status jsonl_open(jsonl_store *s, const char *path, dots_error *e);
/* The record of page_no, or NULL. */
json_object *jsonl_find(const jsonl_store *s, int page_no);
/* Takes rec (replacing the record of the same page_no) and rewrites the file. */
dots_status jsonl_put(jsonl_store *s, json_object *rec, dots_error *e);
void jsonl_close(jsonl_store *s);

#endif

/* The files and JSONL record `dotsocr parse` writes for one page result (docs/PARSE.md,
 * "Outputs"), and the --resume test of an earlier record. */
#ifndef DOTS_CLI_PARSE_OUT_H
#define DOTS_CLI_PARSE_OUT_H
#include <json-c/json.h>
#include "dotsocr.h"

/* Writes SAVE.{json,png,md,_nohf.md,_raw.txt,svg} under save_dir as the mode calls for, each
 * atomically, and adds the record's keys (sizes, paths, stop, counts, timings) to rec.
 * On failure rec holds what was done so far. */
dots_status parse_write_page(const char *save_dir, const char *save_name, const char *input,
                             const dots_page_result *r, json_object *rec, dots_error *e);
/* Adds "error" and "error_kind" for a failed page or file. */
void parse_record_error(json_object *rec, const dots_error *e);
/* 1 when rec (from an earlier run) is a successful page of this prompt mode whose output
 * files all exist: --resume skips it. */
int parse_record_complete(json_object *rec, dots_prompt_mode mode);
/* rec[key] = value; -1 when json-c ran out of memory (the record then lacks it). */
int parse_record_add_string(json_object *rec, const char *key, const char *value);
/* A new record object with page_no, or NULL on OOM. */
json_object *parse_record_new(int page_no);

#endif

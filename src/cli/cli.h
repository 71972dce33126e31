/* The dotsocr command line: one file per subcommand (cmd_<name>.c). */
#ifndef DOTS_CLI_H
#define DOTS_CLI_H
#include "dotsocr.h"

int cmd_dump_vision(int argc, char **argv);
int cmd_preprocess(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_drift(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_parse(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* Print "dotsocr: <status>: msg" to stderr and return the exit code for it (1..). */
int cli_report(const dots_error *e);
/* Parse an integer flag value in [lo, hi]; on failure print an error naming the flag and return 0. */
int cli_int(const char *flag, const char *value, long lo, long hi, long *out);
/* Same for a double. */
int cli_double(const char *flag, const char *value, double lo, double hi, double *out);
/* argv[i] is a flag that needs a value: returns argv[i+1] or prints an error and returns NULL. */
const char *cli_value(int argc, char **argv, int i);

#endif

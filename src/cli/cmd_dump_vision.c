/* Placeholder until this command is implemented (its issue owns this file). */
#include <stdio.h>
#include "cli/cli.h"

int cmd_dump_vision(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "dotsocr: this command is not implemented yet\n");
    return 3;
}

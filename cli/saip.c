#include <stdio.h>

#include "cli/commands.h"

int cli_saip(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "rspkit saip: not built yet\n");
    return 2;
}

#include <stdio.h>

#include "cli/commands.h"

int cli_pki(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "rspkit pki: not built yet\n");
    return 2;
}

#include <stdio.h>

#include "bench/bench.h"

int bench_crypto(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "bench crypto: not written yet\n");
    return 2;
}

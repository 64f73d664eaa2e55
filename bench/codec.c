#include <stdio.h>

#include "bench/bench.h"

int bench_codec(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "bench codec: not written yet\n");
    return 2;
}

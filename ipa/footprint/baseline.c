/* Footprint baseline: the same program shape without libipa (C runtime start-up, printf),
 * subtracted from main.c's size. */
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argv;
    printf("%u %zu\n", (unsigned)argc, (size_t)argc);
    return 0;
}

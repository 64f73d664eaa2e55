/* rspkit bench NAME|all: runs one benchmark, or all of them and writes bench/report.{md,json}. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "bench/figures.h"
#include "cli/commands.h"

int cli_bench(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: rspkit bench all [--quick] [--out DIR] | rspkit bench ");
        for (size_t i = 0; i < bench_entry_count; i++)
            fprintf(stderr, "%s%s", bench_entries[i].name, i + 1 < bench_entry_count ? "|" : "\n");
        return 2;
    }
    if (strcmp(argv[1], "all") == 0)
        return bench_report_all(argc - 1, argv + 1);
    for (size_t i = 0; i < bench_entry_count; i++)
        if (strcmp(argv[1], bench_entries[i].name) == 0)
            return bench_entries[i].run(argc - 1, argv + 1);
    fprintf(stderr, "rspkit bench: unknown benchmark '%s'\n", argv[1]);
    return 2;
}

/* rspkit bench NAME: runs one component benchmark, or all of them. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "bench/eim.h"
#include "bench/euicc.h"
#include "bench/http.h"
#include "bench/ipa.h"
#include "bench/smdp.h"
#include "bench/store.h"
#include "cli/commands.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} benches[] = {
    {"codec", bench_codec},
    {"crypto", bench_crypto},
    {"eim", bench_eim},
    {"euicc", bench_euicc},
    {"http", bench_http},
    {"ipa", bench_ipa},
    {"smdp", bench_smdp},
    {"store", bench_store},
};

int cli_bench(int argc, char **argv)
{
    size_t n = sizeof benches / sizeof benches[0];
    if (argc < 2) {
        fprintf(stderr, "usage: rspkit bench all|");
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "%s%s", benches[i].name, i + 1 < n ? "|" : "\n");
        return 2;
    }
    int status = 0;
    bool all = strcmp(argv[1], "all") == 0;
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (!all && strcmp(argv[1], benches[i].name) != 0)
            continue;
        found = true;
        if (benches[i].run(argc - 1, argv + 1) != 0)
            status = 1;
    }
    if (!found) {
        fprintf(stderr, "rspkit bench: unknown benchmark '%s'\n", argv[1]);
        return 2;
    }
    return status;
}

/* Benchmarks: each prints its figures next to a reference measured in the same run (memcpy,
 * raw OpenSSL, ...), so results are ratios that mean something on any machine. */
#ifndef RSPKIT_BENCH_BENCH_H
#define RSPKIT_BENCH_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic clock in seconds. */
double bench_now(void);
/* Process CPU time (user + system) in seconds. */
double bench_cpu_seconds(void);

int bench_codec(int argc, char **argv);
int bench_crypto(int argc, char **argv);

/* Every benchmark, in the order `rspkit bench all` runs them (bench/registry.c). */
typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
} bench_entry;
extern const bench_entry bench_entries[];
extern const size_t bench_entry_count;

#endif

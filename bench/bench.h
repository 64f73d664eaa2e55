/* Benchmarks: each prints its figures next to a reference measured in the same run (memcpy,
 * raw OpenSSL, ...), so results are ratios that mean something on any machine. */
#ifndef RSPKIT_BENCH_BENCH_H
#define RSPKIT_BENCH_BENCH_H

#include <stdint.h>

/* Monotonic clock in seconds. */
double bench_now(void);
/* Process CPU time (user + system) in seconds. */
double bench_cpu_seconds(void);

int bench_codec(int argc, char **argv);
int bench_crypto(int argc, char **argv);

#endif

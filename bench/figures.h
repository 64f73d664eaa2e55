/* Figures of the benchmarks for `rspkit bench all`: each benchmark may report its figures here
 * (name, value, unit, target, pass); bench_report_all runs every benchmark, keeps the ones it
 * reported and, for the others, the lines of their output that state a target, and writes
 * bench/report.md (a table) and bench/report.json. */
#ifndef RSPKIT_BENCH_FIGURES_H
#define RSPKIT_BENCH_FIGURES_H

#include <stdbool.h>

/* One figure; target 0 means none. higher_is_better says which side of the target passes. */
void bench_report_add(const char *benchmark, const char *name, double value, const char *unit,
                      double target, bool higher_is_better);
/* A free-text line kept with the benchmark (e.g. a figure printed but not reported). */
void bench_report_note(const char *benchmark, const char *text);

/* rspkit bench all [--out DIR] [--quick]: runs every benchmark (--quick: smaller fleet and
 * fewer iterations where the benchmark takes options), writes DIR/report.md and
 * DIR/report.json (DIR default: bench/ of the source tree). Returns 0 when every benchmark
 * succeeded. */
int bench_report_all(int argc, char **argv);

#endif

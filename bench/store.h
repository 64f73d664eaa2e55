/* bench store: the storage layer against raw sqlite3 calls doing the same work in the same run
 * (and PostgreSQL through the store when RSPKIT_TEST_POSTGRES or --postgres URL is given). */
#ifndef RSPKIT_BENCH_STORE_H
#define RSPKIT_BENCH_STORE_H

/* argv[0] is the benchmark name; options: --rows N, --durable N, --increments N, --threads N,
 * --commits N (per thread), --postgres URL.
 * Returns 0 on success, 1 when a run failed, 2 on a usage error. */
int bench_store(int argc, char **argv);

#endif

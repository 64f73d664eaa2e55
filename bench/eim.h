/* rspkit bench eim: the eIM server's empty-poll rate and CPU per poll over HTTPS keep-alive
 * (many simulated devices), server CPU per signed package handed out plus result verified
 * next to the ECDSA sign+verify floor timed in the same run, and the time to create a
 * 1,000,000-device campaign. SQLite in a temporary folder. */
#ifndef RSPKIT_BENCH_EIM_H
#define RSPKIT_BENCH_EIM_H

/* Options: --clients N (poll client threads, default 4), --connections N (kept-alive
 * connections per poll client thread, each one device's session with one poll in flight,
 * default 4), --server-threads N (default 2), --seconds S (empty polls, default 3), --devices N
 * (polling population, default 10000), --packages N (default 2000),
 * --campaign N (campaign size, default 1000000; 0 skips). Returns 0, 1 on a failure. */
int bench_eim(int argc, char **argv);

#endif

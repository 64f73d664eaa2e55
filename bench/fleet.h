/* rspkit bench fleet: a fleet migration between two operators on this machine (fleet/scenario.h):
 * N devices (default 10,000) first get operator A's profile (download + enable, set-up), then
 * the timed migration: download of B's profile, enable with rollback, delete of A's profile and
 * every notification delivered (checked on each eUICC and on the SM-DP+). Target: <= 60 s for
 * 10,000 devices on a 2-core machine. */
#ifndef RSPKIT_BENCH_FLEET_H
#define RSPKIT_BENCH_FLEET_H

/* Options: --devices N (default 10000), --dir DIR (default a new folder under /tmp),
 * --workers N (fleet workers, default 4), --server-threads N (default 2), --relaxed (SQLite
 * synchronous=NORMAL on the SM-DP+), --idle N (also measure N idle devices' memory; 0 skips).
 * Figures go to bench/figures.h. Returns 0 when the migration completed within the target. */
int bench_fleet(int argc, char **argv);

#endif

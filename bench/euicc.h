/* bench euicc: eUICC-side CPU time per complete profile download (P-256 and brainpoolP256r1,
 * a TS.48 package) next to the crypto floor, the sum of the cryptographic operations the eUICC
 * must perform for that download timed with raw OpenSSL in the same run (target <= 1.5x);
 * and the heap of an idle eUICC instance holding one installed TS.48 profile beyond the stored
 * profile bytes (target <= 64 KiB). */
#ifndef RSPKIT_BENCH_EUICC_H
#define RSPKIT_BENCH_EUICC_H

/* argv[0] is the benchmark name; options: --downloads N (per curve, default 20),
 * --instances N (memory measurement, default 1000). Returns 0 when the runs completed (the
 * figures say PASS or BELOW TARGET), 1 when a run failed, 2 on a usage error. */
int bench_euicc(int argc, char **argv);

#endif

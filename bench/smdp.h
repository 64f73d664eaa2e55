/* rspkit bench smdp: complete profile downloads per second through the SM-DP+ over HTTPS
 * keep-alive with concurrent simulated eUICCs, and the server's own CPU time per download
 * (rusage of the server, which runs in a child process) next to the crypto floor of one
 * download timed with OpenSSL in the same run, for NIST P-256 and brainpoolP256r1. */
#ifndef RSPKIT_BENCH_SMDP_H
#define RSPKIT_BENCH_SMDP_H

/* Options: --clients N (concurrent eUICCs, default 4), --downloads N (per curve, default 40),
 * --curve nist|brainpool|both (default both), --server-threads N (default 2). Returns 0, or 1
 * when a download failed. */
int bench_smdp(int argc, char **argv);

#endif

/* bench ipa: libipa's code size (built with -Os, libcurl/OpenSSL/pcsclite excluded) and the
 * IPA's peak heap while it relays a TS.48 profile download, against the targets. */
#ifndef RSPKIT_BENCH_IPA_H
#define RSPKIT_BENCH_IPA_H

/* argv[0] is the benchmark name; option: --dir DIR (TS.48 .der files, default the shared test
 * data). Returns 0 when both figures are within target, 1 otherwise, 2 on a usage error. */
int bench_ipa(int argc, char **argv);

#endif

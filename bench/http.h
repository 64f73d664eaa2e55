/* rspkit bench http: request rate and server CPU cost of a POST over HTTPS keep-alive (by default
 * empty both ways: the eIM's empty-poll case), next to the same figures over plain HTTP. */
#ifndef RSPKIT_BENCH_HTTP_H
#define RSPKIT_BENCH_HTTP_H

/* Options: --clients N (client threads, default 4), --server-threads N (default 2),
 * --seconds S (per mode, default 2), --request-bytes N and --response-bytes N (bodies, default
 * 0). Returns 0, or 1 when a request failed. */
int bench_http(int argc, char **argv);

#endif

/* bench http: N client threads (libcurl, one kept-alive connection each) POST a body (empty by
 * default) to a handler answering a body of a fixed size (none by default: 204) over loopback,
 * first over plain HTTP, then over HTTPS (P-256 certificate, TLS 1.3), for a fixed time each.
 * --request-bytes/--response-bytes give the SM-DP+ case (a few KB up, a ~30 KB BPP down).
 *
 * Clients and server share the machine, so the request rate measured is a floor for what the
 * server alone could do. The server's own cost is therefore reported as CPU seconds per
 * request: process CPU time (getrusage) minus the CPU time of the client threads (each reads
 * its CLOCK_THREAD_CPUTIME_ID around its loop; the main thread only waits). Dividing the cores
 * by that cost gives the rate the server would sustain with the clients elsewhere, which is
 * the figure to hold against the eIM target of 20,000 empty polls/s over HTTPS on 2 cores. */
#include "bench/http.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "core/log.h"
#include "net/dev_pki.h"
#include "net/http_client.h"
#include "net/http_server.h"

#define TARGET_RATE         20000.0
#define MAX_REQUESTS_THREAD 5000000L /* hard bound besides the time limit */
#define PATH                "/gsma/rsp2/asn1"
#define CONTENT_TYPE        "application/x-gsma-rsp-asn1"
#define MAX_BODY_BYTES      (512 * 1024)

/* The bodies: the same bytes every time, so the figure is the transport's cost alone. */
typedef struct {
    const uint8_t *request;
    size_t request_len;
    const uint8_t *response;
    size_t response_len;
} bench_bodies;

typedef struct {
    const char *url;
    const char *ca_file;
    const bench_bodies *bodies;
    _Atomic int *ready; /* clients connected and waiting */
    _Atomic int *go;    /* 1: start the loop (or stop at once when the deadline is 0) */
    _Atomic double *deadline;
    long requests;
    long failures;
    long connections;
    double cpu_seconds;
} client_job;

typedef struct {
    const char *mode;
    long requests;
    long failures;
    long connections;
    double elapsed;
    double server_cpu;
    double client_cpu;
} mode_result;

static int fixed_handler(const http_request *request, http_reply *reply, void *user)
{
    const bench_bodies *bodies = user;
    if (request->body_len != bodies->request_len)
        http_reply_borrowed(reply, 400, "text/plain", "wrong body length\n", 18);
    else if (bodies->response_len == 0)
        http_reply_borrowed(reply, 204, NULL, NULL, 0);
    else
        http_reply_borrowed(reply, 200, CONTENT_TYPE, bodies->response, bodies->response_len);
    return 0;
}

static bool answer_ok(const bench_bodies *bodies, const http_response *response)
{
    return response->status == (bodies->response_len ? 200 : 204) &&
           response->body_len == bodies->response_len;
}

static double thread_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *client_loop(void *context)
{
    client_job *job = context;
    /* Named so that a profile (perf report --comms) tells the clients from the server. */
    prctl(PR_SET_NAME, "bench-client", 0, 0, 0);
    rsp_error err;
    rsp_error_clear(&err);
    http_client_config config = {.ca_file = job->ca_file};
    http_client *client = http_client_new(&config, &err);
    http_response response;
    /* Connect (and handshake) before the clock starts: the figure is per request on a kept-alive
     * connection, as an IPA polling its eIM sees it. */
    const bench_bodies *bodies = job->bodies;
    if (client == NULL || http_client_post(client, job->url, CONTENT_TYPE, bodies->request,
                                           bodies->request_len, NULL, &response, &err) != RSP_OK)
        job->failures++;
    else {
        job->connections += response.new_connections;
        http_response_free(&response);
    }
    atomic_fetch_add(job->ready, 1);
    while (atomic_load(job->go) == 0) {
        struct timespec pause = {0, 100000};
        nanosleep(&pause, NULL);
    }
    double deadline = atomic_load(job->deadline);
    double cpu_start = thread_cpu_seconds();
    while (client != NULL && job->requests < MAX_REQUESTS_THREAD && bench_now() < deadline) {
        if (http_client_post(client, job->url, CONTENT_TYPE, bodies->request, bodies->request_len,
                             NULL, &response, &err) != RSP_OK ||
            !answer_ok(bodies, &response))
            job->failures++;
        else
            job->connections += response.new_connections;
        http_response_free(&response);
        job->requests++;
    }
    job->cpu_seconds = thread_cpu_seconds() - cpu_start;
    http_client_free(client);
    return NULL;
}

static int run_mode(const char *mode, const dev_pki *pki, const bench_bodies *bodies, int clients,
                    unsigned server_threads, double seconds, mode_result *result)
{
    rsp_error err;
    rsp_error_clear(&err);
    bool tls = strcmp(mode, "https") == 0;
    http_server_config config = {.name = "bench",
                                 .listen = "127.0.0.1:0",
                                 .cert_file = tls ? pki->server_cert : NULL,
                                 .key_file = tls ? pki->server_key : NULL,
                                 .threads = server_threads};
    http_server *server = http_server_new(&config, &err);
    if (server == NULL ||
        http_server_route(server, "POST", PATH, false, fixed_handler, (void *)bodies, &err) !=
            RSP_OK ||
        http_server_start(server, &err) != RSP_OK) {
        char text[256];
        fprintf(stderr, "bench http: %s server: %s\n", mode,
                rsp_error_format(&err, text, sizeof text));
        http_server_free(server);
        return -1;
    }
    char url[96];
    snprintf(url, sizeof url, "%s://127.0.0.1:%u%s", mode, http_server_port(server), PATH);

    _Atomic int ready = 0, go = 0;
    _Atomic double deadline = 0;
    client_job *jobs = calloc((size_t)clients, sizeof *jobs);
    pthread_t *threads = calloc((size_t)clients, sizeof *threads);
    int started = 0;
    for (; jobs != NULL && threads != NULL && started < clients; started++) {
        jobs[started] = (client_job){.url = url,
                                     .ca_file = tls ? pki->ca_cert : NULL,
                                     .bodies = bodies,
                                     .ready = &ready,
                                     .go = &go,
                                     .deadline = &deadline};
        if (pthread_create(&threads[started], NULL, client_loop, &jobs[started]) != 0)
            break;
    }
    int status = 0;
    if (started == clients) {
        while (atomic_load(&ready) < clients) {
            struct timespec pause = {0, 1000000};
            nanosleep(&pause, NULL);
        }
        double cpu_start = bench_cpu_seconds();
        double time_start = bench_now();
        atomic_store(&deadline, time_start + seconds);
        atomic_store(&go, 1);
        for (int i = 0; i < clients; i++)
            pthread_join(threads[i], NULL);
        double elapsed = bench_now() - time_start;
        double process_cpu = bench_cpu_seconds() - cpu_start;
        *result = (mode_result){.mode = mode, .elapsed = elapsed};
        for (int i = 0; i < clients; i++) {
            result->requests += jobs[i].requests;
            result->failures += jobs[i].failures;
            result->connections += jobs[i].connections;
            result->client_cpu += jobs[i].cpu_seconds;
        }
        result->server_cpu = process_cpu - result->client_cpu;
    } else {
        /* Release the threads that did start: deadline 0 makes them stop at once. */
        fprintf(stderr, "bench http: cannot start client threads\n");
        atomic_store(&go, 1);
        for (int i = 0; i < started; i++)
            pthread_join(threads[i], NULL);
        status = -1;
    }
    free(jobs);
    free(threads);
    http_server_stop(server, 1000);
    http_server_free(server);
    return status;
}

static void print_result(const mode_result *r, long cores)
{
    double rate = r->requests / r->elapsed;
    double server_us = r->requests ? r->server_cpu / (double)r->requests * 1e6 : 0;
    double client_us = r->requests ? r->client_cpu / (double)r->requests * 1e6 : 0;
    double capacity = server_us > 0 ? (double)cores / (server_us / 1e6) : 0;
    printf("  %-5s  %9ld  %9.0f  %11ld  %17.1f  %17.1f  %21.0f\n", r->mode, r->requests, rate,
           r->connections, server_us, client_us, capacity);
}

int bench_http(int argc, char **argv)
{
    int clients = 4;
    unsigned server_threads = 2;
    double seconds = 2.0;
    long request_bytes = 0, response_bytes = 0;
    const char *only_mode = NULL; /* NULL: both */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc)
            clients = atoi(argv[++i]);
        else if (strcmp(argv[i], "--server-threads") == 0 && i + 1 < argc)
            server_threads = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc)
            only_mode = argv[++i];
        else if (strcmp(argv[i], "--request-bytes") == 0 && i + 1 < argc)
            request_bytes = atol(argv[++i]);
        else if (strcmp(argv[i], "--response-bytes") == 0 && i + 1 < argc)
            response_bytes = atol(argv[++i]);
        else {
            fprintf(stderr, "usage: rspkit bench http [--clients N] [--server-threads N] "
                            "[--seconds S] [--mode http|https] [--request-bytes N] "
                            "[--response-bytes N]\n");
            return 2;
        }
    }
    if (clients < 1 || clients > 256 || server_threads < 1 || server_threads > 64 || seconds <= 0 ||
        seconds > 60 || request_bytes < 0 || request_bytes > MAX_BODY_BYTES || response_bytes < 0 ||
        response_bytes > MAX_BODY_BYTES ||
        (only_mode != NULL && strcmp(only_mode, "http") != 0 && strcmp(only_mode, "https") != 0)) {
        fprintf(stderr,
                "bench http: clients 1..256, server threads 1..64, seconds (0, 60], "
                "bodies 0..%d bytes, mode http or https\n",
                MAX_BODY_BYTES);
        return 2;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;

    char dir[] = "/tmp/rspkit-bench-http-XXXXXX";
    dev_pki pki;
    rsp_error err;
    rsp_error_clear(&err);
    if (mkdtemp(dir) == NULL || dev_pki_create(dir, "localhost", &pki, &err) != RSP_OK) {
        fprintf(stderr, "bench http: cannot create a test PKI in /tmp\n");
        return 1;
    }
    uint8_t *request_body = malloc((size_t)request_bytes + 1);
    uint8_t *response_body = malloc((size_t)response_bytes + 1);
    if (request_body == NULL || response_body == NULL) {
        fprintf(stderr, "bench http: out of memory\n");
        free(request_body);
        free(response_body);
        dev_pki_remove(&pki);
        rmdir(dir);
        return 1;
    }
    for (long i = 0; i < request_bytes; i++)
        request_body[i] = (uint8_t)(i * 7);
    for (long i = 0; i < response_bytes; i++)
        response_body[i] = (uint8_t)(i * 13);
    const bench_bodies bodies = {.request = request_body,
                                 .request_len = (size_t)request_bytes,
                                 .response = response_body,
                                 .response_len = (size_t)response_bytes};
    log_level saved_level = log_get_level();
    log_set_level(LOG_LEVEL_WARN);

    printf("bench http: POST %s of %ld bytes -> %s %ld bytes, %d client threads (libcurl, "
           "keep-alive), %u server threads, %.1f s per mode, loopback, %ld cores\n",
           PATH, request_bytes, response_bytes ? "200" : "204", response_bytes, clients,
           server_threads, seconds, cores);
    printf("  %-5s  %9s  %9s  %11s  %17s  %17s  %21s\n", "mode", "requests", "req/s", "connections",
           "server CPU us/req", "client CPU us/req", "server capacity req/s");
    mode_result results[2];
    const char *modes[2] = {"http", "https"};
    int status = 0;
    for (int m = 0; m < 2; m++) {
        if (only_mode != NULL && strcmp(only_mode, modes[m]) != 0) {
            results[m] = (mode_result){.mode = modes[m]};
            continue;
        }
        if (run_mode(modes[m], &pki, &bodies, clients, server_threads, seconds, &results[m]) != 0) {
            status = 1;
            break;
        }
        print_result(&results[m], cores);
        if (results[m].failures > 0) {
            fprintf(stderr, "bench http: %s: %ld failed requests\n", modes[m], results[m].failures);
            status = 1;
        }
    }
    if (status == 0 && only_mode == NULL) {
        double server_s = results[1].server_cpu / (double)results[1].requests;
        double capacity = (double)cores / server_s;
        printf("  server capacity = cores / server CPU per request (clients excluded); "
               "connections = TCP connections opened (one per client = keep-alive held)\n");
        printf("  https server capacity %.0f req/s vs target %.0f: %s; measured rate with "
               "clients on the same cores %.0f req/s; https/http server cost ratio %.2f\n",
               capacity, TARGET_RATE, capacity >= TARGET_RATE ? "met" : "NOT met",
               results[1].requests / results[1].elapsed,
               server_s / (results[0].server_cpu / (double)results[0].requests));
    }
    log_set_level(saved_level);
    free(request_body);
    free(response_body);
    dev_pki_remove(&pki);
    rmdir(dir);
    return status;
}

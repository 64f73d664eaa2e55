/* bench smdp: the SM-DP+ server runs in a child process (its own rusage), the parent runs N
 * client threads, each a simulated eUICC (the software eUICC of euicc/euicc.h, fresh per
 * download) behind a minimal ES9+ client with one kept-alive HTTPS connection. Every download
 * is complete: initiateAuthentication, AuthenticateServer, authenticateClient,
 * PrepareDownload, getBoundProfilePackage, the BPP loaded into the eUICC, handleNotification.
 *
 * Reported per curve: downloads per second (clients and server share the machine, so this is
 * a floor), the server's CPU per download, and the crypto floor of one download on the
 * SM-DP+ side timed with raw OpenSSL in the same run: 3 ECDSA signatures (serverSigned1,
 * smdpSigned2, InitialiseSecureChannel), 5 verifications (EUM and eUICC certificates,
 * euiccSignature1, euiccSignature2, euiccSignPIR), one key pair (otPK.DP.ECKA) and one ECDH.
 * The ratio server CPU / crypto floor is the figure that counts (target <= 2 on NIST). The
 * floor is timed just before and just after the downloads and their mean used: this VM's speed
 * drifts by up to a third within minutes, and one timing taken after the run alone moved the
 * ratio by as much.
 * Each client first makes one download that is not measured (its TLS handshake and the
 * server's first-use costs), so the figures are those of kept-alive connections. */
#include "bench/smdp.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "bench/bench.h"
#include "core/log.h"
#include "crypto/pki_generate.h"
#include "euicc/euicc.h"
#include "smdp/binding.h"
#include "smdp/server.h"

#define MAX_CLIENTS   64
#define MAX_DOWNLOADS 10000
#define PIECES_MAX    1024

typedef struct {
    const char *sub; /* "nist" / "brainpool" */
    const char *openssl_group;
    rsp_certificate *ci;
    rsp_certificate *eum;
    rsp_certificate *euicc_cert[MAX_CLIENTS];
    rsp_private_key *euicc_key[MAX_CLIENTS];
    char eids[MAX_CLIENTS][RSP_EID_STRING_SIZE];
    unsigned euicc_count;
} curve_material;

typedef struct {
    curve_material *curve;
    const char *base;
    const char *address;
    const char *ca_file;
    char (*matching_ids)[SMDP_MATCHING_SIZE];
    unsigned downloads;
    _Atomic unsigned *next;
    unsigned index; /* which eUICC identity */
    const char *warmup_matching_id;
    pthread_barrier_t *warm; /* every client warmed up; the parent then starts the count */
    pthread_barrier_t *go;   /* the count started */
    unsigned done;
    unsigned failed;
    char failure[160];
} client_job;

/* ---- the simulated eUICC and its ES9+ client ---- */

typedef struct {
    euicc *card;
    uint8_t resp[600];
} sim;

static bool sim_open(sim *s, curve_material *c, unsigned n)
{
    static const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x10, 0xA0, 0x00, 0x00,
                                     0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF,
                                     0x89, 0x00, 0x00, 0x01, 0x00, 0x00};
    const rsp_certificate *cis[1] = {c->ci};
    euicc_config config;
    memset(&config, 0, sizeof config);
    rsp_error err = {0};
    if (der_hex_decode(c->eids[n], config.eid, sizeof config.eid) != 16)
        return false;
    config.euicc_key = c->euicc_key[n];
    config.euicc_certificate = rsp_certificate_der(c->euicc_cert[n]);
    config.eum_certificate = rsp_certificate_der(c->eum);
    config.ci_certificates = cis;
    config.ci_count = 1;
    if (euicc_new(&config, &s->card, &err) != RSP_OK)
        return false;
    size_t len = euicc_transmit(s->card, select, sizeof select, s->resp, sizeof s->resp);
    return len >= 2 && s->resp[len - 2] == 0x90;
}

/* STORE DATA blocks, then GET RESPONSE while 61xx; false unless the final status is 9000. */
static bool es10(sim *s, der_view command, der_writer *out)
{
    size_t blocks = (command.len + 254) / 255;
    size_t len = 0;
    for (size_t b = 0; b < blocks; b++) {
        uint8_t apdu[262];
        size_t chunk = command.len - b * 255 < 255 ? command.len - b * 255 : 255;
        apdu[0] = 0x80;
        apdu[1] = 0xE2;
        apdu[2] = b + 1 == blocks ? 0x91 : 0x11;
        apdu[3] = (uint8_t)b;
        apdu[4] = (uint8_t)chunk;
        memcpy(apdu + 5, command.data + b * 255, chunk);
        apdu[5 + chunk] = 0x00;
        len = euicc_transmit(s->card, apdu, chunk + 6, s->resp, sizeof s->resp);
        if (len < 2)
            return false;
    }
    for (;;) {
        der_put_raw(out, s->resp, len - 2);
        unsigned sw = (unsigned)(s->resp[len - 2] << 8 | s->resp[len - 1]);
        if ((sw & 0xFF00) != 0x6100)
            return sw == 0x9000;
        uint8_t get_response[] = {0x80, 0xC0, 0x00, 0x00, (uint8_t)(sw & 0xFF)};
        len = euicc_transmit(s->card, get_response, sizeof get_response, s->resp, sizeof s->resp);
        if (len < 2)
            return false;
    }
}

/* POSTs request; the JSON answer (NULL on any failure, or for 204) in *out. */
static bool es9(http_client *client, const char *base, const char *function, json_t *request,
                long expected_status, json_t **out)
{
    static const char *const headers[] = {RSP_ADMIN_PROTOCOL_HEADER ": gsma/rsp/v2.5.0", NULL};
    char url[192];
    snprintf(url, sizeof url, "%s/gsma/rsp2/es9plus/%s", base, function);
    size_t len = 0;
    char *text = rsp_json_dump(request, &len);
    http_response response = {0};
    rsp_error err = {0};
    *out = NULL;
    bool ok = text != NULL &&
              http_client_post(client, url, RSP_JSON_CONTENT_TYPE, text, len, headers, &response,
                               &err) == RSP_OK &&
              response.status == expected_status;
    if (ok && response.body_len > 0) {
        *out = rsp_json_parse_object((const char *)response.body, response.body_len,
                                     8 * 1024 * 1024, &err);
        rsp_execution_status status;
        rsp_status_code_data data;
        ok = *out != NULL && rsp_json_parse_response_header(*out, &status, &data, &err) == RSP_OK &&
             status == RSP_EXECUTION_SUCCESS;
    }
    free(text);
    http_response_free(&response);
    return ok;
}

static bool put_field(json_t *answer, const char *key, der_writer *out)
{
    uint8_t *data = NULL;
    size_t len = 0;
    rsp_error err = {0};
    if (rsp_json_get_base64(answer, key, true, 8 * 1024 * 1024, &data, &len, NULL, &err) != RSP_OK)
        return false;
    der_put_raw(out, data, len);
    free(data);
    return true;
}

typedef struct {
    der_writer a, b;
    json_t *initiate, *authenticate, *bound;
} scratch;

/* SGP.22 v2.5 section 3.1.3: the LPA's side of one download; false with a reason on failure. */
static bool download_once(client_job *job, http_client *client, sim *s, const char *matching_id,
                          scratch *x)
{
    static const uint8_t get_challenge[] = {0xBF, 0x2E, 0x00};
    static const uint8_t get_info1[] = {0xBF, 0x20, 0x00};
    static const uint8_t tac[] = {0x35, 0x29, 0x06, 0x11};
    json_t *request = json_object();
    x->a.len = 0;
    x->b.len = 0;
    bool ok = es10(s, der_view_make(get_challenge, 3), &x->a) &&
              es10(s, der_view_make(get_info1, 3), &x->b) && x->a.len == 21;
    ok = ok && rsp_json_set_base64(request, "euiccChallenge", x->a.buf + 5, 16) == RSP_OK &&
         rsp_json_set_base64(request, "euiccInfo1", x->b.buf, x->b.len) == RSP_OK &&
         json_object_set_new(request, "smdpAddress", json_string(job->address)) == 0 &&
         es9(client, job->base, "initiateAuthentication", request, 200, &x->initiate);
    json_decref(request);
    if (!ok)
        return snprintf(job->failure, sizeof job->failure, "initiateAuthentication"), false;
    /* AuthenticateServer */
    x->a.len = 0;
    x->b.len = 0;
    size_t outer = der_begin(&x->a, 0xBF38);
    ok = put_field(x->initiate, "serverSigned1", &x->a) &&
         put_field(x->initiate, "serverSignature1", &x->a) &&
         put_field(x->initiate, "euiccCiPKIdToBeUsed", &x->a) &&
         put_field(x->initiate, "serverCertificate", &x->a);
    size_t ctx = der_begin(&x->a, 0xA0);
    der_put_tlv(&x->a, 0x80, (const uint8_t *)matching_id, strlen(matching_id));
    size_t device = der_begin(&x->a, 0xA1);
    der_put_tlv(&x->a, 0x80, tac, 4);
    der_put_tlv(&x->a, 0xA1, NULL, 0);
    der_end(&x->a, device);
    der_end(&x->a, ctx);
    der_end(&x->a, outer);
    ok = ok && es10(s, der_writer_view(&x->a), &x->b);
    request = json_object();
    ok = ok &&
         json_object_set(request, "transactionId", json_object_get(x->initiate, "transactionId")) ==
             0 &&
         rsp_json_set_base64(request, "authenticateServerResponse", x->b.buf, x->b.len) == RSP_OK &&
         es9(client, job->base, "authenticateClient", request, 200, &x->authenticate);
    if (!ok) {
        json_decref(request);
        return snprintf(job->failure, sizeof job->failure, "authenticateClient"), false;
    }
    /* PrepareDownload */
    x->a.len = 0;
    x->b.len = 0;
    outer = der_begin(&x->a, 0xBF21);
    ok = put_field(x->authenticate, "smdpSigned2", &x->a) &&
         put_field(x->authenticate, "smdpSignature2", &x->a) &&
         put_field(x->authenticate, "smdpCertificate", &x->a);
    der_end(&x->a, outer);
    json_object_del(request, "authenticateServerResponse");
    ok = ok && es10(s, der_writer_view(&x->a), &x->b) &&
         rsp_json_set_base64(request, "prepareDownloadResponse", x->b.buf, x->b.len) == RSP_OK &&
         es9(client, job->base, "getBoundProfilePackage", request, 200, &x->bound);
    json_decref(request);
    if (!ok)
        return snprintf(job->failure, sizeof job->failure, "getBoundProfilePackage"), false;
    /* LoadBoundProfilePackage, piece by piece */
    x->a.len = 0;
    x->b.len = 0;
    der_view pieces[PIECES_MAX];
    size_t count = 0;
    rsp_error err = {0};
    ok = put_field(x->bound, "boundProfilePackage", &x->a) &&
         smdp_bpp_split(der_writer_view(&x->a), pieces, PIECES_MAX, &count, &err) == RSP_OK;
    for (size_t i = 0; ok && i < count && x->b.len == 0; i++)
        ok = es10(s, pieces[i], &x->b);
    ok = ok && x->b.len > 2 && x->b.buf[0] == 0xBF && x->b.buf[1] == 0x37;
    json_t *answer = NULL;
    request = json_object();
    ok = ok && rsp_json_set_base64(request, "pendingNotification", x->b.buf, x->b.len) == RSP_OK &&
         es9(client, job->base, "handleNotification", request, 204, &answer);
    json_decref(request);
    json_decref(answer);
    if (!ok)
        return snprintf(job->failure, sizeof job->failure, "load or handleNotification"), false;
    return true;
}

static bool one_download(client_job *job, http_client *client, const char *matching_id, scratch *x)
{
    sim s;
    memset(&s, 0, sizeof s);
    bool ok =
        sim_open(&s, job->curve, job->index) && download_once(job, client, &s, matching_id, x);
    euicc_free(s.card);
    json_decref(x->initiate);
    json_decref(x->authenticate);
    json_decref(x->bound);
    x->initiate = x->authenticate = x->bound = NULL;
    return ok;
}

static void *client_main(void *user)
{
    client_job *job = user;
    rsp_error err = {0};
    http_client_config config = {.ca_file = job->ca_file, .max_response = 8 * 1024 * 1024};
    http_client *client = http_client_new(&config, &err);
    scratch x;
    memset(&x, 0, sizeof x);
    der_writer_init_dynamic(&x.a, NULL);
    der_writer_init_dynamic(&x.b, NULL);
    bool warmed = client != NULL && one_download(job, client, job->warmup_matching_id, &x);
    if (!warmed)
        job->failed++;
    pthread_barrier_wait(job->warm);
    pthread_barrier_wait(job->go);
    unsigned i;
    while (warmed && (i = atomic_fetch_add(job->next, 1)) < job->downloads) {
        if (one_download(job, client, job->matching_ids[i], &x))
            job->done++;
        else
            job->failed++;
    }
    der_writer_free(&x.a);
    der_writer_free(&x.b);
    http_client_free(client);
    return NULL;
}

/* ---- crypto floor ---- */

/* Rounds of each operation per timing: about 0.1 s per floor on NIST. */
#define FLOOR_ROUNDS 500

static double time_per_op(int kind, EVP_PKEY *key, EVP_PKEY *peer, const char *group,
                          unsigned rounds)
{
    uint8_t message[256], signature[80], secret[64];
    memset(message, 0x5A, sizeof message);
    size_t signature_len = sizeof signature;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key);
    EVP_DigestSign(md, signature, &signature_len, message, sizeof message);
    EVP_MD_CTX_free(md);
    double start = bench_cpu_seconds();
    for (unsigned r = 0; r < rounds; r++) {
        md = EVP_MD_CTX_new();
        if (kind == 0) { /* sign */
            size_t len = sizeof signature;
            EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key);
            EVP_DigestSign(md, signature, &len, message, sizeof message);
        } else if (kind == 1) { /* verify */
            EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key);
            EVP_DigestVerify(md, signature, signature_len, message, sizeof message);
        } else if (kind == 2) { /* key pair */
            EVP_PKEY_free(EVP_EC_gen(group));
        } else { /* ECDH */
            EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
            size_t len = sizeof secret;
            EVP_PKEY_derive_init(ctx);
            EVP_PKEY_derive_set_peer(ctx, peer);
            EVP_PKEY_derive(ctx, secret, &len);
            EVP_PKEY_CTX_free(ctx);
        }
        EVP_MD_CTX_free(md);
    }
    return (bench_cpu_seconds() - start) / rounds;
}

/* One floor timing: the cost of each operation and the floor of one download, in seconds. */
typedef struct {
    double sign, verify, keygen, ecdh;
    double total;
} floor_timing;

static double crypto_floor(const char *group, double *sign, double *verify, double *keygen,
                           double *ecdh)
{
    EVP_PKEY *key = EVP_EC_gen(group);
    EVP_PKEY *peer = EVP_EC_gen(group);
    if (key == NULL || peer == NULL) {
        EVP_PKEY_free(key);
        EVP_PKEY_free(peer);
        return 0;
    }
    *sign = time_per_op(0, key, peer, group, FLOOR_ROUNDS);
    *verify = time_per_op(1, key, peer, group, FLOOR_ROUNDS);
    *keygen = time_per_op(2, key, peer, group, FLOOR_ROUNDS);
    *ecdh = time_per_op(3, key, peer, group, FLOOR_ROUNDS);
    EVP_PKEY_free(key);
    EVP_PKEY_free(peer);
    return 3 * *sign + 5 * *verify + *keygen + *ecdh;
}

static floor_timing time_floor(const char *group)
{
    floor_timing t = {0};
    t.total = crypto_floor(group, &t.sign, &t.verify, &t.keygen, &t.ecdh);
    return t;
}

/* The mean of the timings before and after the run, operation by operation. */
static floor_timing floor_mean(const floor_timing *before, const floor_timing *after)
{
    return (floor_timing){.sign = (before->sign + after->sign) / 2,
                          .verify = (before->verify + after->verify) / 2,
                          .keygen = (before->keygen + after->keygen) / 2,
                          .ecdh = (before->ecdh + after->ecdh) / 2,
                          .total = (before->total + after->total) / 2};
}

/* ---- the server child ---- */

typedef struct {
    pid_t pid;
    int to_child;
    int from_child;
    uint16_t port;
    char address[256];
} child_server;

/* What the server child spent between 's' and 'e': CPU seconds and its store's commits. */
typedef struct {
    double user, system;
    double commits, durable_commits, wal_syncs;
} server_figures;

static void server_figures_now(smdp_server *server, server_figures *out)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    out->user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    out->system = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    store_statistics stats;
    store_stats(smdp_server_inventory(server)->store, &stats);
    out->commits = (double)stats.commits;
    out->durable_commits = (double)stats.durable_commits;
    out->wal_syncs = (double)stats.wal_syncs;
}

/* Runs in the child: serve, report the port and address, then report what it spent between
 * 's' and 'e' from the parent. */
static void child_main(const smdp_config *config, int in, int out)
{
    rsp_error err = {0};
    smdp_server *server = smdp_server_new(config, &err);
    if (server == NULL || smdp_server_start(server, &err) != RSP_OK) {
        fprintf(stderr, "bench smdp: server: %s\n", err.message);
        _exit(1);
    }
    uint16_t port = smdp_server_port(server);
    char address[256];
    snprintf(address, sizeof address, "%s", smdp_server_address(server));
    if (write(out, &port, sizeof port) != sizeof port ||
        write(out, address, sizeof address) != sizeof address)
        _exit(1);
    char command = 0;
    server_figures start = {0}, used;
    while (read(in, &command, 1) == 1 && command != 'e')
        if (command == 's')
            server_figures_now(server, &start);
    server_figures_now(server, &used);
    used.user -= start.user;
    used.system -= start.system;
    used.commits -= start.commits;
    used.durable_commits -= start.durable_commits;
    used.wal_syncs -= start.wal_syncs;
    if (write(out, &used, sizeof used) != sizeof used)
        _exit(1);
    smdp_server_stop(server, 1000);
    smdp_server_free(server);
    _exit(0);
}

static bool child_start(const smdp_config *config, child_server *child)
{
    int down[2], up[2];
    if (pipe(down) != 0 || pipe(up) != 0)
        return false;
    fflush(NULL);
    child->pid = fork();
    if (child->pid < 0)
        return false;
    if (child->pid == 0) {
        close(down[1]);
        close(up[0]);
        child_main(config, down[0], up[1]);
    }
    close(down[0]);
    close(up[1]);
    child->to_child = down[1];
    child->from_child = up[0];
    return read(child->from_child, &child->port, sizeof child->port) == sizeof child->port &&
           read(child->from_child, child->address, sizeof child->address) == sizeof child->address;
}

/* Server CPU seconds since 's': used[0] user, used[1] system (-1 when unknown). */
static void child_stop(child_server *child, server_figures *used)
{
    if (write(child->to_child, "e", 1) != 1 ||
        read(child->from_child, used, sizeof *used) != sizeof *used)
        *used = (server_figures){.user = -1, .system = -1};
    close(child->to_child);
    close(child->from_child);
    int status = 0;
    waitpid(child->pid, &status, 0);
}

/* ---- one curve ---- */

static bool load_material(const char *dir, curve_material *c, unsigned count)
{
    char path[512];
    rsp_error err = {0};
    snprintf(path, sizeof path, "%s/eids.txt", dir);
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return false;
    char line[128];
    c->euicc_count = 0;
    while (fgets(line, sizeof line, file) != NULL && c->euicc_count < count)
        if (sscanf(line, "issued %32s", c->eids[c->euicc_count]) == 1)
            c->euicc_count++;
    fclose(file);
    snprintf(path, sizeof path, "%s/%s/CERT_CI_ECDSA.pem", dir, c->sub);
    bool ok = rsp_certificate_load_file(path, &c->ci, &err) == RSP_OK;
    snprintf(path, sizeof path, "%s/%s/CERT_EUM_ECDSA.pem", dir, c->sub);
    ok = ok && rsp_certificate_load_file(path, &c->eum, &err) == RSP_OK;
    for (unsigned i = 0; ok && i < c->euicc_count; i++) {
        snprintf(path, sizeof path, "%s/%s/euicc/CERT_EUICC_ECDSA_%s.pem", dir, c->sub, c->eids[i]);
        ok = rsp_certificate_load_file(path, &c->euicc_cert[i], &err) == RSP_OK;
        snprintf(path, sizeof path, "%s/%s/euicc/SK_EUICC_ECDSA_%s.pem", dir, c->sub, c->eids[i]);
        ok = ok && rsp_private_key_load_file(path, &c->euicc_key[i], &err) == RSP_OK;
    }
    if (!ok)
        fprintf(stderr, "bench smdp: %s\n", err.message);
    return ok && c->euicc_count == count;
}

static void free_material(curve_material *c)
{
    rsp_certificate_free(c->ci);
    rsp_certificate_free(c->eum);
    for (unsigned i = 0; i < MAX_CLIENTS; i++) {
        rsp_certificate_free(c->euicc_cert[i]);
        rsp_private_key_free(c->euicc_key[i]);
    }
}

/* Imports `downloads` released copies of the package into a fresh database. */
static bool prepare_orders(const char *url, const uint8_t *package, size_t len, unsigned downloads,
                           char (*matching_ids)[SMDP_MATCHING_SIZE])
{
    store *st = NULL;
    rsp_error err = {0};
    store_options options = {.pool_size = 1};
    if (store_open(url, &options, &st, &err) != RSP_OK || smdp_storage_migrate(st, &err) != RSP_OK)
        return false;
    smdp_operator op = {.id = "bench"};
    smdp_inventory inventory = {.store = st, .operators = &op, .operator_count = 1};
    bool ok = true;
    for (unsigned i = 0; ok && i < downloads; i++) {
        uint8_t *copy = NULL;
        size_t copy_len = 0;
        char iccid[SMDP_ICCID_SIZE], got[SMDP_ICCID_SIZE];
        ok = smdp_personalise_copy(package, len, i, &copy, &copy_len, &err) == RSP_OK &&
             smdp_inventory_import(&inventory, "bench", copy, copy_len, iccid, &err) == RSP_OK;
        free(copy);
        smdp_download_order order = {.operator_id = "bench", .iccid = iccid};
        smdp_confirm_order confirm = {.operator_id = "bench", .iccid = iccid, .release = true};
        smdp_confirm_result result;
        ok = ok && smdp_order_download(&inventory, &order, got, &err) == SMDP_STATUS_OK &&
             smdp_order_confirm(&inventory, &confirm, &result, &err) == SMDP_STATUS_OK;
        if (ok)
            memcpy(matching_ids[i], result.matching_id, SMDP_MATCHING_SIZE);
    }
    if (!ok)
        fprintf(stderr, "bench smdp: orders: %s\n", err.message);
    store_close(st);
    return ok;
}

typedef struct {
    unsigned clients;
    unsigned downloads;
    unsigned server_threads;
    bool relaxed_sync;
} bench_options;

static int run_curve(const char *dir, curve_material *c, const bench_options *opt,
                     const uint8_t *package, size_t len)
{
    /* one more per client: its warm-up download */
    unsigned orders = opt->downloads + opt->clients;
    char(*matching_ids)[SMDP_MATCHING_SIZE] = calloc(orders, SMDP_MATCHING_SIZE);
    char url[256], base[96], ca_file[512];
    snprintf(url, sizeof url, "sqlite:%s/bench-%s.db", dir, c->sub);
    snprintf(ca_file, sizeof ca_file, "%s/nist/CERT_CI_ECDSA.pem", dir);
    if (matching_ids == NULL || !load_material(dir, c, opt->clients) ||
        !prepare_orders(url, package, len, orders, matching_ids)) {
        free(matching_ids);
        return 1;
    }
    smdp_config config;
    rsp_error err = {0};
    smdp_config_init(&config);
    snprintf(config.listen, sizeof config.listen, "127.0.0.1:0");
    snprintf(config.database, sizeof config.database, "%s", url);
    config.threads = opt->server_threads;
    if (opt->relaxed_sync)
        snprintf(config.sqlite_synchronous, sizeof config.sqlite_synchronous, "normal");
    child_server child;
    if (smdp_config_use_pki(&config, dir, &err) != RSP_OK || !child_start(&config, &child)) {
        fprintf(stderr, "bench smdp: cannot start the server: %s\n", err.message);
        free(matching_ids);
        return 1;
    }
    snprintf(base, sizeof base, "https://localhost:%u", (unsigned)child.port);
    _Atomic unsigned next = 0;
    client_job jobs[MAX_CLIENTS];
    pthread_t threads[MAX_CLIENTS];
    pthread_barrier_t warm, go;
    pthread_barrier_init(&warm, NULL, opt->clients + 1);
    pthread_barrier_init(&go, NULL, opt->clients + 1);
    for (unsigned i = 0; i < opt->clients; i++) {
        jobs[i] = (client_job){.curve = c,
                               .base = base,
                               .address = child.address,
                               .ca_file = ca_file,
                               .matching_ids = matching_ids,
                               .downloads = opt->downloads,
                               .next = &next,
                               .index = i,
                               .warmup_matching_id = matching_ids[opt->downloads + i],
                               .warm = &warm,
                               .go = &go};
        pthread_create(&threads[i], NULL, client_main, &jobs[i]);
    }
    pthread_barrier_wait(&warm);
    floor_timing before = time_floor(c->openssl_group);
    bool counting = write(child.to_child, "s", 1) == 1;
    double start = bench_now();
    pthread_barrier_wait(&go);
    unsigned done = 0, failed = 0;
    for (unsigned i = 0; i < opt->clients; i++) {
        pthread_join(threads[i], NULL);
        done += jobs[i].done;
        failed += jobs[i].failed;
        if (jobs[i].failed > 0)
            fprintf(stderr, "bench smdp: client %u: %u failed (last at %s)\n", i, jobs[i].failed,
                    jobs[i].failure);
    }
    double elapsed = bench_now() - start;
    pthread_barrier_destroy(&warm);
    pthread_barrier_destroy(&go);
    server_figures server_used;
    child_stop(&child, &server_used);
    if (!counting)
        failed++;
    double server_cpu = server_used.user + server_used.system;
    floor_timing after = time_floor(c->openssl_group);
    floor_timing mean = floor_mean(&before, &after);
    double floor = mean.total;
    double per_download = done > 0 ? server_cpu / done : 0;
    printf("smdp %-9s %u downloads (%u failed), %u clients: %.1f downloads/s\n", c->sub, done,
           failed, opt->clients, elapsed > 0 ? done / elapsed : 0);
    printf("smdp %-9s server CPU %.2f ms/download (user %.2f, system %.2f); crypto floor %.2f ms "
           "(3 sign %.3f, 5 verify "
           "%.3f, keygen %.3f, ECDH %.3f ms); ratio %.2fx%s\n",
           c->sub, per_download * 1e3, done > 0 ? server_used.user / done * 1e3 : 0,
           done > 0 ? server_used.system / done * 1e3 : 0, floor * 1e3, mean.sign * 1e3,
           mean.verify * 1e3, mean.keygen * 1e3, mean.ecdh * 1e3,
           floor > 0 ? per_download / floor : 0,
           strcmp(c->sub, "nist") == 0
               ? (per_download <= 2 * floor ? " (target <= 2x: met)" : " (target <= 2x: NOT met)")
               : "");
    printf("smdp %-9s crypto floor timed before the run %.3f ms, after %.3f ms (mean used)\n",
           c->sub, before.total * 1e3, after.total * 1e3);
    if (done > 0)
        printf("smdp %-9s store: %.2f commits (%.2f durable), %.2f log syncs per download\n",
               c->sub, server_used.commits / done, server_used.durable_commits / done,
               server_used.wal_syncs / done);
    free(matching_ids);
    return failed > 0 || done == 0 ? 1 : 0;
}

static bool parse_unsigned(const char *text, unsigned max, unsigned *out)
{
    char *end = NULL;
    unsigned long value = strtoul(text, &end, 10);
    if (end == text || *end != '\0' || value == 0 || value > max)
        return false;
    *out = (unsigned)value;
    return true;
}

int bench_smdp(int argc, char **argv)
{
    bench_options opt = {.clients = 4, .downloads = 1000, .server_threads = 2};
    const char *curves = "both";
    for (int i = 1; i < argc; i++) {
        bool ok = i + 1 < argc;
        if (ok && strcmp(argv[i], "--clients") == 0)
            ok = parse_unsigned(argv[++i], MAX_CLIENTS, &opt.clients);
        else if (ok && strcmp(argv[i], "--downloads") == 0)
            ok = parse_unsigned(argv[++i], MAX_DOWNLOADS, &opt.downloads);
        else if (ok && strcmp(argv[i], "--server-threads") == 0)
            ok = parse_unsigned(argv[++i], 64, &opt.server_threads);
        else if (ok && strcmp(argv[i], "--curve") == 0)
            curves = argv[++i];
        else if (strcmp(argv[i], "--sqlite-normal") == 0)
            opt.relaxed_sync = true, ok = true;
        else
            ok = false;
        if (!ok) {
            fprintf(stderr, "usage: rspkit bench smdp [--clients N] [--downloads N] "
                            "[--curve nist|brainpool|both] [--server-threads N]\n");
            return 2;
        }
    }
    char path[512];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/testdata/ts48/NoBERTLV.der", RSPKIT_SHARED_DIR);
    FILE *file = fopen(path, "rb");
    uint8_t *package = file != NULL ? malloc(1 << 20) : NULL;
    if (package != NULL)
        len = fread(package, 1, 1 << 20, file);
    if (file != NULL)
        fclose(file);
    if (package == NULL || len == 0) {
        fprintf(stderr, "bench smdp: %s is needed (GSMA TS.48 test profile)\n", path);
        free(package);
        return 1;
    }
    log_set_level(LOG_LEVEL_WARN);
    char dir[] = "/tmp/rspkit-bench-smdp-XXXXXX";
    rsp_error err = {0};
    rsp_pki_options pki = {.curves = RSP_PKI_CURVE_BOTH, .euicc_count = opt.clients};
    if (mkdtemp(dir) == NULL || rsp_pki_init(dir, &pki, &err) != RSP_OK) {
        fprintf(stderr, "bench smdp: PKI: %s\n", err.message);
        free(package);
        return 1;
    }
    curve_material material[2] = {{.sub = "nist", .openssl_group = "prime256v1"},
                                  {.sub = "brainpool", .openssl_group = "brainpoolP256r1"}};
    int status = 0;
    for (int c = 0; c < 2; c++) {
        if (strcmp(curves, "both") != 0 && strcmp(curves, material[c].sub) != 0)
            continue;
        status |= run_curve(dir, &material[c], &opt, package, len);
        free_material(&material[c]);
    }
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", dir);
    if (system(command) != 0)
        fprintf(stderr, "bench smdp: could not remove %s\n", dir);
    free(package);
    return status;
}

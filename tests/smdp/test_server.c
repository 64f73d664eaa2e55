/* The SM-DP+ server end to end over real HTTPS on loopback: the project's software eUICC
 * (euicc/euicc.h) and a minimal ES9+ JSON client (SGP.22 v2.5 section 6.5.2) played here
 * download each TS.48 package (NIST, and brainpool once), two downloads run concurrently for
 * different EIDs, a second download of a released profile is refused, a transaction survives
 * a server restart, and the negative paths answer the exact SGP.22 status codes without
 * changing state: malformed JSON, wrong content type, oversized body, missing admin protocol,
 * unknown and replayed transactions, EID binding, confirmation code retries, cancelSession. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "smdp_fixture.h"

#include "core/log.h"
#include "core/saip.h"
#include "core/sgp22.h"
#include "crypto/ecdsa.h"
#include "crypto/pki_generate.h"
#include "euicc/euicc.h"
#include "smdp/binding.h"
#include "smdp/server.h"

#define EUICCS     3
#define PIECES_MAX 512

typedef struct {
    rsp_certificate *ci;
    rsp_certificate *eum;
    rsp_certificate *euicc_cert[EUICCS];
    rsp_private_key *euicc_key[EUICCS];
} curve_files;

typedef struct {
    char dir[64];
    char eids[EUICCS][RSP_EID_STRING_SIZE];
    curve_files curves[2]; /* 0 NIST, 1 brainpool */
    smdp_config config;
    smdp_server *server;
    char base[96];
    char ca_file[256];
} fixture;

static fixture *global;

static bool shared_data_present(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/testdata/ts48/NoBERTLV.der", RSPKIT_SHARED_DIR);
    if (access(path, R_OK) == 0)
        return true;
    print_message("SKIPPED LOUDLY: TS.48 test profiles not found under %s/testdata/ts48\n",
                  RSPKIT_SHARED_DIR);
    return false;
}

static void load_curve(fixture *f, int c, const char *sub)
{
    char path[512];
    rsp_error err = {0};
    curve_files *files = &f->curves[c];
    snprintf(path, sizeof path, "%s/%s/CERT_CI_ECDSA.pem", f->dir, sub);
    check(rsp_certificate_load_file(path, &files->ci, &err), &err);
    snprintf(path, sizeof path, "%s/%s/CERT_EUM_ECDSA.pem", f->dir, sub);
    check(rsp_certificate_load_file(path, &files->eum, &err), &err);
    for (int i = 0; i < EUICCS; i++) {
        snprintf(path, sizeof path, "%s/%s/euicc/CERT_EUICC_ECDSA_%s.pem", f->dir, sub, f->eids[i]);
        check(rsp_certificate_load_file(path, &files->euicc_cert[i], &err), &err);
        snprintf(path, sizeof path, "%s/%s/euicc/SK_EUICC_ECDSA_%s.pem", f->dir, sub, f->eids[i]);
        check(rsp_private_key_load_file(path, &files->euicc_key[i], &err), &err);
    }
}

static void start_server(fixture *f)
{
    rsp_error err = {0};
    f->server = smdp_server_new(&f->config, &err);
    if (f->server == NULL)
        print_message("server: %s\n", err.message);
    assert_non_null(f->server);
    check(smdp_server_start(f->server, &err), &err);
    /* The address (and so the port) stays the same over a restart. */
    if (f->config.address[0] == '\0') {
        snprintf(f->config.address, sizeof f->config.address, "%s", smdp_server_address(f->server));
        snprintf(f->config.listen, sizeof f->config.listen, "127.0.0.1:%u",
                 (unsigned)smdp_server_port(f->server));
    }
    snprintf(f->base, sizeof f->base, "https://localhost:%u",
             (unsigned)smdp_server_port(f->server));
}

static int group_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    log_set_level(LOG_LEVEL_WARN);
    rsp_error err = {0};
    snprintf(f->dir, sizeof f->dir, "/tmp/smdp-server-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    rsp_pki_options options = {.curves = RSP_PKI_CURVE_BOTH, .euicc_count = EUICCS};
    check(rsp_pki_init(f->dir, &options, &err), &err);
    char path[512];
    snprintf(path, sizeof path, "%s/eids.txt", f->dir);
    FILE *file = fopen(path, "r");
    assert_non_null(file);
    char line[128];
    int count = 0;
    while (fgets(line, sizeof line, file) != NULL && count < EUICCS)
        if (sscanf(line, "issued %32s", f->eids[count]) == 1)
            count++;
    fclose(file);
    assert_int_equal(count, EUICCS);
    load_curve(f, 0, "nist");
    load_curve(f, 1, "brainpool");
    smdp_config_init(&f->config);
    check(smdp_config_use_pki(&f->config, f->dir, &err), &err);
    snprintf(f->config.listen, sizeof f->config.listen, "127.0.0.1:0");
    snprintf(f->config.database, sizeof f->config.database, "sqlite:%s/smdp.db", f->dir);
    f->config.max_body = 256 * 1024;
    f->config.threads = 4;
    f->config.confirmation_code_attempts = 2;
    /* The callback sender's periodic (durable) commits would blur the commit counts that
     * test_relaxed_session_lost compares: it wakes once a minute here. */
    f->config.callback_interval_ms = 60000;
    check(smdp_config_add_operator(&f->config, "op", "key", NULL, NULL, &err), &err);
    snprintf(f->ca_file, sizeof f->ca_file, "%s/nist/CERT_CI_ECDSA.pem", f->dir);
    start_server(f);
    global = f;
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    smdp_server_free(f->server);
    for (int c = 0; c < 2; c++) {
        rsp_certificate_free(f->curves[c].ci);
        rsp_certificate_free(f->curves[c].eum);
        for (int i = 0; i < EUICCS; i++) {
            rsp_certificate_free(f->curves[c].euicc_cert[i]);
            rsp_private_key_free(f->curves[c].euicc_key[i]);
        }
    }
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", f->dir);
    assert_int_equal(system(command), 0);
    free(f);
    return 0;
}

/* ---- the eUICC and the LPA's ES10 side ---- */

typedef struct {
    euicc *card;
    const rsp_certificate *cis[1];
    uint8_t resp[600];
} card;

static void card_open(fixture *f, card *c, int curve, int n)
{
    memset(c, 0, sizeof *c);
    c->cis[0] = f->curves[curve].ci;
    euicc_config config;
    memset(&config, 0, sizeof config);
    assert_int_equal(der_hex_decode(f->eids[n], config.eid, sizeof config.eid), 16);
    config.euicc_key = f->curves[curve].euicc_key[n];
    config.euicc_certificate = rsp_certificate_der(f->curves[curve].euicc_cert[n]);
    config.eum_certificate = rsp_certificate_der(f->curves[curve].eum);
    config.ci_certificates = c->cis;
    config.ci_count = 1;
    rsp_error err = {0};
    check(euicc_new(&config, &c->card, &err), &err);
    static const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x10, 0xA0, 0x00, 0x00,
                                     0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF,
                                     0x89, 0x00, 0x00, 0x01, 0x00, 0x00};
    size_t len = euicc_transmit(c->card, select, sizeof select, c->resp, sizeof c->resp);
    assert_true(len >= 2);
    assert_int_equal(c->resp[len - 2], 0x90);
}

/* STORE DATA blocks, then GET RESPONSE while 61xx; the response data goes to out. */
static unsigned es10(card *c, der_view command, der_writer *out)
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
        len = euicc_transmit(c->card, apdu, chunk + 6, c->resp, sizeof c->resp);
        assert_true(len >= 2);
    }
    for (;;) {
        der_put_raw(out, c->resp, len - 2);
        unsigned sw = (unsigned)(c->resp[len - 2] << 8 | c->resp[len - 1]);
        if ((sw & 0xFF00) != 0x6100)
            return sw;
        uint8_t get_response[] = {0x80, 0xC0, 0x00, 0x00, (uint8_t)(sw & 0xFF)};
        len = euicc_transmit(c->card, get_response, sizeof get_response, c->resp, sizeof c->resp);
        assert_true(len >= 2);
    }
}

static size_t installed_profiles(card *c)
{
    return euicc_state_count(euicc_get_state_const(c->card), EUICC_LIST_PROFILES);
}

/* ---- the ES9+ JSON client ---- */

typedef struct {
    http_client *http;
    const char *base;
} es9_client;

static void client_open(fixture *f, es9_client *client)
{
    rsp_error err = {0};
    http_client_config config = {.ca_file = f->ca_file, .max_response = 4 * 1024 * 1024};
    client->http = http_client_new(&config, &err);
    assert_non_null(client->http);
    client->base = f->base;
}

/* POSTs the raw body; returns the HTTP status and the JSON answer (NULL when none). */
static long post_raw(es9_client *client, const char *function, const char *content_type,
                     const char *admin_protocol, const char *body, size_t len, json_t **out)
{
    char url[192], protocol[96];
    snprintf(url, sizeof url, "%s/gsma/rsp2/es9plus/%s", client->base, function);
    snprintf(protocol, sizeof protocol, RSP_ADMIN_PROTOCOL_HEADER ": %s", admin_protocol);
    const char *headers[] = {admin_protocol != NULL ? protocol : NULL, NULL};
    http_response response = {0};
    rsp_error err = {0};
    if (out != NULL)
        *out = NULL;
    if (http_client_post(client->http, url, content_type, body, len, headers, &response, &err) !=
        RSP_OK) {
        /* Only the oversized body may end this way: the server answers 413 and closes before
         * the client has sent everything. */
        print_message("transport: %s\n", err.message);
        return -1;
    }
    if (out != NULL && response.body_len > 0 && response.body[0] == '{')
        *out = rsp_json_parse_object((const char *)response.body, response.body_len,
                                     4 * 1024 * 1024, &err);
    long status = response.status;
    http_response_free(&response);
    return status;
}

static long post(es9_client *client, const char *function, json_t *request, json_t **out)
{
    size_t len = 0;
    char *text = rsp_json_dump(request, &len);
    assert_non_null(text);
    long status =
        post_raw(client, function, RSP_JSON_CONTENT_TYPE, "gsma/rsp/v2.5.0", text, len, out);
    free(text);
    return status;
}

/* "Executed-Success", or "Failed <subject> <reason>". */
static const char *outcome(json_t *answer, char *buf, size_t size)
{
    rsp_execution_status status;
    rsp_status_code_data data;
    rsp_error err = {0};
    if (answer == NULL || rsp_json_parse_response_header(answer, &status, &data, &err) != RSP_OK) {
        snprintf(buf, size, "no header");
        return buf;
    }
    if (status == RSP_EXECUTION_SUCCESS)
        snprintf(buf, size, "Executed-Success");
    else
        snprintf(buf, size, "%s %s %s", rsp_execution_status_name(status),
                 data.subject_code != NULL ? data.subject_code : "-",
                 data.reason_code != NULL ? data.reason_code : "-");
    return buf;
}

static void expect(json_t *answer, const char *wanted)
{
    char buf[96];
    const char *got = outcome(answer, buf, sizeof buf);
    if (strcmp(got, wanted) != 0)
        print_message("wanted \"%s\", got \"%s\"\n", wanted, got);
    assert_string_equal(got, wanted);
}

/* The base64 field decoded, appended to out. */
static void field(json_t *answer, const char *key, der_writer *out)
{
    uint8_t *data = NULL;
    size_t len = 0;
    rsp_error err = {0};
    check(rsp_json_get_base64(answer, key, true, 4 * 1024 * 1024, &data, &len, NULL, &err), &err);
    der_put_raw(out, data, len);
    free(data);
}

static void set_b64(json_t *request, const char *key, der_view value)
{
    assert_int_equal(rsp_json_set_base64(request, key, value.data, value.len), RSP_OK);
}

/* Posts `request` (kept by the caller), which must be answered 200 with outcome `wanted`. */
static void post_expect(es9_client *client, const char *function, json_t *request,
                        const char *wanted)
{
    json_t *answer = NULL;
    assert_int_equal(post(client, function, request, &answer), 200);
    expect(answer, wanted);
    json_decref(answer);
}

/* ---- one download, step by step ---- */

typedef struct {
    card *c;
    es9_client *client;
    const char *matching_id;
    char transaction[40];
    json_t *initiate; /* answers */
    json_t *authenticate;
    json_t *bound;
    der_writer server_response; /* AuthenticateServerResponse of the eUICC */
    der_writer prepare;         /* PrepareDownloadResponse */
    der_writer pir;
} download;

static void download_init(download *d, card *c, es9_client *client, const char *matching_id)
{
    memset(d, 0, sizeof *d);
    d->c = c;
    d->client = client;
    d->matching_id = matching_id;
    der_writer_init_dynamic(&d->server_response, NULL);
    der_writer_init_dynamic(&d->prepare, NULL);
    der_writer_init_dynamic(&d->pir, NULL);
}

static void download_free(download *d)
{
    json_decref(d->initiate);
    json_decref(d->authenticate);
    json_decref(d->bound);
    der_writer_free(&d->server_response);
    der_writer_free(&d->prepare);
    der_writer_free(&d->pir);
}

static void step_initiate(download *d, const char *address)
{
    static const uint8_t get_challenge[] = {0xBF, 0x2E, 0x00};
    static const uint8_t get_info1[] = {0xBF, 0x20, 0x00};
    der_writer challenge, info1;
    der_writer_init_dynamic(&challenge, NULL);
    der_writer_init_dynamic(&info1, NULL);
    assert_int_equal(es10(d->c, der_view_make(get_challenge, 3), &challenge), 0x9000);
    assert_int_equal(es10(d->c, der_view_make(get_info1, 3), &info1), 0x9000);
    json_t *request = json_object();
    set_b64(request, "euiccChallenge", der_view_make(challenge.buf + 5, 16));
    set_b64(request, "euiccInfo1", der_writer_view(&info1));
    json_object_set_new(request, "smdpAddress", json_string(address));
    assert_int_equal(post(d->client, "initiateAuthentication", request, &d->initiate), 200);
    json_decref(request);
    der_writer_free(&challenge);
    der_writer_free(&info1);
    const char *id = json_string_value(json_object_get(d->initiate, "transactionId"));
    if (id != NULL)
        snprintf(d->transaction, sizeof d->transaction, "%s", id);
}

static void step_authenticate_server(download *d)
{
    der_writer request;
    der_writer_init_dynamic(&request, NULL);
    size_t outer = der_begin(&request, 0xBF38);
    field(d->initiate, "serverSigned1", &request);
    field(d->initiate, "serverSignature1", &request);
    field(d->initiate, "euiccCiPKIdToBeUsed", &request);
    field(d->initiate, "serverCertificate", &request);
    size_t ctx = der_begin(&request, 0xA0);
    der_put_tlv(&request, 0x80, (const uint8_t *)d->matching_id, strlen(d->matching_id));
    size_t device = der_begin(&request, 0xA1);
    static const uint8_t tac[] = {0x35, 0x29, 0x06, 0x11};
    der_put_tlv(&request, 0x80, tac, 4);
    der_put_tlv(&request, 0xA1, NULL, 0);
    der_end(&request, device);
    der_end(&request, ctx);
    der_end(&request, outer);
    assert_int_equal(es10(d->c, der_writer_view(&request), &d->server_response), 0x9000);
    der_writer_free(&request);
}

static long step_authenticate_client(download *d)
{
    json_t *request = json_object();
    json_object_set_new(request, "transactionId", json_string(d->transaction));
    set_b64(request, "authenticateServerResponse", der_writer_view(&d->server_response));
    json_decref(d->authenticate);
    long status = post(d->client, "authenticateClient", request, &d->authenticate);
    json_decref(request);
    return status;
}

static void step_prepare(download *d, const char *confirmation_code)
{
    der_writer request;
    der_writer_init_dynamic(&request, NULL);
    size_t outer = der_begin(&request, 0xBF21);
    field(d->authenticate, "smdpSigned2", &request);
    field(d->authenticate, "smdpSignature2", &request);
    if (confirmation_code != NULL) {
        uint8_t hash[32], id[16], hash_cc[32];
        size_t id_len = 0;
        rsp_error err = {0};
        check(rsp_hex_decode(d->transaction, strlen(d->transaction), id, sizeof id, &id_len, &err),
              &err);
        const uint8_t *p1[] = {(const uint8_t *)confirmation_code};
        const size_t l1[] = {strlen(confirmation_code)};
        check(rsp_sha256(p1, l1, 1, hash), &err);
        const uint8_t *p2[] = {hash, id};
        const size_t l2[] = {32, id_len};
        check(rsp_sha256(p2, l2, 2, hash_cc), &err);
        der_put_tlv(&request, 0x04, hash_cc, 32);
    }
    field(d->authenticate, "smdpCertificate", &request);
    der_end(&request, outer);
    d->prepare.len = 0;
    assert_int_equal(es10(d->c, der_writer_view(&request), &d->prepare), 0x9000);
    der_writer_free(&request);
}

static long step_get_bpp(download *d)
{
    json_t *request = json_object();
    json_object_set_new(request, "transactionId", json_string(d->transaction));
    set_b64(request, "prepareDownloadResponse", der_writer_view(&d->prepare));
    json_decref(d->bound);
    long status = post(d->client, "getBoundProfilePackage", request, &d->bound);
    json_decref(request);
    return status;
}

static void step_load_and_notify(download *d)
{
    der_writer bpp;
    der_writer_init_dynamic(&bpp, NULL);
    field(d->bound, "boundProfilePackage", &bpp);
    der_view pieces[PIECES_MAX];
    size_t count = 0;
    rsp_error err = {0};
    check(smdp_bpp_split(der_writer_view(&bpp), pieces, PIECES_MAX, &count, &err), &err);
    for (size_t i = 0; i < count && d->pir.len == 0; i++)
        assert_int_equal(es10(d->c, pieces[i], &d->pir), 0x9000);
    der_writer_free(&bpp);
    assert_true(d->pir.len > 2);
    assert_int_equal(d->pir.buf[0], 0xBF);
    assert_int_equal(d->pir.buf[1], 0x37);
    json_t *request = json_object();
    set_b64(request, "pendingNotification", der_writer_view(&d->pir));
    json_t *answer = NULL;
    assert_int_equal(post(d->client, "handleNotification", request, &answer), 204);
    assert_null(answer);
    json_decref(request);
}

/* The download up to authenticateClient, whose outcome must be wanted. */
static void download_authenticate(download *d, const char *address, const char *wanted)
{
    step_initiate(d, address);
    expect(d->initiate, "Executed-Success");
    step_authenticate_server(d);
    assert_int_equal(step_authenticate_client(d), 200);
    expect(d->authenticate, wanted);
}

/* A whole download that must succeed. */
static void download_all(download *d, const char *address)
{
    download_authenticate(d, address, "Executed-Success");
    step_prepare(d, NULL);
    assert_int_equal(step_get_bpp(d), 200);
    expect(d->bound, "Executed-Success");
    step_load_and_notify(d);
}

/* ---- orders ---- */

static uint64_t copy_counter = 100;

/* Imports a fresh copy of package and releases an order for it; returns the ICCID and the
 * matching ID. */
static void order(fixture *f, const char *package, const char *eid, const char *cc,
                  char iccid[SMDP_ICCID_SIZE], char matching_id[SMDP_MATCHING_SIZE])
{
    char path[512];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/testdata/ts48/%s", RSPKIT_SHARED_DIR, package);
    uint8_t *data = read_file(path, &len);
    assert_non_null(data);
    uint8_t *copy = NULL;
    size_t copy_len = 0;
    rsp_error err = {0};
    smdp_inventory *inventory = smdp_server_inventory(f->server);
    check(smdp_personalise_copy(data, len, copy_counter++, &copy, &copy_len, &err), &err);
    check(smdp_inventory_import(inventory, "op", copy, copy_len, iccid, &err), &err);
    free(copy);
    free(data);
    char got[SMDP_ICCID_SIZE];
    smdp_download_order download_order = {.operator_id = "op", .iccid = iccid, .eid = eid};
    assert_int_equal(smdp_order_download(inventory, &download_order, got, &err), SMDP_STATUS_OK);
    smdp_confirm_order confirm = {
        .operator_id = "op", .iccid = iccid, .confirmation_code = cc, .release = true};
    smdp_confirm_result result;
    assert_int_equal(smdp_order_confirm(inventory, &confirm, &result, &err), SMDP_STATUS_OK);
    memcpy(matching_id, result.matching_id, SMDP_MATCHING_SIZE);
}

static smdp_profile_state state_of(fixture *f, const char *iccid)
{
    return inventory_state(smdp_server_inventory(f->server), iccid);
}

/* Frees a test's download with the card and client it ran on. */
static void download_close(download *d, card *c, es9_client *client)
{
    download_free(d);
    euicc_free(c->card);
    http_client_free(client->http);
}

/* A client, a released order of `package` (confirmation code `cc` or none) and a download of
 * it to card `n` on `curve`, not started. The caller frees them with download_close;
 * matching_id must outlive the download. */
static void download_open(fixture *f, es9_client *client, card *c, download *d, const char *package,
                          const char *cc, int curve, int n, char iccid[SMDP_ICCID_SIZE],
                          char matching_id[SMDP_MATCHING_SIZE])
{
    client_open(f, client);
    order(f, package, NULL, cc, iccid, matching_id);
    card_open(f, c, curve, n);
    download_init(d, c, client, matching_id);
}

/* A released NoBERTLV order and a card (third EID) whose download has passed
 * authenticateClient: the start of the cancellation tests. The caller frees client, card and
 * download; matching_id must outlive the download. */
static void authenticated_download(fixture *f, es9_client *client, card *c, download *d,
                                   char iccid[SMDP_ICCID_SIZE],
                                   char matching_id[SMDP_MATCHING_SIZE])
{
    download_open(f, client, c, d, "NoBERTLV.der", NULL, 0, 2, iccid, matching_id);
    download_authenticate(d, smdp_server_address(f->server), "Executed-Success");
}

/* SGP.22 v2.5 section 5.7.14: the card's ES10b.CancelSession for the download's transaction,
 * wrapped as the ES9+ cancelSession request the caller posts and json_decref's. */
static json_t *cancel_session_request(download *d, int64_t reason)
{
    uint8_t id[16];
    size_t id_len = 0;
    rsp_error err = {0};
    check(rsp_hex_decode(d->transaction, strlen(d->transaction), id, sizeof id, &id_len, &err),
          &err);
    der_writer command, response;
    der_writer_init_dynamic(&command, NULL);
    der_writer_init_dynamic(&response, NULL);
    size_t outer = der_begin(&command, 0xBF41);
    der_put_tlv(&command, 0x80, id, id_len);
    der_put_int64(&command, 0x81, reason);
    der_end(&command, outer);
    assert_int_equal(es10(d->c, der_writer_view(&command), &response), 0x9000);
    json_t *request = json_object();
    json_object_set_new(request, "transactionId", json_string(d->transaction));
    set_b64(request, "cancelSessionResponse", der_writer_view(&response));
    der_writer_free(&command);
    der_writer_free(&response);
    return request;
}

/* ---- tests ---- */

static void test_every_ts48_package(void **state)
{
    fixture *f = *state;
    if (!shared_data_present())
        skip();
    static const char *const packages[] = {"BERTLV_SUCI.der", "BERTLV_SUCI_NoRAMRFM.der",
                                           "NoBERTLV.der", "NoBERTLV_NoRAMRFM.der"};
    es9_client client;
    client_open(f, &client);
    for (int p = 0; p < 5; p++) {
        int curve = p == 4 ? 1 : 0; /* the last one again on brainpool */
        char iccid[SMDP_ICCID_SIZE], matching_id[SMDP_MATCHING_SIZE];
        order(f, packages[p % 4], NULL, NULL, iccid, matching_id);
        card c;
        card_open(f, &c, curve, 0);
        download d;
        download_init(&d, &c, &client, matching_id);
        download_all(&d, smdp_server_address(f->server));
        assert_int_equal(installed_profiles(&c), 1);
        assert_int_equal(state_of(f, iccid), SMDP_PROFILE_INSTALLED);
        print_message("%s on %s: installed as %s\n", packages[p % 4],
                      curve == 0 ? "NIST" : "brainpool", iccid);
        download_free(&d);
        euicc_free(c.card);
    }
    http_client_free(client.http);
}

static void test_second_download_refused(void **state)
{
    fixture *f = *state;
    if (!shared_data_present())
        skip();
    es9_client client;
    client_open(f, &client);
    char iccid[SMDP_ICCID_SIZE], matching_id[SMDP_MATCHING_SIZE];
    order(f, "NoBERTLV.der", NULL, NULL, iccid, matching_id);
    card first, second;
    card_open(f, &first, 0, 0);
    card_open(f, &second, 0, 1);
    download d;
    download_init(&d, &first, &client, matching_id);
    download_all(&d, smdp_server_address(f->server));
    download_free(&d);
    /* The same activation code on another eUICC, and again on the first one. */
    card *cards[] = {&second, &first};
    for (int i = 0; i < 2; i++) {
        download again;
        download_init(&again, cards[i], &client, matching_id);
        download_authenticate(&again, smdp_server_address(f->server),
                              i == 0 ? "Failed 8.1.1 3.8" : "Failed 8.2.6 3.8");
        download_free(&again);
    }
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_INSTALLED);
    assert_int_equal(installed_profiles(&second), 0);
    euicc_free(first.card);
    euicc_free(second.card);
    http_client_free(client.http);
}

typedef struct {
    fixture *f;
    int n;
    char matching_id[SMDP_MATCHING_SIZE];
    size_t installed;
} worker;

static void *concurrent_download(void *user)
{
    worker *w = user;
    es9_client client;
    client_open(w->f, &client);
    card c;
    card_open(w->f, &c, 0, w->n);
    download d;
    download_init(&d, &c, &client, w->matching_id);
    download_all(&d, smdp_server_address(w->f->server));
    w->installed = installed_profiles(&c);
    download_close(&d, &c, &client);
    return NULL;
}

static void test_two_concurrent_downloads(void **state)
{
    fixture *f = *state;
    if (!shared_data_present())
        skip();
    worker workers[2] = {{.f = f, .n = 1}, {.f = f, .n = 2}};
    char iccids[2][SMDP_ICCID_SIZE];
    for (int i = 0; i < 2; i++)
        order(f, "BERTLV_SUCI.der", f->eids[workers[i].n], NULL, iccids[i], workers[i].matching_id);
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, concurrent_download, &workers[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(workers[i].installed, 1);
        assert_int_equal(state_of(f, iccids[i]), SMDP_PROFILE_INSTALLED);
    }
}

static void test_http_level_refusals(void **state)
{
    fixture *f = *state;
    es9_client client;
    client_open(f, &client);
    json_t *answer = NULL;
    static const char body[] = "{\"transactionId\":\"00\",\"authenticateServerResponse\":\"\"}";
    assert_int_equal(post_raw(&client, "authenticateClient", "text/plain", "gsma/rsp/v2.5.0", body,
                              strlen(body), NULL),
                     415);
    assert_int_equal(post_raw(&client, "authenticateClient", RSP_JSON_CONTENT_TYPE, NULL, body,
                              strlen(body), NULL),
                     400);
    assert_int_equal(post_raw(&client, "authenticateClient", RSP_JSON_CONTENT_TYPE,
                              "gsma/rsp/v2.5.0", "{\"transactionId\":", 17, NULL),
                     400);
    assert_int_equal(post_raw(&client, "initiateAuthentication", RSP_JSON_CONTENT_TYPE,
                              "gsma/rsp/v2.5.0", "\"text\"", 6, NULL),
                     400);
    size_t big_len = 300 * 1024;
    char *big = malloc(big_len);
    memset(big, ' ', big_len);
    big[0] = '{';
    big[big_len - 1] = '}';
    long big_status = post_raw(&client, "initiateAuthentication", RSP_JSON_CONTENT_TYPE,
                               "gsma/rsp/v2.5.0", big, big_len, NULL);
    assert_true(big_status == 413 || big_status == -1);
    free(big);
    /* Well-formed JSON with bad fields: 200 Failed, with the binding's codes. */
    assert_int_equal(post_raw(&client, "initiateAuthentication", RSP_JSON_CONTENT_TYPE,
                              "gsma/rsp/v2.5.0", "{}", 2, &answer),
                     200);
    expect(answer, "Failed 1.2 2.2");
    json_decref(answer);
    static const char bad_base64[] =
        "{\"euiccChallenge\":\"not base64!\",\"euiccInfo1\":\"\",\"smdpAddress\":\"x\"}";
    assert_int_equal(post_raw(&client, "initiateAuthentication", RSP_JSON_CONTENT_TYPE,
                              "gsma/rsp/v2.5.0", bad_base64, strlen(bad_base64), &answer),
                     200);
    expect(answer, "Failed 1.2 2.1");
    json_decref(answer);
    /* Unknown transaction IDs. */
    static const char unknown[] =
        "{\"transactionId\":\"0102030405060708090A0B0C0D0E0F10\",\"prepareDownloadResponse\":"
        "\"vyGA\"}";
    assert_int_equal(post_raw(&client, "getBoundProfilePackage", RSP_JSON_CONTENT_TYPE,
                              "gsma/rsp/v2.5.0", unknown, strlen(unknown), &answer),
                     200);
    expect(answer, "Failed 8.10.1 3.9");
    json_decref(answer);
    static const char unknown_cancel[] =
        "{\"transactionId\":\"0102030405060708090A0B0C0D0E0F10\",\"cancelSessionResponse\":"
        "\"v0EA\"}";
    assert_int_equal(post_raw(&client, "cancelSession", RSP_JSON_CONTENT_TYPE, "gsma/rsp/v2.5.0",
                              unknown_cancel, strlen(unknown_cancel), &answer),
                     200);
    expect(answer, "Failed 8.10.1 3.9");
    json_decref(answer);
    /* A notification that does not decode is still acknowledged (else it comes back forever). */
    assert_int_equal(post_raw(&client, "handleNotification", RSP_JSON_CONTENT_TYPE,
                              "gsma/rsp/v2.5.0", "{\"pendingNotification\":\"vzcA\"}", 30, &answer),
                     204);
    /* The server is still serving. */
    char url[160];
    snprintf(url, sizeof url, "%s/health", f->base);
    http_response response = {0};
    rsp_error err = {0};
    check(http_client_get(client.http, url, NULL, &response, &err), &err);
    assert_int_equal(response.status, 200);
    http_response_free(&response);
    http_client_free(client.http);
}

static void test_wrong_address_and_eid_binding(void **state)
{
    fixture *f = *state;
    if (!shared_data_present())
        skip();
    es9_client client;
    client_open(f, &client);
    card c;
    card_open(f, &c, 0, 0);
    download d;
    download_init(&d, &c, &client, "ANY");
    step_initiate(&d, "wrong.example.com");
    expect(d.initiate, "Failed 8.8.1 3.8");
    download_free(&d);
    /* An order bound to eUICC 1, asked for by eUICC 0. */
    char iccid[SMDP_ICCID_SIZE], matching_id[SMDP_MATCHING_SIZE];
    order(f, "NoBERTLV.der", f->eids[1], NULL, iccid, matching_id);
    download_init(&d, &c, &client, matching_id);
    download_authenticate(&d, smdp_server_address(f->server), "Failed 8.1.1 3.8");
    /* Replaying the refused call changes nothing either. */
    assert_int_equal(step_authenticate_client(&d), 200);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_RELEASED);
    download_close(&d, &c, &client);
}

/* The server's rspkit_smdp_es9_failures_total for function, read from /metrics. */
static long es9_failures(es9_client *client, const char *function)
{
    char url[192], label[128];
    snprintf(url, sizeof url, "%s/metrics", client->base);
    snprintf(label, sizeof label, "rspkit_smdp_es9_failures_total{function=\"%s\"} ", function);
    http_response response = {0};
    rsp_error err = {0};
    check(http_client_get(client->http, url, NULL, &response, &err), &err);
    assert_int_equal(response.status, 200);
    char *text = strndup((const char *)response.body, response.body_len);
    assert_non_null(text);
    const char *line = strstr(text, label);
    long count = line != NULL ? strtol(line + strlen(label), NULL, 10) : -1;
    free(text);
    http_response_free(&response);
    assert_true(count >= 0);
    return count;
}

static void test_replayed_requests(void **state)
{
    fixture *f = *state;
    if (!shared_data_present())
        skip();
    es9_client client;
    card c;
    download d;
    char iccid[SMDP_ICCID_SIZE], matching_id[SMDP_MATCHING_SIZE];
    download_open(f, &client, &c, &d, "NoBERTLV_NoRAMRFM.der", NULL, 0, 0, iccid, matching_id);
    long authenticate_failures = es9_failures(&client, "authenticateClient");
    long bpp_failures = es9_failures(&client, "getBoundProfilePackage");
    step_initiate(&d, smdp_server_address(f->server));
    expect(d.initiate, "Executed-Success");
    step_authenticate_server(&d);
    /* A transaction ID this SM-DP+ did not issue (one hex digit changed): unknown, and the
     * real one is still good afterwards. */
    char issued[sizeof d.transaction];
    memcpy(issued, d.transaction, sizeof issued);
    size_t last = strlen(d.transaction) - 1;
    d.transaction[last] = d.transaction[last] == '0' ? '1' : '0';
    assert_int_equal(step_authenticate_client(&d), 200);
    expect(d.authenticate, "Failed 8.10.1 3.9");
    memcpy(d.transaction, issued, sizeof issued);
    assert_int_equal(step_authenticate_client(&d), 200);
    expect(d.authenticate, "Executed-Success");
    json_t *first = json_incref(d.authenticate);
    /* The same authenticateClient again: the session moved on. */
    assert_int_equal(step_authenticate_client(&d), 200);
    expect(d.authenticate, "Failed 8.10.1 3.9");
    json_decref(d.authenticate);
    d.authenticate = first;
    step_prepare(&d, NULL);
    assert_int_equal(step_get_bpp(&d), 200);
    expect(d.bound, "Executed-Success");
    json_t *bound = json_incref(d.bound);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_DOWNLOADED);
    /* The same getBoundProfilePackage again (its answer was lost): the same BPP. */
    assert_int_equal(step_get_bpp(&d), 200);
    expect(d.bound, "Executed-Success");
    assert_string_equal(json_string_value(json_object_get(d.bound, "boundProfilePackage")),
                        json_string_value(json_object_get(bound, "boundProfilePackage")));
    /* Another PrepareDownloadResponse for the transaction: no second binding. */
    der_writer genuine;
    der_writer_init_dynamic(&genuine, NULL);
    der_put_raw(&genuine, d.prepare.buf, d.prepare.len);
    d.prepare.buf[d.prepare.len - 1] ^= 0x01; /* last byte of euiccSignature2 */
    assert_int_equal(step_get_bpp(&d), 200);
    expect(d.bound, "Failed 8.2 3.7");
    d.prepare.len = 0;
    der_put_raw(&d.prepare, genuine.buf, genuine.len);
    der_writer_free(&genuine);
    json_decref(d.bound);
    d.bound = bound;
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_DOWNLOADED);
    step_load_and_notify(&d);
    /* After the installation result the session is over: no BPP any more. */
    json_t *late = d.bound;
    d.bound = NULL;
    assert_int_equal(step_get_bpp(&d), 200);
    expect(d.bound, "Failed 8.10.1 3.9");
    json_decref(d.bound);
    d.bound = late;
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_INSTALLED);
    /* The install notification again: acknowledged, nothing changes. */
    json_t *request = json_object();
    set_b64(request, "pendingNotification", der_writer_view(&d.pir));
    json_t *answer = NULL;
    assert_int_equal(post(&client, "handleNotification", request, &answer), 204);
    json_decref(request);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_INSTALLED);
    /* The first authenticateClient once more, its transaction ID still young: the session is
     * over, and the refusal counts no attempt against the order. */
    smdp_profile_info before, after;
    rsp_error err = {0};
    check(smdp_inventory_get(smdp_server_inventory(f->server), iccid, &before, &err), &err);
    assert_int_equal(step_authenticate_client(&d), 200);
    expect(d.authenticate, "Failed 8.10.1 3.9");
    check(smdp_inventory_get(smdp_server_inventory(f->server), iccid, &after, &err), &err);
    assert_int_equal(after.download_attempts, before.download_attempts);
    assert_int_equal(after.state, SMDP_PROFILE_INSTALLED);
    /* the metrics count the refusals only: four authenticateClient (the unknown ID, the
     * replay, the two after the end), two getBoundProfilePackage (the changed request, the
     * late one), not the BPPs answered */
    assert_int_equal(es9_failures(&client, "authenticateClient"), authenticate_failures + 3);
    assert_int_equal(es9_failures(&client, "getBoundProfilePackage"), bpp_failures + 2);
    download_close(&d, &c, &client);
}

static void test_confirmation_code_retry_limit(void **state)
{
    fixture *f = *state;
    if (!shared_data_present())
        skip();
    es9_client client;
    client_open(f, &client);
    char iccid[SMDP_ICCID_SIZE], matching_id[SMDP_MATCHING_SIZE];
    order(f, "NoBERTLV.der", NULL, "7777", iccid, matching_id);
    card c;
    card_open(f, &c, 0, 0);
    download d;
    /* Without the code the eUICC itself refuses PrepareDownload; the SM-DP+ learns it from
     * the downloadResponseError (no attempt counted). */
    download_init(&d, &c, &client, matching_id);
    download_authenticate(&d, smdp_server_address(f->server), "Executed-Success");
    step_prepare(&d, NULL);
    assert_int_equal(step_get_bpp(&d), 200);
    expect(d.bound, "Failed 8.2.10 4.2");
    download_free(&d);
    /* A wrong code (attempt 1 of 2), then the same again: the order is blocked. */
    download_init(&d, &c, &client, matching_id);
    download_authenticate(&d, smdp_server_address(f->server), "Executed-Success");
    step_prepare(&d, "0000");
    assert_int_equal(step_get_bpp(&d), 200);
    expect(d.bound, "Failed 8.2.7 3.8");
    assert_int_equal(step_get_bpp(&d), 200);
    expect(d.bound, "Failed 8.2.7 6.4");
    download_free(&d);
    smdp_profile_info info;
    rsp_error err = {0};
    check(smdp_inventory_get(smdp_server_inventory(f->server), iccid, &info, &err), &err);
    assert_true(info.blocked);
    assert_int_equal(info.state, SMDP_PROFILE_RELEASED);
    /* Even the right code is refused now, from authenticateClient on. */
    download_init(&d, &c, &client, matching_id);
    download_authenticate(&d, smdp_server_address(f->server), "Failed 8.2.7 6.4");
    download_free(&d);
    assert_int_equal(installed_profiles(&c), 0);
    euicc_free(c.card);
    http_client_free(client.http);
}

static void test_right_confirmation_code(void **state)
{
    fixture *f = *state;
    if (!shared_data_present())
        skip();
    es9_client client;
    card c;
    download d;
    char iccid[SMDP_ICCID_SIZE], matching_id[SMDP_MATCHING_SIZE];
    download_open(f, &client, &c, &d, "BERTLV_SUCI.der", "4242", 1, 1, iccid, matching_id);
    download_authenticate(&d, smdp_server_address(f->server), "Executed-Success");
    step_prepare(&d, "4242");
    assert_int_equal(step_get_bpp(&d), 200);
    expect(d.bound, "Executed-Success");
    step_load_and_notify(&d);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_INSTALLED);
    download_close(&d, &c, &client);
}

static void test_cancel_session(void **state)
{
    fixture *f = *state;
    if (!shared_data_present())
        skip();
    es9_client client;
    card c;
    download d;
    char iccid[SMDP_ICCID_SIZE], matching_id[SMDP_MATCHING_SIZE];
    authenticated_download(f, &client, &c, &d, iccid, matching_id);
    json_t *request = cancel_session_request(&d, SGP22_CANCEL_SESSION_REASON_POSTPONED);
    post_expect(&client, "cancelSession", request, "Executed-Success");
    /* Again (the answer was lost on the way back): the same answer, nothing changes. */
    post_expect(&client, "cancelSession", request, "Executed-Success");
    json_decref(request);
    /* The order is still there for a later attempt. */
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_RELEASED);
    download_close(&d, &c, &client);
}

/* The eUICC's signed cancellation of a session whose BPP was handed out but never installed:
 * accepted, and the order is released again for a new session, which then completes. */
static void test_cancel_after_bpp_delivered(void **state)
{
    fixture *f = *state;
    if (!shared_data_present())
        skip();
    es9_client client;
    card c;
    download d;
    char iccid[SMDP_ICCID_SIZE], matching_id[SMDP_MATCHING_SIZE];
    authenticated_download(f, &client, &c, &d, iccid, matching_id);
    step_prepare(&d, NULL);
    assert_int_equal(step_get_bpp(&d), 200);
    expect(d.bound, "Executed-Success");
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_DOWNLOADED);
    json_t *request =
        cancel_session_request(&d, SGP22_CANCEL_SESSION_REASON_LOAD_BPP_EXECUTION_ERROR);
    post_expect(&client, "cancelSession", request, "Executed-Success");
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_RELEASED);
    /* a retry of the cancellation is answered the same way */
    post_expect(&client, "cancelSession", request, "Executed-Success");
    json_decref(request);
    /* the cancelled session hands out no BPP any more */
    assert_int_equal(step_get_bpp(&d), 200);
    expect(d.bound, "Failed 8.10.1 3.9");
    download_free(&d);
    download_init(&d, &c, &client, matching_id);
    download_all(&d, smdp_server_address(f->server));
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_INSTALLED);
    download_close(&d, &c, &client);
}

/* SGP.22 v2.5 section 5.6.5: the eUICC's CancelSessionResponse may be an error (lpac relays
 * BF41 03 81 01 05, invalidTransactionId, after a failed installation). Well formed: the
 * session ends; before a BPP was handed out the order stays Released. An unknown transaction
 * is 8.10.1 / 3.9. */
static void test_cancel_with_euicc_error(void **state)
{
    fixture *f = *state;
    if (!shared_data_present())
        skip();
    es9_client client;
    card c;
    download d;
    char iccid[SMDP_ICCID_SIZE], matching_id[SMDP_MATCHING_SIZE];
    authenticated_download(f, &client, &c, &d, iccid, matching_id);
    static const uint8_t invalid_transaction[] = {0xBF, 0x41, 0x03, 0x81, 0x01, 0x05};
    json_t *request = json_object();
    json_object_set_new(request, "transactionId", json_string(d.transaction));
    set_b64(request, "cancelSessionResponse",
            der_view_make(invalid_transaction, sizeof invalid_transaction));
    post_expect(&client, "cancelSession", request, "Executed-Success");
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_RELEASED);
    /* the session is over */
    step_prepare(&d, NULL);
    assert_int_equal(step_get_bpp(&d), 200);
    expect(d.bound, "Failed 8.10.1 3.9");
    json_object_set_new(request, "transactionId", json_string("00112233445566778899AABBCCDDEEFF"));
    post_expect(&client, "cancelSession", request, "Failed 8.10.1 3.9");
    json_decref(request);
    download_close(&d, &c, &client);
}

static void test_transaction_survives_restart(void **state)
{
    fixture *f = *state;
    if (!shared_data_present())
        skip();
    char iccid[SMDP_ICCID_SIZE], matching_id[SMDP_MATCHING_SIZE];
    order(f, "NoBERTLV.der", NULL, NULL, iccid, matching_id);
    es9_client client;
    client_open(f, &client);
    card c;
    card_open(f, &c, 0, 1);
    download d;
    download_init(&d, &c, &client, matching_id);
    download_authenticate(&d, smdp_server_address(f->server), "Executed-Success");
    http_client_free(client.http);
    /* A new server process on the same database continues the transaction. */
    smdp_server_stop(f->server, 1000);
    smdp_server_free(f->server);
    f->server = NULL;
    start_server(f);
    client_open(f, &client);
    d.client = &client;
    step_prepare(&d, NULL);
    assert_int_equal(step_get_bpp(&d), 200);
    expect(d.bound, "Executed-Success");
    step_load_and_notify(&d);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_INSTALLED);
    download_close(&d, &c, &client);
}

static store_statistics server_store_stats(fixture *f)
{
    store_statistics stats;
    store_stats(smdp_server_inventory(f->server)->store, &stats);
    return stats;
}

/* A session step a power cut may lose: committed, but not waited on until durable. */
static void expect_relaxed_commit(const store_statistics *before, const store_statistics *after)
{
    assert_true(after->commits > before->commits);
    assert_int_equal(after->durable_commits, before->durable_commits);
}

/* initiateAuthentication stores nothing (the transaction ID carries its session) and
 * authenticateClient commits relaxed: a power cut may lose that session, which the eUICC's
 * next call then finds unknown (8.10.1 / 3.9), and the LPA starts the download over (SGP.22
 * v2.5 section 3.1.3). The loss is modelled by deleting the row. */
static void download_until_session_lost(fixture *f, es9_client *client, const char *matching_id)
{
    rsp_error err = {0};
    card c;
    card_open(f, &c, 0, 2);
    download d;
    download_init(&d, &c, client, matching_id);
    store_statistics before = server_store_stats(f);
    step_initiate(&d, smdp_server_address(f->server));
    expect(d.initiate, "Executed-Success");
    store_statistics after = server_store_stats(f);
    assert_int_equal(after.commits, before.commits);
    step_authenticate_server(&d);
    before = server_store_stats(f);
    assert_int_equal(step_authenticate_client(&d), 200);
    expect(d.authenticate, "Executed-Success");
    after = server_store_stats(f);
    expect_relaxed_commit(&before, &after);
    check(smdp_session_delete(smdp_server_inventory(f->server), d.transaction, &err), &err);
    step_prepare(&d, NULL);
    assert_int_equal(step_get_bpp(&d), 200);
    expect(d.bound, "Failed 8.10.1 3.9");
    download_free(&d);
    euicc_free(c.card);
}

static void test_relaxed_session_lost(void **state)
{
    fixture *f = *state;
    if (!shared_data_present())
        skip();
    rsp_error err = {0};
    char iccid[SMDP_ICCID_SIZE], matching_id[SMDP_MATCHING_SIZE];
    order(f, "NoBERTLV.der", NULL, NULL, iccid, matching_id);
    es9_client client;
    client_open(f, &client);
    smdp_inventory *inventory = smdp_server_inventory(f->server);
    download_until_session_lost(f, &client, matching_id);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_RELEASED);
    /* The LPA starts over: the order is still there, and the BPP and the installation result
     * are durable before they are answered. */
    card c;
    card_open(f, &c, 0, 2);
    download d;
    download_init(&d, &c, &client, matching_id);
    download_authenticate(&d, smdp_server_address(f->server), "Executed-Success");
    step_prepare(&d, NULL);
    store_statistics before = server_store_stats(f);
    assert_int_equal(step_get_bpp(&d), 200);
    expect(d.bound, "Executed-Success");
    store_statistics after = server_store_stats(f);
    assert_true(after.durable_commits > before.durable_commits);
    before = after;
    step_load_and_notify(&d);
    after = server_store_stats(f);
    assert_true(after.durable_commits > before.durable_commits);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_INSTALLED);
    int64_t recorded = 0;
    check(smdp_notification_count(inventory, f->eids[2], &recorded, &err), &err);
    assert_true(recorded >= 1);
    download_close(&d, &c, &client);
}

static void test_signature_and_release_checks(void **state)
{
    fixture *f = *state;
    if (!shared_data_present())
        skip();
    es9_client client;
    card c;
    download d;
    char iccid[SMDP_ICCID_SIZE], matching_id[SMDP_MATCHING_SIZE];
    download_open(f, &client, &c, &d, "NoBERTLV.der", NULL, 0, 0, iccid, matching_id);
    step_initiate(&d, smdp_server_address(f->server));
    step_authenticate_server(&d);
    /* One bit of euiccSignature1 flipped: 8.1 / 6.1, and the order is untouched. */
    size_t at = 0;
    for (size_t i = 0; i + 3 < d.server_response.len; i++)
        if (d.server_response.buf[i] == 0x5F && d.server_response.buf[i + 1] == 0x37 &&
            d.server_response.buf[i + 2] == 0x40) {
            at = i + 3 + 10;
            break;
        }
    assert_true(at > 0);
    d.server_response.buf[at] ^= 0x01;
    assert_int_equal(step_authenticate_client(&d), 200);
    expect(d.authenticate, "Failed 8.1 6.1");
    smdp_profile_info info;
    rsp_error err = {0};
    check(smdp_inventory_get(smdp_server_inventory(f->server), iccid, &info, &err), &err);
    assert_int_equal(info.state, SMDP_PROFILE_RELEASED);
    assert_int_equal(info.download_attempts, 0);
    download_free(&d);
    /* An order confirmed but not released: 8.2 / 1.2 until the operator releases it. */
    char held[SMDP_ICCID_SIZE], got[SMDP_ICCID_SIZE];
    smdp_inventory *inventory = smdp_server_inventory(f->server);
    uint8_t *copy = NULL;
    size_t copy_len = 0;
    char path[512];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/testdata/ts48/NoBERTLV.der", RSPKIT_SHARED_DIR);
    uint8_t *data = read_file(path, &len);
    check(smdp_personalise_copy(data, len, copy_counter++, &copy, &copy_len, &err), &err);
    check(smdp_inventory_import(inventory, "op", copy, copy_len, held, &err), &err);
    free(copy);
    free(data);
    smdp_download_order download_order = {.operator_id = "op", .iccid = held};
    assert_int_equal(smdp_order_download(inventory, &download_order, got, &err), SMDP_STATUS_OK);
    smdp_confirm_order confirm = {.operator_id = "op", .iccid = held, .release = false};
    smdp_confirm_result result;
    assert_int_equal(smdp_order_confirm(inventory, &confirm, &result, &err), SMDP_STATUS_OK);
    download_init(&d, &c, &client, result.matching_id);
    download_authenticate(&d, smdp_server_address(f->server), "Failed 8.2 1.2");
    download_free(&d);
    assert_int_equal(smdp_order_release(inventory, "op", held, &err), SMDP_STATUS_OK);
    download_init(&d, &c, &client, result.matching_id);
    download_all(&d, smdp_server_address(f->server));
    assert_int_equal(state_of(f, held), SMDP_PROFILE_INSTALLED);
    download_close(&d, &c, &client);
}

static int64_t notifications_of(fixture *f, const char *eid)
{
    int64_t count = -1;
    rsp_error err = {0};
    check(smdp_notification_count(smdp_server_inventory(f->server), eid, &count, &err), &err);
    return count;
}

/* Enable/disable/delete notifications are verified (eUICC chain and signature) and recorded;
 * a forged one is acknowledged but not recorded. */
static void test_other_notifications(void **state)
{
    fixture *f = *state;
    if (!shared_data_present())
        skip();
    es9_client client;
    card c;
    download d;
    char iccid[SMDP_ICCID_SIZE], matching_id[SMDP_MATCHING_SIZE];
    download_open(f, &client, &c, &d, "NoBERTLV.der", NULL, 1, 2, iccid, matching_id);
    download_all(&d, smdp_server_address(f->server));
    download_free(&d);
    int64_t before = notifications_of(f, f->eids[2]);
    assert_true(before >= 1); /* the install result */
    /* EnableProfile (refresh), then RetrieveNotificationsList. */
    uint8_t iccid_ef[10];
    assert_true(saip_encode_iccid_ef(iccid, iccid_ef));
    der_writer command, response;
    der_writer_init_dynamic(&command, NULL);
    der_writer_init_dynamic(&response, NULL);
    size_t outer = der_begin(&command, 0xBF31);
    size_t id = der_begin(&command, 0xA0);
    der_put_tlv(&command, 0x5A, iccid_ef, 10);
    der_end(&command, id);
    der_put_bool(&command, 0x81, true);
    der_end(&command, outer);
    assert_int_equal(es10(&c, der_writer_view(&command), &response), 0x9000);
    command.len = 0;
    response.len = 0;
    static const uint8_t retrieve[] = {0xBF, 0x2B, 0x00};
    assert_int_equal(es10(&c, der_view_make(retrieve, 3), &response), 0x9000);
    der_tlv list_tlv, list, item;
    der_reader reader, items;
    rsp_error err = {0};
    check(der_parse_single(der_writer_view(&response), &list_tlv, &err), &err);
    check(der_reader_enter(&list_tlv, 0, &reader, &err), &err);
    check(der_reader_next(&reader, &list, &err), &err);
    assert_int_equal(list.tag, 0xA0);
    check(der_reader_enter(&list, 1, &items, &err), &err);
    der_view other = {0};
    while (!der_reader_at_end(&items)) {
        check(der_reader_next(&items, &item, &err), &err);
        if (item.tag == 0x30)
            other = item.whole;
    }
    assert_non_null(other.data);
    uint8_t *forged = malloc(other.len);
    memcpy(forged, other.data, other.len);
    json_t *request = json_object();
    json_t *answer = NULL;
    set_b64(request, "pendingNotification", other);
    assert_int_equal(post(&client, "handleNotification", request, &answer), 204);
    assert_int_equal(notifications_of(f, f->eids[2]), before + 1);
    /* The same again (an LPA retrying): still one record. */
    assert_int_equal(post(&client, "handleNotification", request, &answer), 204);
    assert_int_equal(notifications_of(f, f->eids[2]), before + 1);
    /* One bit of the signature flipped: acknowledged, not recorded. */
    size_t at = 0;
    for (size_t i = 0; i + 3 < other.len; i++)
        if (forged[i] == 0x5F && forged[i + 1] == 0x37 && forged[i + 2] == 0x40) {
            at = i + 3 + 20;
            break;
        }
    assert_true(at > 0);
    forged[at] ^= 0x01;
    json_object_del(request, "pendingNotification");
    set_b64(request, "pendingNotification", der_view_make(forged, other.len));
    int64_t all_before = notifications_of(f, NULL);
    assert_int_equal(post(&client, "handleNotification", request, &answer), 204);
    assert_int_equal(notifications_of(f, NULL), all_before);
    json_decref(request);
    free(forged);
    der_writer_free(&command);
    der_writer_free(&response);
    euicc_free(c.card);
    http_client_free(client.http);
}

/* Two server processes' worth of servers on one PostgreSQL database: the transaction starts on
 * one and finishes on the other. */
static void test_two_servers_share_postgres(void **state)
{
    fixture *f = *state;
    const char *base = getenv("RSPKIT_TEST_POSTGRES");
    if (base == NULL || base[0] == '\0') {
        print_message("SKIPPED LOUDLY: RSPKIT_TEST_POSTGRES is not set, the two-servers-on-"
                      "PostgreSQL test did not run (make test sets it).\n");
        skip();
    }
    if (!shared_data_present())
        skip();
    char schema[64];
    snprintf(schema, sizeof schema, "smdp_server_%ld", (long)getpid());
    postgres_admin("CREATE SCHEMA %s", schema);
    smdp_config config = f->config;
    snprintf(config.database, sizeof config.database, "%s%soptions=-csearch_path%%3D%s", base,
             strchr(base, '?') != NULL ? "&" : "?", schema);
    snprintf(config.listen, sizeof config.listen, "127.0.0.1:0");
    snprintf(config.address, sizeof config.address, "smdp.rspkit.test");
    smdp_server *servers[2];
    char bases[2][96];
    rsp_error err = {0};
    for (int i = 0; i < 2; i++) {
        servers[i] = smdp_server_new(&config, &err);
        if (servers[i] == NULL)
            print_message("server: %s\n", err.message);
        assert_non_null(servers[i]);
        check(smdp_server_start(servers[i], &err), &err);
        snprintf(bases[i], sizeof bases[i], "https://localhost:%u",
                 (unsigned)smdp_server_port(servers[i]));
    }
    /* The order, through the first server's inventory (the same database). */
    smdp_server *saved = f->server;
    f->server = servers[0];
    char iccid[SMDP_ICCID_SIZE], matching_id[SMDP_MATCHING_SIZE];
    order(f, "BERTLV_SUCI.der", NULL, NULL, iccid, matching_id);
    es9_client clients[2];
    for (int i = 0; i < 2; i++) {
        client_open(f, &clients[i]);
        clients[i].base = bases[i];
    }
    card c;
    card_open(f, &c, 0, 2);
    download d;
    download_init(&d, &c, &clients[0], matching_id);
    /* Each step on the other server: the transaction ID the first issued (nothing stored)
     * is good at the second, through the key they share in the database. */
    step_initiate(&d, "smdp.rspkit.test");
    expect(d.initiate, "Executed-Success");
    step_authenticate_server(&d);
    d.client = &clients[1];
    assert_int_equal(step_authenticate_client(&d), 200);
    expect(d.authenticate, "Executed-Success");
    d.client = &clients[0];
    step_prepare(&d, NULL);
    assert_int_equal(step_get_bpp(&d), 200);
    expect(d.bound, "Executed-Success");
    d.client = &clients[1];
    step_load_and_notify(&d);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_INSTALLED);
    f->server = saved;
    download_free(&d);
    euicc_free(c.card);
    for (int i = 0; i < 2; i++) {
        http_client_free(clients[i].http);
        smdp_server_free(servers[i]);
    }
    postgres_admin("DROP SCHEMA %s CASCADE", schema);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_level_refusals),
        cmocka_unit_test(test_every_ts48_package),
        cmocka_unit_test(test_second_download_refused),
        cmocka_unit_test(test_two_concurrent_downloads),
        cmocka_unit_test(test_wrong_address_and_eid_binding),
        cmocka_unit_test(test_replayed_requests),
        cmocka_unit_test(test_confirmation_code_retry_limit),
        cmocka_unit_test(test_right_confirmation_code),
        cmocka_unit_test(test_cancel_session),
        cmocka_unit_test(test_cancel_after_bpp_delivered),
        cmocka_unit_test(test_cancel_with_euicc_error),
        cmocka_unit_test(test_relaxed_session_lost),
        cmocka_unit_test(test_transaction_survives_restart),
        cmocka_unit_test(test_signature_and_release_checks),
        cmocka_unit_test(test_other_notifications),
        cmocka_unit_test(test_two_servers_share_postgres),
    };
    return cmocka_run_group_tests_name("smdp_server", tests, group_setup, group_teardown);
}

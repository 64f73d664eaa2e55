/* Every ESipa function over the JSON binding (SGP.32 v1.2 section 6.4) between the IPA (libipa
 * with the Linux HTTPS and file hooks) and the real eIM server, which relays the download to the
 * real SM-DP+ server: a complete indirect TS.48 download, an eUICC package (enable) with its
 * result and acknowledgements, IPA eUICC data, notifications, and a download the SM-DP+ refuses
 * (CancelSession). The HTTP hook is wrapped to prove no ASN.1 binding request was sent. */
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
#include <jansson.h>

#include "core/json_min.h"
#include "core/log.h"
#include "core/sgp32.h"
#include "crypto/pki_generate.h"
#include "eim/server.h"
#include "euicc/euicc.h"
#include "euicc/face_socket.h"
#include "ipa/ipa.h"
#include "ipa/platform/platform.h"
#include "net/dev_pki.h"
#include "net/http_client.h"
#include "net/json.h"
#include "smdp/server.h"

#define EIM_ID    "eim.rspkit.test"
#define ADMIN_KEY "admin-secret"

int cli_ipa(int argc, char **argv);

typedef struct {
    char dir[64];
    char eid[RSP_EID_STRING_SIZE];
    rsp_certificate *ci, *eum, *euicc_cert;
    rsp_private_key *euicc_key, *eim_key;
    const rsp_certificate *cis[1];
    euicc *card;
    dev_pki tls;
    smdp_config smdp_config;
    smdp_server *smdp;
    eim_server *eim;
    char eim_db[128], eim_key_path[128], ci_pem[128];
    const char *ci_files[1];
    http_client *rest_client;
    char api_key[128];
    ipa_http *http;
    ipa_file_storage storage;
    ipa_instance *ipa;
    /* the Linux HTTP hook, wrapped */
    rsp_status (*http_post)(void *ctx, const ipa_http_request *request, der_writer *response,
                            long *http_status, rsp_error *err);
    void *http_ctx;
    unsigned asn1_posts;
    char functions[16][40]; /* JSON functions called, each once */
    size_t function_count;
    bool header_ok; /* every JSON request had the SGP.22 request header */
} fixture;

static void check(rsp_status st, const rsp_error *err, const char *what)
{
    if (st != RSP_OK)
        fail_msg("%s: %s (%s)", what, rsp_status_name(st), err->message);
}

static rsp_status card_transmit(void *ctx, const uint8_t *command, size_t command_len,
                                uint8_t *response, size_t response_cap, size_t *response_len,
                                rsp_error *err)
{
    fixture *f = ctx;
    (void)err;
    *response_len = euicc_transmit(f->card, command, command_len, response, response_cap);
    return RSP_OK;
}

static json_t *rest(fixture *f, const char *method, const char *path, json_t *body, long *status)
{
    char url[256], auth[200];
    snprintf(url, sizeof url, "https://127.0.0.1:%u/api/v1/%s", eim_server_port(f->eim), path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", f->api_key);
    const char *headers[] = {auth, "X-Admin-Key: " ADMIN_KEY, NULL};
    http_response response = {0};
    rsp_error err = {0};
    if (strcmp(method, "GET") == 0) {
        check(http_client_get(f->rest_client, url, headers, &response, &err), &err, "GET");
    } else {
        char *text = json_dumps(body, JSON_COMPACT);
        check(http_client_post(f->rest_client, url, "application/json", text, strlen(text), headers,
                               &response, &err),
              &err, "POST");
        free(text);
    }
    json_decref(body);
    *status = response.status;
    json_t *answer = response.body_len > 0
                         ? json_loadb((const char *)response.body, response.body_len, 0, NULL)
                         : NULL;
    http_response_free(&response);
    return answer;
}

static const char *order_state(fixture *f, int64_t id, char *buf, size_t size)
{
    char path[64];
    long status = 0;
    snprintf(path, sizeof path, "orders/%lld", (long long)id);
    json_t *order = rest(f, "GET", path, NULL, &status);
    assert_int_equal(status, 200);
    snprintf(buf, size, "%s", json_string_value(json_object_get(order, "state")));
    json_decref(order);
    return buf;
}

static int64_t operation(fixture *f, json_t *op)
{
    char path[96];
    long status = 0;
    snprintf(path, sizeof path, "devices/%s/operations", f->eid);
    json_t *answer = rest(f, "POST", path, op, &status);
    assert_int_equal(status, 201);
    int64_t id = json_integer_value(json_object_get(answer, "orderId"));
    json_decref(answer);
    return id;
}

static rsp_certificate *load_certificate(fixture *f, const char *name)
{
    char path[256];
    rsp_certificate *out = NULL;
    rsp_error err = {0};
    snprintf(path, sizeof path, "%s/nist/%s", f->dir, name);
    check(rsp_certificate_load_file(path, &out, &err), &err, path);
    return out;
}

static void start_card(fixture *f)
{
    char path[256], line[128];
    rsp_error err = {0};
    snprintf(path, sizeof path, "%s/eids.txt", f->dir);
    FILE *eids = fopen(path, "r");
    assert_non_null(eids);
    while (fgets(line, sizeof line, eids) != NULL)
        if (sscanf(line, "issued %32s", f->eid) == 1)
            break;
    fclose(eids);
    f->ci = load_certificate(f, "CERT_CI_ECDSA.der");
    f->eum = load_certificate(f, "CERT_EUM_ECDSA.der");
    snprintf(line, sizeof line, "euicc/CERT_EUICC_ECDSA_%s.der", f->eid);
    f->euicc_cert = load_certificate(f, line);
    snprintf(path, sizeof path, "%s/nist/euicc/SK_EUICC_ECDSA_%s.pem", f->dir, f->eid);
    check(rsp_private_key_load_file(path, &f->euicc_key, &err), &err, "eUICC key");
    snprintf(f->eim_key_path, sizeof f->eim_key_path, "%s/nist/SK_EIM_ECDSA.pem", f->dir);
    check(rsp_private_key_load_file(f->eim_key_path, &f->eim_key, &err), &err, "eIM key");
    f->cis[0] = f->ci;
    euicc_config config;
    memset(&config, 0, sizeof config);
    assert_int_equal(der_hex_decode(f->eid, config.eid, sizeof config.eid), 16);
    config.euicc_key = f->euicc_key;
    config.euicc_certificate = rsp_certificate_der(f->euicc_cert);
    config.eum_certificate = rsp_certificate_der(f->eum);
    config.ci_certificates = f->cis;
    config.ci_count = 1;
    check(euicc_new(&config, &f->card, &err), &err, "euicc_new");
}

static void start_servers(fixture *f)
{
    rsp_error err = {0};
    smdp_config_init(&f->smdp_config);
    check(smdp_config_use_pki(&f->smdp_config, f->dir, &err), &err, "smdp pki");
    snprintf(f->smdp_config.listen, sizeof f->smdp_config.listen, "127.0.0.1:0");
    snprintf(f->smdp_config.database, sizeof f->smdp_config.database, "sqlite:%s/smdp.db", f->dir);
    check(smdp_config_add_operator(&f->smdp_config, "op", "key", NULL, NULL, &err), &err, "op");
    f->smdp = smdp_server_new(&f->smdp_config, &err);
    assert_non_null(f->smdp);
    check(smdp_server_start(f->smdp, &err), &err, "smdp start");

    check(dev_pki_create(f->dir, "localhost", &f->tls, &err), &err, "dev pki");
    snprintf(f->eim_db, sizeof f->eim_db, "sqlite:%s/eim.db", f->dir);
    snprintf(f->ci_pem, sizeof f->ci_pem, "%s/nist/CERT_CI_ECDSA.pem", f->dir);
    f->ci_files[0] = f->ci_pem;
    eim_server_config config = {
        .database = f->eim_db,
        .listen = "127.0.0.1:0",
        .tls_cert = f->tls.server_cert,
        .tls_key = f->tls.server_key,
        .eim_id = EIM_ID,
        .eim_key_file = f->eim_key_path,
        .admin_key = ADMIN_KEY,
        .smdp_ca_file = f->ci_pem,
        .ci_files = f->ci_files,
        .ci_count = 1,
        .worker_period_ms = 60000,
        .relay_timeout_ms = 10000,
    };
    check(eim_server_new(&config, &f->eim, &err), &err, "eim_server_new");
    check(eim_server_start(f->eim, &err), &err, "eim_server_start");
    http_client_config client = {.ca_file = f->tls.ca_cert};
    f->rest_client = http_client_new(&client, &err);
    assert_non_null(f->rest_client);
}

static int setup(void **state)
{
    static fixture fx;
    fixture *f = &fx;
    memset(f, 0, sizeof *f);
    log_set_level(LOG_LEVEL_WARN);
    rsp_error err = {0};
    snprintf(f->dir, sizeof f->dir, "/tmp/rspkit-ipa-eim-XXXXXX");
    rsp_pki_options options = {.curves = RSP_PKI_CURVE_NIST, .euicc_count = 1};
    if (mkdtemp(f->dir) == NULL || rsp_pki_init(f->dir, &options, &err) != RSP_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ipa_free(f->ipa);
    ipa_http_free(f->http);
    http_client_free(f->rest_client);
    if (f->eim) {
        eim_server_stop(f->eim);
        eim_server_free(f->eim);
    }
    if (f->smdp) {
        smdp_server_stop(f->smdp, 0);
        smdp_server_free(f->smdp);
    }
    euicc_free(f->card);
    rsp_certificate_free(f->ci);
    rsp_certificate_free(f->eum);
    rsp_certificate_free(f->euicc_cert);
    rsp_private_key_free(f->euicc_key);
    rsp_private_key_free(f->eim_key);
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", f->dir);
    return system(command) == 0 ? 0 : -1;
}

/* AddInitialEim through the IPA: FQDN = the eIM's loopback address, the eIM's signing key,
 * its TLS key as trustedEimPkTls, and a token request. Returns the token. */
static int64_t associate(fixture *f)
{
    rsp_error err = {0};
    rsp_public_key *eim_public = NULL;
    uint8_t *spki = NULL, *tls_spki = NULL;
    size_t spki_len = 0, tls_len = 0;
    check(rsp_private_key_public(f->eim_key, &eim_public, &err), &err, "eim public");
    check(rsp_public_key_to_spki(eim_public, &spki, &spki_len, &err), &err, "eim spki");
    rsp_certificate *tls_cert = NULL;
    rsp_public_key *tls_public = NULL;
    check(rsp_certificate_load_file(f->tls.server_cert, &tls_cert, &err), &err, "tls cert");
    check(rsp_certificate_public_key(tls_cert, &tls_public, &err), &err, "tls key");
    check(rsp_public_key_to_spki(tls_public, &tls_spki, &tls_len, &err), &err, "tls spki");
    spki[0] = 0xA0;     /* eimPublicKey [0], implicit */
    tls_spki[0] = 0xA0; /* trustedEimPkTls [0], implicit */
    char fqdn[32];
    snprintf(fqdn, sizeof fqdn, "127.0.0.1:%u", eim_server_port(f->eim));
    sgp32_eim_configuration_data eim;
    memset(&eim, 0, sizeof eim);
    eim.eim_id = der_view_make((const uint8_t *)EIM_ID, strlen(EIM_ID));
    eim.has_eim_fqdn = true;
    eim.eim_fqdn = der_view_make((const uint8_t *)fqdn, strlen(fqdn));
    eim.has_counter_value = true;
    eim.has_association_token = true;
    eim.association_token = -1;
    eim.has_eim_public_key_data = true;
    eim.eim_public_key_data.choice = SGP32_EIM_PUBLIC_KEY_DATA_EIM_PUBLIC_KEY;
    eim.eim_public_key_data.u.eim_public_key = der_view_make(spki, spki_len);
    eim.has_trusted_public_key_data_tls = true;
    eim.trusted_public_key_data_tls.choice = SGP32_TRUSTED_PUBLIC_KEY_DATA_TLS_TRUSTED_EIM_PK_TLS;
    eim.trusted_public_key_data_tls.u.trusted_eim_pk_tls = der_view_make(tls_spki, tls_len);
    sgp32_add_initial_eim_request request = {{1, &eim}};
    der_writer command, answer;
    der_writer_init_dynamic(&command, NULL);
    der_writer_init_dynamic(&answer, NULL);
    check(schema_encode(&sgp32_add_initial_eim_request_type, &request, &command), &err, "encode");
    check(ipa_add_initial_eim(f->ipa, der_writer_view(&command), &answer, &err), &err,
          "AddInitialEim");
    assert_int_equal(answer.len, 8); /* BF57 { A0 { 84 01 token } } */
    int64_t token = answer.buf[7];
    free(spki);
    free(tls_spki);
    rsp_public_key_free(eim_public);
    rsp_public_key_free(tls_public);
    rsp_certificate_free(tls_cert);
    der_writer_free(&command);
    der_writer_free(&answer);
    return token;
}

static void register_device(fixture *f, int64_t token)
{
    long status = 0;
    json_t *answer = rest(f, "POST", "tenants", json_pack("{s:s}", "name", "fleet"), &status);
    assert_int_equal(status, 201);
    snprintf(f->api_key, sizeof f->api_key, "%s",
             json_string_value(json_object_get(answer, "apiKey")));
    json_decref(answer);
    der_view der = rsp_certificate_der(f->euicc_cert);
    json_t *device = json_pack("{s:s, s:I}", "eid", f->eid, "associationToken", (json_int_t)token);
    rsp_json_set_base64(device, "euiccCertificate", der.data, der.len);
    der_view eum = rsp_certificate_der(f->eum);
    rsp_json_set_base64(device, "eumCertificate", eum.data, eum.len);
    answer = rest(f, "POST", "devices", device, &status);
    if (status != 201) {
        char *text = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
        print_message("register device: %ld %s\n", status, text ? text : "");
        free(text);
    }
    json_decref(answer);
    assert_int_equal(status, 201);
}

static void order_profile(fixture *f, const char *package_path, char iccid[SMDP_ICCID_SIZE],
                          char matching_id[SMDP_MATCHING_SIZE])
{
    FILE *file = fopen(package_path, "rb");
    assert_non_null(file);
    static uint8_t package[256 * 1024];
    size_t len = fread(package, 1, sizeof package, file);
    fclose(file);
    uint8_t *copy = NULL;
    size_t copy_len = 0;
    rsp_error err = {0};
    smdp_inventory *inventory = smdp_server_inventory(f->smdp);
    check(smdp_personalise_copy(package, len, 11, &copy, &copy_len, &err), &err, "copy");
    check(smdp_inventory_import(inventory, "op", copy, copy_len, iccid, &err), &err, "import");
    free(copy);
    char got[SMDP_ICCID_SIZE];
    smdp_download_order order = {.operator_id = "op", .iccid = iccid, .eid = f->eid};
    assert_int_equal(smdp_order_download(inventory, &order, got, &err), SMDP_STATUS_OK);
    smdp_confirm_order confirm = {.operator_id = "op", .iccid = iccid, .release = true};
    smdp_confirm_result result;
    assert_int_equal(smdp_order_confirm(inventory, &confirm, &result, &err), SMDP_STATUS_OK);
    memcpy(matching_id, result.matching_id, SMDP_MATCHING_SIZE);
}

static void poll_ok(fixture *f, ipa_poll_report *report)
{
    rsp_error err = {0};
    rsp_status st = ipa_poll_once(f->ipa, report, &err);
    if (st != RSP_OK)
        print_message("poll: %s (%s)\n", err.message, rsp_status_name(st));
    assert_int_equal(st, RSP_OK);
}

/* Counts the binding each IPA request used and the JSON functions called, then forwards it
 * to the Linux HTTPS hook. */
static rsp_status recording_post(void *ctx, const ipa_http_request *request, der_writer *response,
                                 long *http_status, rsp_error *err)
{
    fixture *f = ctx;
    const char *path = strstr(request->url, "/gsma/rsp2/esipa/");
    if (path == NULL) {
        f->asn1_posts++;
    } else {
        const char *name = path + strlen("/gsma/rsp2/esipa/");
        bool known = false;
        for (size_t i = 0; i < f->function_count; i++)
            known = known || strcmp(f->functions[i], name) == 0;
        if (!known && f->function_count < 16)
            snprintf(f->functions[f->function_count++], sizeof f->functions[0], "%s", name);
        der_view header, requester;
        if (json_min_validate(request->body, 8, NULL) != RSP_OK ||
            json_min_member(request->body, "header", &header, NULL) != RSP_OK ||
            json_min_member(header, "functionRequesterIdentifier", &requester, NULL) != RSP_OK)
            f->header_ok = false;
    }
    return f->http_post(f->http_ctx, request, response, http_status, err);
}

static bool called(const fixture *f, const char *function)
{
    for (size_t i = 0; i < f->function_count; i++)
        if (strcmp(f->functions[i], function) == 0)
            return true;
    return false;
}

static void start_ipa(fixture *f)
{
    rsp_error err = {0};
    char state_dir[128];
    snprintf(state_dir, sizeof state_dir, "%s/ipa-state", f->dir);
    check(ipa_file_storage_init(&f->storage, state_dir, false, &err), &err, "storage");
    f->http = ipa_http_new(NULL, 30000, &err);
    assert_non_null(f->http);
    ipa_platform platform;
    ipa_platform_linux(&platform, NULL, f->http, &f->storage);
    platform.apdu_transmit = card_transmit;
    platform.apdu_ctx = f;
    f->http_post = platform.http_post;
    f->http_ctx = platform.http_ctx;
    platform.http_post = recording_post;
    platform.http_ctx = f;
    f->header_ok = true;
    ipa_config config = {.tac = {0x35, 0x29, 0x06, 0x11}, .esipa_binding = IPA_ESIPA_BINDING_JSON};
    check(ipa_new(&platform, &config, &f->ipa, &err), &err, "ipa_new");
}

static void test_every_esipa_function_over_json(void **state)
{
    fixture *f = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/testdata/ts48/BERTLV_SUCI.der", RSPKIT_SHARED_DIR);
    if (access(path, R_OK) != 0) {
        printf("SKIPPED: TS.48 test profiles not found under %s/testdata/ts48\n",
               RSPKIT_SHARED_DIR);
        skip();
    }
    rsp_error err = {0};
    start_card(f);
    start_servers(f);
    start_ipa(f);
    register_device(f, associate(f));

    /* indirect download: getEimPackage, initiateAuthentication, authenticateClient,
     * getBoundProfilePackage, provideEimPackageResult */
    char iccid[SMDP_ICCID_SIZE], matching_id[SMDP_MATCHING_SIZE];
    order_profile(f, path, iccid, matching_id);
    char code[200];
    snprintf(code, sizeof code, "1$%s$%s", smdp_server_address(f->smdp), matching_id);
    int64_t download =
        operation(f, json_pack("{s:s, s:s}", "type", "download", "activationCode", code));
    ipa_poll_report report;
    poll_ok(f, &report);
    assert_true(report.packages >= 1);
    char buf[32];
    assert_string_equal(order_state(f, download, buf, sizeof buf), "succeeded");
    /* the BPP arrives as base64 text and is decoded beside it: still within the device
     * target of 64 KiB of heap */
    print_message("peak heap of the JSON download: %zu B\n", ipa_peak_bytes(f->ipa));
    assert_true(ipa_peak_bytes(f->ipa) <= 64 * 1024);

    /* an eUICC package: the signed result and its notifications, then the acknowledgements */
    int64_t enable = operation(f, json_pack("{s:s, s:s}", "type", "enable", "iccid", iccid));
    poll_ok(f, &report);
    assert_int_equal(report.results_delivered, 1);
    assert_string_equal(order_state(f, enable, buf, sizeof buf), "succeeded");
    int64_t data = operation(f, json_pack("{s:s}", "type", "euiccData"));
    poll_ok(f, &report);
    assert_int_equal(report.results_delivered, 1);
    assert_string_equal(order_state(f, data, buf, sizeof buf), "succeeded");

    /* a matching ID the SM-DP+ does not know: AuthenticateClient is refused and the IPA
     * cancels the session (cancelSession) before reporting the failure */
    snprintf(code, sizeof code, "1$%s$NOSUCH-MATCH-ING-ID000", smdp_server_address(f->smdp));
    int64_t refused =
        operation(f, json_pack("{s:s, s:s}", "type", "download", "activationCode", code));
    rsp_status st = ipa_poll_once(f->ipa, &report, &err);
    if (st != RSP_OK)
        print_message("refused download poll: %s\n", err.message);
    assert_string_equal(order_state(f, refused, buf, sizeof buf), "failed");

    /* whatever notification is left goes by handleNotification */
    unsigned delivered = 0;
    memset(&err, 0, sizeof err);
    check(ipa_deliver_notifications(f->ipa, &delivered, &err), &err, "notifications");

    for (size_t i = 0; i < f->function_count; i++)
        print_message("JSON function called: %s\n", f->functions[i]);
    static const char *const every[] = {
        "getEimPackage",      "provideEimPackageResult", "initiateAuthentication",
        "authenticateClient", "getBoundProfilePackage",  "cancelSession",
        "handleNotification",
    };
    for (size_t i = 0; i < sizeof every / sizeof every[0]; i++)
        if (!called(f, every[i]))
            fail_msg("ESipa JSON function %s was never called", every[i]);
    assert_int_equal(f->asn1_posts, 0);
    assert_true(f->header_ok);

    /* the eUICC has the profile enabled; nothing is left pending on the device */
    der_writer list;
    der_writer_init_dynamic(&list, NULL);
    check(ipa_list_profiles(f->ipa, &list, &err), &err, "profiles");
    static uint8_t arena_buf[16384];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    sgp32_profile_info_list_response profiles;
    check(schema_decode(&sgp32_profile_info_list_response_type, der_writer_view(&list), &profiles,
                        &arena, &err),
          &err, "decode profiles");
    assert_int_equal(profiles.u.profile_info_list_ok.count, 1);
    const sgp32_profile_info *info = profiles.u.profile_info_list_ok.items;
    assert_int_equal(info->profile_state, 1);
    der_writer_free(&list);
    der_writer pending;
    der_writer_init_dynamic(&pending, NULL);
    assert_int_equal(ipa_file_storage_read(&f->storage, IPA_STORAGE_PENDING, &pending, &err),
                     RSP_ERR_NOT_FOUND);
    der_writer_free(&pending);
}

static void *serve_card(void *arg)
{
    rsp_error err = {0};
    face_socket_run(arg, &err);
    return NULL;
}

/* `rspkit ipa once` with the eUICC on its socket face; the eIM URL names a path the eIM does
 * not serve, which only the JSON binding ignores (it keeps the origin). */
static int run_cli(fixture *f, const char *socket_path, const char *binding)
{
    char card[160], state_dir[128], url[96];
    snprintf(card, sizeof card, "socket:%s", socket_path);
    snprintf(state_dir, sizeof state_dir, "%s/cli-state", f->dir);
    snprintf(url, sizeof url, "https://127.0.0.1:%u/not/served", eim_server_port(f->eim));
    char *argv[] = {"ipa",       "once",          "--card", card,        "--state",
                    state_dir,   "--log-level",   "error",  "--eim-url", url,
                    "--binding", (char *)binding, NULL};
    return cli_ipa(12, argv);
}

static void test_cli_binding_option(void **state)
{
    fixture *f = *state;
    rsp_error err = {0};
    start_card(f);
    start_servers(f);
    start_ipa(f);
    register_device(f, associate(f));
    char socket_path[128];
    snprintf(socket_path, sizeof socket_path, "%s/card.sock", f->dir);
    face_socket_server *server = face_socket_server_new();
    pthread_t thread;
    check(face_socket_listen_unix(server, euicc_get_card(f->card), socket_path, &err), &err,
          "socket face");
    assert_int_equal(pthread_create(&thread, NULL, serve_card, server), 0);
    int64_t data = operation(f, json_pack("{s:s}", "type", "euiccData"));
    assert_int_equal(run_cli(f, socket_path, "xml"), 2);
    assert_int_equal(run_cli(f, socket_path, "asn1"), 1);
    char buf[32];
    assert_string_not_equal(order_state(f, data, buf, sizeof buf), "succeeded");
    assert_int_equal(run_cli(f, socket_path, "json"), 0);
    assert_string_equal(order_state(f, data, buf, sizeof buf), "succeeded");
    face_socket_stop(server);
    pthread_join(thread, NULL);
    face_socket_server_free(server);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_esipa_function_over_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_binding_option, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

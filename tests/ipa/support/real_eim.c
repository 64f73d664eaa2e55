/* The real eIM + SM-DP+ + software eUICC set-up shared by the IPA tests that run the whole
 * chain: a NIST PKI in a temporary folder, the eUICC on its APDU interface, both servers on
 * loopback, the eIM's REST API as the fleet owner and the association through the IPA. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/log.h"
#include "crypto/pki_generate.h"
#include "net/json.h"
#include "real_eim.h"

void real_eim_check(rsp_status st, const rsp_error *err, const char *what)
{
    if (st != RSP_OK)
        fail_msg("%s: %s (%s)", what, rsp_status_name(st), err->message);
}

rsp_status real_eim_card_transmit(void *ctx, const uint8_t *command, size_t command_len,
                                  uint8_t *response, size_t response_cap, size_t *response_len,
                                  rsp_error *err)
{
    real_eim_fixture *f = ctx;
    (void)err;
    *response_len = euicc_transmit(f->card, command, command_len, response, response_cap);
    return RSP_OK;
}

json_t *real_eim_rest(real_eim_fixture *f, const char *method, const char *path, json_t *body,
                      long *status)
{
    char url[256], auth[200];
    snprintf(url, sizeof url, "https://127.0.0.1:%u/api/v1/%s", eim_server_port(f->eim), path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", f->api_key);
    const char *headers[] = {auth, "X-Admin-Key: " ADMIN_KEY, NULL};
    http_response response = {0};
    rsp_error err = {0};
    if (strcmp(method, "GET") == 0) {
        real_eim_check(http_client_get(f->rest_client, url, headers, &response, &err), &err, "GET");
    } else {
        char *text = json_dumps(body, JSON_COMPACT);
        real_eim_check(http_client_post(f->rest_client, url, "application/json", text, strlen(text),
                                        headers, &response, &err),
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

const char *real_eim_order_state(real_eim_fixture *f, int64_t id, char *buf, size_t size)
{
    char path[64];
    long status = 0;
    snprintf(path, sizeof path, "orders/%lld", (long long)id);
    json_t *order = real_eim_rest(f, "GET", path, NULL, &status);
    assert_int_equal(status, 200);
    snprintf(buf, size, "%s", json_string_value(json_object_get(order, "state")));
    json_decref(order);
    return buf;
}

int64_t real_eim_operation(real_eim_fixture *f, json_t *op)
{
    char path[96];
    long status = 0;
    snprintf(path, sizeof path, "devices/%s/operations", f->eid);
    json_t *answer = real_eim_rest(f, "POST", path, op, &status);
    assert_int_equal(status, 201);
    int64_t id = json_integer_value(json_object_get(answer, "orderId"));
    json_decref(answer);
    return id;
}

static rsp_certificate *real_eim_load_certificate(real_eim_fixture *f, const char *name)
{
    char path[256];
    rsp_certificate *out = NULL;
    rsp_error err = {0};
    snprintf(path, sizeof path, "%s/nist/%s", f->dir, name);
    real_eim_check(rsp_certificate_load_file(path, &out, &err), &err, path);
    return out;
}

void real_eim_start_card(real_eim_fixture *f)
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
    f->ci = real_eim_load_certificate(f, "CERT_CI_ECDSA.der");
    f->eum = real_eim_load_certificate(f, "CERT_EUM_ECDSA.der");
    snprintf(line, sizeof line, "euicc/CERT_EUICC_ECDSA_%s.der", f->eid);
    f->euicc_cert = real_eim_load_certificate(f, line);
    snprintf(path, sizeof path, "%s/nist/euicc/SK_EUICC_ECDSA_%s.pem", f->dir, f->eid);
    real_eim_check(rsp_private_key_load_file(path, &f->euicc_key, &err), &err, "eUICC key");
    snprintf(f->eim_key_path, sizeof f->eim_key_path, "%s/nist/SK_EIM_ECDSA.pem", f->dir);
    real_eim_check(rsp_private_key_load_file(f->eim_key_path, &f->eim_key, &err), &err, "eIM key");
    f->cis[0] = f->ci;
    euicc_config config;
    memset(&config, 0, sizeof config);
    assert_int_equal(der_hex_decode(f->eid, config.eid, sizeof config.eid), 16);
    config.euicc_key = f->euicc_key;
    config.euicc_certificate = rsp_certificate_der(f->euicc_cert);
    config.eum_certificate = rsp_certificate_der(f->eum);
    config.ci_certificates = f->cis;
    config.ci_count = 1;
    real_eim_check(euicc_new(&config, &f->card, &err), &err, "euicc_new");
}

void real_eim_start_servers(real_eim_fixture *f)
{
    rsp_error err = {0};
    smdp_config_init(&f->smdp_config);
    real_eim_check(smdp_config_use_pki(&f->smdp_config, f->dir, &err), &err, "smdp pki");
    snprintf(f->smdp_config.listen, sizeof f->smdp_config.listen, "127.0.0.1:0");
    snprintf(f->smdp_config.database, sizeof f->smdp_config.database, "sqlite:%s/smdp.db", f->dir);
    real_eim_check(smdp_config_add_operator(&f->smdp_config, "op", "key", NULL, NULL, &err), &err,
                   "op");
    f->smdp = smdp_server_new(&f->smdp_config, &err);
    assert_non_null(f->smdp);
    real_eim_check(smdp_server_start(f->smdp, &err), &err, "smdp start");

    real_eim_check(dev_pki_create(f->dir, "localhost", &f->tls, &err), &err, "dev pki");
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
    real_eim_check(eim_server_new(&config, &f->eim, &err), &err, "eim_server_new");
    real_eim_check(eim_server_start(f->eim, &err), &err, "eim_server_start");
    http_client_config client = {.ca_file = f->tls.ca_cert};
    f->rest_client = http_client_new(&client, &err);
    assert_non_null(f->rest_client);
}

int real_eim_setup(real_eim_fixture *f)
{
    memset(f, 0, sizeof *f);
    log_set_level(LOG_LEVEL_WARN);
    rsp_error err = {0};
    snprintf(f->dir, sizeof f->dir, "/tmp/rspkit-ipa-eim-XXXXXX");
    rsp_pki_options options = {.curves = RSP_PKI_CURVE_NIST, .euicc_count = 1};
    if (mkdtemp(f->dir) == NULL || rsp_pki_init(f->dir, &options, &err) != RSP_OK)
        return -1;
    return 0;
}

int real_eim_teardown(real_eim_fixture *f)
{
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
int64_t real_eim_associate(real_eim_fixture *f)
{
    rsp_error err = {0};
    rsp_public_key *eim_public = NULL;
    uint8_t *spki = NULL, *tls_spki = NULL;
    size_t spki_len = 0, tls_len = 0;
    real_eim_check(rsp_private_key_public(f->eim_key, &eim_public, &err), &err, "eim public");
    real_eim_check(rsp_public_key_to_spki(eim_public, &spki, &spki_len, &err), &err, "eim spki");
    rsp_certificate *tls_cert = NULL;
    rsp_public_key *tls_public = NULL;
    real_eim_check(rsp_certificate_load_file(f->tls.server_cert, &tls_cert, &err), &err,
                   "tls cert");
    real_eim_check(rsp_certificate_public_key(tls_cert, &tls_public, &err), &err, "tls key");
    real_eim_check(rsp_public_key_to_spki(tls_public, &tls_spki, &tls_len, &err), &err, "tls spki");
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
    real_eim_check(schema_encode(&sgp32_add_initial_eim_request_type, &request, &command), &err,
                   "encode");
    real_eim_check(ipa_add_initial_eim(f->ipa, der_writer_view(&command), &answer, &err), &err,
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

void real_eim_register_device(real_eim_fixture *f, int64_t token)
{
    long status = 0;
    json_t *answer =
        real_eim_rest(f, "POST", "tenants", json_pack("{s:s}", "name", "fleet"), &status);
    assert_int_equal(status, 201);
    snprintf(f->api_key, sizeof f->api_key, "%s",
             json_string_value(json_object_get(answer, "apiKey")));
    json_decref(answer);
    der_view der = rsp_certificate_der(f->euicc_cert);
    json_t *device = json_pack("{s:s, s:I}", "eid", f->eid, "associationToken", (json_int_t)token);
    rsp_json_set_base64(device, "euiccCertificate", der.data, der.len);
    der_view eum = rsp_certificate_der(f->eum);
    rsp_json_set_base64(device, "eumCertificate", eum.data, eum.len);
    answer = real_eim_rest(f, "POST", "devices", device, &status);
    if (status != 201) {
        char *text = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
        print_message("register device: %ld %s\n", status, text ? text : "");
        free(text);
    }
    json_decref(answer);
    assert_int_equal(status, 201);
}

void real_eim_order_profile(real_eim_fixture *f, const char *package_path,
                            char iccid[SMDP_ICCID_SIZE], char matching_id[SMDP_MATCHING_SIZE])
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
    real_eim_check(smdp_personalise_copy(package, len, 11, &copy, &copy_len, &err), &err, "copy");
    real_eim_check(smdp_inventory_import(inventory, "op", copy, copy_len, iccid, &err), &err,
                   "import");
    free(copy);
    char got[SMDP_ICCID_SIZE];
    smdp_download_order order = {.operator_id = "op", .iccid = iccid, .eid = f->eid};
    assert_int_equal(smdp_order_download(inventory, &order, got, &err), SMDP_STATUS_OK);
    smdp_confirm_order confirm = {.operator_id = "op", .iccid = iccid, .release = true};
    smdp_confirm_result result;
    assert_int_equal(smdp_order_confirm(inventory, &confirm, &result, &err), SMDP_STATUS_OK);
    memcpy(matching_id, result.matching_id, SMDP_MATCHING_SIZE);
}

void real_eim_poll_ok(real_eim_fixture *f, ipa_poll_report *report)
{
    rsp_error err = {0};
    rsp_status st = ipa_poll_once(f->ipa, report, &err);
    if (st != RSP_OK)
        print_message("poll: %s (%s)\n", err.message, rsp_status_name(st));
    assert_int_equal(st, RSP_OK);
}

/* The eUICC has exactly one profile and it is enabled; nothing is left pending on the device. */
void real_eim_assert_enabled_and_settled(real_eim_fixture *f)
{
    rsp_error err = {0};
    der_writer list;
    der_writer_init_dynamic(&list, NULL);
    real_eim_check(ipa_list_profiles(f->ipa, &list, &err), &err, "profiles");
    static uint8_t arena_buf[16384];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    sgp32_profile_info_list_response profiles;
    real_eim_check(schema_decode(&sgp32_profile_info_list_response_type, der_writer_view(&list),
                                 &profiles, &arena, &err),
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

/* SGP.32 v1.2 section 3.2.1 (indirect profile download) */
void real_eim_download(real_eim_fixture *f, const char *package_path, char iccid[SMDP_ICCID_SIZE])
{
    char matching_id[SMDP_MATCHING_SIZE];
    real_eim_order_profile(f, package_path, iccid, matching_id);
    char code[200];
    snprintf(code, sizeof code, "1$%s$%s", smdp_server_address(f->smdp), matching_id);
    int64_t download =
        real_eim_operation(f, json_pack("{s:s, s:s}", "type", "download", "activationCode", code));
    ipa_poll_report report;
    real_eim_poll_ok(f, &report);
    assert_true(report.packages >= 1);
    char buf[32];
    assert_string_equal(real_eim_order_state(f, download, buf, sizeof buf), "succeeded");
}

bool real_eim_ts48_path(char *path, size_t size, const char *shared_dir, const char *profile)
{
    int len = snprintf(path, size, "%s/testdata/ts48/%s", shared_dir, profile);
    if (len > 0 && (size_t)len < size && access(path, R_OK) == 0)
        return true;
    printf("SKIPPED: TS.48 test profiles not found under %s/testdata/ts48\n", shared_dir);
    return false;
}

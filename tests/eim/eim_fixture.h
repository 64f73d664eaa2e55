/* Set-up shared by the eIM server tests: the temporary folder with its dev TLS PKI and eIM key,
 * the database (SQLite in the folder, or a PostgreSQL schema of its own when
 * RSPKIT_TEST_POSTGRES is set), the test eUICC certificates, the eIM server, the admin/tenant
 * REST calls, the stand-in SM-DP+ and the ESipa messages of a relayed download. Static inline so
 * that each test includes only what it uses; every helper fails the running cmocka test on an
 * unexpected answer. Include after <cmocka.h>. */
#ifndef RSPKIT_TESTS_EIM_FIXTURE_H
#define RSPKIT_TESTS_EIM_FIXTURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/der.h"
#include "core/error.h"
#include "core/schema.h"
#include "core/sgp32.h"
#include "crypto/certificate.h"
#include "crypto/key.h"
#include "crypto/pki_generate.h"
#include "eim/server.h"
#include "net/dev_pki.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/json.h"
#include "net/json_http.h"
#include "store/store.h"

static inline void check(rsp_status status, const rsp_error *err, const char *what)
{
    if (status != RSP_OK)
        fail_msg("%s: %s (%s)", what, rsp_status_name(status), err->message);
}

/* Creates the folder from its mkdtemp template (e.g. "/tmp/rspkit-x-XXXXXX"), the dev TLS PKI
 * in it and a fresh eIM signing key written to <dir>/<key_name> (path in key_path). */
static inline void eim_fixture_folder(char *dir, dev_pki *tls, const char *key_name, char *key_path,
                                      size_t key_path_size)
{
    assert_non_null(mkdtemp(dir));
    rsp_error err = {0};
    check(dev_pki_create(dir, "localhost", tls, &err), &err, "dev pki");
    rsp_private_key *eim_key = NULL;
    check(rsp_private_key_generate(RSP_CURVE_NIST_P256, &eim_key, &err), &err, "eim key");
    snprintf(key_path, key_path_size, "%s/%s", dir, key_name);
    check(rsp_private_key_write_pem_file(eim_key, key_path, &err), &err, "eim key file");
    rsp_private_key_free(eim_key);
}

/* Removes what eim_fixture_folder created, and whatever the test left in the folder. */
static inline void eim_fixture_remove_folder(const char *dir, dev_pki *tls)
{
    dev_pki_remove(tls);
    char command[200];
    snprintf(command, sizeof command, "rm -rf %s", dir);
    assert_int_equal(system(command), 0);
}

/* Runs one statement on the RSPKIT_TEST_POSTGRES database, outside any test schema. */
static inline void eim_fixture_postgres_admin(const char *sql)
{
    store *st = NULL;
    rsp_error err = {0};
    store_options options = {.pool_size = 1, .borrow_timeout_ms = 2000};
    check(store_open(getenv("RSPKIT_TEST_POSTGRES"), &options, &st, &err), &err, "pg admin");
    store_conn *conn = NULL;
    check(store_borrow(st, &conn, &err), &err, "borrow");
    check(store_exec_script(conn, sql, &err), &err, sql);
    store_return(conn);
    store_close(st);
}

/* The eIM database URL: SQLite in dir, or for postgres a new schema named
 * <schema_prefix>_<pid>_<n> (in schema, 64 bytes, to drop with eim_fixture_drop_schema) selected
 * through the connection's search_path, so that concurrent tests never see each other's rows.
 * schema_prefix and schema are unused (may be NULL) for SQLite. */
static inline void eim_fixture_database(bool postgres, const char *dir, const char *schema_prefix,
                                        char *schema, char *url, size_t url_size)
{
    static unsigned schema_counter;
    if (!postgres) {
        snprintf(url, url_size, "sqlite:%s/eim.db", dir);
        return;
    }
    const char *base = getenv("RSPKIT_TEST_POSTGRES");
    snprintf(schema, 64, "%s_%ld_%u", schema_prefix, (long)getpid(), ++schema_counter);
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s", schema);
    eim_fixture_postgres_admin(sql);
    if (strstr(base, "://") != NULL)
        snprintf(url, url_size, "%s%soptions=-csearch_path%%3D%s", base,
                 strchr(base, '?') != NULL ? "&" : "?", schema);
    else
        snprintf(url, url_size, "%s options='-csearch_path=%s'", base, schema);
}

static inline void eim_fixture_drop_schema(const char *schema)
{
    char sql[128];
    snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", schema);
    eim_fixture_postgres_admin(sql);
}

/* A certificate for subject's public key, signed by issuer_key (self-signed without issuer). */
static inline rsp_certificate *eim_fixture_issue(rsp_cert_role role, const char *eid,
                                                 const rsp_private_key *subject,
                                                 const rsp_certificate *issuer,
                                                 const rsp_private_key *issuer_key)
{
    rsp_public_key *pub = NULL;
    rsp_error err = {0};
    check(rsp_private_key_public(subject, &pub, &err), &err, "public key");
    rsp_pki_certificate_request request = {
        .role = role, .eid = eid, .subject_key = pub, .issuer = issuer, .issuer_key = issuer_key};
    rsp_certificate *cert = NULL;
    check(rsp_pki_issue_certificate(&request, &cert, &err), &err, "issue");
    rsp_public_key_free(pub);
    return cert;
}

/* One eUICC key (in *euicc_key, caller frees) and its self-signed certificate in base64, for a
 * simulated fleet that shares them: with no CI configured the key is what the eIM checks. */
static inline void eim_fixture_fleet_euicc(rsp_private_key **euicc_key, char *certificate_b64,
                                           size_t certificate_b64_size)
{
    rsp_error err = {0};
    check(rsp_private_key_generate(RSP_CURVE_NIST_P256, euicc_key, &err), &err, "euicc key");
    char eid[RSP_EID_STRING_SIZE];
    check(rsp_eid_complete("890490320000000000000000000000", eid), &err, "eid");
    rsp_certificate *cert =
        eim_fixture_issue(RSP_CERT_ROLE_EUICC, eid, *euicc_key, NULL, *euicc_key);
    der_view der = rsp_certificate_der(cert);
    char *b64 = rsp_base64_encode(der.data, der.len);
    snprintf(certificate_b64, certificate_b64_size, "%s", b64);
    free(b64);
    rsp_certificate_free(cert);
}

/* The eIM server configuration every test starts from: HTTPS on a free port of 127.0.0.1 with the
 * dev PKI's server certificate, and a background worker that runs once at the start and then
 * only every minute, so that tests drive the background work themselves. */
static inline eim_server_config eim_fixture_server_config(const dev_pki *tls, const char *database,
                                                          const char *eim_id,
                                                          const char *eim_key_file,
                                                          const char *admin_key)
{
    return (eim_server_config){.database = database,
                               .listen = "127.0.0.1:0",
                               .tls_cert = tls->server_cert,
                               .tls_key = tls->server_key,
                               .eim_id = eim_id,
                               .eim_key_file = eim_key_file,
                               .admin_key = admin_key,
                               .worker_period_ms = 60000};
}

/* Creates and starts the eIM server of config; its https://host:port goes to base. */
static inline void eim_fixture_server_start(const eim_server_config *config, eim_server **server,
                                            char *base, size_t base_size)
{
    rsp_error err = {0};
    check(eim_server_new(config, server, &err), &err, "eim_server_new");
    check(eim_server_start(*server, &err), &err, "eim_server_start");
    snprintf(base, base_size, "https://127.0.0.1:%u", eim_server_port(*server));
}

/* Keeps the apiKey of a POST /tenants answer (consumed). */
static inline void eim_fixture_take_api_key(json_t *tenant, char api_key[EIM_API_KEY_SIZE])
{
    const char *key = json_string_value(json_object_get(tenant, "apiKey"));
    assert_non_null(key);
    snprintf(api_key, EIM_API_KEY_SIZE, "%s", key);
    json_decref(tenant);
}

/* POSTs body (consumed) as JSON to <base>/api/v1/<path> with the tenant's key and the admin
 * key; fails the test unless the status is expect. Returns the parsed answer (caller frees). */
static inline json_t *eim_fixture_post_json(http_client *client, const char *base,
                                            const char *api_key, const char *admin_key,
                                            const char *path, json_t *body, long expect)
{
    char url[256], auth[160], admin[128];
    snprintf(url, sizeof url, "%s/api/v1/%s", base, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", api_key);
    snprintf(admin, sizeof admin, "X-Admin-Key: %s", admin_key);
    const char *headers[] = {auth, admin, NULL};
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    http_response response = {0};
    rsp_error err = {0};
    check(http_client_post(client, url, "application/json", text, strlen(text), headers, &response,
                           &err),
          &err, "POST");
    free(text);
    assert_int_equal(response.status, expect);
    json_t *answer = json_loadb((const char *)response.body, response.body_len, 0, NULL);
    http_response_free(&response);
    return answer;
}

/* eim_fixture_post_json on a client of its own, made for this one call and freed after it:
 * each REST call on a fresh connection, as a separate operator would make it. */
static inline json_t *eim_fixture_post_json_fresh(const char *ca_cert, const char *base,
                                                  const char *api_key, const char *admin_key,
                                                  const char *path, json_t *body, long expect)
{
    http_client_config config = {.ca_file = ca_cert};
    rsp_error err = {0};
    http_client *client = http_client_new(&config, &err);
    assert_non_null(client);
    json_t *answer = eim_fixture_post_json(client, base, api_key, admin_key, path, body, expect);
    http_client_free(client);
    return answer;
}

/* The ES9+ function a stand-in SM-DP+ request calls (the last segment of its path), its JSON body
 * in *body (caller frees); NULL when the body is not JSON. */
static inline const char *eim_fixture_smdp_function(const http_request *request, json_t **body)
{
    rsp_error err = {0};
    if (rsp_json_read_request(request, 1u << 20, body, &err) != RSP_OK)
        return NULL;
    return strrchr(request->path, '/') + 1;
}

/* The stand-in SM-DP+'s answer to handleNotification (SGP.22 v2.5 section 5.6.4): counted
 * under lock, HTTP 500 while *fail_notifications lasts (one used up per call), else 204 No
 * Content. Returns the handler's result. */
static inline int eim_fixture_smdp_notification(pthread_mutex_t *lock, unsigned *notifications,
                                                unsigned *fail_notifications, http_reply *reply)
{
    pthread_mutex_lock(lock);
    (*notifications)++;
    bool fail = *fail_notifications > 0;
    *fail_notifications -= fail ? 1 : 0;
    pthread_mutex_unlock(lock);
    rsp_status status =
        rsp_json_reply(reply, fail ? 500 : 204, NULL, RSP_ADMIN_PROTOCOL_SGP22_V2_5);
    return status == RSP_OK ? 0 : -1;
}

/* A new ES9+ answer of the stand-in SM-DP+ with a success header (SGP.22 v2.5 section 6.5.1),
 * the function's fields to be added after it. */
static inline json_t *eim_fixture_smdp_answer(void)
{
    json_t *answer = json_object();
    json_object_set_new(answer, "header", rsp_json_response_header(RSP_EXECUTION_SUCCESS, NULL));
    return answer;
}

/* Sends answer (consumed) as the stand-in SM-DP+'s HTTP 200 answer; the handler's result. */
static inline int eim_fixture_smdp_reply(http_reply *reply, json_t *answer)
{
    rsp_status status = rsp_json_reply(reply, 200, answer, RSP_ADMIN_PROTOCOL_SGP22_V2_5);
    json_decref(answer);
    return status == RSP_OK ? 0 : -1;
}

/* Starts the stand-in SM-DP+: one HTTPS thread with the dev PKI's server certificate, every
 * ES9+ function routed to handler; its host:port goes to address. */
static inline http_server *eim_fixture_smdp_start(const dev_pki *tls, http_handler_fn handler,
                                                  void *handler_state, char *address,
                                                  size_t address_size)
{
    rsp_error err = {0};
    http_server_config config = {.name = "smdp",
                                 .listen = "127.0.0.1:0",
                                 .cert_file = tls->server_cert,
                                 .key_file = tls->server_key,
                                 .threads = 1};
    http_server *smdp = http_server_new(&config, &err);
    assert_non_null(smdp);
    check(
        http_server_route(smdp, "POST", "/gsma/rsp2/es9plus/", true, handler, handler_state, &err),
        &err, "route");
    check(http_server_start(smdp, &err), &err, "smdp start");
    snprintf(address, address_size, "127.0.0.1:%u", http_server_port(smdp));
    return smdp;
}

/* One ESipa request to the ASN.1 binding on a fresh TCP/TLS connection (the IPA may reconnect
 * at any step), its HTTP status checked; the body goes to answer (a dynamic writer the caller
 * frees). Returns how many connections the call opened. */
static inline unsigned eim_fixture_esipa_asn1(const char *ca_file, const char *base,
                                              const uint8_t *body, size_t len, long expect,
                                              der_writer *answer)
{
    http_client_config config = {.ca_file = ca_file};
    rsp_error err = {0};
    http_client *client = http_client_new(&config, &err);
    char url[96];
    snprintf(url, sizeof url, "%s/gsma/rsp2/asn1", base);
    http_response response = {0};
    check(http_client_post(client, url, "application/x-gsma-rsp-asn1", body, len, NULL, &response,
                           &err),
          &err, "esipa");
    assert_int_equal(response.status, expect);
    unsigned connections = (unsigned)response.new_connections;
    der_writer_init_dynamic(answer, NULL);
    der_put_raw(answer, response.body, response.body_len);
    http_response_free(&response);
    http_client_free(client);
    return connections;
}

/* ESipa GetEimPackage (BF4F, SGP.32 v1.2 section 6.3.2.6) for eid on a fresh connection, which
 * must answer a ProfileDownloadTriggerRequest: its eimTransactionId goes to txid. Returns how
 * many connections the call opened. */
static inline unsigned eim_fixture_poll_trigger(const char *ca_file, const char *base,
                                                const char *eid, uint8_t txid[16])
{
    uint8_t poll[21] = {0xBF, 0x4F, 18, 0x5A, 16};
    der_hex_decode(eid, poll + 5, 16);
    der_writer answer;
    unsigned connections = eim_fixture_esipa_asn1(ca_file, base, poll, sizeof poll, 200, &answer);
    sgp32_get_eim_package_response value;
    uint8_t arena_buf[2048];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    rsp_error err = {0};
    check(schema_decode(&sgp32_get_eim_package_response_type, der_writer_view(&answer), &value,
                        &arena, &err),
          &err, "trigger");
    assert_int_equal(value.choice, SGP32_GET_EIM_PACKAGE_RESPONSE_PROFILE_DOWNLOAD_TRIGGER_REQUEST);
    memcpy(txid, value.u.profile_download_trigger_request.eim_transaction_id.data, 16);
    der_writer_free(&answer);
    return connections;
}

/* The InitiateAuthenticationRequestEsipa (BF39) for the SM-DP+ address, with the download's
 * transactionId when txid is not NULL; returns its length in buf. */
static inline size_t eim_fixture_initiate_authentication_request(const char *address,
                                                                 const uint8_t *txid, uint8_t *buf,
                                                                 size_t size)
{
    static const uint8_t challenge[16] = {9, 8, 7};
    static const uint8_t info1[] = {0xBF, 0x20, 0x03, 0x82, 0x01, 0x02};
    der_writer w;
    der_writer_init_fixed(&w, buf, size);
    size_t mark = der_begin(&w, 0xBF39);
    der_put_tlv(&w, 0x81, challenge, sizeof challenge);
    der_put_tlv(&w, 0x83, (const uint8_t *)address, strlen(address));
    der_put_raw(&w, info1, sizeof info1);
    if (txid != NULL)
        der_put_tlv(&w, 0x82, txid, 16);
    der_end(&w, mark);
    assert_int_equal(der_writer_status(&w), RSP_OK);
    return w.len;
}

/* ESipa InitiateAuthentication (BF39, SGP.32 v1.2 section 6.3.2.1) of the download txid at the
 * SM-DP+ address, on a fresh connection answered 200; the answer goes to answer (caller frees).
 * Returns how many connections the call opened. */
static inline unsigned eim_fixture_initiate_authentication(const char *ca_file, const char *base,
                                                           const char *address,
                                                           const uint8_t txid[16],
                                                           der_writer *answer)
{
    uint8_t buf[256];
    size_t len = eim_fixture_initiate_authentication_request(address, txid, buf, sizeof buf);
    return eim_fixture_esipa_asn1(ca_file, base, buf, len, 200, answer);
}

/* ESipa HandleNotification (BF3D, SGP.32 v1.2 section 6.3.2.4) carrying a successful install
 * ProfileInstallationResult (BF37) with sequence number seq, for the SM-DP+ session smdp_txid at
 * address. Returns the length written to buf. */
static inline size_t eim_fixture_install_notification(const char *address, const uint8_t *smdp_txid,
                                                      size_t smdp_txid_len, uint8_t seq,
                                                      uint8_t *buf, size_t size)
{
    static const uint8_t operation[] = {0x07, 0x80}; /* install */
    static const uint8_t oid[] = {0x2B, 0x06, 0x01, 0x04, 0x01};
    static const uint8_t aid[] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10};
    static const uint8_t signature[] = {0x01, 0x02, 0x03};
    static const uint8_t sima[] = {0x00};
    der_writer w;
    der_writer_init_fixed(&w, buf, size);
    size_t esipa_mark = der_begin(&w, 0xBF3D), wrapper = der_begin(&w, 0xA0);
    size_t pir = der_begin(&w, 0xBF37), data = der_begin(&w, 0xBF27);
    der_put_tlv(&w, 0x80, smdp_txid, smdp_txid_len);
    size_t metadata = der_begin(&w, 0xBF2F);
    der_put_tlv(&w, 0x80, &seq, 1);
    der_put_tlv(&w, 0x81, operation, sizeof operation);
    der_put_tlv(&w, 0x0C, (const uint8_t *)address, strlen(address));
    der_end(&w, metadata);
    der_put_tlv(&w, 0x06, oid, sizeof oid);
    size_t final = der_begin(&w, 0xA2), success = der_begin(&w, 0xA0);
    der_put_tlv(&w, 0x4F, aid, sizeof aid);
    der_put_tlv(&w, 0x04, sima, sizeof sima);
    der_end(&w, success);
    der_end(&w, final);
    der_end(&w, data);
    der_put_tlv(&w, 0x5F37, signature, sizeof signature);
    der_end(&w, pir);
    der_end(&w, wrapper);
    der_end(&w, esipa_mark);
    assert_int_equal(der_writer_status(&w), RSP_OK);
    return w.len;
}

#endif

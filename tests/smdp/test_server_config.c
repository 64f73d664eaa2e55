/* The SM-DP+ JSON configuration (docs/smdp.md): defaults, a `rspkit pki init` folder, paths
 * relative to the file, operators (API key and client certificate kept as SHA-256), and
 * refusals of unknown keys, wrong types and bad values; then a server started from a file on
 * an ephemeral port answering /health. */
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
#include "crypto/ecdsa.h"
#include "crypto/pki_generate.h"
#include "smdp/server.h"

typedef struct {
    char dir[64];
} fixture;

static void check(rsp_status st, const rsp_error *err)
{
    if (st != RSP_OK)
        print_message("error: %s (%s)\n", err->message, rsp_status_name(st));
    assert_int_equal(st, RSP_OK);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    log_set_level(LOG_LEVEL_WARN);
    snprintf(f->dir, sizeof f->dir, "/tmp/smdp-config-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char pki[128];
    snprintf(pki, sizeof pki, "%s/pki", f->dir);
    rsp_pki_options options = {.curves = RSP_PKI_CURVE_BOTH, .euicc_count = 1};
    rsp_error err = {0};
    check(rsp_pki_init(pki, &options, &err), &err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", f->dir);
    assert_int_equal(system(command), 0);
    free(f);
    return 0;
}

static rsp_status parse(fixture *f, const char *text, smdp_config *config, rsp_error *err)
{
    smdp_config_init(config);
    rsp_error_clear(err);
    return smdp_config_parse(text, strlen(text), f->dir, config, err);
}

static void test_defaults_and_pki(void **state)
{
    fixture *f = *state;
    smdp_config config;
    rsp_error err = {0};
    check(parse(f, "{}", &config, &err), &err);
    assert_string_equal(config.listen, "127.0.0.1:8443");
    assert_string_equal(config.database, "sqlite:smdp.db");
    assert_int_equal(config.identity_count, 0);
    check(parse(f,
                "{\"pki\":\"pki\",\"listen\":\"0.0.0.0:9443\",\"address\":\"smdp.example.com\","
                "\"database\":\"postgresql://db/smdp\",\"threads\":4,\"session_ttl\":30,"
                "\"confirmation_code_attempts\":3,\"sqlite_synchronous\":\"normal\","
                "\"order_ttl\":86400}",
                &config, &err),
          &err);
    assert_int_equal(config.identity_count, 2); /* nist and brainpool */
    char expected[256];
    snprintf(expected, sizeof expected, "%s/pki/nist/CERT_S_SM_DP_TLS.pem", f->dir);
    assert_string_equal(config.tls_certificate, expected);
    snprintf(expected, sizeof expected, "%s/pki/brainpool/SK_S_SM_DPpb_ECDSA.pem", f->dir);
    assert_string_equal(config.identities[1].dppb_key, expected);
    assert_string_equal(config.address, "smdp.example.com");
    assert_int_equal(config.threads, 4);
    assert_int_equal(config.session_ttl_seconds, 30);
    assert_int_equal(config.confirmation_code_attempts, 3);
    assert_string_equal(config.sqlite_synchronous, "normal");
    assert_int_equal(config.order_ttl_seconds, 86400);
}

static void test_operators(void **state)
{
    fixture *f = *state;
    smdp_config config;
    rsp_error err = {0};
    char text[512];
    snprintf(text, sizeof text,
             "{\"operators\":[{\"id\":\"mno\",\"api_key\":\"k1\",\"callback_url\":"
             "\"https://mno.example.com/es2\"},{\"id\":\"mvno\",\"client_certificate\":"
             "\"pki/nist/CERT_EIM_TLS.pem\"}]}");
    check(parse(f, text, &config, &err), &err);
    assert_int_equal(config.operator_count, 2);
    assert_string_equal(config.operators[0].id, "mno");
    assert_true(config.operators[0].has_api_key);
    assert_false(config.operators[0].has_certificate);
    assert_string_equal(config.operators[0].callback_url, "https://mno.example.com/es2");
    uint8_t digest[32];
    const uint8_t *parts[] = {(const uint8_t *)"k1"};
    const size_t lens[] = {2};
    check(rsp_sha256(parts, lens, 1, digest), &err);
    assert_memory_equal(config.operators[0].api_key_sha256, digest, 32);
    assert_true(config.operators[1].has_certificate);
    assert_false(config.operators[1].has_api_key);
    /* An operator without any credential is refused. */
    assert_int_not_equal(parse(f, "{\"operators\":[{\"id\":\"x\"}]}", &config, &err), RSP_OK);
    print_message("refused: %s\n", err.message);
}

static void test_refusals(void **state)
{
    fixture *f = *state;
    smdp_config config;
    rsp_error err = {0};
    static const char *const bad[] = {
        "{\"listne\":\"127.0.0.1:1\"}",        /* typo: unknown key */
        "{\"threads\":\"4\"}",                 /* wrong type */
        "{\"threads\":-1}",                    /* out of range */
        "{\"tls\":{\"cert\":\"x\"}}",          /* unknown nested key */
        "{\"credentials\":[{\"ci\":\"a\"}]}",  /* incomplete credentials */
        "{\"sqlite_synchronous\":\"off\"}",    /* unsupported value */
        "{\"pki\":\"no-such-folder\"}",        /* nothing there */
        "{\"listen\":\"a\",\"listen\":\"b\"}", /* duplicate key */
        "[]",                                  /* not an object */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_not_equal(parse(f, bad[i], &config, &err), RSP_OK);
        print_message("%s -> %s\n", bad[i], err.message);
    }
}

static void test_server_from_file(void **state)
{
    fixture *f = *state;
    char path[128], text[512];
    snprintf(path, sizeof path, "%s/smdp.json", f->dir);
    snprintf(text, sizeof text,
             "{\"pki\":\"pki\",\"listen\":\"127.0.0.1:0\",\"database\":\"sqlite:%s/smdp.db\","
             "\"operators\":[{\"id\":\"mno\",\"api_key\":\"k\"}]}",
             f->dir);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
    smdp_config config;
    rsp_error err = {0};
    smdp_config_init(&config);
    check(smdp_config_load_file(path, &config, &err), &err);
    smdp_server *server = smdp_server_new(&config, &err);
    if (server == NULL)
        print_message("server: %s\n", err.message);
    assert_non_null(server);
    check(smdp_server_start(server, &err), &err);
    char url[128], ca[256];
    snprintf(url, sizeof url, "https://localhost:%u/health", (unsigned)smdp_server_port(server));
    snprintf(ca, sizeof ca, "%s/pki/nist/CERT_CI_ECDSA.pem", f->dir);
    http_client_config client_config = {.ca_file = ca};
    http_client *client = http_client_new(&client_config, &err);
    assert_non_null(client);
    http_response response = {0};
    check(http_client_get(client, url, NULL, &response, &err), &err);
    assert_int_equal(response.status, 200);
    http_response_free(&response);
    http_client_free(client);
    /* Stopping twice is fine; a missing file is an error, not a crash. */
    smdp_server_stop(server, 500);
    smdp_server_stop(server, 500);
    smdp_server_free(server);
    assert_int_equal(smdp_config_load_file("/nonexistent/smdp.json", &config, &err), RSP_ERR_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_pki),
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_server_from_file),
    };
    return cmocka_run_group_tests_name("smdp_server_config", tests, setup, teardown);
}

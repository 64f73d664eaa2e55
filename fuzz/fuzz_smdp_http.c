/* Fuzzes the SM-DP+'s HTTP front door: every ES9+ and ES2+ function of a real server (SQLite
 * store, the credentials of a fresh `rspkit pki init`, one TS.48 profile when ../shared has
 * them) receives hostile bodies and headers over a kept-alive loopback connection. The server
 * must answer each request, never with a 5xx, and an answer of 200 must be a JSON object
 * carrying header.functionExecutionStatus.status (SGP.22 v2.5 section 6.5.1.4). TLS is left
 * out so that the inputs reach the handlers unchanged.
 *
 * Input: byte 0 picks the function, byte 1 the header faults (bit 0 wrong Content-Type, bit 1
 * no X-Admin-Protocol, bit 2 no API key), the rest is the body. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "crypto/pki_generate.h"
#include "fuzz/http_exchange.h"
#include "smdp/inventory.h"
#include "smdp/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define API_KEY "fuzz-operator-key"

static const char *const paths[] = {
    "/gsma/rsp2/es9plus/initiateAuthentication", "/gsma/rsp2/es9plus/authenticateClient",
    "/gsma/rsp2/es9plus/getBoundProfilePackage", "/gsma/rsp2/es9plus/handleNotification",
    "/gsma/rsp2/es9plus/cancelSession",          "/gsma/rsp2/es2plus/downloadOrder",
    "/gsma/rsp2/es2plus/confirmOrder",           "/gsma/rsp2/es2plus/cancelOrder",
    "/gsma/rsp2/es2plus/releaseProfile",
};

static struct {
    char dir[64];
    smdp_server *server;
    fuzz_http http;
} harness;

static void stop_harness(void)
{
    if (harness.server != NULL) {
        smdp_server_stop(harness.server, 0);
        smdp_server_free(harness.server);
        harness.server = NULL;
    }
    fuzz_http_free(&harness.http);
    fuzz_http_remove_folder(harness.dir);
    OPENSSL_cleanup();
}

/* One TS.48 package in the inventory, so that ES2+ calls naming its ICCID go deeper. */
static void import_profile(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/testdata/ts48/NoBERTLV.der", RSPKIT_SHARED_DIR);
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        fprintf(stderr, "fuzz_smdp_http: no TS.48 profile under %s: ES2+ finds none\n",
                RSPKIT_SHARED_DIR);
        return;
    }
    uint8_t *package = malloc(1 << 20);
    size_t len = package != NULL ? fread(package, 1, 1 << 20, file) : 0;
    fclose(file);
    char iccid[SMDP_ICCID_SIZE];
    rsp_error err = {0};
    if (len > 0 && smdp_inventory_import(smdp_server_inventory(harness.server), "op", package, len,
                                         iccid, &err) != RSP_OK)
        fuzz_http_die(&harness.http, "profile import", err.message);
    free(package);
}

static void start_server(void)
{
    char pki[96];
    snprintf(harness.dir, sizeof harness.dir, "/tmp/rspkit-fuzz-smdp-XXXXXX");
    fuzz_http_init(&harness.http, "fuzz_smdp_http", 0);
    if (!fuzz_http_prepare_process(harness.dir, stop_harness))
        fuzz_http_die(&harness.http, "mkdtemp", NULL);
    snprintf(pki, sizeof pki, "%s/pki", harness.dir);
    rsp_error err = {0};
    rsp_pki_options options = {.curves = RSP_PKI_CURVE_NIST, .euicc_count = 1};
    if (rsp_pki_init(pki, &options, &err) != RSP_OK)
        fuzz_http_die(&harness.http, "pki init", err.message);
    smdp_config config;
    smdp_config_init(&config);
    snprintf(config.listen, sizeof config.listen, "127.0.0.1:0");
    snprintf(config.database, sizeof config.database, "sqlite:%s/smdp.db", harness.dir);
    snprintf(config.log_level, sizeof config.log_level, "error");
    /* Relaxed commits: the inputs do not need a sync each to be meaningful. */
    snprintf(config.sqlite_synchronous, sizeof config.sqlite_synchronous, "normal");
    if (smdp_config_use_pki(&config, pki, &err) != RSP_OK ||
        smdp_config_add_operator(&config, "op", API_KEY, NULL, NULL, &err) != RSP_OK)
        fuzz_http_die(&harness.http, "configuration", err.message);
    config.tls_certificate[0] = '\0';
    config.tls_key[0] = '\0';
    harness.server = smdp_server_new(&config, &err);
    if (harness.server == NULL || smdp_server_start(harness.server, &err) != RSP_OK)
        fuzz_http_die(&harness.http, "server start", err.message);
    harness.http.port = smdp_server_port(harness.server);
    import_profile();
}

/* SGP.22 v2.5 section 6.5.1.4: every JSON answer carries the function's execution status. */
static void check_json_answer(void)
{
    json_t *root = fuzz_http_json(&harness.http);
    json_t *status = json_object_get(
        json_object_get(json_object_get(root, "header"), "functionExecutionStatus"), "status");
    if (!json_is_string(status))
        fuzz_http_die(&harness.http, "an answer of 200 without header.functionExecutionStatus",
                      (const char *)harness.http.answer);
    json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (harness.server == NULL)
        start_server();
    if (size < 2)
        return 0;
    uint8_t faults = data[1];
    char head[512];
    int head_len = snprintf(head, sizeof head,
                            "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n%s%s"
                            "Content-Length: %zu\r\n\r\n",
                            paths[data[0] % (sizeof paths / sizeof paths[0])],
                            faults & 1 ? "text/plain" : "application/json",
                            faults & 2 ? "" : "X-Admin-Protocol: gsma/rsp/v2.5.0\r\n",
                            faults & 4 ? "" : "X-API-Key: " API_KEY "\r\n", size - 2);
    fuzz_http_exchange(&harness.http, head, (size_t)head_len, data + 2, size - 2);
    if (harness.http.status == 200)
        check_json_answer();
    return 0;
}

/* Fuzzes the eIM's HTTP front door: ESipa over its ASN.1 binding (SGP.32 v1.2 section 6.1) and
 * its JSON binding (section 6.3.2), and the fleet owner's REST API, of a real server (SQLite
 * store, the eIM key of a fresh `rspkit pki init`, one tenant with one registered device)
 * over a kept-alive loopback connection. The server must answer each request, never with a
 * 5xx, and a JSON answer of 200 or 201 must be one JSON value. TLS is left out so that the
 * inputs reach the handlers unchanged.
 *
 * Input: byte 0 picks the target, byte 1 the faults (bit 0 wrong Content-Type, bit 1 no
 * credentials), the rest is the body (the query string of a GET). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "crypto/pki_generate.h"
#include "eim/server.h"
#include "fuzz/http_exchange.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ADMIN_KEY "fuzz-admin-key"
#define EID       "89049032000000000000000000000163"
#define ASN1_TYPE "application/x-gsma-rsp-asn1"

typedef enum { ESIPA_ASN1, ESIPA_JSON, REST_ADMIN, REST_TENANT } target_kind;

static const struct {
    const char *method;
    const char *path;
    target_kind kind;
} targets[] = {
    {"POST", "/gsma/rsp2/asn1", ESIPA_ASN1},
    {"POST", "/gsma/rsp2/esipa/getEimPackage", ESIPA_JSON},
    {"POST", "/gsma/rsp2/esipa/provideEimPackageResult", ESIPA_JSON},
    {"POST", "/gsma/rsp2/esipa/initiateAuthentication", ESIPA_JSON},
    {"POST", "/gsma/rsp2/esipa/authenticateClient", ESIPA_JSON},
    {"POST", "/gsma/rsp2/esipa/getBoundProfilePackage", ESIPA_JSON},
    {"POST", "/gsma/rsp2/esipa/cancelSession", ESIPA_JSON},
    {"POST", "/gsma/rsp2/esipa/handleNotification", ESIPA_JSON},
    {"POST", "/api/v1/tenants", REST_ADMIN},
    {"POST", "/api/v1/apikeys", REST_TENANT},
    {"POST", "/api/v1/devices", REST_TENANT},
    {"POST", "/api/v1/devices/import", REST_TENANT},
    {"GET", "/api/v1/devices", REST_TENANT},
    {"GET", "/api/v1/devices/" EID, REST_TENANT},
    {"GET", "/api/v1/devices/" EID "/history", REST_TENANT},
    {"POST", "/api/v1/devices/" EID "/block", REST_TENANT},
    {"POST", "/api/v1/devices/" EID "/unblock", REST_TENANT},
    {"POST", "/api/v1/devices/" EID "/operations", REST_TENANT},
    {"GET", "/api/v1/orders/1", REST_TENANT},
    {"POST", "/api/v1/orders/1/cancel", REST_TENANT},
    {"GET", "/api/v1/audit", REST_TENANT},
    {"POST", "/api/v1/webhooks", REST_TENANT},
};

static struct {
    char dir[64];
    eim_server *server;
    fuzz_http http;
    char tenant_key[128];
} harness;

static void stop_harness(void)
{
    if (harness.server != NULL) {
        eim_server_stop(harness.server);
        eim_server_free(harness.server);
        harness.server = NULL;
    }
    fuzz_http_free(&harness.http);
    fuzz_http_remove_folder(harness.dir);
    OPENSSL_cleanup();
}

/* A request made by the harness itself, which must succeed; the answer is left in
 * harness.http. */
static void set_up_request(const char *path, const char *key_header, const char *body)
{
    char head[512];
    int head_len = snprintf(head, sizeof head,
                            "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                            "application/json\r\n%s\r\nContent-Length: %zu\r\n\r\n",
                            path, key_header, strlen(body));
    fuzz_http_exchange(&harness.http, head, (size_t)head_len, (const uint8_t *)body, strlen(body));
    if (harness.http.status != 200 && harness.http.status != 201)
        fuzz_http_die(&harness.http, path, (const char *)harness.http.answer);
}

/* One tenant, its API key, and one device it owns. */
static void create_tenant(void)
{
    set_up_request("/api/v1/tenants", "X-Admin-Key: " ADMIN_KEY, "{\"name\":\"fuzz\"}");
    json_t *root = fuzz_http_json(&harness.http);
    const char *key = json_string_value(json_object_get(root, "apiKey"));
    if (key == NULL || strlen(key) >= sizeof harness.tenant_key)
        fuzz_http_die(&harness.http, "no apiKey", (const char *)harness.http.answer);
    snprintf(harness.tenant_key, sizeof harness.tenant_key, "%s", key);
    json_decref(root);
    char header[160];
    snprintf(header, sizeof header, "Authorization: Bearer %s", harness.tenant_key);
    set_up_request("/api/v1/devices", header, "{\"devices\":[{\"eid\":\"" EID "\"}]}");
}

static void start_server(void)
{
    static char pki[96], database[128], key_file[160], ci_file[160];
    static const char *ci_files[1] = {ci_file};
    snprintf(harness.dir, sizeof harness.dir, "/tmp/rspkit-fuzz-eim-XXXXXX");
    fuzz_http_init(&harness.http, "fuzz_eim_http", 0);
    if (!fuzz_http_prepare_process(harness.dir, stop_harness))
        fuzz_http_die(&harness.http, "mkdtemp", NULL);
    snprintf(pki, sizeof pki, "%s/pki", harness.dir);
    snprintf(database, sizeof database, "sqlite:%s/eim.db", harness.dir);
    snprintf(key_file, sizeof key_file, "%s/nist/SK_EIM_ECDSA.pem", pki);
    snprintf(ci_file, sizeof ci_file, "%s/nist/CERT_CI_ECDSA.pem", pki);
    rsp_error err = {0};
    rsp_pki_options options = {.curves = RSP_PKI_CURVE_NIST, .euicc_count = 1};
    if (rsp_pki_init(pki, &options, &err) != RSP_OK)
        fuzz_http_die(&harness.http, "pki init", err.message);
    log_set_level(LOG_LEVEL_ERROR); /* every refused input is a warning */
    /* Relaxed commits: the inputs do not need a sync each to be meaningful. A relay to an
     * SM-DP+ an input named gives up quickly. */
    eim_server_config config = {.database = database,
                                .listen = "127.0.0.1:0",
                                .eim_id = "fuzz-eim",
                                .eim_key_file = key_file,
                                .admin_key = ADMIN_KEY,
                                .ci_files = ci_files,
                                .ci_count = 1,
                                .relay_timeout_ms = 200,
                                .relaxed_durability = true};
    if (eim_server_new(&config, &harness.server, &err) != RSP_OK ||
        eim_server_start(harness.server, &err) != RSP_OK)
        fuzz_http_die(&harness.http, "server start", err.message);
    harness.http.port = eim_server_port(harness.server);
    create_tenant();
}

/* The query string of a GET: the input's printable bytes, so that the request line stays one
 * line (a broken request line is libmicrohttpd's to refuse, not what is fuzzed here). */
static size_t query_from(const uint8_t *data, size_t size, char *out, size_t out_size)
{
    size_t len = 0;
    for (size_t i = 0; i < size && len + 1 < out_size; i++)
        out[len++] = data[i] > 0x20 && data[i] < 0x7F && data[i] != '#' ? (char)data[i] : '_';
    out[len] = '\0';
    return len;
}

static const char *credentials(target_kind kind, char *buffer, size_t size)
{
    if (kind == REST_ADMIN)
        return "X-Admin-Key: " ADMIN_KEY "\r\n";
    if (kind == REST_TENANT) {
        snprintf(buffer, size, "Authorization: Bearer %s\r\n", harness.tenant_key);
        return buffer;
    }
    return "X-Admin-Protocol: gsma/rsp/v2.5.0\r\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (harness.server == NULL)
        start_server();
    if (size < 2)
        return 0;
    size_t pick = data[0] % (sizeof targets / sizeof targets[0]);
    uint8_t faults = data[1];
    target_kind kind = targets[pick].kind;
    bool get = strcmp(targets[pick].method, "GET") == 0;
    char query[1024] = "", key[192], head[2048];
    if (get)
        query_from(data + 2, size - 2, query, sizeof query);
    const char *type = faults & 1           ? "text/plain"
                       : kind == ESIPA_ASN1 ? ASN1_TYPE
                                            : "application/json";
    size_t body_len = get ? 0 : size - 2;
    int head_len = snprintf(head, sizeof head,
                            "%s %s%s%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n%s"
                            "Content-Length: %zu\r\n\r\n",
                            targets[pick].method, targets[pick].path, get ? "?" : "", query, type,
                            faults & 2 ? "" : credentials(kind, key, sizeof key), body_len);
    fuzz_http_exchange(&harness.http, head, (size_t)head_len, data + 2, body_len);
    int status = harness.http.status;
    if (kind != ESIPA_ASN1 && (status == 200 || status == 201) && harness.http.answer_len > 0) {
        json_t *answer = fuzz_http_json(&harness.http);
        if (answer == NULL)
            fuzz_http_die(&harness.http, "a JSON answer that is not JSON",
                          (const char *)harness.http.answer);
        json_decref(answer);
    }
    return 0;
}

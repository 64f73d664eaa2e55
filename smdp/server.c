/* SM-DP+ server shell: configuration (JSON or a `rspkit pki init` folder), credentials, the
 * database, one HTTPS listener carrying ES9+, ES2+, /health and /metrics, the ES2+ callback
 * sender thread, and a graceful stop. */
#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/log.h"
#include "crypto/ecdsa.h"
#include "smdp/server.h"

#define COMPONENT "smdp"

/* ---- configuration ---- */

void smdp_config_init(smdp_config *config)
{
    memset(config, 0, sizeof *config);
    snprintf(config->listen, sizeof config->listen, "127.0.0.1:8443");
    snprintf(config->database, sizeof config->database, "sqlite:smdp.db");
}

static rsp_status set_path(char *out, size_t size, const char *base_dir, const char *value,
                           const char *key, rsp_error *err)
{
    int n;
    if (value[0] == '/' || base_dir == NULL || base_dir[0] == '\0')
        n = snprintf(out, size, "%s", value);
    else
        n = snprintf(out, size, "%s/%s", base_dir, value);
    if (n < 0 || (size_t)n >= size)
        return rsp_error_set(err, RSP_ERR_BUFFER_TOO_SMALL, 0, 0, "%s: path too long", key);
    return RSP_OK;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

rsp_status smdp_config_add_operator(smdp_config *config, const char *id, const char *api_key,
                                    const char *certificate_file, const char *callback_url,
                                    rsp_error *err)
{
    if (config->operator_count >= SMDP_MAX_OPERATORS)
        return rsp_error_set(err, RSP_ERR_TOO_MANY, 0, 0, "at most %d operators",
                             SMDP_MAX_OPERATORS);
    if (id == NULL || id[0] == '\0' || strlen(id) > SMDP_ID_MAX)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "operator id of 1..%d characters",
                             SMDP_ID_MAX);
    if (api_key == NULL && certificate_file == NULL)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0,
                             "operator %s needs an api_key or a client_certificate", id);
    smdp_operator *op = &config->operators[config->operator_count];
    memset(op, 0, sizeof *op);
    snprintf(op->id, sizeof op->id, "%s", id);
    if (callback_url != NULL && snprintf(op->callback_url, sizeof op->callback_url, "%s",
                                         callback_url) >= (int)sizeof op->callback_url)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "callback_url too long");
    rsp_status st = RSP_OK;
    if (api_key != NULL) {
        const uint8_t *parts[] = {(const uint8_t *)api_key};
        const size_t lens[] = {strlen(api_key)};
        op->has_api_key = true;
        st = rsp_sha256(parts, lens, 1, op->api_key_sha256);
    }
    if (st == RSP_OK && certificate_file != NULL) {
        rsp_certificate *certificate = NULL;
        st = rsp_certificate_load_file(certificate_file, &certificate, err);
        if (st == RSP_OK) {
            der_view der = rsp_certificate_der(certificate);
            const uint8_t *parts[] = {der.data};
            const size_t lens[] = {der.len};
            op->has_certificate = true;
            st = rsp_sha256(parts, lens, 1, op->certificate_sha256);
        }
        rsp_certificate_free(certificate);
    }
    if (st == RSP_OK)
        config->operator_count++;
    return st;
}

rsp_status smdp_config_use_pki(smdp_config *config, const char *pki_dir, rsp_error *err)
{
    static const char *const curves[] = {"nist", "brainpool"};
    config->identity_count = 0;
    for (size_t i = 0; i < 2; i++) {
        char dir[SMDP_PATH_MAX];
        snprintf(dir, sizeof dir, "%s/%s", pki_dir, curves[i]);
        char probe[SMDP_PATH_MAX + 32];
        snprintf(probe, sizeof probe, "%s/CERT_CI_ECDSA.pem", dir);
        if (!file_exists(probe))
            continue;
        smdp_identity_files *files = &config->identities[config->identity_count++];
        memset(files, 0, sizeof *files);
        const struct {
            char *out;
            const char *name;
        } entries[] = {
            {files->ci, "CERT_CI_ECDSA.pem"},
            {files->dpauth_certificate, "CERT_S_SM_DPauth_ECDSA.pem"},
            {files->dpauth_key, "SK_S_SM_DPauth_ECDSA.pem"},
            {files->dppb_certificate, "CERT_S_SM_DPpb_ECDSA.pem"},
            {files->dppb_key, "SK_S_SM_DPpb_ECDSA.pem"},
            {files->crl, "CRL_CI.pem"},
        };
        for (size_t e = 0; e < sizeof entries / sizeof entries[0]; e++)
            if (set_path(entries[e].out, SMDP_PATH_MAX, dir, entries[e].name, "pki", err) != RSP_OK)
                return err->code;
        if (!file_exists(files->crl))
            files->crl[0] = '\0';
        /* GnuTLS offers no brainpool groups, so TLS always uses the NIST certificate. */
        if (i == 0 && (set_path(config->tls_certificate, SMDP_PATH_MAX, dir, "CERT_S_SM_DP_TLS.pem",
                                "pki", err) != RSP_OK ||
                       set_path(config->tls_key, SMDP_PATH_MAX, dir, "SK_S_SM_DP_TLS.pem", "pki",
                                err) != RSP_OK))
            return err->code;
    }
    if (config->identity_count == 0)
        return rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0,
                             "%s has neither nist/ nor brainpool/ (run rspkit pki init)", pki_dir);
    if (config->tls_certificate[0] == '\0')
        return rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0, "%s/nist/ is needed for TLS", pki_dir);
    return RSP_OK;
}

static bool key_allowed(const char *key, const char *const *allowed, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(key, allowed[i]) == 0)
            return true;
    return false;
}

static rsp_status check_keys(const json_t *object, const char *where, const char *const *allowed,
                             size_t count, rsp_error *err)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)object, key, value)
    {
        (void)value;
        if (!key_allowed(key, allowed, count))
            return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "%s: unknown key \"%s\"", where,
                                 key);
    }
    return RSP_OK;
}

/* Optional string; copied (or resolved as a path when base_dir is given). */
static rsp_status get_text(const json_t *object, const char *key, char *out, size_t size,
                           const char *base_dir, bool is_path, rsp_error *err)
{
    const char *value = NULL;
    bool present = false;
    rsp_status st = rsp_json_get_string(object, key, false, &value, &present, err);
    if (st != RSP_OK || !present)
        return st;
    if (is_path)
        return set_path(out, size, base_dir, value, key, err);
    if (snprintf(out, size, "%s", value) >= (int)size)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "%s too long", key);
    return RSP_OK;
}

static rsp_status get_unsigned(const json_t *object, const char *key, int64_t max, unsigned *out,
                               rsp_error *err)
{
    int64_t value = 0;
    bool present = false;
    rsp_status st = rsp_json_get_int(object, key, false, 0, max, &value, &present, err);
    if (st == RSP_OK && present)
        *out = (unsigned)value;
    return st;
}

static rsp_status parse_identities(const json_t *root, const char *base_dir, smdp_config *config,
                                   rsp_error *err)
{
    static const char *const keys[] = {
        "ci", "dpauth_certificate", "dpauth_key", "dppb_certificate", "dppb_key", "crl"};
    json_t *list = json_object_get(root, "credentials");
    if (list == NULL)
        return RSP_OK;
    if (!json_is_array(list) || json_array_size(list) > SMDP_MAX_IDENTITIES)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "credentials: array of at most %d",
                             SMDP_MAX_IDENTITIES);
    config->identity_count = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *item = json_array_get(list, i);
        smdp_identity_files *files = &config->identities[config->identity_count++];
        memset(files, 0, sizeof *files);
        char *outs[] = {files->ci,         files->dpauth_certificate,
                        files->dpauth_key, files->dppb_certificate,
                        files->dppb_key,   files->crl};
        if (!json_is_object(item))
            return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "credentials[%zu]: object", i);
        rsp_status st = check_keys(item, "credentials", keys, 6, err);
        for (size_t k = 0; k < 6 && st == RSP_OK; k++) {
            st = get_text(item, keys[k], outs[k], SMDP_PATH_MAX, base_dir, true, err);
            if (st == RSP_OK && k < 5 && outs[k][0] == '\0')
                st = rsp_error_set(err, RSP_ERR_MISSING_FIELD, 0, 0,
                                   "credentials[%zu].%s is missing", i, keys[k]);
        }
        if (st != RSP_OK)
            return st;
    }
    return RSP_OK;
}

static rsp_status parse_operators(const json_t *root, const char *base_dir, smdp_config *config,
                                  rsp_error *err)
{
    static const char *const keys[] = {"id", "api_key", "client_certificate", "callback_url"};
    json_t *list = json_object_get(root, "operators");
    if (list == NULL)
        return RSP_OK;
    if (!json_is_array(list))
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "operators: array");
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *item = json_array_get(list, i);
        const char *id = NULL, *key = NULL, *url = NULL;
        char certificate[SMDP_PATH_MAX] = "";
        bool has_key = false, has_url = false;
        if (!json_is_object(item))
            return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "operators[%zu]: object", i);
        rsp_status st = check_keys(item, "operators", keys, 4, err);
        if (st == RSP_OK)
            st = rsp_json_get_string(item, "id", true, &id, NULL, err);
        if (st == RSP_OK)
            st = rsp_json_get_string(item, "api_key", false, &key, &has_key, err);
        if (st == RSP_OK)
            st = rsp_json_get_string(item, "callback_url", false, &url, &has_url, err);
        if (st == RSP_OK)
            st = get_text(item, "client_certificate", certificate, sizeof certificate, base_dir,
                          true, err);
        if (st == RSP_OK)
            st = smdp_config_add_operator(config, id, has_key ? key : NULL,
                                          certificate[0] != '\0' ? certificate : NULL,
                                          has_url ? url : NULL, err);
        if (st != RSP_OK)
            return st;
    }
    return RSP_OK;
}

rsp_status smdp_config_parse(const char *text, size_t len, const char *base_dir,
                             smdp_config *config, rsp_error *err)
{
    static const char *const keys[] = {"listen",
                                       "address",
                                       "database",
                                       "tls",
                                       "pki",
                                       "credentials",
                                       "operators",
                                       "callback_ca",
                                       "threads",
                                       "database_pool",
                                       "max_body",
                                       "confirmation_code_attempts",
                                       "download_attempts",
                                       "session_ttl",
                                       "callback_interval_ms",
                                       "callback_max_attempts",
                                       "log_level",
                                       "sqlite_synchronous",
                                       "order_ttl"};
    static const char *const tls_keys[] = {"certificate", "key", "client_ca"};
    json_t *root = rsp_json_parse_object(text, len, 1024 * 1024, err);
    if (root == NULL)
        return err->code;
    char pki[SMDP_PATH_MAX] = "";
    json_t *tls = NULL;
    bool has_tls = false;
    unsigned max_body = 0, ttl = 0, order_ttl = 0;
    rsp_status st = check_keys(root, "configuration", keys, sizeof keys / sizeof keys[0], err);
    if (st == RSP_OK)
        st = get_text(root, "listen", config->listen, sizeof config->listen, NULL, false, err);
    if (st == RSP_OK)
        st = get_text(root, "address", config->address, sizeof config->address, NULL, false, err);
    if (st == RSP_OK)
        st =
            get_text(root, "database", config->database, sizeof config->database, NULL, false, err);
    if (st == RSP_OK)
        st = get_text(root, "pki", pki, sizeof pki, base_dir, true, err);
    if (st == RSP_OK && pki[0] != '\0')
        st = smdp_config_use_pki(config, pki, err);
    if (st == RSP_OK)
        st = rsp_json_get_object(root, "tls", false, &tls, &has_tls, err);
    if (st == RSP_OK && has_tls)
        st = check_keys(tls, "tls", tls_keys, 3, err);
    if (st == RSP_OK && has_tls)
        st = get_text(tls, "certificate", config->tls_certificate, SMDP_PATH_MAX, base_dir, true,
                      err);
    if (st == RSP_OK && has_tls)
        st = get_text(tls, "key", config->tls_key, SMDP_PATH_MAX, base_dir, true, err);
    if (st == RSP_OK && has_tls)
        st = get_text(tls, "client_ca", config->es2_client_ca, SMDP_PATH_MAX, base_dir, true, err);
    if (st == RSP_OK)
        st = get_text(root, "callback_ca", config->callback_ca, SMDP_PATH_MAX, base_dir, true, err);
    if (st == RSP_OK)
        st = parse_identities(root, base_dir, config, err);
    if (st == RSP_OK)
        st = parse_operators(root, base_dir, config, err);
    if (st == RSP_OK)
        st = get_unsigned(root, "threads", 64, &config->threads, err);
    if (st == RSP_OK)
        st = get_unsigned(root, "database_pool", 256, &config->db_pool, err);
    if (st == RSP_OK)
        st = get_unsigned(root, "max_body", 16 * 1024 * 1024, &max_body, err);
    if (st == RSP_OK)
        st = get_unsigned(root, "confirmation_code_attempts", 100,
                          &config->confirmation_code_attempts, err);
    if (st == RSP_OK)
        st = get_unsigned(root, "download_attempts", 1000, &config->download_attempts, err);
    if (st == RSP_OK)
        st = get_unsigned(root, "session_ttl", 86400, &ttl, err);
    if (st == RSP_OK)
        st = get_unsigned(root, "order_ttl", 366 * 86400, &order_ttl, err);
    if (st == RSP_OK)
        st = get_unsigned(root, "callback_interval_ms", 60000, &config->callback_interval_ms, err);
    if (st == RSP_OK)
        st = get_unsigned(root, "callback_max_attempts", 1000, &config->callback_max_attempts, err);
    if (st == RSP_OK)
        st = get_text(root, "log_level", config->log_level, sizeof config->log_level, NULL, false,
                      err);
    if (st == RSP_OK)
        st = get_text(root, "sqlite_synchronous", config->sqlite_synchronous,
                      sizeof config->sqlite_synchronous, NULL, false, err);
    if (st == RSP_OK && config->sqlite_synchronous[0] != '\0' &&
        strcmp(config->sqlite_synchronous, "normal") != 0 &&
        strcmp(config->sqlite_synchronous, "full") != 0)
        st = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "sqlite_synchronous: full or normal");
    if (max_body > 0)
        config->max_body = max_body;
    if (ttl > 0)
        config->session_ttl_seconds = ttl;
    if (order_ttl > 0)
        config->order_ttl_seconds = order_ttl;
    json_decref(root);
    return st;
}

rsp_status smdp_config_load_file(const char *path, smdp_config *config, rsp_error *err)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "%s: %s", path, strerror(errno));
    char *text = malloc(1024 * 1024 + 1);
    size_t len = text != NULL ? fread(text, 1, 1024 * 1024 + 1, file) : 0;
    fclose(file);
    if (text == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "configuration");
    char base_dir[SMDP_PATH_MAX];
    snprintf(base_dir, sizeof base_dir, "%s", path);
    char *slash = strrchr(base_dir, '/');
    if (slash != NULL)
        *slash = '\0';
    else
        base_dir[0] = '\0';
    rsp_status st = smdp_config_parse(text, len, base_dir, config, err);
    free(text);
    return st;
}

/* ---- the server ---- */

typedef struct {
    rsp_certificate *ci;
    rsp_certificate *dpauth_certificate;
    rsp_private_key *dpauth_key;
    rsp_certificate *dppb_certificate;
    rsp_private_key *dppb_key;
    rsp_crl *crl;
} loaded_identity;

struct smdp_server {
    smdp_config config;
    char address[256];
    store *store;
    smdp_inventory inventory;
    loaded_identity loaded[SMDP_MAX_IDENTITIES];
    smdp_identity identities[SMDP_MAX_IDENTITIES];
    const rsp_certificate *cis[SMDP_MAX_IDENTITIES];
    const rsp_crl *crls[SMDP_MAX_IDENTITIES];
    smdp_credentials credentials;
    rsp_hmac_key *transaction_key;
    http_server *http;
    metrics_registry *metrics;
    smdp_es9plus es9;
    smdp_es2plus es2;
    metrics_counter callbacks_delivered;
    pthread_t sender;
    bool sender_running;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
};

static rsp_status load_identity(smdp_server *server, size_t i, rsp_error *err)
{
    const smdp_identity_files *files = &server->config.identities[i];
    loaded_identity *loaded = &server->loaded[i];
    rsp_status st = rsp_certificate_load_file(files->ci, &loaded->ci, err);
    if (st == RSP_OK)
        st = rsp_certificate_load_file(files->dpauth_certificate, &loaded->dpauth_certificate, err);
    if (st == RSP_OK)
        st = rsp_private_key_load_file(files->dpauth_key, &loaded->dpauth_key, err);
    if (st == RSP_OK)
        st = rsp_certificate_load_file(files->dppb_certificate, &loaded->dppb_certificate, err);
    if (st == RSP_OK)
        st = rsp_private_key_load_file(files->dppb_key, &loaded->dppb_key, err);
    if (st == RSP_OK && files->crl[0] != '\0')
        st = rsp_crl_load_file(files->crl, &loaded->crl, err);
    if (st != RSP_OK)
        return st;
    server->identities[i] = (smdp_identity){
        .ci = loaded->ci,
        .dpauth_certificate = loaded->dpauth_certificate,
        .dpauth_key = loaded->dpauth_key,
        .dppb_certificate = loaded->dppb_certificate,
        .dppb_key = loaded->dppb_key,
    };
    server->cis[i] = loaded->ci;
    if (loaded->crl != NULL)
        server->crls[server->credentials.crl_count++] = loaded->crl;
    return RSP_OK;
}

static bool server_ready(void *user)
{
    smdp_server *server = user;
    store_conn *conn = NULL;
    rsp_error err = {0};
    if (store_borrow(server->store, &conn, &err) != RSP_OK)
        return false;
    store_return(conn);
    return true;
}

static void collect_server_metrics(metrics_text *out, void *user)
{
    smdp_server *server = user;
    int64_t pending = 0;
    rsp_error err = {0};
    metrics_text_family(out, "rspkit_smdp_callbacks_delivered_total",
                        "ES2+ progress callbacks delivered", "counter");
    metrics_text_sample_u64(out, "rspkit_smdp_callbacks_delivered_total", NULL,
                            metrics_counter_get(&server->callbacks_delivered));
    if (smdp_outbox_pending(&server->inventory, &pending, &err) == RSP_OK) {
        metrics_text_family(out, "rspkit_smdp_callbacks_pending",
                            "ES2+ progress callbacks waiting to be delivered", "gauge");
        metrics_text_sample_i64(out, "rspkit_smdp_callbacks_pending", NULL, pending);
    }
}

static rsp_status open_store(smdp_server *server, rsp_error *err)
{
    unsigned threads = server->config.threads > 0 ? server->config.threads : 2;
    store_options options = {
        .pool_size = server->config.db_pool > 0 ? server->config.db_pool : threads + 2,
        .borrow_timeout_ms = 10000,
        .relaxed_durability = strcmp(server->config.sqlite_synchronous, "normal") == 0,
    };
    if (strstr(server->config.database, ":memory:") != NULL)
        options.pool_size = 1;
    rsp_status st = store_open(server->config.database, &options, &server->store, err);
    if (st == RSP_OK && options.relaxed_durability &&
        store_dialect(server->store) != STORE_DIALECT_SQLITE) {
        /* The setting names SQLite: PostgreSQL keeps its own synchronous_commit setting. */
        store_close(server->store);
        server->store = NULL;
        options.relaxed_durability = false;
        st = store_open(server->config.database, &options, &server->store, err);
    }
    if (st == RSP_OK)
        st = smdp_storage_migrate(server->store, err);
    return st;
}

static rsp_status build_http(smdp_server *server, rsp_error *err)
{
    const smdp_config *config = &server->config;
    http_server_config http = {
        .name = "smdp",
        .listen = config->listen,
        .cert_file = config->tls_certificate[0] != '\0' ? config->tls_certificate : NULL,
        .key_file = config->tls_key[0] != '\0' ? config->tls_key : NULL,
        .client_ca_file = config->es2_client_ca[0] != '\0' ? config->es2_client_ca : NULL,
        .threads = config->threads,
        .max_body = config->max_body > 0 ? config->max_body : 1024 * 1024,
    };
    server->http = http_server_new(&http, err);
    if (server->http == NULL)
        return err->code != RSP_OK ? err->code : RSP_ERR_IO;
    server->metrics = metrics_registry_new();
    if (server->metrics == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "metrics");
    metrics_registry_add(server->metrics, smdp_es9plus_collect_metrics, &server->es9);
    metrics_registry_add(server->metrics, smdp_es2plus_collect_metrics, &server->es2);
    metrics_registry_add(server->metrics, collect_server_metrics, server);
    server->es9 = (smdp_es9plus){.inventory = &server->inventory,
                                 .credentials = &server->credentials,
                                 .max_body = http.max_body};
    server->es2 = (smdp_es2plus){.inventory = &server->inventory, .max_body = http.max_body};
    rsp_status st = smdp_es9plus_register(server->http, &server->es9, err);
    if (st == RSP_OK)
        st = smdp_es2plus_register(server->http, &server->es2, err);
    if (st == RSP_OK)
        st = http_server_add_health_route(server->http, "/health", server_ready, server, err);
    if (st == RSP_OK)
        st = http_server_add_metrics_route(server->http, "/metrics", server->metrics, err);
    return st;
}

smdp_server *smdp_server_new(const smdp_config *config, rsp_error *err)
{
    smdp_server *server = calloc(1, sizeof *server);
    if (server == NULL) {
        rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "server");
        return NULL;
    }
    server->config = *config;
    pthread_mutex_init(&server->lock, NULL);
    pthread_cond_init(&server->wake, NULL);
    log_level level;
    if (config->log_level[0] != '\0' && log_level_parse(config->log_level, &level))
        log_set_level(level);
    snprintf(server->address, sizeof server->address, "%s", config->address);
    rsp_status st = RSP_OK;
    if (config->identity_count == 0)
        st = rsp_error_set(err, RSP_ERR_MISSING_FIELD, 0, 0,
                           "no SM-DP+ credentials (configure \"credentials\" or \"pki\")");
    for (size_t i = 0; st == RSP_OK && i < config->identity_count; i++)
        st = load_identity(server, i, err);
    server->credentials.address = server->address;
    server->credentials.identities = server->identities;
    server->credentials.identity_count = config->identity_count;
    server->credentials.cis = server->cis;
    server->credentials.ci_count = config->identity_count;
    server->credentials.crls = server->crls;
    server->credentials.cc_retries = config->confirmation_code_attempts;
    server->inventory = (smdp_inventory){
        .operators = server->config.operators,
        .operator_count = config->operator_count,
        .confirmation_code_max_attempts = config->confirmation_code_attempts,
        .download_max_attempts = config->download_attempts,
        .session_ttl_seconds = config->session_ttl_seconds,
        .order_ttl_seconds = config->order_ttl_seconds,
        .clock = config->clock,
        .clock_user = config->clock_user,
    };
    snprintf(server->inventory.smdp_address, sizeof server->inventory.smdp_address, "%s",
             server->address);
    if (st == RSP_OK)
        st = open_store(server, err);
    server->inventory.store = server->store;
    uint8_t key[SMDP_TRANSACTION_KEY_SIZE];
    if (st == RSP_OK)
        st = smdp_storage_transaction_key(server->store, key, err);
    if (st == RSP_OK)
        st = rsp_hmac_key_new(key, sizeof key, &server->transaction_key, err);
    OPENSSL_cleanse(key, sizeof key);
    server->credentials.transaction_key = server->transaction_key;
    if (st == RSP_OK)
        st = build_http(server, err);
    if (st != RSP_OK) {
        smdp_server_free(server);
        return NULL;
    }
    return server;
}

static void *sender_main(void *user)
{
    smdp_server *server = user;
    unsigned interval =
        server->config.callback_interval_ms > 0 ? server->config.callback_interval_ms : 500;
    http_client_config config = {
        .ca_file = server->config.callback_ca[0] != '\0' ? server->config.callback_ca : NULL,
        .connect_timeout_ms = 3000,
        .total_timeout_ms = 10000,
        .user_agent = "rspkit-smdp",
    };
    rsp_error err = {0};
    http_client *client = http_client_new(&config, &err);
    if (client == NULL)
        LOG_ERROR(COMPONENT, "callback sender has no HTTP client", LOG_STR("detail", err.message));
    pthread_mutex_lock(&server->lock);
    while (!server->stopping) {
        pthread_mutex_unlock(&server->lock);
        size_t delivered = 0;
        rsp_error_clear(&err);
        if (client != NULL &&
            smdp_callbacks_deliver(&server->inventory, client, server->config.callback_max_attempts,
                                   &delivered, &err) != RSP_OK)
            LOG_WARN(COMPONENT, "callback delivery", LOG_STR("detail", err.message));
        metrics_counter_add(&server->callbacks_delivered, delivered);
        rsp_error_clear(&err);
        smdp_session_expire(&server->inventory, NULL, &err);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += interval / 1000;
        until.tv_nsec += (long)(interval % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&server->lock);
        if (!server->stopping && delivered < 16)
            pthread_cond_timedwait(&server->wake, &server->lock, &until);
    }
    pthread_mutex_unlock(&server->lock);
    http_client_free(client);
    return NULL;
}

rsp_status smdp_server_start(smdp_server *server, rsp_error *err)
{
    rsp_status st = http_server_start(server->http, err);
    if (st != RSP_OK)
        return st;
    if (server->address[0] == '\0') {
        snprintf(server->address, sizeof server->address, "localhost:%u",
                 (unsigned)http_server_port(server->http));
        snprintf(server->inventory.smdp_address, sizeof server->inventory.smdp_address, "%s",
                 server->address);
    }
    if (pthread_create(&server->sender, NULL, sender_main, server) != 0) {
        http_server_stop(server->http, 0);
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot start the callback sender");
    }
    server->sender_running = true;
    LOG_INFO(COMPONENT, "SM-DP+ serving", LOG_STR("listen", server->config.listen),
             LOG_UINT("port", http_server_port(server->http)), LOG_STR("address", server->address),
             LOG_UINT("credentials", server->config.identity_count),
             LOG_UINT("operators", server->config.operator_count));
    return RSP_OK;
}

uint16_t smdp_server_port(const smdp_server *server)
{
    return http_server_port(server->http);
}

const char *smdp_server_address(const smdp_server *server)
{
    return server->address;
}

smdp_inventory *smdp_server_inventory(smdp_server *server)
{
    return &server->inventory;
}

void smdp_server_stop(smdp_server *server, unsigned grace_ms)
{
    if (server == NULL)
        return;
    if (server->http != NULL)
        http_server_stop(server->http, grace_ms);
    pthread_mutex_lock(&server->lock);
    server->stopping = true;
    pthread_cond_broadcast(&server->wake);
    pthread_mutex_unlock(&server->lock);
    if (server->sender_running) {
        pthread_join(server->sender, NULL);
        server->sender_running = false;
    }
}

void smdp_server_free(smdp_server *server)
{
    if (server == NULL)
        return;
    smdp_server_stop(server, 0);
    http_server_free(server->http);
    metrics_registry_free(server->metrics);
    if (server->store != NULL)
        store_close(server->store);
    for (size_t i = 0; i < SMDP_MAX_IDENTITIES; i++) {
        loaded_identity *loaded = &server->loaded[i];
        rsp_certificate_free(loaded->ci);
        rsp_certificate_free(loaded->dpauth_certificate);
        rsp_private_key_free(loaded->dpauth_key);
        rsp_certificate_free(loaded->dppb_certificate);
        rsp_private_key_free(loaded->dppb_key);
        rsp_crl_free(loaded->crl);
    }
    pthread_mutex_destroy(&server->lock);
    pthread_cond_destroy(&server->wake);
    rsp_hmac_key_free(server->transaction_key);
    free(server);
}

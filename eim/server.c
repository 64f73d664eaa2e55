/* eIM server life cycle: store, signing key, HTTP routes, background worker, metrics. */
#include "eim/server.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "eim/server_private.h"
#include "eim/storage.h"

static void collect_metrics(metrics_text *out, void *user)
{
    eim_server *server = user;
    struct {
        const char *name;
        const char *help;
        metrics_counter *counter;
    } counters[] = {
        {"rspkit_eim_polls_empty_total", "GetEimPackage answered with no package",
         &server->polls_empty},
        {"rspkit_eim_packages_sent_total", "eIM packages handed out", &server->packages_sent},
        {"rspkit_eim_packages_resent_total", "undelivered packages sent again, same bytes",
         &server->packages_resent},
        {"rspkit_eim_results_accepted_total", "results verified and recorded",
         &server->results_accepted},
        {"rspkit_eim_results_refused_total", "results refused", &server->results_refused},
        {"rspkit_eim_relay_calls_total", "ES9+ calls made by the relay", &server->relay_calls},
        {"rspkit_eim_relay_failures_total", "ES9+ calls that failed", &server->relay_failures},
        {"rspkit_eim_webhooks_delivered_total", "webhook events delivered",
         &server->webhooks_delivered},
        {"rspkit_eim_webhooks_failed_total", "webhook attempts that failed",
         &server->webhooks_failed},
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        metrics_text_family(out, counters[i].name, counters[i].help, "counter");
        metrics_text_sample_u64(out, counters[i].name, "",
                                metrics_counter_get(counters[i].counter));
    }
}

static void cached_key_free(eim_cached_key *entry)
{
    rsp_public_key_free(entry->key);
    free(entry->certificate);
    free(entry);
}

bool eim_key_point_from_certificate(const uint8_t *der, size_t len, const char **curve,
                                    uint8_t point[RSP_EC_POINT_SIZE])
{
    rsp_public_key *key = NULL;
    rsp_error err = {0};
    bool ok = rsp_public_key_from_certificate(der, len, &key, &err) == RSP_OK &&
              rsp_public_key_point(key, point) == RSP_OK;
    if (ok)
        *curve = rsp_curve_name(rsp_public_key_curve(key));
    rsp_public_key_free(key);
    return ok && *curve != NULL;
}

eim_cached_key *eim_key_cache_get(eim_server *server, int64_t device_id, const char *curve,
                                  const uint8_t *der, size_t len)
{
    size_t slot = (size_t)device_id % EIM_KEY_CACHE_SLOTS;
    pthread_mutex_lock(&server->key_cache_lock);
    eim_cached_key *entry = server->key_cache[slot];
    if (entry != NULL && entry->device_id == device_id && entry->certificate_len == len &&
        memcmp(entry->certificate, der, len) == 0) {
        entry->refs++;
        pthread_mutex_unlock(&server->key_cache_lock);
        return entry;
    }
    pthread_mutex_unlock(&server->key_cache_lock);
    /* parse outside the lock; two threads may both parse, the later one wins the slot */
    eim_cached_key *fresh = calloc(1, sizeof *fresh);
    rsp_error err = {0};
    rsp_status status = RSP_ERR_NO_MEMORY;
    if (fresh != NULL && (fresh->certificate = malloc(len)) != NULL)
        status = curve != NULL ? rsp_public_key_from_point(rsp_curve_from_name(curve), der, len,
                                                           &fresh->key, &err)
                               : rsp_public_key_from_certificate(der, len, &fresh->key, &err);
    if (status != RSP_OK) {
        if (fresh != NULL)
            cached_key_free(fresh);
        return NULL;
    }
    memcpy(fresh->certificate, der, len);
    fresh->certificate_len = len;
    fresh->device_id = device_id;
    fresh->refs = 2; /* the cache and the caller */
    pthread_mutex_lock(&server->key_cache_lock);
    eim_cached_key *old = server->key_cache[slot];
    server->key_cache[slot] = fresh;
    bool free_old = old != NULL && --old->refs == 0;
    pthread_mutex_unlock(&server->key_cache_lock);
    if (free_old)
        cached_key_free(old);
    return fresh;
}

void eim_key_cache_release(eim_server *server, eim_cached_key *entry)
{
    if (entry == NULL)
        return;
    pthread_mutex_lock(&server->key_cache_lock);
    bool last = --entry->refs == 0;
    pthread_mutex_unlock(&server->key_cache_lock);
    if (last)
        cached_key_free(entry);
}

void eim_key_cache_clear(eim_server *server)
{
    for (size_t i = 0; i < EIM_KEY_CACHE_SLOTS; i++) {
        eim_cached_key *entry = server->key_cache[i];
        server->key_cache[i] = NULL;
        if (entry != NULL && --entry->refs == 0)
            cached_key_free(entry);
    }
}

static bool ready(void *user)
{
    eim_server *server = user;
    rsp_error err = {0};
    int64_t one = 0;
    return store_pool_query_int64(server->st, "SELECT 1", NULL, 0, &one, &err) == RSP_OK &&
           one == 1;
}

rsp_status eim_server_new(const eim_server_config *config, eim_server **out, rsp_error *err)
{
    *out = NULL;
    if (config->database == NULL || config->eim_id == NULL || config->eim_key_file == NULL ||
        config->ci_count > EIM_MAX_CIS)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                             "eIM config needs database, eim_id and eim_key (and at most %d CIs)",
                             EIM_MAX_CIS);
    eim_server *server = calloc(1, sizeof *server);
    if (server == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "no memory for the eIM");
    server->config = *config;
    pthread_mutex_init(&server->worker_lock, NULL);
    pthread_mutex_init(&server->key_cache_lock, NULL);
    pthread_cond_init(&server->worker_wake, NULL);
    unsigned threads = config->threads > 0 ? config->threads : 2;
    const char *sync = config->sqlite_synchronous;
    store_options options = {
        .pool_size = config->pool_size > 0 ? config->pool_size : threads + 2,
        .relaxed_durability =
            config->relaxed_durability || (sync != NULL && strcmp(sync, "normal") == 0),
    };
    rsp_status status = RSP_OK;
    if (sync != NULL && strcmp(sync, "full") != 0 && strcmp(sync, "normal") != 0)
        status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "sqlite_synchronous: full or normal");
    if (status == RSP_OK)
        status = store_open(config->database, &options, &server->st, err);
    if (status == RSP_OK)
        status = eim_storage_migrate(server->st, err);
    if (status == RSP_OK)
        status = rsp_private_key_load_file(config->eim_key_file, &server->eim_key, err);
    for (size_t i = 0; status == RSP_OK && i < config->ci_count; i++) {
        status = rsp_certificate_load_file(config->ci_files[i], &server->cis[i], err);
        server->ci_count = i + 1;
    }
    if (status != RSP_OK) {
        eim_server_free(server);
        return status;
    }
    *out = server;
    return RSP_OK;
}

store *eim_server_store(eim_server *server)
{
    return server->st;
}

/* Fails the packages delivered longer ago than delivery_timeout_s, a batch at a time. */
static rsp_status expire_transaction(store_conn *conn, void *user, rsp_error *err)
{
    eim_server *server = user;
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT id FROM eim_orders WHERE state = 'delivered' AND delivered_at < $1 ORDER BY "
             "id LIMIT 100%s",
             eim_storage_skip_locked(conn));
    store_stmt *stmt = NULL;
    rsp_status status = store_prepare(conn, sql, &stmt, err);
    if (status != RSP_OK)
        return status;
    store_bind_int64(stmt, 1, eim_storage_now() - (int64_t)server->config.delivery_timeout_s);
    int64_t ids[100];
    size_t count = 0;
    bool has_row = false;
    while (count < 100 && (status = store_step(stmt, &has_row, err)) == RSP_OK && has_row)
        ids[count++] = store_column_int64(stmt, 0);
    store_finish(stmt);
    for (size_t i = 0; i < count && status == RSP_OK; i++) {
        eim_order_finished finished;
        status = eim_storage_order_finish(conn, ids[i], "failed",
                                          "[{\"type\":\"timeout\",\"ok\":false}]", "timeout",
                                          &finished, err);
        free(finished.follow_up);
    }
    return status;
}

void eim_server_run_background(eim_server *server)
{
    if (server->config.delivery_timeout_s > 0) {
        rsp_error err = {0};
        if (store_transaction(server->st, expire_transaction, server, &err) != RSP_OK)
            LOG_WARN("eim", "delivery timeout pass failed", LOG_STR("error", err.message));
    }
    eim_campaign_release_due(server);
    eim_relay_notifications_due(server);
    eim_webhook_deliver_due(server);
}

static void *worker_main(void *user)
{
    eim_server *server = user;
    unsigned period = server->config.worker_period_ms > 0 ? server->config.worker_period_ms : 200;
    pthread_mutex_lock(&server->worker_lock);
    while (!atomic_load(&server->stopping)) {
        pthread_mutex_unlock(&server->worker_lock);
        eim_server_run_background(server);
        pthread_mutex_lock(&server->worker_lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += period / 1000;
        until.tv_nsec += (long)(period % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec += 1;
            until.tv_nsec -= 1000000000L;
        }
        if (!atomic_load(&server->stopping))
            pthread_cond_timedwait(&server->worker_wake, &server->worker_lock, &until);
    }
    pthread_mutex_unlock(&server->worker_lock);
    return NULL;
}

rsp_status eim_server_start(eim_server *server, rsp_error *err)
{
    http_server_config http = {
        .name = "eim",
        .listen = server->config.listen != NULL ? server->config.listen : "127.0.0.1:0",
        .cert_file = server->config.tls_cert,
        .key_file = server->config.tls_key,
        .threads = server->config.threads,
        .max_body = 16u * 1024u * 1024u,
    };
    server->http = http_server_new(&http, err);
    if (server->http == NULL)
        return err->code != RSP_OK ? err->code : RSP_ERR_IO;
    server->metrics = metrics_registry_new();
    if (server->metrics == NULL || !metrics_registry_add(server->metrics, collect_metrics, server))
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "no memory for metrics");
    rsp_status status = http_server_route(server->http, NULL, "/gsma/rsp2/asn1", false,
                                          eim_esipa_asn1_handle, server, err);
    if (status == RSP_OK)
        status =
            http_server_route(server->http, NULL, "/api/v1/", true, eim_rest_handle, server, err);
    if (status == RSP_OK)
        status = http_server_route(server->http, NULL, "/gsma/rsp2/esipa/", true,
                                   eim_esipa_json_handle, server, err);
    if (status == RSP_OK)
        status = http_server_add_health_route(server->http, "/health", ready, server, err);
    if (status == RSP_OK)
        status = http_server_add_metrics_route(server->http, "/metrics", server->metrics, err);
    if (status == RSP_OK)
        status = http_server_start(server->http, err);
    if (status == RSP_OK) {
        atomic_store(&server->stopping, false);
        if (pthread_create(&server->worker, NULL, worker_main, server) != 0)
            return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot start the eIM worker");
        server->worker_running = true;
        LOG_INFO("eim", "eIM listening", LOG_UINT("port", http_server_port(server->http)),
                 LOG_STR("eimId", server->config.eim_id));
    }
    return status;
}

uint16_t eim_server_port(const eim_server *server)
{
    return server->http != NULL ? http_server_port(server->http) : 0;
}

void eim_server_stop(eim_server *server)
{
    if (server == NULL)
        return;
    if (server->http != NULL)
        http_server_stop(server->http, 2000);
    if (server->worker_running) {
        pthread_mutex_lock(&server->worker_lock);
        atomic_store(&server->stopping, true);
        pthread_cond_broadcast(&server->worker_wake);
        pthread_mutex_unlock(&server->worker_lock);
        pthread_join(server->worker, NULL);
        server->worker_running = false;
    }
}

void eim_server_free(eim_server *server)
{
    if (server == NULL)
        return;
    eim_server_stop(server);
    http_server_free(server->http);
    metrics_registry_free(server->metrics);
    for (size_t i = 0; i < server->ci_count; i++)
        rsp_certificate_free(server->cis[i]);
    rsp_private_key_free(server->eim_key);
    eim_key_cache_clear(server);
    pthread_mutex_destroy(&server->key_cache_lock);
    if (server->st != NULL)
        store_close(server->st);
    pthread_cond_destroy(&server->worker_wake);
    pthread_mutex_destroy(&server->worker_lock);
    free(server);
}

/* ---- configuration file ---- */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static rsp_status config_line(eim_server_config_file *file, char *line, unsigned number,
                              rsp_error *err)
{
    char *eq = strchr(line, '=');
    if (eq == NULL)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, number, "line %u: expected key = value",
                             number);
    *eq = '\0';
    const char *key = trim(line);
    const char *value = trim(eq + 1);
    eim_server_config *c = &file->config;
    struct {
        const char *name;
        const char **field;
    } strings[] = {
        {"database", &c->database},
        {"listen", &c->listen},
        {"tls_cert", &c->tls_cert},
        {"tls_key", &c->tls_key},
        {"eim_id", &c->eim_id},
        {"eim_key", &c->eim_key_file},
        {"admin_key", &c->admin_key},
        {"smdp_ca", &c->smdp_ca_file},
        {"sqlite_synchronous", &c->sqlite_synchronous},
    };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        if (strcmp(key, strings[i].name) == 0) {
            *strings[i].field = value;
            return RSP_OK;
        }
    }
    if (strcmp(key, "ci") == 0) {
        if (c->ci_count >= sizeof file->ci / sizeof file->ci[0])
            return rsp_error_set(err, RSP_ERR_TOO_MANY, 0, number, "line %u: too many ci", number);
        file->ci[c->ci_count++] = value;
        c->ci_files = file->ci;
        return RSP_OK;
    }
    if (strcmp(key, "trusted_smdp") == 0) {
        if (c->trusted_smdp_count >= sizeof file->trusted_smdp / sizeof file->trusted_smdp[0])
            return rsp_error_set(err, RSP_ERR_TOO_MANY, 0, number, "line %u: too many trusted_smdp",
                                 number);
        file->trusted_smdp[c->trusted_smdp_count++] = value;
        c->trusted_smdp = file->trusted_smdp;
        return RSP_OK;
    }
    if (strcmp(key, "threads") == 0) {
        c->threads = (unsigned)strtoul(value, NULL, 10);
        return RSP_OK;
    }
    if (strcmp(key, "durability") == 0) {
        if (strcmp(value, "full") != 0 && strcmp(value, "relaxed") != 0)
            return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, number,
                                 "line %u: durability is full or relaxed", number);
        c->relaxed_durability = strcmp(value, "relaxed") == 0;
        return RSP_OK;
    }
    if (strcmp(key, "delivery_timeout_s") == 0) {
        c->delivery_timeout_s = (unsigned)strtoul(value, NULL, 10);
        return RSP_OK;
    }
    return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, number, "line %u: unknown key '%s'", number,
                         key);
}

rsp_status eim_server_config_load(const char *path, eim_server_config_file *out, rsp_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot open %s", path);
    size_t cap = 0, len = 0;
    char chunk[4096];
    size_t n;
    rsp_status status = RSP_OK;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && status == RSP_OK) {
        char *grown = realloc(out->text, cap + n + 1);
        if (grown == NULL) {
            status = rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "config too large");
            break;
        }
        out->text = grown;
        memcpy(out->text + len, chunk, n);
        len += n;
        cap += n;
        out->text[len] = '\0';
    }
    fclose(f);
    char *save = NULL;
    unsigned number = 0;
    for (char *line = out->text != NULL ? strtok_r(out->text, "\n", &save) : NULL;
         line != NULL && status == RSP_OK; line = strtok_r(NULL, "\n", &save)) {
        number++;
        char *hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        char *content = trim(line);
        if (*content != '\0')
            status = config_line(out, content, number, err);
    }
    if (status != RSP_OK)
        eim_server_config_free(out);
    return status;
}

void eim_server_config_free(eim_server_config_file *file)
{
    free(file->text);
    memset(file, 0, sizeof *file);
}

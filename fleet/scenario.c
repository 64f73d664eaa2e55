/* The whole system on one machine; see fleet/scenario.h. */
#include "fleet/scenario.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "crypto/certificate.h"
#include "crypto/key.h"
#include "crypto/pki_generate.h"
#include "eim/server.h"
#include "net/http_client.h"
#include "net/json.h"
#include "smdp/inventory.h"
#include "smdp/server.h"

#define PATH_SIZE      640
#define ADMIN_KEY      "demo-admin-key"
#define TENANT_NAME    "fleet-owner"
#define REGISTER_BATCH 500
/* Operator B's copies start here so that no ICCID of A and B ever meet. */
#define OPERATOR_B_ICCID_OFFSET 500000u

static const char *const operator_ids[2] = {"operator-a", "operator-b"};
static const char *const operator_keys[2] = {"es2-key-operator-a", "es2-key-operator-b"};

typedef struct {
    char iccid[2][SMDP_ICCID_SIZE];
    char code[2][200];
} device_orders;

typedef struct {
    eim_server *server;
    char database[PATH_SIZE];
    char key_file[PATH_SIZE];
    const char *eim_id;
    char listen[64];
    char url[64];
    char api_key[128];
} eim_instance;

struct scenario {
    scenario_config config;
    char dir[256];
    char pki[300];
    char ci_pem[PATH_SIZE];
    char eim_tls_cert[PATH_SIZE];
    char eim_tls_key[PATH_SIZE];
    smdp_server *smdp[2];
    smdp_config smdp_config[2];
    eim_instance eim[2];
    http_client *client;
    fleet *devices;
    device_orders *orders;
    int64_t *woken_for; /* per device: the campaign it was last woken for */
    scenario_step steps[SCENARIO_MAX_STEPS];
    size_t step_count;
    int64_t campaign_rate; /* ratePerMinute of the download campaigns */
    double last_progress;
};

void scenario_set_campaign_rate(scenario *s, int64_t per_minute)
{
    s->campaign_rate = per_minute > 0 ? per_minute : 6000000;
}

double scenario_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Progress lines; a line starting with '\r' rewrites the current one on a terminal and is
 * printed at most every 5 s as a plain line elsewhere (logs, CI). */
static void progress(scenario *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(scenario *s, const char *fmt, ...)
{
    if (s->config.progress == NULL)
        return;
    char line[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(line, sizeof line, fmt, args);
    va_end(args);
    bool rewrite = line[0] == '\r';
    bool terminal = isatty(fileno(s->config.progress));
    if (rewrite && !terminal) {
        bool final = line[strlen(line) - 1] == '\n';
        double now = scenario_now();
        if (!final && now - s->last_progress < 5.0)
            return;
        s->last_progress = now;
        fprintf(s->config.progress, "%s%s", line + 1, final ? "" : "\n");
    } else {
        fputs(line, s->config.progress);
    }
    fflush(s->config.progress);
}

fleet *scenario_fleet(scenario *s)
{
    return s->devices;
}

const char *scenario_eim_url(const scenario *s)
{
    return s->eim[0].url;
}

const char *scenario_eim2_url(const scenario *s)
{
    return s->eim[1].url;
}

const char *scenario_api_key(const scenario *s)
{
    return s->eim[0].api_key;
}

const char *scenario_work_dir(const scenario *s)
{
    return s->dir;
}

const char *scenario_iccid(const scenario *s, size_t device, int operator_index)
{
    return s->orders[device].iccid[operator_index];
}

const scenario_step *scenario_steps(const scenario *s, size_t *count)
{
    *count = s->step_count;
    return s->steps;
}

void scenario_record_step(scenario *s, const char *name, double seconds)
{
    if (s->step_count >= SCENARIO_MAX_STEPS)
        return;
    scenario_step *step = &s->steps[s->step_count++];
    snprintf(step->name, sizeof step->name, "%s", name);
    step->seconds = seconds;
}

/* ---- HTTP ---------------------------------------------------------------------------- */

static rsp_status post_json(scenario *s, const char *url, const char *const *headers,
                            const json_t *body, long *http_status, json_t **answer, bool get,
                            rsp_error *err)
{
    *answer = NULL;
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    http_response response = {0};
    rsp_status status =
        get ? http_client_get(s->client, url, headers, &response, err)
            : http_client_post(s->client, url, "application/json", text != NULL ? text : "{}",
                               text != NULL ? strlen(text) : 2, headers, &response, err);
    free(text);
    if (status == RSP_OK) {
        *http_status = response.status;
        if (response.body_len > 0 && (response.body[0] == '{' || response.body[0] == '['))
            *answer = json_loadb((const char *)response.body, response.body_len, 0, NULL);
    }
    http_response_free(&response);
    return status;
}

rsp_status scenario_rest(scenario *s, int eim, const char *method, const char *path,
                         const json_t *body, long *http_status, json_t **answer, rsp_error *err)
{
    char url[512], auth[200];
    snprintf(url, sizeof url, "%s/api/v1/%s", s->eim[eim].url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", s->eim[eim].api_key);
    const char *headers[] = {auth, NULL};
    return post_json(s, url, headers, body, http_status, answer, strcmp(method, "GET") == 0, err);
}

/* REST call that must answer 2xx; the answer is returned (may be NULL). */
static rsp_status rest_ok(scenario *s, int eim, const char *method, const char *path,
                          const json_t *body, json_t **answer, rsp_error *err)
{
    long http_status = 0;
    json_t *reply = NULL;
    rsp_status status = scenario_rest(s, eim, method, path, body, &http_status, &reply, err);
    if (status == RSP_OK && (http_status < 200 || http_status > 299)) {
        char *text = reply != NULL ? json_dumps(reply, JSON_COMPACT) : NULL;
        status = rsp_error_set(err, RSP_ERR_STATE, 0, 0, "%s %s: HTTP %ld %s", method, path,
                               http_status, text != NULL ? text : "");
        free(text);
    }
    if (status == RSP_OK && answer != NULL)
        *answer = reply;
    else
        json_decref(reply);
    return status;
}

/* ---- servers ------------------------------------------------------------------------- */

static rsp_status smdp_setup(scenario *s, int op, rsp_error *err)
{
    smdp_config *c = &s->smdp_config[op];
    smdp_config_init(c);
    rsp_status status = smdp_config_use_pki(c, s->pki, err);
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:0");
    snprintf(c->database, sizeof c->database, "sqlite:%s/smdp-%c.db", s->dir, 'a' + op);
    c->threads = s->config.server_threads;
    if (s->config.relaxed_durability)
        snprintf(c->sqlite_synchronous, sizeof c->sqlite_synchronous, "normal");
    if (status == RSP_OK)
        status = smdp_config_add_operator(c, operator_ids[op], operator_keys[op], NULL, NULL, err);
    if (status == RSP_OK)
        status = scenario_start_smdp(s, op, err);
    if (status == RSP_OK) {
        /* keep the port for restarts, and name the server as the activation codes will */
        snprintf(c->listen, sizeof c->listen, "127.0.0.1:%u", smdp_server_port(s->smdp[op]));
        snprintf(c->address, sizeof c->address, "localhost:%u", smdp_server_port(s->smdp[op]));
        scenario_stop_smdp(s, op);
        status = scenario_start_smdp(s, op, err);
    }
    return status;
}

rsp_status scenario_start_smdp(scenario *s, int op, rsp_error *err)
{
    if (s->smdp[op] != NULL)
        return RSP_OK;
    s->smdp[op] = smdp_server_new(&s->smdp_config[op], err);
    if (s->smdp[op] == NULL)
        return err->code != RSP_OK ? err->code : RSP_ERR_IO;
    rsp_status status = smdp_server_start(s->smdp[op], err);
    if (status != RSP_OK) {
        smdp_server_free(s->smdp[op]);
        s->smdp[op] = NULL;
    }
    return status;
}

void scenario_stop_smdp(scenario *s, int op)
{
    if (s->smdp[op] == NULL)
        return;
    smdp_server_stop(s->smdp[op], 1000);
    smdp_server_free(s->smdp[op]);
    s->smdp[op] = NULL;
}

static rsp_status import_profiles(scenario *s, int op, const uint8_t *package, size_t len,
                                  rsp_error *err)
{
    smdp_inventory *inventory = smdp_server_inventory(s->smdp[op]);
    rsp_status status = RSP_OK;
    for (size_t i = 0; i < s->config.devices && status == RSP_OK; i++) {
        uint8_t *copy = NULL;
        size_t copy_len = 0;
        uint64_t index = (uint64_t)i + (op == SCENARIO_OPERATOR_B ? OPERATOR_B_ICCID_OFFSET : 0);
        char iccid[SMDP_ICCID_SIZE];
        status = smdp_personalise_copy(package, len, index, &copy, &copy_len, err);
        if (status == RSP_OK)
            status = smdp_inventory_import(inventory, operator_ids[op], copy, copy_len, iccid, err);
        free(copy);
        /* the operator earmarks copy i for device i; ES2+ downloadOrder names it */
        if (status == RSP_OK)
            snprintf(s->orders[i].iccid[op], sizeof s->orders[i].iccid[op], "%s", iccid);
    }
    return status;
}

static rsp_status eim_start(scenario *s, int which, rsp_error *err)
{
    eim_instance *e = &s->eim[which];
    const char *cis[] = {s->ci_pem};
    eim_server_config config = {
        .database = e->database,
        .listen = e->listen,
        .tls_cert = s->eim_tls_cert,
        .tls_key = s->eim_tls_key,
        .eim_id = e->eim_id,
        .eim_key_file = e->key_file,
        .admin_key = ADMIN_KEY,
        .smdp_ca_file = s->ci_pem,
        .ci_files = cis,
        .ci_count = 1,
        .threads = s->config.server_threads,
        .relaxed_durability = s->config.relaxed_durability,
        .worker_period_ms = 100,
        .relay_timeout_ms = 10000,
    };
    rsp_status status = eim_server_new(&config, &e->server, err);
    if (status == RSP_OK)
        status = eim_server_start(e->server, err);
    if (status == RSP_OK) {
        snprintf(e->listen, sizeof e->listen, "127.0.0.1:%u", eim_server_port(e->server));
        snprintf(e->url, sizeof e->url, "https://127.0.0.1:%u", eim_server_port(e->server));
    } else if (e->server != NULL) {
        eim_server_free(e->server);
        e->server = NULL;
    }
    return status;
}

static void eim_stop(scenario *s, int which)
{
    if (s->eim[which].server == NULL)
        return;
    eim_server_stop(s->eim[which].server);
    eim_server_free(s->eim[which].server);
    s->eim[which].server = NULL;
}

rsp_status scenario_restart_eim(scenario *s, rsp_error *err)
{
    eim_stop(s, 0);
    return eim_start(s, 0, err);
}

static rsp_status create_tenant(scenario *s, int which, rsp_error *err)
{
    char url[128];
    snprintf(url, sizeof url, "%s/api/v1/tenants", s->eim[which].url);
    const char *headers[] = {"X-Admin-Key: " ADMIN_KEY, NULL};
    json_t *body = json_pack("{s:s}", "name", TENANT_NAME);
    json_t *answer = NULL;
    long http_status = 0;
    rsp_status status = post_json(s, url, headers, body, &http_status, &answer, false, err);
    json_decref(body);
    const char *key = json_string_value(json_object_get(answer, "apiKey"));
    if (status == RSP_OK && (http_status != 201 || key == NULL))
        status = rsp_error_set(err, RSP_ERR_STATE, 0, 0, "tenant creation: HTTP %ld", http_status);
    if (status == RSP_OK)
        snprintf(s->eim[which].api_key, sizeof s->eim[which].api_key, "%s", key);
    json_decref(answer);
    return status;
}

static rsp_status register_devices(scenario *s, int which, size_t first, size_t count,
                                   rsp_error *err)
{
    rsp_status status = RSP_OK;
    for (size_t at = first; at < first + count && status == RSP_OK; at += REGISTER_BATCH) {
        size_t n = first + count - at < REGISTER_BATCH ? first + count - at : REGISTER_BATCH;
        char *text = NULL;
        status = fleet_registration_json(s->devices, s->eim[which].eim_id, at, n,
                                         "{\"fleet\":\"demo\"}", &text, err);
        json_t *list = status == RSP_OK ? json_loads(text, 0, NULL) : NULL;
        free(text);
        if (status == RSP_OK && list == NULL)
            status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "registration JSON");
        json_t *body = json_pack("{s:o}", "devices", list);
        if (status == RSP_OK)
            status = rest_ok(s, which, "POST", "devices", body, NULL, err);
        json_decref(body);
    }
    return status;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *in = fopen(path, "rb");
    if (in == NULL)
        return NULL;
    uint8_t *data = NULL;
    if (fseek(in, 0, SEEK_END) == 0) {
        long size = ftell(in);
        rewind(in);
        data = size > 0 ? malloc((size_t)size) : NULL;
        if (data != NULL && fread(data, 1, (size_t)size, in) != (size_t)size) {
            free(data);
            data = NULL;
        }
        *len = data != NULL ? (size_t)size : 0;
    }
    fclose(in);
    return data;
}

static rsp_status start_everything(scenario *s, rsp_error *err)
{
    double t0 = scenario_now();
    progress(s, "[setup] test PKI in %s\n", s->pki);
    rsp_status status = RSP_OK;
    size_t package_len = 0;
    uint8_t *package = status == RSP_OK ? read_file(s->config.package_path, &package_len) : NULL;
    if (status == RSP_OK && package == NULL)
        status = rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot read %s", s->config.package_path);
    for (int op = 0; op < 2 && status == RSP_OK; op++) {
        status = smdp_setup(s, op, err);
        if (status == RSP_OK)
            status = import_profiles(s, op, package, package_len, err);
        if (status == RSP_OK)
            progress(s, "[setup] SM-DP+ of %s on https://%s with %zu profiles\n", operator_ids[op],
                     s->smdp_config[op].address, s->config.devices);
    }
    free(package);
    if (status == RSP_OK)
        status = eim_start(s, 0, err);
    if (status == RSP_OK)
        status = create_tenant(s, 0, err);
    if (status == RSP_OK)
        progress(s, "[setup] eIM %s on %s (REST API %s/api/v1)\n", s->eim[0].eim_id, s->eim[0].url,
                 s->eim[0].url);
    scenario_record_step(s, "servers up (PKI, 2 SM-DP+, eIM)", scenario_now() - t0);
    double t1 = scenario_now();
    char fqdn[64], state_dir[300];
    snprintf(fqdn, sizeof fqdn, "%s", s->eim[0].url + strlen("https://"));
    snprintf(state_dir, sizeof state_dir, "%s/devices", s->dir);
    fleet_config fc = {
        .devices = s->config.devices,
        .pki_dir = s->pki,
        .eim_fqdn = fqdn,
        .eim_id = s->eim[0].eim_id,
        .fleet_id = 1,
        .workers = s->config.fleet_workers,
        .poll_interval_ms = s->config.poll_interval_ms,
        .poll_jitter_ms = s->config.poll_interval_ms / 4,
        .quiet = s->config.progress == NULL,
        .state_dir = s->config.state_files ? state_dir : NULL,
        .direct_download = s->config.direct_download,
    };
    if (status == RSP_OK)
        status = fleet_new(&fc, &s->devices, err);
    if (status == RSP_OK)
        status = register_devices(s, 0, 0, s->config.devices, err);
    if (status == RSP_OK)
        progress(s, "[setup] %zu devices provisioned (eUICC + IPA, AddInitialEim) and registered\n",
                 s->config.devices);
    scenario_record_step(s, "fleet provisioned + registered", scenario_now() - t1);
    if (status == RSP_OK)
        status = fleet_start(s->devices, err);
    return status;
}

rsp_status scenario_start(const scenario_config *config, scenario **out, rsp_error *err)
{
    *out = NULL;
    scenario *s = calloc(1, sizeof *s);
    if (s == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory");
    s->config = *config;
    s->campaign_rate = 6000000;
    if (s->config.server_threads == 0)
        s->config.server_threads = SCENARIO_DEFAULT_SERVER_THREADS;
    if (s->config.fleet_workers == 0)
        s->config.fleet_workers = SCENARIO_DEFAULT_WORKERS;
    if (s->config.step_timeout_s == 0)
        s->config.step_timeout_s = 120;
    if (s->config.poll_interval_ms == 0)
        s->config.poll_interval_ms = 1000;
    snprintf(s->dir, sizeof s->dir, "%s", config->work_dir);
    s->config.work_dir = s->dir;
    snprintf(s->pki, sizeof s->pki, "%s/pki", s->dir);
    snprintf(s->ci_pem, sizeof s->ci_pem, "%s/nist/CERT_CI_ECDSA.pem", s->pki);
    snprintf(s->eim_tls_cert, sizeof s->eim_tls_cert, "%s/nist/CERT_EIM_TLS.pem", s->pki);
    snprintf(s->eim_tls_key, sizeof s->eim_tls_key, "%s/nist/SK_EIM_TLS.pem", s->pki);
    for (int i = 0; i < 2; i++) {
        snprintf(s->eim[i].database, sizeof s->eim[i].database, "sqlite:%s/eim%d.db", s->dir,
                 i + 1);
        snprintf(s->eim[i].listen, sizeof s->eim[i].listen, "127.0.0.1:0");
        s->eim[i].eim_id = i == 0 ? SCENARIO_EIM_ID : SCENARIO_EIM2_ID;
    }
    snprintf(s->eim[0].key_file, sizeof s->eim[0].key_file, "%s/nist/SK_EIM_ECDSA.pem", s->pki);
    rsp_status status = RSP_OK;
    if (mkdir(s->dir, 0700) != 0 && errno != EEXIST)
        status = rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot create %s", s->dir);
    http_client_config client_config = {
        .ca_file = s->ci_pem, .total_timeout_ms = 60000, .max_response = 64u * 1024u * 1024u};
    if (status == RSP_OK) {
        /* the PKI must exist before the client can trust its CI */
        rsp_pki_options pki_options = {.force = true};
        status = rsp_pki_init(s->pki, &pki_options, err);
    }
    if (status == RSP_OK) {
        s->client = http_client_new(&client_config, err);
        if (s->client == NULL)
            status = err->code != RSP_OK ? err->code : RSP_ERR_IO;
    }
    s->orders = calloc(s->config.devices + 1, sizeof *s->orders);
    s->woken_for = calloc(s->config.devices + 1, sizeof *s->woken_for);
    if (status == RSP_OK && (s->orders == NULL || s->woken_for == NULL))
        status = rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory");
    if (status == RSP_OK)
        status = start_everything(s, err);
    if (status != RSP_OK) {
        scenario_free(s);
        return status;
    }
    *out = s;
    return RSP_OK;
}

void scenario_free(scenario *s)
{
    if (s == NULL)
        return;
    if (s->devices != NULL)
        fleet_stop(s->devices);
    eim_stop(s, 0);
    eim_stop(s, 1);
    scenario_stop_smdp(s, 0);
    scenario_stop_smdp(s, 1);
    fleet_free(s->devices);
    http_client_free(s->client);
    free(s->orders);
    free(s->woken_for);
    free(s);
}

/* ---- ES2+ ---------------------------------------------------------------------------- */

static rsp_status es2_call(scenario *s, int op, const char *function, json_t *body, json_t **answer,
                           rsp_error *err)
{
    char url[320], key[128];
    snprintf(url, sizeof url, "https://%s/gsma/rsp2/es2plus/%s", s->smdp_config[op].address,
             function);
    snprintf(key, sizeof key, SMDP_API_KEY_HEADER ": %s", operator_keys[op]);
    const char *headers[] = {RSP_ADMIN_PROTOCOL_HEADER ": gsma/rsp/v2.5.0", key, NULL};
    json_object_set_new(body, "header",
                        json_pack("{s:s, s:s}", "functionRequesterIdentifier", operator_ids[op],
                                  "functionCallIdentifier", function));
    long http_status = 0;
    rsp_status status = post_json(s, url, headers, body, &http_status, answer, false, err);
    const char *result = json_string_value(json_object_get(
        json_object_get(json_object_get(*answer, "header"), "functionExecutionStatus"), "status"));
    if (status == RSP_OK &&
        (http_status != 200 || result == NULL || strncmp(result, "Executed", 8) != 0)) {
        json_t *data = json_object_get(
            json_object_get(json_object_get(*answer, "header"), "functionExecutionStatus"),
            "statusCodeData");
        char *text = data != NULL ? json_dumps(data, JSON_COMPACT) : NULL;
        status = rsp_error_set(err, RSP_ERR_STATE, 0, 0, "ES2+ %s: HTTP %ld %s", function,
                               http_status, text != NULL ? text : "");
        free(text);
    }
    return status;
}

rsp_status scenario_reserve(scenario *s, int op, rsp_error *err)
{
    double t0 = scenario_now();
    rsp_status status = RSP_OK;
    for (size_t i = 0; i < s->config.devices && status == RSP_OK; i++) {
        char eid[FLEET_EID_STRING_SIZE];
        fleet_device_eid(s->devices, i, eid);
        json_t *answer = NULL;
        json_t *body = json_pack("{s:s, s:s}", "eid", eid, "iccid", s->orders[i].iccid[op]);
        status = es2_call(s, op, "downloadOrder", body, &answer, err);
        json_decref(body);
        const char *iccid = json_string_value(json_object_get(answer, "iccid"));
        if (status == RSP_OK && iccid == NULL)
            status = rsp_error_set(err, RSP_ERR_STATE, 0, 0, "downloadOrder: no ICCID");
        if (status == RSP_OK)
            snprintf(s->orders[i].iccid[op], sizeof s->orders[i].iccid[op], "%s", iccid);
        json_decref(answer);
        answer = NULL;
        body = json_pack("{s:s, s:s, s:b}", "iccid", s->orders[i].iccid[op], "eid", eid,
                         "releaseFlag", 1);
        if (status == RSP_OK)
            status = es2_call(s, op, "confirmOrder", body, &answer, err);
        json_decref(body);
        const char *matching = json_string_value(json_object_get(answer, "matchingId"));
        const char *address = json_string_value(json_object_get(answer, "smdpAddress"));
        if (status == RSP_OK && (matching == NULL || address == NULL))
            status = rsp_error_set(err, RSP_ERR_STATE, 0, 0, "confirmOrder: no matching ID");
        if (status == RSP_OK)
            snprintf(s->orders[i].code[op], sizeof s->orders[i].code[op], "1$%s$%s", address,
                     matching);
        json_decref(answer);
        if (status == RSP_OK && (i + 1) % 1000 == 0)
            progress(s, "\r[es2+] %s: %zu/%zu orders confirmed", operator_ids[op], i + 1,
                     s->config.devices);
    }
    if (status == RSP_OK)
        progress(s, "\r[es2+] %s: %zu profiles reserved, each bound to its device's EID\n",
                 operator_ids[op], s->config.devices);
    char name[48];
    snprintf(name, sizeof name, "ES2+ reservations %s", operator_ids[op]);
    scenario_record_step(s, name, scenario_now() - t0);
    return status;
}

/* ---- campaigns and operations -------------------------------------------------------- */

rsp_status scenario_campaign_control(scenario *s, int64_t id, const char *action, rsp_error *err)
{
    char path[96];
    snprintf(path, sizeof path, "campaigns/%lld/%s", (long long)id, action);
    return rest_ok(s, 0, "POST", path, NULL, NULL, err);
}

/* POST /campaigns; out gets the id and the member count. */
static rsp_status create_campaign(scenario *s, json_t *body, scenario_outcome *out, rsp_error *err)
{
    memset(out, 0, sizeof *out);
    json_t *answer = NULL;
    rsp_status status = rest_ok(s, 0, "POST", "campaigns", body, &answer, err);
    if (status == RSP_OK) {
        out->campaign_id = json_integer_value(json_object_get(answer, "id"));
        out->total = (size_t)json_integer_value(json_object_get(answer, "total"));
    }
    json_decref(answer);
    return status;
}

rsp_status scenario_campaign_start(scenario *s, int op, const scenario_chain *chain,
                                   double max_failure_ratio, const size_t *indices, size_t count,
                                   scenario_outcome *out, rsp_error *err)
{
    json_t *codes = json_object();
    json_t *deletes = json_object();
    json_t *devices = json_array();
    size_t n = indices != NULL ? count : s->config.devices;
    bool deleting = chain != NULL && chain->enable && chain->delete_operator >= 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = indices != NULL ? indices[k] : k;
        char eid[FLEET_EID_STRING_SIZE];
        fleet_device_eid(s->devices, i, eid);
        json_object_set_new(codes, eid, json_string(s->orders[i].code[op]));
        if (deleting)
            json_object_set_new(deletes, eid,
                                json_string(s->orders[i].iccid[chain->delete_operator]));
        json_array_append_new(devices, json_string(eid));
    }
    json_t *operation = json_pack("{s:s, s:o}", "type", "download", "activationCodes", codes);
    if (chain != NULL && chain->enable) {
        json_object_set_new(operation, "enable", json_true());
        json_object_set_new(operation, "rollback", json_boolean(chain->rollback));
    }
    if (deleting)
        json_object_set_new(operation, "deleteIccids", deletes);
    else
        json_decref(deletes);
    char name[96];
    snprintf(name, sizeof name, "download %s%s%s%s", operator_ids[op],
             chain != NULL && chain->enable ? " + enable" : "",
             chain != NULL && chain->rollback ? " (rollback)" : "",
             deleting ? (chain->delete_operator == SCENARIO_OPERATOR_A ? " + delete operator-a"
                                                                       : " + delete operator-b")
                      : "");
    json_t *body = json_pack("{s:s, s:o, s:o, s:I, s:f, s:I}", "name", name, "devices", devices,
                             "operation", operation, "ratePerMinute", (json_int_t)s->campaign_rate,
                             "maxFailureRatio", max_failure_ratio, "minResults", (json_int_t)5);
    rsp_status status = create_campaign(s, body, out, err);
    json_decref(body);
    return status;
}

/* Wakes the devices the campaign has released work for (state pending), as an eIM's wake-up
 * (e.g. an SMS or a push) would; the others keep their poll interval. */
static void wake_pending(scenario *s, int64_t id)
{
    long long after = 0;
    for (int page = 0; page < 1000; page++) {
        char path[128];
        snprintf(path, sizeof path, "campaigns/%lld/devices?state=pending&after=%lld",
                 (long long)id, after);
        json_t *answer = NULL;
        rsp_error ignored = {0};
        if (rest_ok(s, 0, "GET", path, NULL, &answer, &ignored) != RSP_OK)
            return;
        json_t *devices = json_object_get(answer, "devices");
        size_t n = json_array_size(devices);
        for (size_t i = 0; i < n; i++) {
            json_t *item = json_array_get(devices, i);
            size_t index =
                fleet_find_eid(s->devices, json_string_value(json_object_get(item, "eid")));
            /* once per campaign: a device listed again is polling already (a second wake-up
             * would only add an empty poll after it) */
            if (index < s->config.devices && s->woken_for[index] != id) {
                s->woken_for[index] = id;
                fleet_poll_device_now(s->devices, index);
            }
            after = json_integer_value(json_object_get(item, "orderId"));
        }
        json_decref(answer);
        if (n < 1000)
            return;
    }
}

static void first_failure_reason(scenario *s, int64_t id, scenario_outcome *out)
{
    char path[96];
    snprintf(path, sizeof path, "campaigns/%lld/devices?state=failed", (long long)id);
    json_t *answer = NULL;
    rsp_error ignored = {0};
    if (rest_ok(s, 0, "GET", path, NULL, &answer, &ignored) == RSP_OK) {
        json_t *first = json_array_get(json_object_get(answer, "devices"), 0);
        const char *reason = json_string_value(json_object_get(first, "reason"));
        if (reason != NULL)
            snprintf(out->first_reason, sizeof out->first_reason, "%s", reason);
    }
    json_decref(answer);
}

static size_t count_field(const json_t *answer, const char *name)
{
    json_int_t v = json_integer_value(json_object_get(answer, name));
    return v > 0 ? (size_t)v : 0;
}

rsp_status scenario_campaign_wait(scenario *s, int64_t id, bool stop_when_paused,
                                  scenario_outcome *out, rsp_error *err)
{
    double t0 = scenario_now(), last_print = 0, last_wake = 0;
    char path[64];
    snprintf(path, sizeof path, "campaigns/%lld", (long long)id);
    out->first_orders_seconds = 0;
    rsp_status status = RSP_OK;
    for (;;) {
        json_t *answer = NULL;
        status = rest_ok(s, 0, "GET", path, NULL, &answer, err);
        if (status != RSP_OK)
            break;
        out->campaign_id = id;
        out->total = count_field(answer, "total");
        out->succeeded = count_field(answer, "succeeded");
        out->failed = count_field(answer, "failed");
        out->cancelled = count_field(answer, "cancelled");
        out->following = count_field(answer, "following");
        const char *state = json_string_value(json_object_get(answer, "state"));
        snprintf(out->state, sizeof out->state, "%s", state != NULL ? state : "?");
        bool pending = count_field(answer, "pending") > 0;
        json_decref(answer);
        double now = scenario_now();
        /* A released device is woken once; again only if its order is still not handed out a
         * second later (every listing is a request the eIM serves). */
        if (pending && (last_wake == 0 || now - last_wake >= 1.0)) {
            wake_pending(s, id);
            last_wake = now;
        }
        size_t finished = out->succeeded + out->failed + out->cancelled;
        if (out->first_orders_seconds == 0 && finished + out->following >= out->total)
            out->first_orders_seconds = now - t0;
        if (now - last_print >= 1.0) {
            fleet_stats st;
            fleet_get_stats(s->devices, &st);
            progress(s,
                     "\r  campaign %lld %-9s %zu/%zu first order done, %zu chains running, %zu "
                     "succeeded, %zu failed  (%.0f s, %llu polls)  ",
                     (long long)id, out->state, finished + out->following, out->total,
                     out->following, out->succeeded, out->failed, now - t0,
                     (unsigned long long)st.polls);
            last_print = now;
        }
        if (finished >= out->total || (stop_when_paused && strcmp(out->state, "paused") == 0))
            break;
        if (now - t0 > s->config.step_timeout_s) {
            status =
                rsp_error_set(err, RSP_ERR_STATE, 0, 0, "campaign %lld: %zu of %zu done after %u s",
                              (long long)id, finished, out->total, s->config.step_timeout_s);
            break;
        }
        sleep_ms(200);
    }
    progress(s,
             "\r  campaign %lld %-9s %zu/%zu succeeded, %zu failed  (%.1f s)                      "
             "            \n",
             (long long)id, out->state, out->succeeded, out->total, out->failed,
             scenario_now() - t0);
    if (out->failed > 0)
        first_failure_reason(s, id, out);
    out->seconds = scenario_now() - t0;
    return status;
}

/* Start + wait; the time every member was past its first order (first_step, when not NULL)
 * and the end (last_step) become steps, both measured from the start. */
static rsp_status run_campaign(scenario *s, int op, const scenario_chain *chain,
                               double max_failure_ratio, const char *first_step,
                               const char *last_step, scenario_outcome *out, rsp_error *err)
{
    double t0 = scenario_now();
    rsp_status status = scenario_campaign_start(s, op, chain, max_failure_ratio, NULL, 0, out, err);
    double waiting_from = scenario_now();
    if (status == RSP_OK)
        status = scenario_campaign_wait(s, out->campaign_id, false, out, err);
    if (out->first_orders_seconds > 0)
        out->first_orders_seconds += waiting_from - t0;
    if (first_step != NULL && out->first_orders_seconds > 0)
        scenario_record_step(s, first_step, out->first_orders_seconds);
    scenario_record_step(s, last_step, scenario_now() - t0);
    return status;
}

rsp_status scenario_campaign_download(scenario *s, int op, double max_failure_ratio,
                                      scenario_outcome *out, rsp_error *err)
{
    char name[48];
    snprintf(name, sizeof name, "download campaign %s", operator_ids[op]);
    return run_campaign(s, op, NULL, max_failure_ratio, NULL, name, out, err);
}

rsp_status scenario_provision(scenario *s, int op, scenario_outcome *out, rsp_error *err)
{
    scenario_chain chain = {.enable = true, .rollback = false, .delete_operator = -1};
    char name[48];
    snprintf(name, sizeof name, "download + enable %s", operator_ids[op]);
    return run_campaign(s, op, &chain, 1.0, NULL, name, out, err);
}

rsp_status scenario_migrate(scenario *s, int from_op, int to_op, double max_failure_ratio,
                            scenario_outcome *out, rsp_error *err)
{
    scenario_chain chain = {.enable = true, .rollback = true, .delete_operator = from_op};
    return run_campaign(s, to_op, &chain, max_failure_ratio, "migration: every download done",
                        "migration: every chain done", out, err);
}

rsp_status scenario_device_operations(scenario *s, const char *type, int op, bool rollback,
                                      const size_t *indices, size_t count, scenario_outcome *out,
                                      rsp_error *err)
{
    double t0 = scenario_now();
    size_t n = indices != NULL ? count : s->config.devices;
    json_t *iccids = json_object();
    json_t *devices = json_array();
    for (size_t k = 0; k < n; k++) {
        size_t i = indices != NULL ? indices[k] : k;
        char eid[FLEET_EID_STRING_SIZE];
        fleet_device_eid(s->devices, i, eid);
        json_object_set_new(iccids, eid, json_string(s->orders[i].iccid[op]));
        json_array_append_new(devices, json_string(eid));
    }
    json_t *operation = json_pack("{s:s, s:o}", "type", type, "iccids", iccids);
    if (rollback)
        json_object_set_new(operation, "rollback", json_true());
    char name[48];
    snprintf(name, sizeof name, "%s %s", type, operator_ids[op]);
    json_t *body =
        json_pack("{s:s, s:o, s:o, s:I, s:f}", "name", name, "devices", devices, "operation",
                  operation, "ratePerMinute", (json_int_t)s->campaign_rate, "maxFailureRatio", 1.0);
    rsp_status status = create_campaign(s, body, out, err);
    json_decref(body);
    if (status == RSP_OK)
        status = scenario_campaign_wait(s, out->campaign_id, false, out, err);
    scenario_record_step(s, name, scenario_now() - t0);
    return status;
}

/* ---- verification -------------------------------------------------------------------- */

rsp_status scenario_verify(scenario *s, int enabled_op, int absent_op, scenario_verdict *out,
                           rsp_error *err)
{
    memset(out, 0, sizeof *out);
    rsp_status status = RSP_OK;
    for (size_t i = 0; i < s->config.devices && status == RSP_OK; i++) {
        fleet_profile profiles[8];
        size_t count = 0;
        status = fleet_device_profiles(s->devices, i, profiles, 8, &count, err);
        bool enabled_ok = false, absent_ok = true;
        for (size_t p = 0; p < count; p++) {
            if (strcmp(profiles[p].iccid, s->orders[i].iccid[enabled_op]) == 0 &&
                profiles[p].state == 1)
                enabled_ok = true;
            if (absent_op >= 0 && strcmp(profiles[p].iccid, s->orders[i].iccid[absent_op]) == 0)
                absent_ok = false;
        }
        size_t undelivered = fleet_device_undelivered(s->devices, i);
        /* the SM-DP+ of the enabled profile saw the installation (its install notification) */
        smdp_profile_info info;
        memset(&info, 0, sizeof info);
        rsp_error lookup = {0};
        bool installed =
            s->smdp[enabled_op] == NULL ||
            (smdp_inventory_get(smdp_server_inventory(s->smdp[enabled_op]),
                                s->orders[i].iccid[enabled_op], &info, &lookup) == RSP_OK &&
             info.state == SMDP_PROFILE_INSTALLED);
        out->devices++;
        char eid[FLEET_EID_STRING_SIZE];
        fleet_device_eid(s->devices, i, eid);
        if (!enabled_ok || !absent_ok) {
            out->wrong_profile++;
            if (out->first_problem[0] == '\0')
                snprintf(out->first_problem, sizeof out->first_problem,
                         "%s: %zu profiles, %s %s, %s %s", eid, count, operator_ids[enabled_op],
                         enabled_ok ? "enabled" : "NOT enabled",
                         absent_op >= 0 ? operator_ids[absent_op] : "-",
                         absent_ok ? "absent" : "STILL PRESENT");
        } else if (undelivered > 0) {
            out->undelivered++;
            if (out->first_problem[0] == '\0')
                snprintf(out->first_problem, sizeof out->first_problem,
                         "%s: %zu notifications/results not delivered", eid, undelivered);
        } else {
            out->ok++;
        }
        if (!installed) {
            out->smdp_not_installed++;
            if (out->smdp_problem[0] == '\0')
                snprintf(out->smdp_problem, sizeof out->smdp_problem,
                         "SM-DP+ %s: profile %s not Installed (state %s)", operator_ids[enabled_op],
                         s->orders[i].iccid[enabled_op], smdp_profile_state_name(info.state));
        }
    }
    return status;
}

/* ---- eIM handover -------------------------------------------------------------------- */

static rsp_status spki_base64(const char *certificate_path, char **out, rsp_error *err);
static json_t *eid_list(scenario *s, size_t first, size_t count)
{
    json_t *devices = json_array();
    size_t end = first + count < s->config.devices ? first + count : s->config.devices;
    for (size_t i = first; i < end; i++) {
        char eid[FLEET_EID_STRING_SIZE];
        fleet_device_eid(s->devices, i, eid);
        json_array_append_new(devices, json_string(eid));
    }
    return devices;
}

rsp_status scenario_handover_add_eim(scenario *s, size_t first, size_t count, scenario_outcome *out,
                                     rsp_error *err)
{
    memset(out, 0, sizeof *out);
    eim_instance *e2 = &s->eim[1];
    /* the second eIM signs with its own key: the eIM TLS key of the PKI serves as one */
    snprintf(e2->key_file, sizeof e2->key_file, "%s/nist/SK_EIM_TLS.pem", s->pki);
    char cert_path[PATH_SIZE + 32];
    snprintf(cert_path, sizeof cert_path, "%s/nist/CERT_EIM_TLS.der", s->pki);
    rsp_status status = e2->server == NULL ? eim_start(s, 1, err) : RSP_OK;
    if (status == RSP_OK && e2->api_key[0] == '\0')
        status = create_tenant(s, 1, err);
    char *key = NULL;
    if (status == RSP_OK)
        status = spki_base64(cert_path, &key, err);
    /* addEim through the first eIM; the eUICC answers the new association token */
    json_t *body = json_pack("{s:s, s:o, s:{s:s, s:s, s:s, s:s, s:I, s:b}, s:I, s:f}", "name",
                             "handover: add eIM 2", "devices", eid_list(s, first, count),
                             "operation", "type", "addEim", "eimId", e2->eim_id, "eimFqdn",
                             e2->url + strlen("https://"), "eimPublicKey", key != NULL ? key : "",
                             "counterValue", (json_int_t)0, "associationToken", 1, "ratePerMinute",
                             (json_int_t)6000000, "maxFailureRatio", 1.0);
    json_t *answer = NULL;
    if (status == RSP_OK)
        status = rest_ok(s, 0, "POST", "campaigns", body, &answer, err);
    json_decref(body);
    int64_t id = json_integer_value(json_object_get(answer, "id"));
    json_decref(answer);
    if (status == RSP_OK) {
        fleet_poll_all_now(s->devices);
        status = scenario_campaign_wait(s, id, false, out, err);
    }
    if (status == RSP_OK && out->succeeded != out->total)
        status = rsp_error_set(err, RSP_ERR_STATE, 0, 0, "addEim: %zu of %zu succeeded (%s)",
                               out->succeeded, out->total, out->first_reason);
    /* the owner registers the devices with the new eIM, with the token each eUICC gave it */
    if (status == RSP_OK)
        status = register_devices(s, 1, first, count, err);
    free(key);
    return status;
}

rsp_status scenario_handover_delete_eim(scenario *s, size_t first, size_t count,
                                        scenario_outcome *out, rsp_error *err)
{
    memset(out, 0, sizeof *out);
    size_t end = first + count < s->config.devices ? first + count : s->config.devices;
    /* the first eIM removes itself: deleteEim of eIM 1, the last package it sends */
    json_t *body =
        json_pack("{s:s, s:o, s:{s:s, s:s}, s:I, s:f}", "name", "handover: delete eIM 1", "devices",
                  eid_list(s, first, count), "operation", "type", "deleteEim", "eimId",
                  s->eim[0].eim_id, "ratePerMinute", (json_int_t)6000000, "maxFailureRatio", 1.0);
    json_t *answer = NULL;
    rsp_status status = rest_ok(s, 0, "POST", "campaigns", body, &answer, err);
    json_decref(body);
    int64_t id = json_integer_value(json_object_get(answer, "id"));
    json_decref(answer);
    /* The handover is done when no handed-over eUICC lists the first eIM any more; the first
     * eIM's bookkeeping of its own deletion is reported in out, not waited for. */
    double until = scenario_now() + s->config.step_timeout_s;
    size_t moved = 0;
    while (status == RSP_OK && moved < end - first) {
        wake_pending(s, id);
        moved = 0;
        for (size_t i = first; i < end; i++) {
            char eims[512];
            fleet_device_eims(s->devices, i, eims, sizeof eims);
            moved += strstr(eims, s->eim[0].eim_id) == NULL;
        }
        if (moved < end - first && scenario_now() > until)
            status = rsp_error_set(err, RSP_ERR_STATE, 0, 0, "deleteEim: %zu of %zu eUICCs done",
                                   moved, end - first);
        else if (moved < end - first)
            sleep_ms(100);
    }
    if (status == RSP_OK) {
        sleep_ms(500);
        char path[64];
        snprintf(path, sizeof path, "campaigns/%lld", (long long)id);
        answer = NULL;
        status = rest_ok(s, 0, "GET", path, NULL, &answer, err);
        out->campaign_id = id;
        out->total = count_field(answer, "total");
        out->succeeded = count_field(answer, "succeeded");
        out->failed = count_field(answer, "failed");
        json_decref(answer);
        if (out->failed > 0)
            first_failure_reason(s, id, out);
    }
    return status;
}

rsp_status scenario_handover(scenario *s, size_t first, size_t count, scenario_outcome *out,
                             rsp_error *err)
{
    double t0 = scenario_now();
    rsp_status status = scenario_handover_add_eim(s, first, count, out, err);
    if (status == RSP_OK)
        status = scenario_handover_delete_eim(s, first, count, out, err);
    scenario_record_step(s, "eIM handover", scenario_now() - t0);
    return status;
}

static rsp_status spki_base64(const char *certificate_path, char **out, rsp_error *err)
{
    *out = NULL;
    rsp_certificate *cert = NULL;
    rsp_public_key *pub = NULL;
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    rsp_status status = rsp_certificate_load_file(certificate_path, &cert, err);
    if (status == RSP_OK)
        status = rsp_certificate_public_key(cert, &pub, err);
    if (status == RSP_OK)
        status = rsp_public_key_to_spki(pub, &spki, &spki_len, err);
    if (status == RSP_OK) {
        json_t *holder = json_object();
        status = rsp_json_set_base64(holder, "k", spki, spki_len);
        const char *text = json_string_value(json_object_get(holder, "k"));
        *out = text != NULL ? strdup(text) : NULL;
        json_decref(holder);
    }
    free(spki);
    rsp_public_key_free(pub);
    rsp_certificate_free(cert);
    return status;
}

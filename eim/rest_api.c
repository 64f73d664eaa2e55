/* eIM northbound REST API (docs/api/openapi.yaml): tenants and keys, devices, operations on one
 * device, orders, audit log, webhooks. Every call is authenticated with an API key and sees
 * only its tenant's rows (every query filters on tenant_id); every call is audited. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "crypto/certificate.h"
#include "eim/rest.h"
#include "eim/storage.h"
#include "net/json.h"
#include "net/json_http.h"

int eim_rest_json(http_reply *reply, int status, json_t *body)
{
    rsp_status st = rsp_json_reply(reply, status, body, NULL);
    json_decref(body);
    return st == RSP_OK ? 0 : -1;
}

int eim_rest_problem(http_reply *reply, int status, const char *message)
{
    return eim_rest_json(
        reply, status,
        json_pack("{s:i, s:s}", "status", status, "error", message != NULL ? message : "error"));
}

static int status_for(rsp_status status)
{
    switch (status) {
    case RSP_ERR_NOT_FOUND:
        return 404;
    case RSP_ERR_STATE:
        return 409;
    case RSP_ERR_UNSUPPORTED:
    case RSP_ERR_MISSING_FIELD:
    case RSP_ERR_BAD_VALUE:
    case RSP_ERR_INTEGER_RANGE:
    case RSP_ERR_INVALID_ARGUMENT:
    case RSP_ERR_BUFFER_TOO_SMALL:
    case RSP_ERR_VERIFY:
        return 400;
    default:
        return status < RSP_ERR_NO_MEMORY ? 400 : 500;
    }
}

static int fail(http_reply *reply, rsp_status status, const rsp_error *err)
{
    return eim_rest_problem(reply, status_for(status),
                            err->message[0] != '\0' ? err->message : rsp_status_name(status));
}

static bool eid_valid(const char *eid)
{
    if (eid == NULL || strlen(eid) != 32)
        return false;
    for (size_t i = 0; i < 32; i++)
        if (eid[i] < '0' || eid[i] > '9')
            return false;
    return true;
}

/* ---- tenants ---- */

static int create_tenant(rest_call *call, http_reply *reply)
{
    const char *admin = call->server->config.admin_key;
    const char *given = http_request_header(call->request, "X-Admin-Key");
    if (admin == NULL || given == NULL || strcmp(admin, given) != 0)
        return eim_rest_problem(reply, 401, "admin key required");
    const char *name = NULL;
    rsp_error err = {0};
    int64_t tenant_id = 0;
    char key[EIM_API_KEY_SIZE];
    rsp_status status = rsp_json_get_string(call->body, "name", true, &name, NULL, &err);
    if (status == RSP_OK)
        status = store_begin(call->conn, &err);
    if (status == RSP_OK)
        status = eim_storage_tenant_create(call->conn, name, &tenant_id, &err);
    if (status == RSP_OK)
        status = eim_storage_api_key_create(call->conn, tenant_id, key, &err);
    if (status == RSP_OK)
        status =
            eim_storage_audit(call->conn, tenant_id, "admin", "tenant.create", name, NULL, &err);
    if (status == RSP_OK)
        status = store_commit(call->conn, &err);
    if (status != RSP_OK) {
        store_rollback(call->conn);
        if (store_last_failure(call->conn) == STORE_FAILURE_UNIQUE)
            return eim_rest_problem(reply, 409, "tenant exists");
        return fail(reply, status, &err);
    }
    return eim_rest_json(
        reply, 201,
        json_pack("{s:I, s:s, s:s}", "id", (json_int_t)tenant_id, "name", name, "apiKey", key));
}

static int create_api_key(rest_call *call, http_reply *reply)
{
    char key[EIM_API_KEY_SIZE];
    rsp_error err = {0};
    rsp_status status = store_begin(call->conn, &err);
    if (status == RSP_OK)
        status = eim_rest_audit_call(call, &err);
    if (status == RSP_OK)
        status = eim_storage_api_key_create(call->conn, call->tenant_id, key, &err);
    if (status == RSP_OK)
        status = store_commit(call->conn, &err);
    if (status != RSP_OK) {
        store_rollback(call->conn);
        return fail(reply, status, &err);
    }
    call->audited = true;
    return eim_rest_json(reply, 201, json_pack("{s:s}", "apiKey", key));
}

/* ---- devices ---- */

static rsp_status certificate_field(rest_call *call, const json_t *item, const char *name,
                                    uint8_t **der, size_t *len, rsp_error *err)
{
    bool present = false;
    rsp_status status = rsp_json_get_base64(item, name, false, 8192, der, len, &present, err);
    if (status == RSP_OK && present) {
        rsp_certificate *cert = NULL;
        status = rsp_certificate_from_der(*der, *len, &cert, err);
        rsp_certificate_free(cert);
    }
    (void)call;
    return status;
}

/* The eUICC certificate must chain to a configured CI through the EUM certificate. */
static rsp_status check_chain(rest_call *call, const uint8_t *euicc_der, size_t euicc_len,
                              const uint8_t *eum_der, size_t eum_len, rsp_error *err)
{
    eim_server *server = call->server;
    if (server->ci_count == 0 || euicc_der == NULL)
        return RSP_OK;
    if (eum_der == NULL)
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0,
                             "eumCertificate required to check the eUICC certificate");
    rsp_certificate *euicc = NULL, *eum = NULL;
    rsp_status status = rsp_certificate_from_der(euicc_der, euicc_len, &euicc, err);
    if (status == RSP_OK)
        status = rsp_certificate_from_der(eum_der, eum_len, &eum, err);
    if (status == RSP_OK)
        status = rsp_certificate_verify(euicc, RSP_CERT_ROLE_EUICC, eum,
                                        (const rsp_certificate *const *)server->cis,
                                        server->ci_count, NULL, NULL, err);
    rsp_certificate_free(euicc);
    rsp_certificate_free(eum);
    return status;
}

static rsp_status register_one(rest_call *call, const json_t *item, rsp_error *err)
{
    const char *eid = NULL;
    uint8_t *cert = NULL, *eum = NULL;
    size_t cert_len = 0, eum_len = 0;
    rsp_status status = rsp_json_get_string(item, "eid", true, &eid, NULL, err);
    if (status == RSP_OK && !eid_valid(eid))
        status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "eid: 32 digits");
    if (status == RSP_OK)
        status = certificate_field(call, item, "euiccCertificate", &cert, &cert_len, err);
    if (status == RSP_OK)
        status = certificate_field(call, item, "eumCertificate", &eum, &eum_len, err);
    if (status == RSP_OK)
        status = check_chain(call, cert, cert_len, eum, eum_len, err);
    int64_t device_id = 0;
    /* associationToken: the value the eUICC holds for this eIM (SGP.32 v1.2 section 2.11.1.1),
     * known to the owner when it configured the eIM; absent means none (zero is signed). */
    int64_t token = 0;
    bool has_token = false;
    if (status == RSP_OK)
        status = rsp_json_get_int(item, "associationToken", false, INT64_MIN, INT64_MAX, &token,
                                  &has_token, err);
    const char *curve = NULL;
    uint8_t point[RSP_EC_POINT_SIZE];
    if (status == RSP_OK && cert != NULL &&
        !eim_key_point_from_certificate(cert, cert_len, &curve, point))
        status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0,
                               "euiccCertificate has no usable EC public key");
    if (status == RSP_OK) {
        store_value params[] = {
            STORE_VALUE_INT64(call->tenant_id),
            STORE_VALUE_TEXT(eid),
            cert != NULL ? STORE_VALUE_BLOB(cert, cert_len) : STORE_VALUE_NULL(),
            eum != NULL ? STORE_VALUE_BLOB(eum, eum_len) : STORE_VALUE_NULL(),
            STORE_VALUE_INT64(eim_storage_now()),
            has_token ? STORE_VALUE_INT64(token) : STORE_VALUE_NULL(),
            STORE_VALUE_TEXT(curve),
            curve != NULL ? STORE_VALUE_BLOB(point, sizeof point) : STORE_VALUE_NULL(),
        };
        status = store_query_int64(call->conn,
                                   "INSERT INTO eim_devices (tenant_id, eid, euicc_certificate, "
                                   "eum_certificate, created_at, association_token, "
                                   "euicc_key_curve, euicc_key_point) VALUES ($1, $2, $3, $4, $5, "
                                   "$6, $7, $8) RETURNING id",
                                   params, 8, &device_id, err);
        if (status != RSP_OK && store_last_failure(call->conn) == STORE_FAILURE_UNIQUE) {
            rsp_error_clear(err);
            status = rsp_error_set(err, RSP_ERR_STATE, 0, 0, "EID %s is already registered", eid);
        }
    }
    json_t *labels = status == RSP_OK ? json_object_get(item, "labels") : NULL;
    const char *name;
    json_t *value;
    json_object_foreach(labels, name, value)
    {
        if (status != RSP_OK)
            break;
        if (!json_is_string(value)) {
            status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "label values are strings");
            break;
        }
        store_value params[] = {STORE_VALUE_INT64(device_id), STORE_VALUE_TEXT(name),
                                STORE_VALUE_TEXT(json_string_value(value))};
        status = store_exec(call->conn,
                            "INSERT INTO eim_device_labels (device_id, name, value) VALUES ($1, "
                            "$2, $3)",
                            params, 3, NULL, err);
    }
    if (status == RSP_OK)
        status = eim_storage_device_event(call->conn, call->tenant_id, call->key_id, device_id,
                                          "device.registered", eid, NULL, err);
    free(cert);
    free(eum);
    return status;
}

static int register_devices(rest_call *call, http_reply *reply, json_t *items)
{
    rsp_error err = {0};
    rsp_status status = store_begin(call->conn, &err);
    if (status == RSP_OK)
        status = eim_rest_audit_call(call, &err);
    size_t index = 0;
    json_t *item;
    json_array_foreach(items, index, item)
    {
        if (status != RSP_OK)
            break;
        status = register_one(call, item, &err);
    }
    if (status == RSP_OK)
        status = eim_storage_audit(call->conn, call->tenant_id, call->key_id, "devices.register",
                                   NULL, NULL, &err);
    if (status == RSP_OK)
        status = store_commit(call->conn, &err);
    if (status != RSP_OK) {
        store_rollback(call->conn);
        return fail(reply, status, &err);
    }
    call->audited = true;
    return eim_rest_json(reply, 201,
                         json_pack("{s:I}", "registered", (json_int_t)json_array_size(items)));
}

static int post_devices(rest_call *call, http_reply *reply)
{
    if (!json_is_object(call->body))
        return eim_rest_problem(reply, 400, "JSON object required");
    json_t *list = json_object_get(call->body, "devices");
    if (json_is_array(list))
        return register_devices(call, reply, list);
    json_t *one = json_array();
    json_array_append(one, call->body);
    int rc = register_devices(call, reply, one);
    json_decref(one);
    return rc;
}

/* CSV: eid[,euiccCertificateBase64][,label=value;label=value] one device a line; '#' comments
 * and a header line starting with "eid" are skipped. */
static int import_devices(rest_call *call, http_reply *reply)
{
    /* an empty body comes without a buffer: an empty CSV */
    const char *body = call->request->body != NULL ? (const char *)call->request->body : "";
    char *text = strndup(body, call->request->body_len);
    if (text == NULL)
        return eim_rest_problem(reply, 500, "no memory");
    json_t *items = json_array();
    char *save = NULL;
    for (char *line = strtok_r(text, "\r\n", &save); line != NULL;
         line = strtok_r(NULL, "\r\n", &save)) {
        if (line[0] == '#' || strncmp(line, "eid", 3) == 0 || line[0] == '\0')
            continue;
        json_t *item = json_object();
        char *fields = NULL;
        char *eid = strtok_r(line, ",", &fields);
        json_object_set_new(item, "eid", json_string(eid != NULL ? eid : ""));
        for (char *f = strtok_r(NULL, ",", &fields); f != NULL; f = strtok_r(NULL, ",", &fields)) {
            /* a DER certificate in base64 starts "MII" (SEQUENCE, two length octets) and may
             * end in '=' padding: tell it from labels by its start */
            if (strncmp(f, "MII", 3) != 0 && strchr(f, '=') != NULL) {
                json_t *labels = json_object();
                char *pairs = NULL;
                for (char *p = strtok_r(f, ";", &pairs); p != NULL;
                     p = strtok_r(NULL, ";", &pairs)) {
                    char *eq = strchr(p, '=');
                    if (eq != NULL) {
                        *eq = '\0';
                        json_object_set_new(labels, p, json_string(eq + 1));
                    }
                }
                json_object_set_new(item, "labels", labels);
            } else if (*f != '\0') {
                json_object_set_new(item, "euiccCertificate", json_string(f));
            }
        }
        json_array_append_new(items, item);
    }
    free(text);
    int rc = register_devices(call, reply, items);
    json_decref(items);
    return rc;
}

static json_t *parse_json_text(const char *text)
{
    return text != NULL ? json_loads(text, 0, NULL) : json_null();
}

static json_t *device_json(store_stmt *stmt)
{
    json_t *device = json_pack("{s:s, s:I, s:b, s:b}", "eid", store_column_text(stmt, 1), "counter",
                               (json_int_t)store_column_int64(stmt, 2), "blocked",
                               store_column_int64(stmt, 3) != 0, "hasEuiccCertificate",
                               !store_column_is_null(stmt, 4));
    if (!store_column_is_null(stmt, 5))
        json_object_set_new(device, "sgp32Version", json_string(store_column_text(stmt, 5)));
    if (!store_column_is_null(stmt, 6))
        json_object_set_new(device, "freeNvm", json_integer(store_column_int64(stmt, 6)));
    json_object_set_new(device, "profiles", parse_json_text(store_column_text(stmt, 7)));
    json_object_set_new(device, "eims", parse_json_text(store_column_text(stmt, 8)));
    if (!store_column_is_null(stmt, 9))
        json_object_set_new(device, "lastSeen", json_integer(store_column_int64(stmt, 9)));
    if (!store_column_is_null(stmt, 10))
        json_object_set_new(device, "associationToken", json_integer(store_column_int64(stmt, 10)));
    if (!store_column_is_null(stmt, 11))
        json_object_set_new(device, "ciKeys", parse_json_text(store_column_text(stmt, 11)));
    return device;
}

#define DEVICE_COLUMNS                                                                             \
    "d.id, d.eid, d.counter, d.blocked, d.euicc_certificate, d.sgp32_version, d.free_nvm, "        \
    "d.profiles, d.eims, d.last_seen, d.association_token, d.ci_keys"

static rsp_status add_labels(store_conn *conn, int64_t device_id, json_t *device, rsp_error *err)
{
    store_stmt *stmt = NULL;
    rsp_status status = store_prepare(
        conn, "SELECT name, value FROM eim_device_labels WHERE device_id = $1", &stmt, err);
    if (status != RSP_OK)
        return status;
    store_bind_int64(stmt, 1, device_id);
    json_t *labels = json_object();
    bool has_row = false;
    while ((status = store_step(stmt, &has_row, err)) == RSP_OK && has_row)
        json_object_set_new(labels, store_column_text(stmt, 0),
                            json_string(store_column_text(stmt, 1)));
    store_finish(stmt);
    json_object_set_new(device, "labels", labels);
    return status;
}

/* GET devices?label=name:value&state=blocked|active&version=1.2.0&minFreeNvm=20480&after=ID */
static int list_devices(rest_call *call, http_reply *reply)
{
    const char *label = http_request_query(call->request, "label");
    const char *state = http_request_query(call->request, "state");
    const char *version = http_request_query(call->request, "version");
    const char *min_free = http_request_query(call->request, "minFreeNvm");
    const char *after = http_request_query(call->request, "after");
    const char *limit_text = http_request_query(call->request, "limit");
    int64_t limit = limit_text != NULL ? strtoll(limit_text, NULL, 10) : 100;
    if (limit <= 0 || limit > 1000)
        limit = 100;
    char label_name[128] = "", label_value[128] = "";
    if (label != NULL) {
        const char *colon = strchr(label, ':');
        if (colon == NULL || (size_t)(colon - label) >= sizeof label_name)
            return eim_rest_problem(reply, 400, "label=name:value");
        memcpy(label_name, label, (size_t)(colon - label));
        label_name[colon - label] = '\0';
        snprintf(label_value, sizeof label_value, "%s", colon + 1);
    }
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT " DEVICE_COLUMNS " FROM eim_devices d WHERE d.tenant_id = $1 AND d.id > $2 "
             "AND ($3 = '' OR EXISTS (SELECT 1 FROM eim_device_labels l WHERE l.device_id = d.id "
             "AND l.name = $3 AND l.value = $4)) AND ($5 = '' OR ($5 = 'blocked' AND d.blocked "
             "<> 0) OR ($5 = 'active' AND d.blocked = 0)) AND ($6 = '' OR d.sgp32_version = $6) "
             "AND ($7 < 0 OR d.free_nvm >= $7) ORDER BY d.id LIMIT $8");
    store_stmt *stmt = NULL;
    rsp_error err = {0};
    rsp_status status = store_prepare(call->conn, sql, &stmt, &err);
    if (status != RSP_OK)
        return fail(reply, status, &err);
    store_value params[] = {
        STORE_VALUE_INT64(call->tenant_id),
        STORE_VALUE_INT64(after != NULL ? strtoll(after, NULL, 10) : 0),
        STORE_VALUE_TEXT(label_name),
        STORE_VALUE_TEXT(label_value),
        STORE_VALUE_TEXT(state != NULL ? state : ""),
        STORE_VALUE_TEXT(version != NULL ? version : ""),
        STORE_VALUE_INT64(min_free != NULL ? strtoll(min_free, NULL, 10) : -1),
        STORE_VALUE_INT64(limit),
    };
    store_bind_values(stmt, params, 8);
    json_t *devices = json_array();
    int64_t last = 0;
    bool has_row = false;
    while ((status = store_step(stmt, &has_row, &err)) == RSP_OK && has_row) {
        last = store_column_int64(stmt, 0);
        json_array_append_new(devices, device_json(stmt));
    }
    store_finish(stmt);
    if (status != RSP_OK) {
        json_decref(devices);
        return fail(reply, status, &err);
    }
    json_t *body = json_pack("{s:o}", "devices", devices);
    if ((int64_t)json_array_size(devices) == limit)
        json_object_set_new(body, "next", json_integer(last));
    return eim_rest_json(reply, 200, body);
}

/* Device of this tenant by EID; RSP_ERR_NOT_FOUND also for another tenant's device. */
static rsp_status find_device(rest_call *call, const char *eid, int64_t *device_id, rsp_error *err)
{
    store_value params[] = {STORE_VALUE_TEXT(eid), STORE_VALUE_INT64(call->tenant_id)};
    rsp_status status = store_query_int64(call->conn,
                                          "SELECT id FROM eim_devices WHERE eid = $1 AND "
                                          "tenant_id = $2",
                                          params, 2, device_id, err);
    if (status == RSP_ERR_NOT_FOUND)
        rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0, "no device %s", eid);
    return status;
}

static int show_device(rest_call *call, http_reply *reply, const char *eid)
{
    store_stmt *stmt = NULL;
    rsp_error err = {0};
    rsp_status status = store_prepare(call->conn,
                                      "SELECT " DEVICE_COLUMNS " FROM eim_devices d WHERE d.eid "
                                      "= $1 AND d.tenant_id = $2",
                                      &stmt, &err);
    if (status != RSP_OK)
        return fail(reply, status, &err);
    store_bind_text(stmt, 1, eid);
    store_bind_int64(stmt, 2, call->tenant_id);
    bool has_row = false;
    status = store_step(stmt, &has_row, &err);
    json_t *device = status == RSP_OK && has_row ? device_json(stmt) : NULL;
    int64_t device_id = has_row ? store_column_int64(stmt, 0) : 0;
    store_finish(stmt);
    if (status == RSP_OK && device == NULL)
        return eim_rest_problem(reply, 404, "no such device");
    if (status == RSP_OK)
        status = add_labels(call->conn, device_id, device, &err);
    if (status != RSP_OK) {
        json_decref(device);
        return fail(reply, status, &err);
    }
    return eim_rest_json(reply, 200, device);
}

static int device_history(rest_call *call, http_reply *reply, const char *eid)
{
    int64_t device_id = 0;
    rsp_error err = {0};
    rsp_status status = find_device(call, eid, &device_id, &err);
    if (status != RSP_OK)
        return fail(reply, status, &err);
    store_stmt *stmt = NULL;
    status = store_prepare(call->conn,
                           "SELECT action, detail, at, target, key_id FROM eim_audit WHERE "
                           "device_id = $1 ORDER BY id",
                           &stmt, &err);
    if (status != RSP_OK)
        return fail(reply, status, &err);
    store_bind_int64(stmt, 1, device_id);
    json_t *events = json_array();
    bool has_row = false;
    while ((status = store_step(stmt, &has_row, &err)) == RSP_OK && has_row) {
        json_t *event = json_pack("{s:s, s:I}", "event", store_column_text(stmt, 0), "at",
                                  (json_int_t)store_column_int64(stmt, 2));
        /* details are JSON written by the eIM, or absent */
        json_t *detail = store_column_text(stmt, 1) != NULL
                             ? json_loads(store_column_text(stmt, 1), 0, NULL)
                             : NULL;
        json_object_set_new(event, "detail", detail != NULL ? detail : json_null());
        if (!store_column_is_null(stmt, 3))
            json_object_set_new(event, "target", json_string(store_column_text(stmt, 3)));
        if (!store_column_is_null(stmt, 4))
            json_object_set_new(event, "keyId", json_string(store_column_text(stmt, 4)));
        json_array_append_new(events, event);
    }
    store_finish(stmt);
    return eim_rest_json(reply, 200, json_pack("{s:s, s:o}", "eid", eid, "history", events));
}

static int block_device(rest_call *call, http_reply *reply, const char *eid, bool block)
{
    int64_t device_id = 0;
    rsp_error err = {0};
    rsp_status status = store_begin(call->conn, &err);
    if (status == RSP_OK)
        status = eim_rest_audit_call(call, &err);
    if (status == RSP_OK)
        status = find_device(call, eid, &device_id, &err);
    store_value params[] = {STORE_VALUE_INT64(block ? 1 : 0), STORE_VALUE_INT64(device_id)};
    if (status == RSP_OK)
        status = store_exec(call->conn, "UPDATE eim_devices SET blocked = $1 WHERE id = $2", params,
                            2, NULL, &err);
    if (status == RSP_OK)
        status = eim_storage_device_event(call->conn, call->tenant_id, call->key_id, device_id,
                                          block ? "device.blocked" : "device.unblocked", eid, NULL,
                                          &err);
    if (status == RSP_OK)
        status = store_commit(call->conn, &err);
    if (status != RSP_OK) {
        store_rollback(call->conn);
        return fail(reply, status, &err);
    }
    call->audited = true;
    return eim_rest_json(reply, 200, json_pack("{s:s, s:b}", "eid", eid, "blocked", block));
}

static int device_operation(rest_call *call, http_reply *reply, const char *eid)
{
    int64_t device_id = 0;
    rsp_error err = {0};
    eim_operation op;
    rsp_status status = eim_operation_build(call->body, eid, &op, &err);
    if (status != RSP_OK)
        return fail(reply, status, &err);
    int64_t order_id = 0;
    status = store_begin(call->conn, &err);
    if (status == RSP_OK)
        status = eim_rest_audit_call(call, &err);
    if (status == RSP_OK)
        status = find_device(call, eid, &device_id, &err);
    if (status == RSP_OK) {
        eim_order_spec spec = {.tenant_id = call->tenant_id,
                               .device_id = device_id,
                               .kind = op.kind,
                               .operation = op.name,
                               .body = op.body,
                               .body_len = op.body_len,
                               .state = "pending",
                               .smdp_address = op.smdp_address[0] != '\0' ? op.smdp_address : NULL,
                               .follow_up = op.follow_up};
        status = eim_storage_order_create(call->conn, &spec, &order_id, &err);
    }
    if (status == RSP_OK)
        status = eim_storage_device_event(call->conn, call->tenant_id, call->key_id, device_id,
                                          "order.created", op.name, NULL, &err);
    if (status == RSP_OK)
        status = store_commit(call->conn, &err);
    eim_operation_free(&op);
    if (status != RSP_OK) {
        store_rollback(call->conn);
        return fail(reply, status, &err);
    }
    call->audited = true;
    return eim_rest_json(reply, 201,
                         json_pack("{s:I, s:s, s:s}", "orderId", (json_int_t)order_id, "eid", eid,
                                   "state", "pending"));
}

static int show_order(rest_call *call, http_reply *reply, int64_t order_id)
{
    store_stmt *stmt = NULL;
    rsp_error err = {0};
    rsp_status status = store_prepare(
        call->conn,
        "SELECT o.id, d.eid, o.kind, o.operation, o.state, o.counter_value, o.transaction_id, "
        "o.summary, o.reason, o.campaign_id, o.created_at, o.delivered_at, o.finished_at FROM "
        "eim_orders o JOIN eim_devices d ON d.id = o.device_id WHERE o.id = $1 AND o.tenant_id = "
        "$2",
        &stmt, &err);
    if (status != RSP_OK)
        return fail(reply, status, &err);
    store_bind_int64(stmt, 1, order_id);
    store_bind_int64(stmt, 2, call->tenant_id);
    bool has_row = false;
    status = store_step(stmt, &has_row, &err);
    json_t *order = NULL;
    if (status == RSP_OK && has_row) {
        order = json_pack(
            "{s:I, s:s, s:s, s:s, s:s, s:I}", "id", (json_int_t)store_column_int64(stmt, 0), "eid",
            store_column_text(stmt, 1), "kind", store_column_text(stmt, 2), "operation",
            store_column_text(stmt, 3), "state", store_column_text(stmt, 4), "createdAt",
            (json_int_t)store_column_int64(stmt, 10));
        if (!store_column_is_null(stmt, 5))
            json_object_set_new(order, "counterValue", json_integer(store_column_int64(stmt, 5)));
        if (!store_column_is_null(stmt, 6))
            json_object_set_new(order, "eimTransactionId", json_string(store_column_text(stmt, 6)));
        json_object_set_new(order, "result", parse_json_text(store_column_text(stmt, 7)));
        if (!store_column_is_null(stmt, 8))
            json_object_set_new(order, "reason", json_string(store_column_text(stmt, 8)));
        if (!store_column_is_null(stmt, 9))
            json_object_set_new(order, "campaignId", json_integer(store_column_int64(stmt, 9)));
    }
    store_finish(stmt);
    if (status != RSP_OK)
        return fail(reply, status, &err);
    if (order == NULL)
        return eim_rest_problem(reply, 404, "no such order");
    return eim_rest_json(reply, 200, order);
}

/* Cancels an order: a pending one is not sent; a delivered one is given up (failed, reason
 * "cancelled"), which frees the device for its next orders, and a result arriving later is
 * refused. Its counter stays used. */
static int cancel_order(rest_call *call, http_reply *reply, int64_t order_id)
{
    rsp_error err = {0};
    int64_t changes = 0;
    store_value params[] = {STORE_VALUE_INT64(eim_storage_now()), STORE_VALUE_INT64(order_id),
                            STORE_VALUE_INT64(call->tenant_id)};
    rsp_status status = store_begin(call->conn, &err);
    if (status == RSP_OK)
        status = eim_rest_audit_call(call, &err);
    if (status == RSP_OK)
        status = store_exec(call->conn,
                            "UPDATE eim_orders SET state = 'cancelled', finished_at = $1 WHERE id "
                            "= $2 AND tenant_id = $3 AND state IN ('queued', 'pending')",
                            params, 3, &changes, &err);
    if (status == RSP_OK && changes == 0) {
        int64_t owned = 0;
        store_value own[] = {params[1], params[2]};
        status = store_query_int64(call->conn,
                                   "SELECT COUNT(*) FROM eim_orders WHERE id = $1 AND tenant_id "
                                   "= $2",
                                   own, 2, &owned, &err);
        eim_order_finished finished = {0};
        if (status == RSP_OK && owned == 1)
            status = eim_storage_order_finish(call->conn, order_id, "failed",
                                              "[{\"type\":\"cancelled\",\"ok\":false}]",
                                              "cancelled", &finished, &err);
        free(finished.follow_up);
        changes = finished.changed ? 1 : 0;
    } else if (status == RSP_OK) {
        store_value campaign[] = {params[1]};
        status = store_exec(call->conn,
                            "UPDATE eim_campaigns SET cancelled = cancelled + 1 WHERE id = "
                            "(SELECT campaign_id FROM eim_orders WHERE id = $1)",
                            campaign, 1, NULL, &err);
        /* a follow-up not sent yet: the chain it belongs to stops here */
        int64_t chain_root = 0;
        if (status == RSP_OK)
            status = store_query_int64(call->conn,
                                       "SELECT COALESCE(chain_root, 0) FROM eim_orders WHERE id "
                                       "= $1",
                                       campaign, 1, &chain_root, &err);
        if (status == RSP_OK)
            status = eim_storage_chain_fail(call->conn, chain_root, "cancelled", &err);
    }
    if (status == RSP_OK && changes == 1)
        status = eim_storage_audit(call->conn, call->tenant_id, call->key_id, "order.cancel", NULL,
                                   NULL, &err);
    if (status == RSP_OK)
        status = store_commit(call->conn, &err);
    if (status != RSP_OK) {
        store_rollback(call->conn);
        return fail(reply, status, &err);
    }
    call->audited = true;
    if (changes != 1)
        return eim_rest_problem(reply, 409, "no such order, or already finished");
    return show_order(call, reply, order_id);
}

static int list_audit(rest_call *call, http_reply *reply)
{
    const char *after = http_request_query(call->request, "after");
    const char *action = http_request_query(call->request, "action");
    store_stmt *stmt = NULL;
    rsp_error err = {0};
    rsp_status status = store_prepare(call->conn,
                                      "SELECT id, key_id, action, target, detail, at FROM "
                                      "eim_audit WHERE tenant_id = $1 AND id > $2 AND ($3 = '' "
                                      "OR action = $3) ORDER BY id LIMIT 500",
                                      &stmt, &err);
    if (status != RSP_OK)
        return fail(reply, status, &err);
    store_value params[] = {STORE_VALUE_INT64(call->tenant_id),
                            STORE_VALUE_INT64(after != NULL ? strtoll(after, NULL, 10) : 0),
                            STORE_VALUE_TEXT(action != NULL ? action : "")};
    store_bind_values(stmt, params, 3);
    json_t *entries = json_array();
    bool has_row = false;
    while ((status = store_step(stmt, &has_row, &err)) == RSP_OK && has_row) {
        json_t *entry =
            json_pack("{s:I, s:s, s:I}", "id", (json_int_t)store_column_int64(stmt, 0), "action",
                      store_column_text(stmt, 2), "at", (json_int_t)store_column_int64(stmt, 5));
        if (!store_column_is_null(stmt, 1))
            json_object_set_new(entry, "keyId", json_string(store_column_text(stmt, 1)));
        if (!store_column_is_null(stmt, 3))
            json_object_set_new(entry, "target", json_string(store_column_text(stmt, 3)));
        if (!store_column_is_null(stmt, 4))
            json_object_set_new(entry, "detail", json_string(store_column_text(stmt, 4)));
        json_array_append_new(entries, entry);
    }
    store_finish(stmt);
    return eim_rest_json(reply, 200, json_pack("{s:o}", "entries", entries));
}

static int create_webhook(rest_call *call, http_reply *reply)
{
    const char *url = NULL, *secret = NULL;
    rsp_error err = {0};
    rsp_status status = rsp_json_get_string(call->body, "url", true, &url, NULL, &err);
    if (status == RSP_OK)
        status = rsp_json_get_string(call->body, "secret", true, &secret, NULL, &err);
    if (status == RSP_OK && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        status = rsp_error_set(&err, RSP_ERR_BAD_VALUE, 0, 0, "url must be http(s)");
    int64_t id = 0;
    bool began = false;
    if (status == RSP_OK) {
        status = store_begin(call->conn, &err);
        began = status == RSP_OK;
    }
    if (status == RSP_OK)
        status = eim_rest_audit_call(call, &err);
    if (status == RSP_OK) {
        store_value params[] = {STORE_VALUE_INT64(call->tenant_id), STORE_VALUE_TEXT(url),
                                STORE_VALUE_TEXT(secret), STORE_VALUE_INT64(eim_storage_now())};
        status = store_query_int64(call->conn,
                                   "INSERT INTO eim_webhooks (tenant_id, url, secret, created_at) "
                                   "VALUES ($1, $2, $3, $4) RETURNING id",
                                   params, 4, &id, &err);
    }
    if (status == RSP_OK)
        status = eim_storage_audit(call->conn, call->tenant_id, call->key_id, "webhook.create", url,
                                   NULL, &err);
    if (status == RSP_OK)
        status = store_commit(call->conn, &err);
    if (status != RSP_OK) {
        if (began)
            store_rollback(call->conn);
        return fail(reply, status, &err);
    }
    call->audited = true;
    return eim_rest_json(reply, 201, json_pack("{s:I, s:s}", "id", (json_int_t)id, "url", url));
}

/* ---- dispatch ---- */

static bool authenticate(rest_call *call)
{
    const char *auth = http_request_header(call->request, "Authorization");
    const char *key = NULL;
    if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0)
        key = auth + 7;
    if (key == NULL)
        key = http_request_header(call->request, "X-Api-Key");
    rsp_error err = {0};
    return key != NULL && eim_storage_api_key_check(call->conn, key, &call->tenant_id, call->key_id,
                                                    &err) == RSP_OK;
}

static bool method_is(const rest_call *call, const char *method)
{
    return strcmp(call->request->method, method) == 0;
}

/* path "devices/<eid>[/<action>]" -> eid copied, action pointer or NULL */
static bool split_device_path(const char *path, char eid[40], const char **action)
{
    const char *start = path + strlen("devices/");
    const char *slash = strchr(start, '/');
    size_t len = slash != NULL ? (size_t)(slash - start) : strlen(start);
    if (len == 0 || len >= 40)
        return false;
    memcpy(eid, start, len);
    eid[len] = '\0';
    *action = slash != NULL ? slash + 1 : NULL;
    return true;
}

rsp_status eim_rest_audit_call(rest_call *call, rsp_error *err)
{
    return eim_storage_audit(call->conn, call->tenant_id, call->key_id, "api.call",
                             call->request->path, call->request->method, err);
}

/* The "api.call" row of a call no change of which committed with it: a read, a refusal, an
 * unknown route. Relaxed: it records an attempt that changed nothing, so a power cut losing it
 * loses no trace of a change (the next durable commit makes it durable too). */
static void audit_call_relaxed(rest_call *call)
{
    rsp_error err = {0};
    if (call->authenticated && !call->audited &&
        eim_storage_audit_relaxed(call->conn, call->tenant_id, call->key_id, "api.call",
                                  call->request->path, call->request->method, &err) == RSP_OK)
        call->audited = true;
}

static int route(rest_call *call, http_reply *reply)
{
    const char *path = call->path;
    if (strcmp(path, "tenants") == 0 && method_is(call, "POST"))
        return create_tenant(call, reply);
    if (!authenticate(call))
        return eim_rest_problem(reply, 401, "API key required (Authorization: Bearer <key>)");
    call->authenticated = true;
    /* a read's row goes first, so that GET /audit lists the call itself */
    if (method_is(call, "GET"))
        audit_call_relaxed(call);
    if (strcmp(path, "apikeys") == 0 && method_is(call, "POST"))
        return create_api_key(call, reply);
    if (strcmp(path, "devices") == 0 && method_is(call, "POST"))
        return post_devices(call, reply);
    if (strcmp(path, "devices/import") == 0 && method_is(call, "POST"))
        return import_devices(call, reply);
    if (strcmp(path, "devices") == 0 && method_is(call, "GET"))
        return list_devices(call, reply);
    if (strncmp(path, "devices/", 8) == 0) {
        char eid[40];
        const char *action = NULL;
        if (!split_device_path(path, eid, &action))
            return eim_rest_problem(reply, 404, "no such route");
        if (action == NULL && method_is(call, "GET"))
            return show_device(call, reply, eid);
        if (action != NULL && strcmp(action, "history") == 0 && method_is(call, "GET"))
            return device_history(call, reply, eid);
        if (action != NULL && strcmp(action, "block") == 0 && method_is(call, "POST"))
            return block_device(call, reply, eid, true);
        if (action != NULL && strcmp(action, "unblock") == 0 && method_is(call, "POST"))
            return block_device(call, reply, eid, false);
        if (action != NULL && strcmp(action, "operations") == 0 && method_is(call, "POST"))
            return call->body != NULL ? device_operation(call, reply, eid)
                                      : eim_rest_problem(reply, 400, "JSON body required");
    }
    if (strncmp(path, "orders/", 7) == 0) {
        char *end = NULL;
        int64_t order_id = strtoll(path + 7, &end, 10);
        if (*end == '\0' && method_is(call, "GET"))
            return show_order(call, reply, order_id);
        if (strcmp(end, "/cancel") == 0 && method_is(call, "POST"))
            return cancel_order(call, reply, order_id);
    }
    if (strcmp(path, "audit") == 0 && method_is(call, "GET"))
        return list_audit(call, reply);
    if (strcmp(path, "webhooks") == 0 && method_is(call, "POST"))
        return create_webhook(call, reply);
    int rc = eim_campaign_rest(call, reply);
    return rc != -1 ? rc : eim_rest_problem(reply, 404, "no such route");
}

static int dispatch(rest_call *call, http_reply *reply)
{
    int rc = route(call, reply);
    audit_call_relaxed(call);
    return rc;
}

int eim_rest_handle(const http_request *request, http_reply *reply, void *user)
{
    rest_call call = {.server = user, .request = request};
    call.path = request->path + strlen("/api/v1/");
    rsp_error err = {0};
    const char *type = http_request_header(request, "Content-Type");
    if (request->body_len > 0 && type != NULL && rsp_json_is_json_content_type(type)) {
        if (rsp_json_read_request(request, 16u * 1024u * 1024u, &call.body, &err) != RSP_OK)
            return eim_rest_problem(reply, 400, err.message);
    } else if (request->body_len == 0 && strcmp(request->method, "POST") == 0) {
        call.body = json_object();
    }
    if (store_borrow(call.server->st, &call.conn, &err) != RSP_OK) {
        json_decref(call.body);
        return eim_rest_problem(reply, 503, "storage unavailable");
    }
    int rc = dispatch(&call, reply);
    store_return(call.conn);
    json_decref(call.body);
    return rc;
}

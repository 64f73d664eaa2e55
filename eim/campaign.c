/* Campaigns: one operation for a set of devices (by list or label selector), released to the
 * devices at a rate limit, paused when the failure ratio goes over its maximum, with
 * pause/resume/cancel and progress figures.
 *
 * Creation is one transaction of set-based INSERT ... SELECT statements (a million devices in
 * a few seconds); members wait as "queued" orders, and the worker turns a rate-limited number
 * of them into "pending" ones, which the devices' polls then pick up. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "eim/rest.h"
#include "eim/storage.h"
#include "net/json.h"

/* Release credit is kept in thousandths of an order, so rates below one order per second
 * (and between whole numbers per second) are kept exactly across passes. */
#define CAMPAIGN_CREDIT_UNIT 1000

/* The bucket's size in credit units: one second's worth of the rate plus one order, so that
 * passes a second apart never lose credit to the cap and a new campaign starts with a small
 * burst instead of a minute's worth. */
static int64_t campaign_capacity(int64_t rate_per_minute)
{
    return rate_per_minute * CAMPAIGN_CREDIT_UNIT / 60 + CAMPAIGN_CREDIT_UNIT;
}

static rsp_status campaign_event(store_conn *conn, int64_t tenant_id, int64_t campaign_id,
                                 const char *state, rsp_error *err)
{
    char key[96], payload[160];
    snprintf(key, sizeof key, "campaign-%lld-%s-%lld", (long long)campaign_id, state,
             (long long)eim_storage_now());
    snprintf(payload, sizeof payload,
             "{\"event\":\"campaign.state\",\"campaignId\":%lld,\"state\":\"%s\"}",
             (long long)campaign_id, state);
    return eim_storage_outbox_add(conn, tenant_id, "campaign.state", key, payload, err);
}

/* ---- creation ---- */

typedef struct {
    rest_call *call;
    const json_t *operation;
    eim_operation shared; /* the order body when it is the same for every device */
    bool per_device;      /* per-device values (activationCodes, iccids, deleteIccids) */
    const char *map_key;  /* the first per-device map: its EIDs are the members by default */
    int64_t campaign_id;
    int64_t total;
    char unknown[64]; /* first EID of the list not registered to this tenant */
} create_ctx;

/* Inserts op as queued orders of the campaign for the devices sql selects: sql numbers the
 * order's columns $1..$8 (tenant, campaign, kind, operation, body, SM-DP+ address, created_at,
 * follow-up) and its own arguments from $9 on (extra, at most two). */
static rsp_status insert_orders(store_conn *conn, create_ctx *ctx, const eim_operation *op,
                                const char *sql, const store_value *extra, size_t extra_count,
                                int64_t *changes, rsp_error *err)
{
    store_value params[10] = {
        STORE_VALUE_INT64(ctx->call->tenant_id),
        STORE_VALUE_INT64(ctx->campaign_id),
        STORE_VALUE_TEXT(op->kind),
        STORE_VALUE_TEXT(op->name),
        STORE_VALUE_BLOB(op->body, op->body_len),
        op->smdp_address[0] != '\0' ? STORE_VALUE_TEXT(op->smdp_address) : STORE_VALUE_NULL(),
        STORE_VALUE_INT64(eim_storage_now()),
        STORE_VALUE_TEXT(op->follow_up),
    };
    if (extra_count > 2)
        return rsp_error_set(err, RSP_ERR_UNSUPPORTED, 0, 0, "campaign insert: too many arguments");
    memcpy(params + 8, extra, extra_count * sizeof *extra);
    return store_exec(conn, sql, params, 8 + extra_count, changes, err);
}

static rsp_status insert_for_eid(store_conn *conn, create_ctx *ctx, const char *eid, rsp_error *err)
{
    eim_operation own = {0};
    const eim_operation *op = &ctx->shared;
    rsp_status status = RSP_OK;
    if (ctx->per_device) {
        status = eim_operation_build(ctx->operation, eid, &own, err);
        op = &own;
    }
    int64_t changes = 0;
    if (status == RSP_OK) {
        store_value device = STORE_VALUE_TEXT(eid);
        status = insert_orders(conn, ctx, op,
                               "INSERT INTO eim_orders (tenant_id, device_id, campaign_id, kind, "
                               "operation, body, state, smdp_address, created_at, follow_up) "
                               "SELECT $1, id, $2, $3, $4, $5, 'queued', $6, $7, $8 FROM "
                               "eim_devices WHERE eid = $9 AND tenant_id = $1",
                               &device, 1, &changes, err);
    }
    if (status == RSP_OK && changes == 0 && ctx->unknown[0] == '\0')
        snprintf(ctx->unknown, sizeof ctx->unknown, "%s", eid);
    ctx->total += changes;
    eim_operation_free(&own);
    return status;
}

/* The selector's one label: {"labels": {"name": "value"}}, or {} (name and value left "") for
 * every device of the tenant. */
static rsp_status selector_label(const json_t *selector, const char **name, const char **value,
                                 rsp_error *err)
{
    json_t *labels = json_object_get(selector, "labels");
    if (json_object_size(labels) > 1)
        return rsp_error_set(err, RSP_ERR_UNSUPPORTED, 0, 0, "selector: one label at most");
    const char *key;
    json_t *v;
    json_object_foreach(labels, key, v)
    {
        if (!json_is_string(v))
            return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "label values are strings");
        *name = key;
        *value = json_string_value(v);
    }
    return RSP_OK;
}

static rsp_status insert_by_selector(store_conn *conn, create_ctx *ctx, const json_t *selector,
                                     rsp_error *err)
{
    const char *name = "", *value = "";
    rsp_status status = selector_label(selector, &name, &value, err);
    if (status != RSP_OK)
        return status;
    store_value label[] = {STORE_VALUE_TEXT(name), STORE_VALUE_TEXT(value)};
    int64_t changes = 0;
    status = insert_orders(
        conn, ctx, &ctx->shared,
        "INSERT INTO eim_orders (tenant_id, device_id, campaign_id, kind, operation, body, state, "
        "smdp_address, created_at, follow_up) SELECT $1, d.id, $2, $3, $4, $5, 'queued', $6, $7, "
        "$8 FROM eim_devices d WHERE d.tenant_id = $1 AND d.blocked = 0 AND ($9 = '' OR EXISTS "
        "(SELECT 1 FROM eim_device_labels l WHERE l.device_id = d.id AND l.name = $9 AND l.value "
        "= $10))",
        label, 2, &changes, err);
    ctx->total += changes;
    return status;
}

/* Per-device values with a selector: every selected device must have its entry, so the
 * members are listed first and built one by one (a missing entry fails the whole campaign). */
static rsp_status insert_selected_each(store_conn *conn, create_ctx *ctx, const json_t *selector,
                                       rsp_error *err)
{
    const char *name = "", *value = "";
    rsp_status status = selector_label(selector, &name, &value, err);
    if (status != RSP_OK)
        return status;
    store_stmt *stmt = NULL;
    status = store_prepare(
        conn,
        "SELECT d.eid FROM eim_devices d WHERE d.tenant_id = $1 AND d.blocked = 0 AND ($2 = '' "
        "OR EXISTS (SELECT 1 FROM eim_device_labels l WHERE l.device_id = d.id AND l.name = $2 "
        "AND l.value = $3)) ORDER BY d.id",
        &stmt, err);
    if (status != RSP_OK)
        return status;
    store_value params[] = {STORE_VALUE_INT64(ctx->call->tenant_id), STORE_VALUE_TEXT(name),
                            STORE_VALUE_TEXT(value)};
    store_bind_values(stmt, params, 3);
    json_t *eids = json_array();
    bool has_row = false;
    while ((status = store_step(stmt, &has_row, err)) == RSP_OK && has_row)
        json_array_append_new(eids, json_string(store_column_text(stmt, 0)));
    store_finish(stmt);
    size_t index;
    json_t *eid;
    json_array_foreach(eids, index, eid)
    {
        if (status != RSP_OK)
            break;
        status = insert_for_eid(conn, ctx, json_string_value(eid), err);
    }
    json_decref(eids);
    return status;
}

static rsp_status create_transaction(store_conn *conn, void *user, rsp_error *err)
{
    create_ctx *ctx = user;
    rest_call *call = ctx->call;
    ctx->total = 0;
    ctx->unknown[0] = '\0';
    const char *name = "campaign";
    int64_t rate = 600, min_results = 10;
    double ratio = 0.1;
    json_t *body = call->body;
    if (json_is_string(json_object_get(body, "name")))
        name = json_string_value(json_object_get(body, "name"));
    if (json_is_integer(json_object_get(body, "ratePerMinute")))
        rate = json_integer_value(json_object_get(body, "ratePerMinute"));
    if (json_is_number(json_object_get(body, "maxFailureRatio")))
        ratio = json_number_value(json_object_get(body, "maxFailureRatio"));
    if (json_is_integer(json_object_get(body, "minResults")))
        min_results = json_integer_value(json_object_get(body, "minResults"));
    if (rate <= 0 || ratio < 0 || ratio > 1 || min_results < 1)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0,
                             "ratePerMinute > 0, 0 <= maxFailureRatio <= 1, minResults >= 1");
    int64_t now = eim_storage_now();
    store_value params[] = {
        STORE_VALUE_INT64(call->tenant_id),
        STORE_VALUE_TEXT(name),
        STORE_VALUE_TEXT(ctx->shared.name),
        STORE_VALUE_INT64(rate),
        STORE_VALUE_INT64((int64_t)(ratio * 1000.0 + 0.5)),
        STORE_VALUE_INT64(min_results),
        STORE_VALUE_INT64(now),
        STORE_VALUE_INT64(campaign_capacity(rate)),
    };
    /* the call's audit row commits with the campaign (conn is call->conn) */
    rsp_status status = eim_rest_audit_call(call, err);
    if (status != RSP_OK)
        return status;
    /* the bucket starts full: the first burst goes out on the next pass, then the rate */
    status = store_query_int64(
        conn,
        "INSERT INTO eim_campaigns (tenant_id, name, operation, state, rate_per_minute, "
        "max_failure_permille, min_results, last_release_at, release_credit, created_at, "
        "updated_at) VALUES ($1, $2, $3, 'running', $4, $5, $6, $7, $8, $7, $7) RETURNING id",
        params, 8, &ctx->campaign_id, err);
    json_t *devices = json_object_get(body, "devices");
    if (status == RSP_OK && json_is_array(devices)) {
        size_t index;
        json_t *eid;
        json_array_foreach(devices, index, eid)
        {
            if (!json_is_string(eid)) {
                status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "devices: EID strings");
                break;
            }
            status = insert_for_eid(conn, ctx, json_string_value(eid), err);
            if (status != RSP_OK)
                break;
        }
        if (status == RSP_OK && ctx->unknown[0] != '\0')
            status = rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0, "no device %s", ctx->unknown);
    } else if (status == RSP_OK && ctx->per_device &&
               json_is_object(json_object_get(body, "selector"))) {
        status = insert_selected_each(conn, ctx, json_object_get(body, "selector"), err);
    } else if (status == RSP_OK && ctx->per_device) {
        /* per-device values without a list: the map's EIDs are the members */
        const char *eid;
        json_t *code;
        json_object_foreach(json_object_get(ctx->operation, ctx->map_key), eid, code)
        {
            status = insert_for_eid(conn, ctx, eid, err);
            if (status != RSP_OK)
                break;
        }
        if (status == RSP_OK && ctx->unknown[0] != '\0')
            status = rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0, "no device %s", ctx->unknown);
    } else if (status == RSP_OK) {
        json_t *selector = json_object_get(body, "selector");
        if (!json_is_object(selector))
            status = rsp_error_set(err, RSP_ERR_MISSING_FIELD, 0, 0,
                                   "campaign needs devices (EID list) or selector");
        else
            status = insert_by_selector(conn, ctx, selector, err);
    }
    if (status == RSP_OK) {
        store_value totals[] = {STORE_VALUE_INT64(ctx->total), STORE_VALUE_INT64(ctx->campaign_id)};
        status = store_exec(conn, "UPDATE eim_campaigns SET total = $1 WHERE id = $2", totals, 2,
                            NULL, err);
    }
    if (status == RSP_OK)
        status = eim_storage_audit(conn, call->tenant_id, call->key_id, "campaign.create", name,
                                   ctx->shared.name, err);
    return status;
}

static int create_campaign(rest_call *call, http_reply *reply)
{
    create_ctx ctx = {.call = call};
    rsp_error err = {0};
    ctx.operation = json_object_get(call->body, "operation");
    if (!json_is_object(ctx.operation))
        return eim_rest_problem(reply, 400, "operation object required");
    static const char *const maps[] = {"activationCodes", "iccids", "deleteIccids"};
    for (size_t i = 0; i < sizeof maps / sizeof maps[0] && ctx.map_key == NULL; i++)
        if (json_object_get(ctx.operation, maps[i]) != NULL)
            ctx.map_key = maps[i];
    ctx.per_device = ctx.map_key != NULL;
    rsp_status status = RSP_OK;
    if (ctx.per_device) {
        /* bodies are built (and each device's entries checked) per device */
        const char *type = json_string_value(json_object_get(ctx.operation, "type"));
        snprintf(ctx.shared.name, sizeof ctx.shared.name, "%s", type != NULL ? type : "");
        bool download = type != NULL && strcmp(type, "download") == 0;
        if (type == NULL)
            status = rsp_error_set(&err, RSP_ERR_MISSING_FIELD, 0, 0, "operation type required");
        else if (!download && (json_object_get(ctx.operation, "activationCodes") != NULL ||
                               json_object_get(ctx.operation, "deleteIccids") != NULL))
            status = rsp_error_set(&err, RSP_ERR_BAD_VALUE, 0, 0,
                                   "activationCodes and deleteIccids only with type download");
        for (size_t i = 0; i < sizeof maps / sizeof maps[0] && status == RSP_OK; i++) {
            json_t *map = json_object_get(ctx.operation, maps[i]);
            if (map != NULL && (!json_is_object(map) || json_object_size(map) == 0))
                status = rsp_error_set(&err, RSP_ERR_BAD_VALUE, 0, 0,
                                       "%s: a non-empty object of EID: value", maps[i]);
        }
    } else {
        status = eim_operation_build(ctx.operation, NULL, &ctx.shared, &err);
    }
    /* The request's connection is already borrowed: run the transaction on it. */
    if (status == RSP_OK)
        status = store_transaction_on(call->conn, create_transaction, &ctx, &err);
    eim_operation_free(&ctx.shared);
    if (status != RSP_OK)
        return eim_rest_problem(reply, status == RSP_ERR_NOT_FOUND ? 404 : 400, err.message);
    call->audited = true;
    return eim_rest_json(reply, 201,
                         json_pack("{s:I, s:I, s:s}", "id", (json_int_t)ctx.campaign_id, "total",
                                   (json_int_t)ctx.total, "state", "running"));
}

/* ---- progress and control ---- */

static int show_campaign(rest_call *call, http_reply *reply, int64_t id)
{
    store_stmt *stmt = NULL;
    rsp_error err = {0};
    rsp_status status = store_prepare(call->conn,
                                      "SELECT name, operation, state, rate_per_minute, "
                                      "max_failure_permille, total, released, succeeded, failed, "
                                      "cancelled, created_at, updated_at FROM eim_campaigns WHERE "
                                      "id = $1 AND tenant_id = $2",
                                      &stmt, &err);
    if (status != RSP_OK)
        return eim_rest_problem(reply, 500, err.message);
    store_bind_int64(stmt, 1, id);
    store_bind_int64(stmt, 2, call->tenant_id);
    bool has_row = false;
    status = store_step(stmt, &has_row, &err);
    json_t *body = NULL;
    if (status == RSP_OK && has_row) {
        int64_t total = store_column_int64(stmt, 5), released = store_column_int64(stmt, 6);
        int64_t succeeded = store_column_int64(stmt, 7), failed = store_column_int64(stmt, 8);
        int64_t cancelled = store_column_int64(stmt, 9);
        body = json_pack(
            "{s:I, s:s, s:s, s:s, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "id",
            (json_int_t)id, "name", store_column_text(stmt, 0), "operation",
            store_column_text(stmt, 1), "state", store_column_text(stmt, 2), "ratePerMinute",
            (json_int_t)store_column_int64(stmt, 3), "maxFailureRatio",
            (double)store_column_int64(stmt, 4) / 1000.0, "total", (json_int_t)total, "queued",
            (json_int_t)0, "released", (json_int_t)released, "succeeded", (json_int_t)succeeded,
            "failed", (json_int_t)failed, "cancelled", (json_int_t)cancelled, "progress",
            total > 0 ? (double)(succeeded + failed + cancelled) / (double)total : 1.0);
    }
    store_finish(stmt);
    if (body == NULL)
        return status != RSP_OK ? eim_rest_problem(reply, 500, err.message)
                                : eim_rest_problem(reply, 404, "no such campaign");
    /* not finished yet, by state: waiting for release, released, handed out */
    status = store_prepare(call->conn,
                           "SELECT state, COUNT(*) FROM eim_orders WHERE campaign_id = $1 AND "
                           "state IN ('queued', 'pending', 'delivered', 'following') GROUP BY "
                           "state",
                           &stmt, &err);
    if (status == RSP_OK) {
        store_bind_int64(stmt, 1, id);
        json_object_set_new(body, "pending", json_integer(0));
        json_object_set_new(body, "delivered", json_integer(0));
        json_object_set_new(body, "following", json_integer(0));
        while (store_step(stmt, &has_row, &err) == RSP_OK && has_row)
            json_object_set_new(body, store_column_text(stmt, 0),
                                json_integer(store_column_int64(stmt, 1)));
        store_finish(stmt);
    }
    return eim_rest_json(reply, 200, body);
}

static int campaign_devices(rest_call *call, http_reply *reply, int64_t id)
{
    const char *state = http_request_query(call->request, "state");
    const char *after = http_request_query(call->request, "after");
    store_stmt *stmt = NULL;
    rsp_error err = {0};
    /* Two statements, so that a state filter walks the (campaign_id, state, id) index instead
     * of every member of a large campaign. */
    bool by_state = state != NULL && state[0] != '\0';
    rsp_status status =
        store_prepare(call->conn,
                      by_state ? "SELECT o.id, d.eid, o.state, o.reason FROM eim_orders o JOIN "
                                 "eim_devices d ON d.id = o.device_id WHERE o.campaign_id = $1 "
                                 "AND o.state = $4 AND o.id > $3 AND o.tenant_id = $2 ORDER BY "
                                 "o.id LIMIT 1000"
                               : "SELECT o.id, d.eid, o.state, o.reason FROM eim_orders o JOIN "
                                 "eim_devices d ON d.id = o.device_id WHERE o.campaign_id = $1 "
                                 "AND o.id > $3 AND o.tenant_id = $2 AND $4 = '' ORDER BY o.id "
                                 "LIMIT 1000",
                      &stmt, &err);
    if (status != RSP_OK)
        return eim_rest_problem(reply, 500, err.message);
    store_value params[] = {STORE_VALUE_INT64(id), STORE_VALUE_INT64(call->tenant_id),
                            STORE_VALUE_INT64(after != NULL ? strtoll(after, NULL, 10) : 0),
                            STORE_VALUE_TEXT(state != NULL ? state : "")};
    store_bind_values(stmt, params, 4);
    json_t *devices = json_array();
    bool has_row = false;
    while (store_step(stmt, &has_row, &err) == RSP_OK && has_row) {
        json_t *item =
            json_pack("{s:I, s:s, s:s}", "orderId", (json_int_t)store_column_int64(stmt, 0), "eid",
                      store_column_text(stmt, 1), "state", store_column_text(stmt, 2));
        if (!store_column_is_null(stmt, 3))
            json_object_set_new(item, "reason", json_string(store_column_text(stmt, 3)));
        json_array_append_new(devices, item);
    }
    store_finish(stmt);
    return eim_rest_json(reply, 200, json_pack("{s:o}", "devices", devices));
}

static int control_campaign(rest_call *call, http_reply *reply, int64_t id, const char *action)
{
    rsp_error err = {0};
    const char *target = strcmp(action, "pause") == 0    ? "paused"
                         : strcmp(action, "resume") == 0 ? "running"
                                                         : "cancelled";
    const char *from = strcmp(action, "pause") == 0    ? "('running')"
                       : strcmp(action, "resume") == 0 ? "('paused')"
                                                       : "('running', 'paused')";
    char sql[320];
    /* resume restarts the failure ratio from the figures of now, and the rate clock */
    snprintf(sql, sizeof sql,
             "UPDATE eim_campaigns SET state = $1, updated_at = $2, last_release_at = $2, "
             "baseline_succeeded = succeeded, baseline_failed = failed WHERE id = $3 AND "
             "tenant_id = $4 AND state IN %s",
             from);
    store_value params[] = {STORE_VALUE_TEXT(target), STORE_VALUE_INT64(eim_storage_now()),
                            STORE_VALUE_INT64(id), STORE_VALUE_INT64(call->tenant_id)};
    int64_t changes = 0;
    rsp_status status = store_begin(call->conn, &err);
    if (status == RSP_OK)
        status = eim_rest_audit_call(call, &err);
    if (status == RSP_OK)
        status = store_exec(call->conn, sql, params, 4, &changes, &err);
    if (status == RSP_OK && changes == 1 && strcmp(target, "cancelled") == 0) {
        int64_t cancelled = 0;
        store_value order_params[] = {params[1], params[2]};
        status = store_exec(call->conn,
                            "UPDATE eim_orders SET state = 'cancelled', finished_at = $1 WHERE "
                            "campaign_id = $2 AND state IN ('queued', 'pending')",
                            order_params, 2, &cancelled, &err);
        store_value counts[] = {STORE_VALUE_INT64(cancelled), STORE_VALUE_INT64(id)};
        if (status == RSP_OK)
            status = store_exec(call->conn,
                                "UPDATE eim_campaigns SET cancelled = cancelled + $1 WHERE id = "
                                "$2",
                                counts, 2, NULL, &err);
    }
    if (status == RSP_OK && changes == 1)
        status = campaign_event(call->conn, call->tenant_id, id, target, &err);
    if (status == RSP_OK && changes == 1)
        status = eim_storage_audit(call->conn, call->tenant_id, call->key_id, "campaign.control",
                                   action, NULL, &err);
    if (status == RSP_OK)
        status = store_commit(call->conn, &err);
    if (status != RSP_OK) {
        store_rollback(call->conn);
        return eim_rest_problem(reply, 500, err.message);
    }
    call->audited = true;
    if (changes != 1)
        return eim_rest_problem(reply, 409, "campaign not found or not in a state for that");
    return show_campaign(call, reply, id);
}

int eim_campaign_rest(rest_call *call, http_reply *reply)
{
    const char *path = call->path;
    bool post = strcmp(call->request->method, "POST") == 0;
    if (strcmp(path, "campaigns") == 0 && post)
        return create_campaign(call, reply);
    if (strncmp(path, "campaigns/", 10) != 0)
        return -1;
    char *end = NULL;
    int64_t id = strtoll(path + 10, &end, 10);
    if (end == path + 10)
        return -1;
    if (*end == '\0' && !post)
        return show_campaign(call, reply, id);
    if (strcmp(end, "/devices") == 0 && !post)
        return campaign_devices(call, reply, id);
    if (post &&
        (strcmp(end, "/pause") == 0 || strcmp(end, "/resume") == 0 || strcmp(end, "/cancel") == 0))
        return control_campaign(call, reply, id, end + 1);
    return -1;
}

/* ---- release (worker) ---- */

typedef struct {
    int64_t id, tenant_id, rate, last_release, permille, min_results;
    int64_t total, released, succeeded, failed, cancelled, base_succeeded, base_failed;
    int64_t credit; /* release tokens in CAMPAIGN_CREDIT_UNIT */
} campaign_row;

static rsp_status release_one(store_conn *conn, const campaign_row *c, rsp_error *err)
{
    int64_t now = eim_storage_now();
    int64_t finished = (c->succeeded - c->base_succeeded) + (c->failed - c->base_failed);
    store_value id = STORE_VALUE_INT64(c->id);
    if (c->succeeded + c->failed + c->cancelled >= c->total) {
        store_value params[] = {STORE_VALUE_INT64(now), id};
        rsp_status status = store_exec(conn,
                                       "UPDATE eim_campaigns SET state = 'completed', updated_at "
                                       "= $1 WHERE id = $2",
                                       params, 2, NULL, err);
        if (status == RSP_OK)
            status = campaign_event(conn, c->tenant_id, c->id, "completed", err);
        return status;
    }
    if (finished >= c->min_results &&
        (c->failed - c->base_failed) * 1000 > c->permille * finished) {
        store_value params[] = {STORE_VALUE_INT64(now), id};
        rsp_status status = store_exec(conn,
                                       "UPDATE eim_campaigns SET state = 'paused', updated_at = "
                                       "$1 WHERE id = $2",
                                       params, 2, NULL, err);
        LOG_WARN("eim", "campaign paused: failure ratio over its maximum",
                 LOG_INT("campaign", c->id), LOG_INT("failed", c->failed - c->base_failed),
                 LOG_INT("finished", finished));
        if (status == RSP_OK)
            status = campaign_event(conn, c->tenant_id, c->id, "paused", err);
        return status;
    }
    if (c->released + c->cancelled >= c->total)
        return RSP_OK;
    /* token bucket at the rate per minute; fractions of an order carry over in the credit, so
     * a rate that is not a whole number per second is kept exactly */
    int64_t elapsed = now - c->last_release;
    if (elapsed < 0)
        elapsed = 0;
    if (elapsed > 3600)
        elapsed = 3600;
    int64_t capacity = campaign_capacity(c->rate);
    int64_t credit = c->credit + c->rate * CAMPAIGN_CREDIT_UNIT * elapsed / 60;
    if (credit > capacity)
        credit = capacity;
    int64_t due = credit / CAMPAIGN_CREDIT_UNIT;
    if (due > 10000)
        due = 10000; /* bounded transactions; the next pass continues */
    if (due <= 0 && elapsed == 0)
        return RSP_OK;
    char sql[320];
    snprintf(sql, sizeof sql,
             "UPDATE eim_orders SET state = 'pending' WHERE id IN (SELECT id FROM eim_orders "
             "WHERE campaign_id = $1 AND state = 'queued' ORDER BY id LIMIT $2%s)",
             eim_storage_skip_locked(conn));
    store_value params[] = {id, STORE_VALUE_INT64(due)};
    int64_t released = 0;
    rsp_status status = due > 0 ? store_exec(conn, sql, params, 2, &released, err) : RSP_OK;
    if (status == RSP_OK) {
        store_value update[] = {STORE_VALUE_INT64(released), STORE_VALUE_INT64(now),
                                STORE_VALUE_INT64(credit - released * CAMPAIGN_CREDIT_UNIT), id};
        status = store_exec(conn,
                            "UPDATE eim_campaigns SET released = released + $1, last_release_at "
                            "= $2, release_credit = $3, updated_at = $2 WHERE id = $4",
                            update, 4, NULL, err);
    }
    return status;
}

static rsp_status release_transaction(store_conn *conn, void *user, rsp_error *err)
{
    (void)user;
    char sql[400];
    snprintf(sql, sizeof sql,
             "SELECT id, tenant_id, rate_per_minute, last_release_at, max_failure_permille, "
             "min_results, total, released, succeeded, failed, cancelled, baseline_succeeded, "
             "baseline_failed, release_credit FROM eim_campaigns WHERE state = 'running' ORDER BY "
             "id LIMIT 64%s",
             eim_storage_skip_locked(conn));
    store_stmt *stmt = NULL;
    rsp_status status = store_prepare(conn, sql, &stmt, err);
    if (status != RSP_OK)
        return status;
    campaign_row rows[64];
    size_t count = 0;
    bool has_row = false;
    while (count < 64 && (status = store_step(stmt, &has_row, err)) == RSP_OK && has_row) {
        campaign_row *c = &rows[count++];
        c->id = store_column_int64(stmt, 0);
        c->tenant_id = store_column_int64(stmt, 1);
        c->rate = store_column_int64(stmt, 2);
        c->last_release = store_column_int64(stmt, 3);
        c->permille = store_column_int64(stmt, 4);
        c->min_results = store_column_int64(stmt, 5);
        c->total = store_column_int64(stmt, 6);
        c->released = store_column_int64(stmt, 7);
        c->succeeded = store_column_int64(stmt, 8);
        c->failed = store_column_int64(stmt, 9);
        c->cancelled = store_column_int64(stmt, 10);
        c->base_succeeded = store_column_int64(stmt, 11);
        c->base_failed = store_column_int64(stmt, 12);
        c->credit = store_column_int64(stmt, 13);
    }
    store_finish(stmt);
    for (size_t i = 0; i < count && status == RSP_OK; i++)
        status = release_one(conn, &rows[i], err);
    return status;
}

void eim_campaign_release_due(eim_server *server)
{
    rsp_error err = {0};
    if (store_transaction(server->st, release_transaction, NULL, &err) != RSP_OK)
        LOG_WARN("eim", "campaign release failed", LOG_STR("error", err.message));
}

/* ESipa, ASN.1 binding (SGP.32 v1.2 section 6.1, 6.3): GetEimPackage, ProvideEimPackageResult,
 * HandleNotification, and the relayed download functions, at POST /gsma/rsp2/asn1.
 *
 * The empty poll is the hot path: one prepared SELECT (device by EID plus its first open
 * order through a partial index), no write, one small answer. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/sgp32.h"
#include "crypto/random.h"
#include "eim/package.h"
#include "eim/rest.h"
#include "eim/storage.h"

#define EIM_PACKAGE_ERROR_NO_PACKAGE    1
#define EIM_PACKAGE_ERROR_EID_NOT_FOUND 2
#define EIM_PACKAGE_ERROR_INVALID_EID   3
#define EIM_RESULT_ERROR_EID_NOT_FOUND  2
#define EIM_RESULT_ERROR_INVALID_EID    3
#define EIM_RESULT_ERROR_MISSING_EID    4
#define EIM_RESULT_ERROR_UNDEFINED      127
#define EIM_MAX_LISTED_RESULTS          32
/* listed results, the result itself, and the notifications sent with it */
#define EIM_MAX_ACKNOWLEDGEMENTS 64

bool eim_eid_text(der_view eid, char out[33])
{
    if (eid.len != 16)
        return false;
    der_hex_encode(eid.data, eid.len, out, true);
    for (size_t i = 0; i < 32; i++)
        if (out[i] > '9')
            return false;
    return true;
}

/* ---- GetEimPackage (SGP.32 v1.2 section 6.3.2.6) ------------------------------------ */

static rsp_status package_error(int64_t code, der_writer *out)
{
    sgp32_get_eim_package_response response = {
        .choice = SGP32_GET_EIM_PACKAGE_RESPONSE_EIM_PACKAGE_ERROR,
        .u.eim_package_error = code,
    };
    return schema_encode(&sgp32_get_eim_package_response_type, &response, out);
}

typedef struct {
    eim_server *server;
    int64_t device_id;
    int64_t tenant_id;
    der_view eid;
    int64_t order_id;
    char kind[32];
    uint8_t *body; /* owned: the stored order body */
    size_t body_len;
    uint8_t *package; /* owned: the GetEimPackageResponse alternative TLV */
    size_t package_len;
    bool taken; /* another thread or process handed the order out first */
} handout_ctx;

/* The order's package: an eUICC Package signed with a fresh counter (SGP.32 v1.2 section
 * 2.11.1.1), or the stored request with the transaction id (sections 2.11.1.2, 2.11.1.3),
 * committed with the order before it is sent. Statements: the counter is taken by one
 * UPDATE ... RETURNING on the device row (its row lock on PostgreSQL serialises the device's
 * hand-outs across processes), the order is claimed by one UPDATE that only a pending order
 * passes, and the audit row is inserted. */
static rsp_status handout_transaction(store_conn *conn, void *user, rsp_error *err)
{
    handout_ctx *ctx = user;
    free(ctx->package);
    ctx->package = NULL;
    ctx->package_len = 0;
    ctx->taken = false;
    eim_package_header header = {.eim_id = ctx->server->config.eim_id,
                                 .transaction_id_len = EIM_TRANSACTION_ID_SIZE};
    if (rsp_random_bytes(header.transaction_id, EIM_TRANSACTION_ID_SIZE) != RSP_OK)
        return rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "no random transaction id");
    int64_t now = eim_storage_now();
    bool has_counter = strcmp(ctx->kind, EIM_KIND_EUICC_PACKAGE) == 0;
    rsp_status status = RSP_OK;
    if (has_counter) {
        /* Strictly increasing per EID, committed with the package: a counter is never used
         * twice, even across processes. */
        store_stmt *stmt = NULL;
        status = store_prepare(conn,
                               "UPDATE eim_devices SET counter = counter + 1, last_seen = $2 WHERE "
                               "id = $1 RETURNING counter, association_token",
                               &stmt, err);
        if (status != RSP_OK)
            return status;
        store_value params[] = {STORE_VALUE_INT64(ctx->device_id), STORE_VALUE_INT64(now)};
        store_bind_values(stmt, params, 2);
        bool has_row = false;
        status = store_step(stmt, &has_row, err);
        if (status == RSP_OK && has_row) {
            header.counter_value = store_column_int64(stmt, 0);
            header.has_association_token = !store_column_is_null(stmt, 1);
            header.association_token = store_column_int64(stmt, 1);
        }
        store_finish(stmt);
        if (status == RSP_OK && !has_row)
            status = rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0, "device gone");
        memcpy(header.eid, ctx->eid.data, EIM_EID_SIZE);
    }
    der_view body = der_view_make(ctx->body, ctx->body_len);
    der_writer package;
    der_writer_init_dynamic(&package, NULL);
    if (status == RSP_OK && has_counter)
        status = eim_package_build_encoded(ctx->server->eim_key, &header, body, &package, err);
    else if (status == RSP_OK)
        status = eim_request_with_transaction(
            body, der_view_make(header.transaction_id, EIM_TRANSACTION_ID_SIZE), &package, err);
    if (status == RSP_OK)
        ctx->package = der_writer_take(&package, &ctx->package_len);
    der_writer_free(&package);
    if (status != RSP_OK)
        return status;
    char txid_hex[2 * EIM_TRANSACTION_ID_SIZE + 1];
    der_hex_encode(header.transaction_id, EIM_TRANSACTION_ID_SIZE, txid_hex, true);
    store_value params[] = {
        has_counter ? STORE_VALUE_INT64(header.counter_value) : STORE_VALUE_NULL(),
        STORE_VALUE_TEXT(txid_hex),
        STORE_VALUE_BLOB(ctx->package, ctx->package_len),
        STORE_VALUE_INT64(now),
        STORE_VALUE_INT64(ctx->order_id),
    };
    int64_t changes = 0;
    status = store_exec(conn,
                        "UPDATE eim_orders SET state = 'delivered', counter_value = $1, "
                        "transaction_id = $2, package = $3, delivered_at = $4 WHERE id = $5 AND "
                        "state = 'pending'",
                        params, 5, &changes, err);
    if (status == RSP_OK && changes != 1) {
        /* rolled back with the counter taken above; the caller reads the order again */
        ctx->taken = true;
        return rsp_error_set(err, RSP_ERR_STATE, 0, 0, "order %lld handed out meanwhile",
                             (long long)ctx->order_id);
    }
    char detail[128];
    snprintf(detail, sizeof detail, "{\"orderId\":%lld,\"counter\":%lld,\"transactionId\":\"%s\"}",
             (long long)ctx->order_id, has_counter ? (long long)header.counter_value : -1LL,
             txid_hex);
    return eim_storage_device_event(conn, ctx->tenant_id, NULL, ctx->device_id, "package.sent",
                                    ctx->kind, detail, err);
}

typedef enum { POLL_UNKNOWN, POLL_EMPTY, POLL_RESEND, POLL_PENDING } poll_kind;

/* The device and its next package in one read, outside any transaction: the oldest open
 * order, a pending eUICC data request first, as it is how results lost on the way are
 * recovered (SGP.32 v1.2 section 2.11.2.2, euiccPackageResultList). A delivered order's
 * stored bytes are resent as they are, with no write. Two lookups in (device_id, id) order
 * rather than one ORDER BY over both kinds, which made SQLite sort in a temporary b-tree at
 * every poll. */
static rsp_status poll_read(store_conn *conn, const char *eid_text, handout_ctx *ctx,
                            poll_kind *kind, rsp_error *err)
{
    store_stmt *stmt = NULL;
    rsp_status status = store_prepare(
        conn,
        "SELECT d.id, d.tenant_id, d.blocked, o.id, o.kind, o.state, o.body, o.package FROM "
        "eim_devices d LEFT JOIN eim_orders o ON o.id = COALESCE((SELECT id FROM eim_orders "
        "WHERE device_id = d.id AND kind = 'ipaEuiccData' AND state = 'pending' ORDER BY id "
        "LIMIT 1), (SELECT id FROM eim_orders WHERE device_id = d.id AND state IN ('pending', "
        "'delivered') ORDER BY id LIMIT 1)) WHERE d.eid = $1",
        &stmt, err);
    if (status != RSP_OK)
        return status;
    store_bind_text(stmt, 1, eid_text);
    bool has_row = false;
    status = store_step(stmt, &has_row, err);
    *kind = POLL_UNKNOWN;
    if (status == RSP_OK && has_row) {
        ctx->device_id = store_column_int64(stmt, 0);
        ctx->tenant_id = store_column_int64(stmt, 1);
        bool blocked = store_column_int64(stmt, 2) != 0;
        *kind = blocked || store_column_is_null(stmt, 3) ? POLL_EMPTY : POLL_PENDING;
    }
    if (status == RSP_OK && *kind == POLL_PENDING) {
        ctx->order_id = store_column_int64(stmt, 3);
        snprintf(ctx->kind, sizeof ctx->kind, "%s", store_column_text(stmt, 4));
        bool delivered = strcmp(store_column_text(stmt, 5), "delivered") == 0;
        size_t len = 0;
        const uint8_t *data = store_column_blob(stmt, delivered ? 7 : 6, &len);
        uint8_t *copy = malloc(len + 1);
        if (copy == NULL) {
            status = rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "no memory for a package");
        } else {
            memcpy(copy, data, len);
            free(delivered ? ctx->package : ctx->body);
            if (delivered) {
                ctx->package = copy;
                ctx->package_len = len;
                *kind = POLL_RESEND;
            } else {
                ctx->body = copy;
                ctx->body_len = len;
            }
        }
    }
    store_finish(stmt);
    return status;
}

rsp_status eim_esipa_get_package(eim_server *server, der_view eid, der_writer *out, rsp_error *err)
{
    char eid_text[33];
    if (!eim_eid_text(eid, eid_text))
        return package_error(EIM_PACKAGE_ERROR_INVALID_EID, out);
    rsp_status status = RSP_OK;
    handout_ctx ctx = {.server = server, .eid = eid};
    poll_kind kind = POLL_UNKNOWN;
    /* an order another process handed out between the read and the claim is read again
     * (then resent); twice more at most */
    for (int attempt = 0; attempt < 3; attempt++) {
        /* the read on a reader connection (warm pages), the claim on one of its own */
        store_conn *reader = NULL;
        status = store_borrow_reader(server->st, &reader, err);
        if (status == RSP_OK)
            status = poll_read(reader, eid_text, &ctx, &kind, err);
        store_return(reader);
        if (status != RSP_OK || kind != POLL_PENDING)
            break;
        rsp_error claim_err = {0};
        status = store_transaction(server->st, handout_transaction, &ctx, &claim_err);
        if (status != RSP_OK)
            *err = claim_err;
        if (status == RSP_OK || !ctx.taken)
            break;
    }
    if (status == RSP_OK && kind == POLL_UNKNOWN) {
        LOG_INFO("eim", "poll from an unknown EID", LOG_STR("eid", eid_text));
        status = package_error(EIM_PACKAGE_ERROR_EID_NOT_FOUND, out);
    } else if (status == RSP_OK && kind == POLL_EMPTY) {
        metrics_counter_add(&server->polls_empty, 1);
        status = package_error(EIM_PACKAGE_ERROR_NO_PACKAGE, out);
    } else if (status == RSP_OK) {
        bool resent = kind == POLL_RESEND;
        metrics_counter_add(resent ? &server->packages_resent : &server->packages_sent, 1);
        size_t mark = der_begin(out, 0xBF4F);
        der_put_raw(out, ctx.package, ctx.package_len);
        der_end(out, mark);
        status = der_writer_status(out);
        LOG_INFO("eim", resent ? "package resent" : "package sent", LOG_STR("eid", eid_text),
                 LOG_INT("order", ctx.order_id));
    }
    free(ctx.package);
    free(ctx.body);
    return status;
}

/* ---- ProvideEimPackageResult (SGP.32 v1.2 section 6.3.2.7) -------------------------- */

typedef struct {
    int64_t id;
    int64_t tenant_id;
    bool blocked;
    bool has_token;
    int64_t token;
    const rsp_public_key *euicc_key; /* from `cached`; NULL when no certificate is known */
    eim_cached_key *cached;
    char eid[33];
    /* the connection the whole result is handled on (borrowed by eim_esipa_provide_result):
     * one borrow, and the device's pages read once stay in that connection's cache */
    store_conn *conn;
    /* notifications that came with the result, forwarded before it is recorded: its commit
     * records them too (NULL when none) */
    const struct result_notes *notes;
} device_row;

typedef enum { OUTCOME_ACCEPTED, OUTCOME_DUPLICATE, OUTCOME_REFUSED } result_outcome;

/* The notifications one ProvideEimPackageResult carries (SGP.32 v1.2 section 6.3.2.7). */
typedef struct result_notes {
    eim_relay_forwarded items[EIM_MAX_ACKNOWLEDGEMENTS];
    bool ok[EIM_MAX_ACKNOWLEDGEMENTS]; /* forwarded or recorded-only, ready to record */
    size_t count;
} result_notes;

typedef struct {
    const device_row *device;
    eim_server *server;
    /* how to find the order */
    const char *kind;
    bool by_counter;
    int64_t counter;
    char txid[2 * 16 + 1]; /* empty: not given */
    bool has_seq;
    int64_t seq;
    der_view raw; /* the result TLV as received */
    /* an EuiccPackageResult, verified: matched against the package found (eim/package.h) */
    const eim_package_outcome *package_result;
    /* what to record */
    const char *state; /* "succeeded" / "failed" */
    const char *reason;
    char *summary;  /* owned JSON */
    char *profiles; /* owned JSON or NULL */
    char *eims;     /* owned JSON or NULL */
    /* facts from an IpaEuiccData */
    const uint8_t *certificate;
    size_t certificate_len;
    bool has_new_token;
    int64_t new_token;
    const char *version;
    bool has_free_nvm;
    int64_t free_nvm;
    char *ci_keys; /* owned JSON array of hex key identifiers, or NULL */
    /* outcome */
    result_outcome outcome;
    const char *why;
    int64_t order_id;
    char reason_buf[96];
    char why_buf[sizeof(((rsp_error *)0)->message)];
    char installed_iccid[24]; /* from a successful installation result: follow-ups use it */
    bool rolled_back;         /* the result reports a ProfileRollback (rollbackResult ok) */
} record_ctx;

/* The package the order holds answers the verified result: eimId, counterValue and
 * eimTransactionId (SGP.32 v1.2 section 2.11.2.1) by the same rules as every eIM user. */
static bool package_matches(record_ctx *ctx, const char *txid_hex)
{
    eim_package_header header = {.eim_id = ctx->server->config.eim_id,
                                 .counter_value = ctx->counter};
    long txid_len = txid_hex != NULL
                        ? der_hex_decode(txid_hex, header.transaction_id, EIM_TRANSACTION_ID_MAX)
                        : 0;
    header.transaction_id_len = txid_len > 0 ? (size_t)txid_len : 0;
    rsp_error match_err = {0};
    if (der_hex_decode(ctx->device->eid, header.eid, EIM_EID_SIZE) == EIM_EID_SIZE &&
        eim_package_result_match(&header, ctx->package_result, &match_err) == RSP_OK)
        return true;
    snprintf(ctx->why_buf, sizeof ctx->why_buf, "%s",
             match_err.message[0] != '\0' ? match_err.message : "stored EID unreadable");
    ctx->why = ctx->why_buf;
    return false;
}

static rsp_status find_order(store_conn *conn, record_ctx *ctx, char *state, size_t state_size,
                             bool *found, rsp_error *err)
{
    store_stmt *stmt = NULL;
    const char *sql = ctx->by_counter
                          ? "SELECT id, state, transaction_id FROM eim_orders WHERE device_id = $1 "
                            "AND kind = $2 AND counter_value = $3"
                          : "SELECT id, state, transaction_id FROM eim_orders WHERE device_id = $1 "
                            "AND kind = $2 AND transaction_id = $3";
    rsp_status status = store_prepare(conn, sql, &stmt, err);
    if (status != RSP_OK)
        return status;
    store_bind_int64(stmt, 1, ctx->device->id);
    store_bind_text(stmt, 2, ctx->kind);
    if (ctx->by_counter)
        store_bind_int64(stmt, 3, ctx->counter);
    else
        store_bind_text(stmt, 3, ctx->txid);
    status = store_step(stmt, found, err);
    if (status == RSP_OK && *found) {
        ctx->order_id = store_column_int64(stmt, 0);
        snprintf(state, state_size, "%s", store_column_text(stmt, 1));
        const char *txid = store_column_text(stmt, 2);
        if (ctx->package_result != NULL) {
            *found = package_matches(ctx, txid);
        } else if (ctx->txid[0] != '\0' && (txid == NULL || strcmp(txid, ctx->txid) != 0)) {
            *found = false;
            ctx->why = "eimTransactionId does not match the package";
        }
    } else if (status == RSP_OK) {
        ctx->why = ctx->by_counter ? "no package was sent with this counterValue"
                                   : "no package was sent with this eimTransactionId";
    }
    store_finish(stmt);
    return status;
}

/* The same result again (its acknowledgement was lost): any result stored for the order with
 * the same bytes. An order may hold two results (an enable and its rollback). */
static rsp_status is_duplicate(store_conn *conn, record_ctx *ctx, bool *duplicate, rsp_error *err)
{
    *duplicate = false;
    store_stmt *stmt = NULL;
    rsp_status status = store_prepare(conn,
                                      "SELECT result FROM eim_results WHERE device_id = $1 AND "
                                      "order_id = $2",
                                      &stmt, err);
    if (status != RSP_OK)
        return status;
    store_bind_int64(stmt, 1, ctx->device->id);
    store_bind_int64(stmt, 2, ctx->order_id);
    bool has_row = false;
    while (!*duplicate && (status = store_step(stmt, &has_row, err)) == RSP_OK && has_row) {
        size_t len = 0;
        const uint8_t *stored = store_column_blob(stmt, 0, &len);
        *duplicate = len == ctx->raw.len && memcmp(stored, ctx->raw.data, len) == 0;
    }
    store_finish(stmt);
    return status;
}

static rsp_status update_facts(store_conn *conn, record_ctx *ctx, rsp_error *err)
{
    rsp_status status = RSP_OK;
    store_value id = STORE_VALUE_INT64(ctx->device->id);
    if (ctx->profiles != NULL) {
        store_value params[] = {STORE_VALUE_TEXT(ctx->profiles), id};
        status = store_exec(conn, "UPDATE eim_devices SET profiles = $1 WHERE id = $2", params, 2,
                            NULL, err);
    }
    if (status == RSP_OK && ctx->eims != NULL) {
        store_value params[] = {STORE_VALUE_TEXT(ctx->eims), id};
        status = store_exec(conn, "UPDATE eim_devices SET eims = $1 WHERE id = $2", params, 2, NULL,
                            err);
    }
    const char *curve = NULL;
    uint8_t point[RSP_EC_POINT_SIZE];
    if (status == RSP_OK && ctx->certificate != NULL &&
        eim_key_point_from_certificate(ctx->certificate, ctx->certificate_len, &curve, point)) {
        store_value params[] = {STORE_VALUE_BLOB(ctx->certificate, ctx->certificate_len), id,
                                STORE_VALUE_TEXT(curve), STORE_VALUE_BLOB(point, sizeof point)};
        status = store_exec(conn,
                            "UPDATE eim_devices SET euicc_certificate = $1, euicc_key_curve = $3, "
                            "euicc_key_point = $4 WHERE id = $2 AND euicc_certificate IS NULL",
                            params, 4, NULL, err);
    }
    if (status == RSP_OK && ctx->has_new_token) {
        store_value params[] = {STORE_VALUE_INT64(ctx->new_token), id};
        status = store_exec(conn, "UPDATE eim_devices SET association_token = $1 WHERE id = $2",
                            params, 2, NULL, err);
    }
    if (status == RSP_OK && ctx->version != NULL) {
        store_value params[] = {STORE_VALUE_TEXT(ctx->version), id};
        status = store_exec(conn, "UPDATE eim_devices SET sgp32_version = $1 WHERE id = $2", params,
                            2, NULL, err);
    }
    if (status == RSP_OK && ctx->ci_keys != NULL) {
        store_value params[] = {STORE_VALUE_TEXT(ctx->ci_keys), id};
        status = store_exec(conn, "UPDATE eim_devices SET ci_keys = $1 WHERE id = $2", params, 2,
                            NULL, err);
    }
    if (status == RSP_OK && ctx->has_free_nvm) {
        store_value params[] = {STORE_VALUE_INT64(ctx->free_nvm), id};
        status = store_exec(conn, "UPDATE eim_devices SET free_nvm = $1 WHERE id = $2", params, 2,
                            NULL, err);
    }
    return status;
}

/* The next link of a chain (SGP.32 v1.2 section 2.11.1.1: one PSMO per eUICC Package): the
 * enable a successful download asked for, for the ICCID its installation result names, or the
 * delete ordered after that enable. Its own follow-up ("then") goes with it. A follow-up that
 * cannot be built (no ICCID reported) fails the chain. */
static rsp_status create_follow_up(store_conn *conn, record_ctx *ctx, const char *follow_up,
                                   int64_t chain_root, rsp_error *err)
{
    json_t *op = json_loads(follow_up, 0, NULL);
    if (!json_is_object(op)) {
        json_decref(op);
        return eim_storage_chain_fail(conn, chain_root, "followUpUnreadable", err);
    }
    if (json_object_get(op, "iccid") == NULL && ctx->installed_iccid[0] != '\0')
        json_object_set_new(op, "iccid", json_string(ctx->installed_iccid));
    if (json_object_get(op, "iccid") == NULL) {
        json_decref(op);
        return eim_storage_chain_fail(conn, chain_root, "noIccidInResult", err);
    }
    json_t *then = json_object_get(op, "then");
    char *next = json_is_object(then) ? json_dumps(then, JSON_COMPACT) : NULL;
    json_object_del(op, "then");
    eim_operation built;
    int64_t order_id = 0;
    rsp_error build_err = {0};
    rsp_status status = eim_operation_build(op, NULL, &built, &build_err);
    json_decref(op);
    if (status != RSP_OK) {
        free(next);
        return eim_storage_chain_fail(conn, chain_root, "followUpInvalid", err);
    }
    eim_order_spec spec = {.tenant_id = ctx->device->tenant_id,
                           .device_id = ctx->device->id,
                           .kind = built.kind,
                           .operation = built.name,
                           .body = built.body,
                           .body_len = built.body_len,
                           .state = "pending",
                           .follow_up = next,
                           .chain_root = chain_root};
    status = eim_storage_order_create(conn, &spec, &order_id, err);
    if (status == RSP_OK) {
        char detail[96];
        snprintf(detail, sizeof detail, "{\"orderId\":%lld,\"after\":%lld}", (long long)order_id,
                 (long long)ctx->order_id);
        status = eim_storage_device_event(conn, ctx->device->tenant_id, NULL, ctx->device->id,
                                          "order.created", built.name, detail, err);
    }
    eim_operation_free(&built);
    free(next);
    return status;
}

static rsp_status insert_result(store_conn *conn, record_ctx *ctx, bool *inserted, rsp_error *err)
{
    store_value params[] = {
        STORE_VALUE_INT64(ctx->device->id),
        STORE_VALUE_INT64(ctx->order_id),
        ctx->has_seq ? STORE_VALUE_INT64(ctx->seq) : STORE_VALUE_NULL(),
        STORE_VALUE_BLOB(ctx->raw.data, ctx->raw.len),
        STORE_VALUE_INT64(eim_storage_now()),
    };
    /* a sequence number already used by another result of this device: nothing inserted
     * (unique index eim_results_seq), nothing else written */
    int64_t changes = 0;
    rsp_status status = store_exec(conn,
                                   "INSERT INTO eim_results (device_id, order_id, seq_number, "
                                   "result, received_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT "
                                   "(device_id, seq_number) DO NOTHING",
                                   params, 5, &changes, err);
    *inserted = changes > 0;
    if (status == RSP_OK && !*inserted)
        ctx->why = "sequence number already used by another result";
    return status;
}

/* SGP.32 v1.2 section 5.9.16: the rollback result of an enable already reported as done
 * (signed for the same package, new sequence number). */
static rsp_status record_rollback(store_conn *conn, record_ctx *ctx, rsp_error *err)
{
    bool inserted = false, changed = false;
    rsp_status status = insert_result(conn, ctx, &inserted, err);
    if (status == RSP_OK && inserted)
        status = eim_storage_order_rolled_back(conn, ctx->order_id, ctx->summary, ctx->reason,
                                               &changed, err);
    if (status == RSP_OK && inserted)
        status = eim_storage_device_event(conn, ctx->device->tenant_id, NULL, ctx->device->id,
                                          "result.received", ctx->state, ctx->summary, err);
    if (status == RSP_OK && inserted)
        ctx->outcome = OUTCOME_ACCEPTED;
    return status;
}

static rsp_status record_result(store_conn *conn, record_ctx *ctx, rsp_error *err)
{
    ctx->outcome = OUTCOME_REFUSED;
    char state[24] = "";
    bool found = false;
    rsp_status status = find_order(conn, ctx, state, sizeof state, &found, err);
    if (status != RSP_OK || !found)
        return status;
    if (strcmp(state, "delivered") != 0) {
        bool duplicate = false;
        status = is_duplicate(conn, ctx, &duplicate, err);
        if (status == RSP_OK && duplicate)
            ctx->outcome = OUTCOME_DUPLICATE;
        else if (status == RSP_OK && ctx->rolled_back && strcmp(state, "succeeded") == 0)
            status = record_rollback(conn, ctx, err);
        else
            ctx->why = "replayed result: the package already has a different result";
        return status;
    }
    bool inserted = false;
    status = insert_result(conn, ctx, &inserted, err);
    if (status != RSP_OK || !inserted)
        return status;
    eim_order_finished finished = {0};
    status = eim_storage_order_finish(conn, ctx->order_id, ctx->state, ctx->summary, ctx->reason,
                                      &finished, err);
    if (status == RSP_OK)
        status = update_facts(conn, ctx, err);
    if (status == RSP_OK && finished.follow_up != NULL)
        status = create_follow_up(conn, ctx, finished.follow_up, finished.chain_root, err);
    free(finished.follow_up);
    if (status == RSP_OK)
        status = eim_storage_device_event(conn, ctx->device->tenant_id, NULL, ctx->device->id,
                                          "result.received", ctx->state, ctx->summary, err);
    if (status == RSP_OK)
        ctx->outcome = OUTCOME_ACCEPTED;
    return status;
}

/* The notifications that came with an accepted (or repeated) result, in the result's commit:
 * durable before the answer acknowledges them. */
static rsp_status record_notes(store_conn *conn, const device_row *device, rsp_error *err)
{
    const result_notes *notes = device->notes;
    rsp_status status = RSP_OK;
    for (size_t i = 0; notes != NULL && i < notes->count && status == RSP_OK; i++) {
        status = eim_storage_device_event(
            conn, device->tenant_id, NULL, device->id, "notification.received", NULL,
            notes->ok[i] ? "{\"withResult\":true}" : "{\"withResult\":true,\"error\":true}", err);
        if (status == RSP_OK && notes->ok[i])
            status = eim_relay_notification_record(conn, &notes->items[i], err);
    }
    return status;
}

static rsp_status record_transaction(store_conn *conn, void *user, rsp_error *err)
{
    record_ctx *ctx = user;
    rsp_status status = record_result(conn, ctx, err);
    if (status == RSP_OK && ctx->outcome != OUTCOME_REFUSED)
        status = record_notes(conn, ctx->device, err);
    return status;
}

/* ICCID digits from the BCD-swapped value (SGP.22 Iccid), 'F' padding dropped. */
static void iccid_text(der_view iccid, char *out, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < iccid.len && n + 2 < size; i++) {
        uint8_t lo = iccid.data[i] & 15, hi = iccid.data[i] >> 4;
        if (lo < 10)
            out[n++] = (char)('0' + lo);
        if (hi < 10)
            out[n++] = (char)('0' + hi);
    }
    out[n] = '\0';
}

static json_t *profiles_json(const sgp32_profile_info_list_response *list)
{
    json_t *array = json_array();
    const sgp32_profile_info *items = list->u.profile_info_list_ok.items;
    for (size_t i = 0; array != NULL && i < list->u.profile_info_list_ok.count; i++) {
        char iccid[24] = "";
        if (items[i].has_iccid)
            iccid_text(items[i].iccid, iccid, sizeof iccid);
        json_t *item = json_pack("{s:s, s:I, s:b}", "iccid", iccid, "state",
                                 (json_int_t)items[i].profile_state, "fallback",
                                 items[i].has_fallback_attribute && items[i].fallback_attribute);
        if (items[i].has_profile_name)
            json_object_set_new(
                item, "name",
                json_stringn((const char *)items[i].profile_name.data, items[i].profile_name.len));
        json_array_append_new(array, item);
    }
    return array;
}

static json_t *eims_json(const sgp32_list_eim_result *list)
{
    json_t *array = json_array();
    const sgp32_eim_id_info *items = list->u.eim_id_list.items;
    for (size_t i = 0; array != NULL && i < list->u.eim_id_list.count; i++)
        json_array_append_new(
            array, json_stringn((const char *)items[i].eim_id.data, items[i].eim_id.len));
    return array;
}

/* Summary of the euiccResult list; sets ctx->state / reason and the facts it reports. */
static void summarise_results(record_ctx *ctx, const schema_list *results)
{
    json_t *summary = json_array();
    const sgp32_euicc_result_data *items = results->items;
    bool ok = true;
    const char *first_failure = NULL;
    for (size_t i = 0; summary != NULL && i < results->count; i++) {
        const sgp32_euicc_result_data *r = &items[i];
        const char *name =
            r->choice > 0 ? sgp32_euicc_result_data_type.fields[r->choice - 1].name : "unknown";
        int64_t code = 0;
        bool item_ok = true;
        json_t *entry = json_pack("{s:s}", "type", name);
        switch (r->choice) {
        case SGP32_EUICC_RESULT_DATA_LIST_PROFILE_INFO_RESULT:
            item_ok = r->u.list_profile_info_result.choice ==
                      SGP32_PROFILE_INFO_LIST_RESPONSE_PROFILE_INFO_LIST_OK;
            if (item_ok) {
                json_t *profiles = profiles_json(&r->u.list_profile_info_result);
                free(ctx->profiles);
                ctx->profiles = json_dumps(profiles, JSON_COMPACT);
                json_object_set_new(entry, "profiles", profiles);
            } else {
                code = r->u.list_profile_info_result.u.profile_info_list_error;
            }
            break;
        case SGP32_EUICC_RESULT_DATA_GET_RAT_RESULT:
            break;
        case SGP32_EUICC_RESULT_DATA_ADD_EIM_RESULT:
            /* a token when one was asked for, else addEimResultCode ok (0) */
            if (r->u.add_eim_result.choice == SGP32_ADD_EIM_RESULT_ASSOCIATION_TOKEN)
                json_object_set_new(entry, "associationToken",
                                    json_integer(r->u.add_eim_result.u.association_token));
            else
                code = r->u.add_eim_result.u.add_eim_result_code;
            item_ok = code == 0;
            break;
        case SGP32_EUICC_RESULT_DATA_LIST_EIM_RESULT:
            item_ok = r->u.list_eim_result.choice == SGP32_LIST_EIM_RESULT_EIM_ID_LIST;
            if (item_ok) {
                json_t *eims = eims_json(&r->u.list_eim_result);
                free(ctx->eims);
                ctx->eims = json_dumps(eims, JSON_COMPACT);
                json_object_set_new(entry, "eims", eims);
            } else {
                code = r->u.list_eim_result.u.list_eim_error;
            }
            break;
        case SGP32_EUICC_RESULT_DATA_ROLLBACK_RESULT:
            /* the profile an enable switched to was left again (SGP.32 v1.2 section 5.9.16):
             * whatever the enable said, the operation did not hold */
            code = r->u.rollback_result;
            ctx->rolled_back = code == SGP32_ROLLBACK_PROFILE_RESULT_OK;
            item_ok = false;
            break;
        case SGP32_EUICC_RESULT_DATA_PROCESSING_TERMINATED:
            item_ok = false;
            code = r->u.processing_terminated;
            break;
        case SGP32_EUICC_RESULT_DATA_SET_DEFAULT_DP_ADDRESS_RESULT:
            code = r->u.set_default_dp_address_result.set_default_dp_address_result;
            item_ok = code == 0;
            break;
        default:
            /* every other alternative is one INTEGER result code, 0 = ok */
            memcpy(&code, &r->u, sizeof code);
            item_ok = code == 0;
            break;
        }
        json_object_set_new(entry, "code", json_integer(code));
        json_object_set_new(entry, "ok", json_boolean(item_ok));
        json_array_append_new(summary, entry);
        if (!item_ok && first_failure == NULL) {
            first_failure = name;
            snprintf(ctx->reason_buf, sizeof ctx->reason_buf, "%s:%lld", name, (long long)code);
        }
        ok = ok && item_ok;
    }
    ctx->summary = json_dumps(summary, JSON_COMPACT);
    json_decref(summary);
    ctx->state = ok ? "succeeded" : "failed";
    ctx->reason = ok ? NULL : ctx->reason_buf;
}

static void free_record(record_ctx *ctx)
{
    free(ctx->ci_keys);
    free(ctx->summary);
    free(ctx->profiles);
    free(ctx->eims);
}

static void refuse(eim_server *server, const device_row *device, const char *why)
{
    metrics_counter_add(&server->results_refused, 1);
    LOG_WARN("eim", "result refused", LOG_STR("eid", device->eid), LOG_STR("why", why));
    rsp_error err = {0};
    json_t *detail = json_pack("{s:s}", "why", why);
    char *text = json_dumps(detail, JSON_COMPACT);
    /* relaxed: a refusal changes nothing and the device is told in the answer anyway */
    eim_storage_device_event_relaxed(device->conn, device->tenant_id, NULL, device->id,
                                     "result.refused", device->eid, text, &err);
    free(text);
    json_decref(detail);
}

static rsp_status run_record(eim_server *server, record_ctx *ctx, rsp_error *err)
{
    ctx->server = server;
    rsp_status status = store_transaction_on(ctx->device->conn, record_transaction, ctx, err);
    if (status == RSP_OK && ctx->outcome == OUTCOME_REFUSED)
        refuse(server, ctx->device, ctx->why != NULL ? ctx->why : "no matching package");
    else if (status == RSP_OK)
        metrics_counter_add(&server->results_accepted, 1);
    return status;
}

/* One EuiccPackageResult (BF51): verify the eUICC's signature, match the package, record
 * (SGP.32 v1.2 section 2.11.2.1). *ack receives the sequence number to acknowledge, if any. */
static rsp_status process_euicc_package_result(eim_server *server, const device_row *device,
                                               der_view raw, const sgp32_euicc_package_result *r,
                                               bool *has_ack, int64_t *ack, bool *refused,
                                               rsp_error *err)
{
    record_ctx ctx = {.device = device, .kind = EIM_KIND_EUICC_PACKAGE, .raw = raw};
    eim_package_outcome outcome;
    rsp_error verify_err = {0};
    *has_ack = false;
    *refused = true;
    bool is_signed = r->choice != SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_ERROR_UNSIGNED;
    if (is_signed && device->euicc_key == NULL) {
        refuse(server, device, "no eUICC certificate known for this EID");
        return RSP_OK;
    }
    /* A result names the eIM whose package it answers, and is signed with that eIM's
     * association token: another eIM's result (an IPA that sent the last result of a deleted
     * eIM to the eIM left on the eUICC) can be neither verified nor matched here. */
    der_view eim_id = r->choice == SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_RESULT_SIGNED
                          ? r->u.euicc_package_result_signed.euicc_package_result_data_signed.eim_id
                      : r->choice == SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_ERROR_SIGNED
                          ? r->u.euicc_package_error_signed.euicc_package_error_data_signed.eim_id
                          : r->u.euicc_package_error_unsigned.eim_id;
    const char *own_id = server->config.eim_id != NULL ? server->config.eim_id : "";
    if (eim_id.len != strlen(own_id) || memcmp(eim_id.data, own_id, eim_id.len) != 0) {
        refuse(server, device, "result for another eIM (eimId)");
        return RSP_OK;
    }
    if (eim_package_result_open(device->euicc_key, device->has_token ? &device->token : NULL, raw,
                                r, &outcome, &verify_err) != RSP_OK) {
        refuse(server, device, "eUICC signature does not verify");
        return RSP_OK;
    }
    ctx.package_result = &outcome;
    if (outcome.kind == EIM_RESULT_ERROR_UNSIGNED) {
        if (!outcome.has_transaction_id || outcome.transaction_id.len > EIM_TRANSACTION_ID_MAX) {
            refuse(server, device, "unsigned error without eimTransactionId");
            return RSP_OK;
        }
        der_hex_encode(outcome.transaction_id.data, outcome.transaction_id.len, ctx.txid, true);
        ctx.state = "failed";
        ctx.reason = "euiccPackageErrorUnsigned";
        ctx.summary = strdup("[{\"type\":\"euiccPackageErrorUnsigned\",\"ok\":false}]");
    } else if (outcome.kind == EIM_RESULT_SIGNED) {
        ctx.by_counter = true;
        ctx.counter = outcome.counter_value;
        ctx.has_seq = true;
        ctx.seq = outcome.seq_number;
        summarise_results(
            &ctx, &r->u.euicc_package_result_signed.euicc_package_result_data_signed.euicc_result);
    } else {
        ctx.by_counter = true;
        ctx.counter = outcome.counter_value;
        snprintf(ctx.reason_buf, sizeof ctx.reason_buf, "euiccPackageErrorCode:%lld",
                 (long long)outcome.error_code);
        ctx.state = "failed";
        ctx.reason = ctx.reason_buf;
        json_t *summary = json_pack("[{s:s, s:I, s:b}]", "type", "euiccPackageErrorSigned", "code",
                                    (json_int_t)outcome.error_code, "ok", 0);
        ctx.summary = json_dumps(summary, JSON_COMPACT);
        json_decref(summary);
    }
    rsp_status status = run_record(server, &ctx, err);
    if (status == RSP_OK && ctx.outcome != OUTCOME_REFUSED) {
        *refused = false;
        *has_ack = ctx.has_seq;
        *ack = ctx.seq;
    }
    free_record(&ctx);
    return status;
}

/* Version "1.2.0" from the IoT-specific info, free NVM (tag 82) from extCardResource, and
 * the CI key identifiers it verifies with. */
static void euicc_info2_facts(record_ctx *ctx, const sgp32_euicc_info2 *info, char *version,
                              size_t version_size)
{
    if (info->has_iot_specific_info && info->iot_specific_info.iot_version.count > 0) {
        const der_view *v = info->iot_specific_info.iot_version.items;
        if (v[0].len == 3) {
            snprintf(version, version_size, "%u.%u.%u", v[0].data[0], v[0].data[1], v[0].data[2]);
            ctx->version = version;
        }
    }
    json_t *keys = json_array();
    const der_view *ids = info->euicc_ci_pkid_list_for_verification.items;
    for (size_t i = 0; i < info->euicc_ci_pkid_list_for_verification.count; i++) {
        char hex[2 * 32 + 1];
        if (ids[i].len <= 32) {
            der_hex_encode(ids[i].data, ids[i].len, hex, true);
            json_array_append_new(keys, json_string(hex));
        }
    }
    free(ctx->ci_keys);
    ctx->ci_keys = json_dumps(keys, JSON_COMPACT);
    json_decref(keys);
    der_reader reader;
    der_reader_init(&reader, info->ext_card_resource, 0, 0);
    der_tlv tlv;
    rsp_error ignored = {0};
    while (!der_reader_at_end(&reader) && der_reader_next(&reader, &tlv, &ignored) == RSP_OK) {
        /* ETSI TS 102 226 section 8.2.1.3.2.1: an unsigned big-endian number of any width,
         * not a DER INTEGER (leading zero bytes are usual) */
        if (tlv.tag == 0x82 && tlv.value.len > 0 && tlv.value.len <= 7) {
            int64_t value = 0;
            for (size_t i = 0; i < tlv.value.len; i++)
                value = (value << 8) | tlv.value.data[i];
            ctx->free_nvm = value;
            ctx->has_free_nvm = true;
        }
    }
}

static rsp_status process_ipa_euicc_data(eim_server *server, const device_row *device, der_view raw,
                                         const sgp32_ipa_euicc_data_response *r, bool *refused,
                                         rsp_error *err)
{
    record_ctx ctx = {.device = device, .kind = EIM_KIND_IPA_EUICC_DATA, .raw = raw};
    der_view txid = {0};
    char version[16];
    uint8_t *certificate = NULL;
    json_t *summary = json_object();
    if (r->choice == SGP32_IPA_EUICC_DATA_RESPONSE_IPA_EUICC_DATA) {
        const sgp32_ipa_euicc_data *d = &r->u.ipa_euicc_data;
        if (d->has_eim_transaction_id)
            txid = d->eim_transaction_id;
        if (d->has_euicc_certificate && d->euicc_certificate.len > 1) {
            /* [6] Certificate implicitly tagged: restore the SEQUENCE tag for X.509. */
            certificate = malloc(d->euicc_certificate.len);
            if (certificate != NULL) {
                memcpy(certificate, d->euicc_certificate.data, d->euicc_certificate.len);
                certificate[0] = 0x30;
                ctx.certificate = certificate;
                ctx.certificate_len = d->euicc_certificate.len;
            }
        }
        if (d->has_association_token) {
            ctx.has_new_token = true;
            ctx.new_token = d->association_token;
        }
        if (d->has_euicc_info2)
            euicc_info2_facts(&ctx, &d->euicc_info2, version, sizeof version);
        if (d->has_default_smdp_address)
            json_object_set_new(summary, "defaultSmdpAddress",
                                json_stringn((const char *)d->default_smdp_address.data,
                                             d->default_smdp_address.len));
        json_object_set_new(summary, "certificate", json_boolean(ctx.certificate != NULL));
        if (ctx.version != NULL)
            json_object_set_new(summary, "sgp32Version", json_string(ctx.version));
        if (ctx.has_free_nvm)
            json_object_set_new(summary, "freeNvm", json_integer(ctx.free_nvm));
        ctx.state = "succeeded";
    } else {
        const sgp32_ipa_euicc_data_response_error *e = &r->u.ipa_euicc_data_response_error;
        if (e->has_eim_transaction_id)
            txid = e->eim_transaction_id;
        snprintf(ctx.reason_buf, sizeof ctx.reason_buf, "ipaEuiccDataErrorCode:%lld",
                 (long long)e->ipa_euicc_data_error_code);
        json_object_set_new(summary, "error", json_integer(e->ipa_euicc_data_error_code));
        ctx.state = "failed";
        ctx.reason = ctx.reason_buf;
    }
    ctx.summary = json_dumps(summary, JSON_COMPACT);
    json_decref(summary);
    rsp_status status = RSP_OK;
    *refused = true;
    if (txid.len == 0 || txid.len > 16) {
        refuse(server, device, "IpaEuiccData without eimTransactionId");
    } else if (ctx.certificate != NULL && server->ci_count > 0 && device->euicc_key == NULL) {
        /* A certificate learnt this way must chain to a trusted CI before results rely on
         * it; without the EUM certificate it cannot be checked here. */
        const sgp32_ipa_euicc_data *d = &r->u.ipa_euicc_data;
        rsp_certificate *euicc = NULL, *eum = NULL;
        rsp_error cert_err = {0};
        bool ok = d->has_eum_certificate && d->eum_certificate.len > 1;
        uint8_t *eum_der = ok ? malloc(d->eum_certificate.len) : NULL;
        if (eum_der != NULL) {
            memcpy(eum_der, d->eum_certificate.data, d->eum_certificate.len);
            eum_der[0] = 0x30;
        }
        ok = eum_der != NULL &&
             rsp_certificate_from_der(ctx.certificate, ctx.certificate_len, &euicc, &cert_err) ==
                 RSP_OK &&
             rsp_certificate_from_der(eum_der, d->eum_certificate.len, &eum, &cert_err) == RSP_OK &&
             rsp_certificate_verify(euicc, RSP_CERT_ROLE_EUICC, eum,
                                    (const rsp_certificate *const *)server->cis, server->ci_count,
                                    NULL, NULL, &cert_err) == RSP_OK;
        rsp_certificate_free(euicc);
        rsp_certificate_free(eum);
        free(eum_der);
        if (!ok) {
            ctx.certificate = NULL;
            LOG_WARN("eim", "eUICC certificate from IpaEuiccData not trusted",
                     LOG_STR("eid", device->eid), LOG_STR("why", cert_err.message));
        }
    }
    if (txid.len > 0 && txid.len <= 16) {
        der_hex_encode(txid.data, txid.len, ctx.txid, true);
        status = run_record(server, &ctx, err);
        *refused = ctx.outcome == OUTCOME_REFUSED;
    }
    free(certificate);
    free_record(&ctx);
    return status;
}

static rsp_status process_trigger_result(eim_server *server, const device_row *device, der_view raw,
                                         const sgp32_profile_download_trigger_result *r,
                                         bool *refused, rsp_error *err)
{
    record_ctx ctx = {.device = device, .kind = EIM_KIND_DOWNLOAD_TRIGGER, .raw = raw};
    char *reason = ctx.reason_buf;
    const sgp32_profile_download_trigger_result_data *d = &r->profile_download_trigger_result_data;
    json_t *summary = json_object();
    ctx.state = "failed";
    if (d->choice == SGP32_PROFILE_DOWNLOAD_TRIGGER_RESULT_DATA_PROFILE_INSTALLATION_RESULT) {
        const sgp22_final_result *f =
            &d->u.profile_installation_result.profile_installation_result_data.final_result;
        const sgp22_notification_metadata *metadata =
            &d->u.profile_installation_result.profile_installation_result_data
                 .notification_metadata;
        if (f->choice == SGP22_FINAL_RESULT_SUCCESS_RESULT) {
            ctx.state = "succeeded";
            if (metadata->has_iccid)
                iccid_text(metadata->iccid, ctx.installed_iccid, sizeof ctx.installed_iccid);
        } else {
            snprintf(reason, sizeof ctx.reason_buf, "errorReason:%lld",
                     (long long)f->u.error_result.error_reason);
            ctx.reason = reason;
        }
        json_object_set_new(summary, "profileInstallationResult",
                            json_string(ctx.reason == NULL ? "success" : ctx.reason));
    } else {
        snprintf(reason, sizeof ctx.reason_buf, "profileDownloadErrorReason:%lld",
                 (long long)d->u.profile_download_error.profile_download_error_reason);
        ctx.reason = reason;
        json_object_set_new(summary, "profileDownloadError", json_string(reason));
    }
    ctx.summary = json_dumps(summary, JSON_COMPACT);
    json_decref(summary);
    rsp_status status = RSP_OK;
    *refused = true;
    if (!r->has_eim_transaction_id || r->eim_transaction_id.len > 16) {
        refuse(server, device, "ProfileDownloadTriggerResult without eimTransactionId");
    } else {
        der_hex_encode(r->eim_transaction_id.data, r->eim_transaction_id.len, ctx.txid, true);
        status = run_record(server, &ctx, err);
        *refused = ctx.outcome == OUTCOME_REFUSED;
    }
    free_record(&ctx);
    return status;
}

static rsp_status process_package_error(eim_server *server, const device_row *device, der_view raw,
                                        const sgp32_eim_package_result_response_error *e,
                                        bool *refused, rsp_error *err)
{
    *refused = true;
    if (!e->has_eim_transaction_id || e->eim_transaction_id.len > 16) {
        refuse(server, device, "eimPackageResultResponseError without eimTransactionId");
        return RSP_OK;
    }
    /* The IPA could not process the package: whatever kind it was, it failed. */
    static const char *const kinds[] = {EIM_KIND_EUICC_PACKAGE, EIM_KIND_IPA_EUICC_DATA,
                                        EIM_KIND_DOWNLOAD_TRIGGER};
    char reason[48];
    snprintf(reason, sizeof reason, "eimPackageResultErrorCode:%lld",
             (long long)e->eim_package_result_error_code);
    rsp_status status = RSP_OK;
    for (size_t i = 0; i < 3 && *refused && status == RSP_OK; i++) {
        record_ctx ctx = {
            .device = device, .kind = kinds[i], .raw = raw, .state = "failed", .reason = reason};
        der_hex_encode(e->eim_transaction_id.data, e->eim_transaction_id.len, ctx.txid, true);
        ctx.summary = strdup("[{\"type\":\"eimPackageResultResponseError\",\"ok\":false}]");
        ctx.server = server;
        status = store_transaction_on(device->conn, record_transaction, &ctx, err);
        if (status == RSP_OK && ctx.outcome != OUTCOME_REFUSED) {
            *refused = false;
            metrics_counter_add(&server->results_accepted, 1);
        }
        free_record(&ctx);
    }
    if (status == RSP_OK && *refused)
        refuse(server, device, "no package with this eimTransactionId");
    return status;
}

static rsp_status load_device(eim_server *server, store_conn *conn, const char *eid,
                              device_row *device, bool *found, rsp_error *err)
{
    device->conn = conn;
    store_stmt *stmt = NULL;
    rsp_status status =
        store_prepare(conn,
                      "SELECT id, tenant_id, blocked, association_token, euicc_certificate, "
                      "euicc_key_curve, euicc_key_point FROM eim_devices WHERE eid = $1",
                      &stmt, err);
    if (status == RSP_OK) {
        store_bind_text(stmt, 1, eid);
        status = store_step(stmt, found, err);
        if (status == RSP_OK && *found) {
            device->id = store_column_int64(stmt, 0);
            device->tenant_id = store_column_int64(stmt, 1);
            device->blocked = store_column_int64(stmt, 2) != 0;
            device->has_token = !store_column_is_null(stmt, 3);
            device->token = store_column_int64(stmt, 3);
            /* the stored point is cheap to load; the certificate is the fallback */
            const char *curve = store_column_text(stmt, 5);
            size_t len = 0;
            const uint8_t *data = store_column_blob(stmt, 6, &len);
            if (curve == NULL || len == 0) {
                curve = NULL;
                data = store_column_blob(stmt, 4, &len);
            }
            device->cached =
                len > 0 ? eim_key_cache_get(server, device->id, curve, data, len) : NULL;
            device->euicc_key = device->cached != NULL ? device->cached->key : NULL;
            snprintf(device->eid, sizeof device->eid, "%s", eid);
        }
        store_finish(stmt);
    }
    return status;
}

/* SGP.32 v1.2 section 2.11.2.2: results the IPA returns inside IpaEuiccData (A2
 * euiccPackageResultList), e.g. when an earlier ProvideEimPackageResult was lost. Each is
 * verified and recorded like a direct result; the device is read again first, as the same
 * IpaEuiccData may just have taught the eIM its certificate. */
static rsp_status process_listed_results(eim_server *server, const char *eid,
                                         const device_row *device, der_view raw,
                                         const sgp32_ipa_euicc_data *data, int64_t *acks,
                                         size_t *ack_count, rsp_error *err)
{
    if (!data->has_euicc_package_result_list || data->euicc_package_result_list.count == 0)
        return RSP_OK;
    der_tlv outer, choice, child;
    der_reader reader;
    rsp_status status = der_parse_single(raw, &outer, err);
    if (status == RSP_OK)
        status = der_reader_enter(&outer, 0, &reader, err);
    if (status == RSP_OK)
        status = der_reader_next(&reader, &choice, err); /* A0 ipaEuiccData */
    bool found_list = false;
    if (status == RSP_OK)
        status = der_reader_enter(&choice, 1, &reader, err);
    while (status == RSP_OK && !found_list && !der_reader_at_end(&reader)) {
        status = der_reader_next(&reader, &child, err);
        found_list = status == RSP_OK && child.tag == 0xA2;
    }
    if (status != RSP_OK || !found_list)
        return status;
    device_row fresh = {0};
    bool found = false;
    status = load_device(server, device->conn, eid, &fresh, &found, err);
    if (status == RSP_OK)
        status = der_reader_enter(&child, 2, &reader, err);
    const sgp32_euicc_package_result *items = data->euicc_package_result_list.items;
    for (size_t i = 0; status == RSP_OK && found && i < data->euicc_package_result_list.count &&
                       i < EIM_MAX_LISTED_RESULTS && !der_reader_at_end(&reader);
         i++) {
        der_tlv item;
        bool has_ack = false, refused = false;
        int64_t ack = 0;
        status = der_reader_next(&reader, &item, err);
        if (status == RSP_OK)
            status = process_euicc_package_result(server, &fresh, item.whole, &items[i], &has_ack,
                                                  &ack, &refused, err);
        if (status == RSP_OK && has_ack)
            acks[(*ack_count)++] = ack;
    }
    eim_key_cache_release(server, fresh.cached);
    (void)device;
    return status;
}

/* Acknowledgements of one ProvideEimPackageResult answer (SGP.32 v1.2 section 6.3.2.7). */
typedef struct {
    int64_t seq[EIM_MAX_ACKNOWLEDGEMENTS];
    size_t count;
} ack_list;

static void ack_add(ack_list *acks, int64_t seq)
{
    if (acks->count < EIM_MAX_ACKNOWLEDGEMENTS)
        acks->seq[acks->count++] = seq;
}

/* One notification that came with a result (or inside a download result): forwarded now and
 * recorded in the result's commit (record_notes), then acknowledged, so the IPA removes it
 * from the eUICC instead of sending it again by HandleNotification. One that cannot be handled
 * is logged, goes to the history only and is not acknowledged: the IPA sends it again later. */
static void note_forward(eim_server *server, const device_row *device, der_view notification,
                         result_notes *notes)
{
    if (notes->count >= EIM_MAX_ACKNOWLEDGEMENTS)
        return; /* not acknowledged: it comes again */
    size_t i = notes->count++;
    rsp_error err = {0};
    notes->ok[i] = eim_relay_notification_forward(server, device->id, notification,
                                                  &notes->items[i], &err) == RSP_OK;
    if (!notes->ok[i])
        LOG_WARN("eim", "notification with a result not handled", LOG_STR("error", err.message));
}

/* SGP.32 v1.2 section 6.3.2.7: the notifications sent with a result (ePRAndNotifications
 * notificationList) take the HandleNotification path: forwarded to the SM-DP+ they name when
 * an order of this eIM named it, recorded, and acknowledged with the result. */
static void forward_notifications(eim_server *server, const device_row *device, der_view message,
                                  result_notes *notes)
{
    der_tlv outer, child, list;
    der_reader reader, items;
    rsp_error err = {0};
    if (der_parse_single(message, &outer, &err) != RSP_OK ||
        der_reader_enter(&outer, 0, &reader, &err) != RSP_OK)
        return;
    while (!der_reader_at_end(&reader) && der_reader_next(&reader, &child, &err) == RSP_OK) {
        if (child.tag != 0x30 || der_reader_enter(&child, 1, &items, &err) != RSP_OK)
            continue;
        while (!der_reader_at_end(&items) && der_reader_next(&items, &list, &err) == RSP_OK) {
            der_reader notifications;
            der_tlv notification;
            if (list.tag != 0xA0 || der_reader_enter(&list, 2, &notifications, &err) != RSP_OK)
                continue;
            while (!der_reader_at_end(&notifications) &&
                   der_reader_next(&notifications, &notification, &err) == RSP_OK)
                note_forward(server, device, notification.whole, notes);
        }
    }
}

/* The ProfileInstallationResult inside a ProfileDownloadTriggerResult (SGP.32 v1.2 section
 * 6.3.2.7) is also the eUICC's pending notification for the SM-DP+ (SGP.22 v2.5 section
 * 3.5): the eIM forwards it like one sent by HandleNotification and acknowledges it. */
static void forward_installation_result(eim_server *server, const device_row *device,
                                        der_view trigger_result, result_notes *notes)
{
    der_tlv outer, data;
    der_reader reader;
    rsp_error err = {0};
    if (der_parse_single(trigger_result, &outer, &err) != RSP_OK ||
        der_reader_enter(&outer, 0, &reader, &err) != RSP_OK)
        return;
    while (!der_reader_at_end(&reader) && der_reader_next(&reader, &data, &err) == RSP_OK)
        if (data.tag == 0xBF37)
            note_forward(server, device, data.whole, notes);
}

static rsp_status result_error(int64_t code, der_writer *out)
{
    sgp32_provide_eim_package_result_response response = {
        .choice = SGP32_PROVIDE_EIM_PACKAGE_RESULT_RESPONSE_PROVIDE_EIM_PACKAGE_RESULT_ERROR,
        .u.provide_eim_package_result_error = code,
    };
    return schema_encode(&sgp32_provide_eim_package_result_response_type, &response, out);
}

/* The BF51 TLV inside a ProvideEimPackageResult, directly or in ePRAndNotifications. */
static bool find_result_tlv(der_view message, uint32_t wanted, der_view *out)
{
    der_tlv outer, child;
    der_reader reader, inner;
    rsp_error ignored = {0};
    if (der_parse_single(message, &outer, &ignored) != RSP_OK ||
        der_reader_enter(&outer, 0, &reader, &ignored) != RSP_OK)
        return false;
    while (!der_reader_at_end(&reader) && der_reader_next(&reader, &child, &ignored) == RSP_OK) {
        if (child.tag == wanted) {
            *out = child.whole;
            return true;
        }
        if (child.tag == 0x30 && der_reader_enter(&child, 1, &inner, &ignored) == RSP_OK) {
            der_tlv first;
            if (der_reader_next(&inner, &first, &ignored) == RSP_OK && first.tag == wanted) {
                *out = first.whole;
                return true;
            }
        }
    }
    return false;
}

/* eimAcknowledgements when there is something to acknowledge, else emptyResponse (SGP.32
 * v1.2 section 6.3.2.7). */
static rsp_status acknowledge(ack_list *acks, der_writer *out)
{
    sgp32_provide_eim_package_result_response response = {0};
    if (acks->count > 0) {
        response.choice = SGP32_PROVIDE_EIM_PACKAGE_RESULT_RESPONSE_EIM_ACKNOWLEDGEMENTS;
        response.u.eim_acknowledgements.sequence_numbers.count = acks->count;
        response.u.eim_acknowledgements.sequence_numbers.items = acks->seq;
    } else {
        response.choice = SGP32_PROVIDE_EIM_PACKAGE_RESULT_RESPONSE_EMPTY_RESPONSE;
    }
    return schema_encode(&sgp32_provide_eim_package_result_response_type, &response, out);
}

/* The notifications a result carries are forwarded before the result is recorded, with no
 * connection held (the SM-DP+ may take seconds); the result's commit then records them
 * (record_notes). A forward needs no verified result: the notifications are the eUICC's own
 * signed ones, which anyone may hand over by HandleNotification. */
static rsp_status forward_with_result(eim_server *server, der_view message,
                                      const sgp32_eim_package_result *r, device_row *device,
                                      result_notes *notes, store_conn **conn, rsp_error *err)
{
    der_view trigger = {0};
    bool with_notifications = r->choice == SGP32_EIM_PACKAGE_RESULT_EPR_AND_NOTIFICATIONS;
    bool with_installation =
        r->choice == SGP32_EIM_PACKAGE_RESULT_PROFILE_DOWNLOAD_TRIGGER_RESULT &&
        find_result_tlv(message, 0xBF54, &trigger);
    if (!with_notifications && !with_installation)
        return RSP_OK;
    store_return(*conn);
    *conn = NULL;
    device->conn = NULL;
    if (with_notifications)
        forward_notifications(server, device, message, notes);
    else
        forward_installation_result(server, device, trigger, notes);
    device->notes = notes;
    rsp_status status = store_borrow(server->st, conn, err);
    device->conn = *conn;
    return status;
}

rsp_status eim_esipa_provide_result(eim_server *server, der_view message, der_writer *out,
                                    rsp_error *err)
{
    uint8_t *arena_buf = malloc(EIM_ARENA_SIZE);
    sgp32_provide_eim_package_result *value = malloc(sizeof *value);
    result_notes *notes = malloc(sizeof *notes);
    if (arena_buf == NULL || value == NULL || notes == NULL) {
        free(arena_buf);
        free(value);
        free(notes);
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "no memory for a result");
    }
    notes->count = 0;
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, EIM_ARENA_SIZE);
    rsp_status status =
        schema_decode(&sgp32_provide_eim_package_result_type, message, value, &arena, err);
    device_row device = {0};
    bool found = false, accepted = false, refused = true, has_ack = false;
    int64_t ack = 0;
    ack_list acks = {.count = 0};
    char eid[33];
    store_conn *conn = NULL;
    if (status == RSP_OK && value->has_eid_value && eim_eid_text(value->eid_value, eid))
        status = store_borrow(server->st, &conn, err);
    if (status != RSP_OK) {
        /* malformed: answered by the caller with HTTP 400 */
    } else if (!value->has_eid_value) {
        status = result_error(EIM_RESULT_ERROR_MISSING_EID, out);
    } else if (!eim_eid_text(value->eid_value, eid)) {
        status = result_error(EIM_RESULT_ERROR_INVALID_EID, out);
    } else if ((status = load_device(server, conn, eid, &device, &found, err)) != RSP_OK) {
        /* storage failure */
    } else if (!found) {
        status = result_error(EIM_RESULT_ERROR_EID_NOT_FOUND, out);
    } else if (device.blocked) {
        refuse(server, &device, "device is blocked");
        status = result_error(EIM_RESULT_ERROR_UNDEFINED, out);
    } else {
        const sgp32_eim_package_result *r = &value->eim_package_result;
        der_view raw = message;
        accepted = true;
        status = forward_with_result(server, message, r, &device, notes, &conn, err);
        switch (status == RSP_OK ? r->choice : -1) {
        case -1:
            break; /* storage failure */
        case SGP32_EIM_PACKAGE_RESULT_EUICC_PACKAGE_RESULT:
        case SGP32_EIM_PACKAGE_RESULT_EPR_AND_NOTIFICATIONS: {
            const sgp32_euicc_package_result *epr =
                r->choice == SGP32_EIM_PACKAGE_RESULT_EUICC_PACKAGE_RESULT
                    ? &r->u.euicc_package_result
                    : &r->u.epr_and_notifications.euicc_package_result;
            if (!find_result_tlv(message, 0xBF51, &raw))
                status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0xBF51, 0, "no EuiccPackageResult");
            else
                status = process_euicc_package_result(server, &device, raw, epr, &has_ack, &ack,
                                                      &refused, err);
            break;
        }
        case SGP32_EIM_PACKAGE_RESULT_IPA_EUICC_DATA_RESPONSE:
            if (find_result_tlv(message, 0xBF52, &raw))
                status = process_ipa_euicc_data(server, &device, raw, &r->u.ipa_euicc_data_response,
                                                &refused, err);
            if (status == RSP_OK && !refused &&
                r->u.ipa_euicc_data_response.choice == SGP32_IPA_EUICC_DATA_RESPONSE_IPA_EUICC_DATA)
                status = process_listed_results(server, eid, &device, raw,
                                                &r->u.ipa_euicc_data_response.u.ipa_euicc_data,
                                                acks.seq, &acks.count, err);
            break;
        case SGP32_EIM_PACKAGE_RESULT_PROFILE_DOWNLOAD_TRIGGER_RESULT:
            if (find_result_tlv(message, 0xBF54, &raw))
                status = process_trigger_result(
                    server, &device, raw, &r->u.profile_download_trigger_result, &refused, err);
            break;
        default:
            status = process_package_error(server, &device, message,
                                           &r->u.eim_package_result_response_error, &refused, err);
            break;
        }
    }
    /* the relay borrows its own connection */
    if (conn != NULL)
        store_return(conn);
    if (status == RSP_OK && accepted && !refused) {
        if (has_ack)
            ack_add(&acks, ack);
        for (size_t i = 0; i < notes->count; i++)
            if (notes->ok[i])
                ack_add(&acks, notes->items[i].seq_number);
        status = acknowledge(&acks, out);
    } else if (status == RSP_OK && accepted) {
        status = result_error(EIM_RESULT_ERROR_UNDEFINED, out);
    }
    eim_key_cache_release(server, device.cached);
    free(notes);
    free(value);
    free(arena_buf);
    return status;
}

/* ---- HTTP glue (SGP.32 v1.2 section 6.1: ASN.1 binding) ----------------------------- */

static bool is_asn1_content_type(const char *value)
{
    size_t n = strlen(EIM_ASN1_CONTENT_TYPE);
    return value != NULL && strncasecmp(value, EIM_ASN1_CONTENT_TYPE, n) == 0 &&
           (value[n] == '\0' || value[n] == ';' || value[n] == ' ');
}

static int answer_text(http_reply *reply, int status, const char *text)
{
    http_reply_borrowed(reply, status, "text/plain", text, strlen(text));
    return 0;
}

rsp_status eim_esipa_dispatch(eim_server *server, der_view message, der_writer *out,
                              bool *no_content, rsp_error *err)
{
    *no_content = false;
    der_tlv tlv;
    rsp_status status = der_parse_single(message, &tlv, err);
    if (status != RSP_OK)
        return status;
    switch (tlv.tag) {
    case 0xBF4F: {
        sgp32_get_eim_package_request poll;
        uint8_t arena_buf[256];
        schema_arena arena;
        schema_arena_init(&arena, arena_buf, sizeof arena_buf);
        status = schema_decode(&sgp32_get_eim_package_request_type, message, &poll, &arena, err);
        if (status == RSP_OK)
            status = eim_esipa_get_package(server, poll.eid_value, out, err);
        break;
    }
    case 0xBF50:
        status = eim_esipa_provide_result(server, message, out, err);
        break;
    case 0xBF3D: {
        /* HandleNotification: a result travels like ProvideEimPackageResult (no answer);
         * a pending notification goes to the relay. */
        der_reader reader;
        der_tlv inner;
        status = der_reader_enter(&tlv, 0, &reader, err);
        if (status == RSP_OK)
            status = der_reader_next(&reader, &inner, err);
        if (status == RSP_OK && inner.tag == 0xBF50)
            status = eim_esipa_provide_result(server, inner.whole, out, err);
        else if (status == RSP_OK)
            status = eim_relay_handle(server, message, out, err);
        *no_content = true;
        break;
    }
    case 0xBF39:
    case 0xBF3B:
    case 0xBF3A:
    case 0xBF41:
        status = eim_relay_handle(server, message, out, err);
        break;
    default:
        status = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, tlv.tag, 0,
                               "not an ESipa request of the eIM");
        break;
    }
    return status;
}

int eim_esipa_asn1_handle(const http_request *request, http_reply *reply, void *user)
{
    eim_server *server = user;
    if (strcmp(request->method, "POST") != 0)
        return answer_text(reply, 405, "POST only\n");
    if (!is_asn1_content_type(http_request_header(request, "Content-Type")))
        return answer_text(reply, 415, "Content-Type must be " EIM_ASN1_CONTENT_TYPE "\n");
    der_view message = der_view_make(request->body, request->body_len);
    rsp_error err = {0};
    der_writer out;
    der_writer_init_dynamic(&out, NULL);
    bool no_content = false;
    rsp_status status = eim_esipa_dispatch(server, message, &out, &no_content, &err);
    if (status == RSP_OK && no_content) {
        der_writer_free(&out);
        http_reply_borrowed(reply, 204, NULL, NULL, 0);
        return 0;
    }
    if (status == RSP_OK) {
        size_t len = 0;
        uint8_t *body = der_writer_take(&out, &len);
        http_reply_owned(reply, 200, EIM_ASN1_CONTENT_TYPE, body, len);
        der_writer_free(&out);
        return 0;
    }
    der_writer_free(&out);
    char text[200];
    rsp_error_format(&err, text, sizeof text);
    LOG_WARN("eim", "ESipa request failed", LOG_STR("error", text));
    bool client_fault = status < RSP_ERR_NO_MEMORY || status == RSP_ERR_UNSUPPORTED;
    if (status == RSP_ERR_IO)
        return answer_text(reply, 502, "SM-DP+ unreachable\n");
    return answer_text(reply, client_fault ? 400 : 500,
                       client_fault ? "malformed ESipa message\n" : "internal error\n");
}

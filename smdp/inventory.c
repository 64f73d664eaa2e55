/* SM-DP+ profile inventory: import and personalisation of SAIP packages, the order state
 * machine driven by ES2+ (operator) and ES9+ (download) calls, and the ES2+ progress callbacks
 * those calls cause, written to the outbox in the same database transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/activation_code.h"
#include "core/saip.h"
#include "crypto/certificate.h"
#include "crypto/ecdsa.h"
#include "crypto/random.h"
#include "net/json.h"
#include "smdp/inventory.h"

#define DEFAULT_CC_ATTEMPTS       5
#define DEFAULT_DOWNLOAD_ATTEMPTS 10

/* ---- states ---- */

static const char *const state_names[SMDP_PROFILE__COUNT] = {
    "available",  "allocated", "linked", "confirmed",   "released",
    "downloaded", "installed", "error",  "unavailable",
};

const char *smdp_profile_state_name(smdp_profile_state state)
{
    return (unsigned)state < SMDP_PROFILE__COUNT ? state_names[state] : "unknown";
}

bool smdp_profile_state_parse(const char *name, smdp_profile_state *out)
{
    for (unsigned i = 0; name != NULL && i < SMDP_PROFILE__COUNT; i++) {
        if (strcmp(name, state_names[i]) == 0) {
            *out = (smdp_profile_state)i;
            return true;
        }
    }
    return false;
}

/* SGP.22 v2.5 section 3.1.1 (download order life cycle, as the state list in inventory.h) */
bool smdp_profile_transition_allowed(smdp_profile_state from, smdp_profile_state to)
{
    switch (to) {
    case SMDP_PROFILE_ALLOCATED:
    case SMDP_PROFILE_LINKED:
        return from == SMDP_PROFILE_AVAILABLE;
    case SMDP_PROFILE_CONFIRMED:
        return from == SMDP_PROFILE_ALLOCATED || from == SMDP_PROFILE_LINKED;
    case SMDP_PROFILE_RELEASED:
        return from == SMDP_PROFILE_ALLOCATED || from == SMDP_PROFILE_LINKED ||
               from == SMDP_PROFILE_CONFIRMED;
    case SMDP_PROFILE_DOWNLOADED:
        return from == SMDP_PROFILE_RELEASED;
    case SMDP_PROFILE_INSTALLED:
    case SMDP_PROFILE_ERROR:
        return from == SMDP_PROFILE_DOWNLOADED;
    case SMDP_PROFILE_AVAILABLE:
    case SMDP_PROFILE_UNAVAILABLE:
        /* cancelOrder: any pending order; a profile on an eUICC (or failed there) cannot be
         * offered again. */
        return from == SMDP_PROFILE_ALLOCATED || from == SMDP_PROFILE_LINKED ||
               from == SMDP_PROFILE_CONFIRMED || from == SMDP_PROFILE_RELEASED ||
               (to == SMDP_PROFILE_UNAVAILABLE && from == SMDP_PROFILE_AVAILABLE);
    default:
        return false;
    }
}

const smdp_operator *smdp_inventory_operator(const smdp_inventory *inventory, const char *id)
{
    for (size_t i = 0; id != NULL && i < inventory->operator_count; i++)
        if (strcmp(inventory->operators[i].id, id) == 0)
            return &inventory->operators[i];
    return NULL;
}

/* ---- small helpers ---- */

static void copy_text(char *out, size_t size, const char *text)
{
    snprintf(out, size, "%s", text != NULL ? text : "");
}

static bool all_digits(const char *text, size_t min, size_t max)
{
    size_t len = text != NULL ? strlen(text) : 0;
    if (len < min || len > max)
        return false;
    for (size_t i = 0; i < len; i++)
        if (text[i] < '0' || text[i] > '9')
            return false;
    return true;
}

/* ES2+ ICCIDs are 19 or 20 digits, optionally with a trailing F pad (SGP.22 section 5.3). */
static bool normalise_iccid(const char *text, char out[SMDP_ICCID_SIZE])
{
    size_t len = text != NULL ? strlen(text) : 0;
    if (len == 20 && (text[19] == 'F' || text[19] == 'f'))
        len = 19;
    if (len < 19 || len > 20)
        return false;
    memcpy(out, text, len);
    out[len] = '\0';
    return all_digits(out, 19, 20);
}

static unsigned cc_limit(const smdp_inventory *inventory)
{
    return inventory->confirmation_code_max_attempts > 0 ? inventory->confirmation_code_max_attempts
                                                         : DEFAULT_CC_ATTEMPTS;
}

static unsigned download_limit(const smdp_inventory *inventory)
{
    return inventory->download_max_attempts > 0 ? inventory->download_max_attempts
                                                : DEFAULT_DOWNLOAD_ATTEMPTS;
}

/* ---- ICCID / IMSI arithmetic for batch personalisation ---- */

static bool luhn_valid(const char *digits)
{
    size_t len = strlen(digits);
    unsigned sum = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)(digits[len - 1 - i] - '0');
        if (i % 2 == 1)
            d = d * 2 > 9 ? d * 2 - 9 : d * 2;
        sum += d;
    }
    return sum % 10 == 0;
}

bool smdp_iccid_add_luhn(const char *digits_without_check, char out[SMDP_ICCID_SIZE])
{
    if (!all_digits(digits_without_check, 18, 19))
        return false;
    size_t len = strlen(digits_without_check);
    memcpy(out, digits_without_check, len);
    for (char check = '0'; check <= '9'; check++) {
        out[len] = check;
        out[len + 1] = '\0';
        if (luhn_valid(out))
            return true;
    }
    return false;
}

/* Adds value to a decimal digit string in place; false on overflow. */
static bool add_decimal(char *digits, size_t len, uint64_t value)
{
    for (size_t i = len; i-- > 0 && value > 0;) {
        uint64_t d = (uint64_t)(digits[i] - '0') + value % 10;
        value /= 10;
        if (d > 9) {
            d -= 10;
            value += 1;
        }
        digits[i] = (char)('0' + d);
    }
    return value == 0;
}

static bool next_iccid(const char *base, uint64_t index, char out[SMDP_ICCID_SIZE])
{
    char body[SMDP_ICCID_SIZE];
    size_t len = strlen(base);
    if (!all_digits(base, 19, 20))
        return false;
    if (luhn_valid(base)) {
        /* The last digit is a check digit: count in the body and recompute it. */
        memcpy(body, base, len - 1);
        body[len - 1] = '\0';
        return add_decimal(body, len - 1, index) && smdp_iccid_add_luhn(body, out);
    }
    memcpy(out, base, len + 1);
    return add_decimal(out, len, index);
}

/* TS 31.102 section 4.2.2: EF.IMSI = length, then digits in swapped nibbles with the parity
 * indicator in the first low nibble. */
static bool imsi_from_ef(const uint8_t *ef, size_t len, char out[16])
{
    if (len != 9 || ef[0] < 1 || ef[0] > 8)
        return false;
    size_t n = 0;
    for (size_t i = 1; i <= ef[0]; i++) {
        uint8_t nibbles[2] = {(uint8_t)(ef[i] & 0x0F), (uint8_t)(ef[i] >> 4)};
        for (size_t k = (i == 1 ? 1 : 0); k < 2; k++) {
            if (nibbles[k] == 0x0F)
                continue;
            if (nibbles[k] > 9 || n >= 15)
                return false;
            out[n++] = (char)('0' + nibbles[k]);
        }
    }
    out[n] = '\0';
    return n >= 6;
}

rsp_status smdp_personalise_copy(const uint8_t *package, size_t package_len, uint64_t index,
                                 uint8_t **out_owned, size_t *out_len, rsp_error *err)
{
    uint8_t arena_buffer[4096];
    schema_arena arena;
    saip_walker walker;
    saip_element first;
    saip_header header;
    char iccid[SMDP_ICCID_SIZE], new_iccid[SMDP_ICCID_SIZE];
    char imsi[16];
    bool has_imsi = false;
    der_view view = der_view_make(package, package_len);
    *out_owned = NULL;
    *out_len = 0;

    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    saip_walker_init(&walker, view);
    rsp_status st = saip_walker_next(&walker, &first, err);
    if (st == RSP_OK)
        st = saip_header_decode(first.tlv.whole, &header, &arena, err);
    if (st == RSP_OK)
        st = saip_iccid_digits(header.iccid, iccid, err);
    if (st != RSP_OK)
        return st;
    if (!next_iccid(iccid, index, new_iccid))
        return rsp_error_set(err, RSP_ERR_INTEGER_RANGE, 0, 0, "ICCID %s + %llu does not fit",
                             iccid, (unsigned long long)index);
    saip_file_content content;
    rsp_error lookup = {0};
    if (saip_find_file_content(view, SAIP_PE_USIM, "ef-imsi", 0, &content, &lookup) == RSP_OK ||
        saip_find_file_content(view, SAIP_PE_IOT, "ef-imsi", 0, &content, &lookup) == RSP_OK)
        has_imsi = imsi_from_ef(content.content.data, content.content.len, imsi);
    if (has_imsi && !add_decimal(imsi, strlen(imsi), index))
        return rsp_error_set(err, RSP_ERR_INTEGER_RANGE, 0, 0, "IMSI + %llu does not fit",
                             (unsigned long long)index);

    der_writer out;
    der_writer_init_dynamic(&out, NULL);
    saip_identity identity = {.iccid = new_iccid, .imsi = has_imsi ? imsi : NULL};
    st = saip_personalise(view, &identity, &out, err);
    if (st == RSP_OK)
        *out_owned = der_writer_take(&out, out_len);
    der_writer_free(&out);
    return st;
}

/* ---- import ---- */

typedef struct {
    const char *iccid;
    const char *operator_id;
    const char *profile_type;
    const uint8_t *package;
    size_t package_len;
    int64_t now;
    bool duplicate; /* the ICCID is already in the inventory */
} import_request;

/* The profile row and its package (table of its own: it never changes) in one transaction. */
static rsp_status import_in_transaction(store_conn *conn, void *context, rsp_error *err)
{
    import_request *request = context;
    const store_value profile[] = {
        STORE_VALUE_TEXT(request->iccid),
        STORE_VALUE_TEXT(request->operator_id),
        STORE_VALUE_TEXT(request->profile_type),
        STORE_VALUE_TEXT(state_names[SMDP_PROFILE_AVAILABLE]),
        STORE_VALUE_INT64(request->now),
    };
    const store_value package[] = {
        STORE_VALUE_TEXT(request->iccid),
        STORE_VALUE_BLOB(request->package, request->package_len),
    };
    rsp_status st = store_exec(conn,
                               "INSERT INTO smdp_profiles (iccid, operator_id, profile_type, state,"
                               " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
                               profile, 5, NULL, err);
    if (st == RSP_OK)
        st = store_exec(conn, "INSERT INTO smdp_packages (iccid, package) VALUES ($1, $2)", package,
                        2, NULL, err);
    request->duplicate = st != RSP_OK && store_last_failure(conn) == STORE_FAILURE_UNIQUE;
    return st;
}

rsp_status smdp_inventory_import(smdp_inventory *inventory, const char *operator_id,
                                 const uint8_t *package, size_t package_len,
                                 char iccid_out[SMDP_ICCID_SIZE], rsp_error *err)
{
    uint8_t arena_buffer[4096];
    schema_arena arena;
    saip_walker walker;
    saip_element first;
    saip_header header;
    der_view view = der_view_make(package, package_len);
    char profile_type[SMDP_ID_MAX + 1] = "";

    if (operator_id == NULL || operator_id[0] == '\0' || strlen(operator_id) > SMDP_ID_MAX)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "operator id of 1..%d chars",
                             SMDP_ID_MAX);
    rsp_status st = saip_validate(view, NULL, err);
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    saip_walker_init(&walker, view);
    if (st == RSP_OK)
        st = saip_walker_next(&walker, &first, err);
    if (st == RSP_OK)
        st = saip_header_decode(first.tlv.whole, &header, &arena, err);
    if (st == RSP_OK)
        st = saip_iccid_digits(header.iccid, iccid_out, err);
    if (st != RSP_OK)
        return st;
    if (header.has_profile_type)
        snprintf(profile_type, sizeof profile_type, "%.*s", (int)header.profile_type.len,
                 (const char *)header.profile_type.data);

    import_request request = {.iccid = iccid_out,
                              .operator_id = operator_id,
                              .profile_type = profile_type,
                              .package = package,
                              .package_len = package_len,
                              .now = smdp_inventory_now(inventory)};
    st = store_transaction(inventory->store, import_in_transaction, &request, err);
    if (st != RSP_OK && request.duplicate) {
        rsp_error_clear(err);
        st = rsp_error_set(err, RSP_ERR_STATE, 0, 0, "ICCID %s is already in the inventory",
                           iccid_out);
    }
    return st;
}

/* ---- profile rows ---- */

typedef struct {
    smdp_profile_info info;
    uint8_t cc_hash[32];
    char transaction_hex[33];
} profile_columns;

/* A profile row as an operation changes it, with the columns as read, so that an update
 * writes only what changed: every indexed column written costs index pages in the log. */
typedef struct {
    smdp_profile_info info;
    uint8_t cc_hash[32];
    char transaction_hex[33];
    bool loaded;
    profile_columns stored;
} profile_row;

#define PROFILE_COLUMNS                                                                            \
    "iccid, operator_id, profile_type, state, eid, matching_id, cc_hash, cc_attempts,"             \
    " download_attempts, blocked, updated_at, transaction_id, order_expires_at"

static rsp_status read_row(store_stmt *stmt, profile_row *row, rsp_error *err)
{
    memset(row, 0, sizeof *row);
    smdp_profile_info *info = &row->info;
    copy_text(info->iccid, sizeof info->iccid, store_column_text(stmt, 0));
    copy_text(info->operator_id, sizeof info->operator_id, store_column_text(stmt, 1));
    copy_text(info->profile_type, sizeof info->profile_type, store_column_text(stmt, 2));
    if (!smdp_profile_state_parse(store_column_text(stmt, 3), &info->state))
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "profile %s: unknown state",
                             info->iccid);
    copy_text(info->eid, sizeof info->eid, store_column_text(stmt, 4));
    copy_text(info->matching_id, sizeof info->matching_id, store_column_text(stmt, 5));
    size_t cc_len = 0;
    const uint8_t *cc = store_column_blob(stmt, 6, &cc_len);
    info->confirmation_code_required = cc_len == sizeof row->cc_hash;
    if (info->confirmation_code_required)
        memcpy(row->cc_hash, cc, cc_len);
    info->confirmation_code_attempts = (unsigned)store_column_int64(stmt, 7);
    info->download_attempts = (unsigned)store_column_int64(stmt, 8);
    info->blocked = store_column_int64(stmt, 9) != 0;
    info->updated_at = store_column_int64(stmt, 10);
    copy_text(row->transaction_hex, sizeof row->transaction_hex, store_column_text(stmt, 11));
    info->order_expires_at = store_column_is_null(stmt, 12) ? 0 : store_column_int64(stmt, 12);
    row->loaded = true;
    row->stored.info = row->info;
    memcpy(row->stored.cc_hash, row->cc_hash, sizeof row->cc_hash);
    memcpy(row->stored.transaction_hex, row->transaction_hex, sizeof row->transaction_hex);
    return RSP_OK;
}

/* Loads one row selected by `where` (one $1 parameter); locks it on PostgreSQL, where
 * concurrent transactions would otherwise both read the old state. */
static rsp_status load_row_where(store_conn *conn, const char *where, const char *value,
                                 profile_row *row, bool *found, rsp_error *err)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT " PROFILE_COLUMNS " FROM smdp_profiles WHERE %s%s", where,
             store_conn_dialect(conn) == STORE_DIALECT_POSTGRES ? " FOR UPDATE" : "");
    store_stmt *stmt = NULL;
    *found = false;
    rsp_status st = store_prepare(conn, sql, &stmt, err);
    if (st == RSP_OK)
        st = store_bind_text(stmt, 1, value);
    if (st == RSP_OK)
        st = store_step(stmt, found, err);
    if (st == RSP_OK && *found)
        st = read_row(stmt, row, err);
    if (stmt != NULL)
        store_finish(stmt);
    return st;
}

/* One column of an update: its name and new value, when it differs from what was read. */
typedef struct {
    char sql[512];
    size_t sql_len;
    store_value params[12];
    size_t count;
} row_update;

static void set_column(row_update *update, bool changed, const char *column, store_value value)
{
    if (!changed || update->count >= 10)
        return;
    update->params[update->count++] = value;
    int len = snprintf(update->sql + update->sql_len, sizeof update->sql - update->sql_len,
                       "%s %s = $%zu", update->count > 1 ? "," : "", column, update->count);
    if (len > 0)
        update->sql_len += (size_t)len;
}

static bool text_changed(const profile_row *row, const char *now, const char *before)
{
    return !row->loaded || strcmp(now, before) != 0;
}

static bool int_changed(const profile_row *row, int64_t now, int64_t before)
{
    return !row->loaded || now != before;
}

/* Writes the columns that differ from the row as read (all of them for a row not read), with
 * updated_at; nothing at all when nothing changed. */
static rsp_status save_row(store_conn *conn, smdp_inventory *inventory, const profile_row *row,
                           rsp_error *err)
{
    const smdp_profile_info *info = &row->info;
    const smdp_profile_info *before = &row->stored.info;
    row_update update = {.sql_len = 0};
    update.sql_len = (size_t)snprintf(update.sql, sizeof update.sql, "UPDATE smdp_profiles SET");
    set_column(&update, int_changed(row, info->state, before->state), "state",
               STORE_VALUE_TEXT(state_names[info->state]));
    set_column(&update, text_changed(row, info->eid, before->eid), "eid",
               info->eid[0] != '\0' ? STORE_VALUE_TEXT(info->eid) : STORE_VALUE_NULL());
    set_column(&update, text_changed(row, info->matching_id, before->matching_id), "matching_id",
               info->matching_id[0] != '\0' ? STORE_VALUE_TEXT(info->matching_id)
                                            : STORE_VALUE_NULL());
    bool cc_changed = !row->loaded ||
                      info->confirmation_code_required != before->confirmation_code_required ||
                      memcmp(row->cc_hash, row->stored.cc_hash, sizeof row->cc_hash) != 0;
    set_column(&update, cc_changed, "cc_hash",
               info->confirmation_code_required
                   ? STORE_VALUE_BLOB(row->cc_hash, sizeof row->cc_hash)
                   : STORE_VALUE_NULL());
    set_column(
        &update,
        int_changed(row, info->confirmation_code_attempts, before->confirmation_code_attempts),
        "cc_attempts", STORE_VALUE_INT64(info->confirmation_code_attempts));
    set_column(&update, int_changed(row, info->download_attempts, before->download_attempts),
               "download_attempts", STORE_VALUE_INT64(info->download_attempts));
    set_column(&update, int_changed(row, info->blocked, before->blocked), "blocked",
               STORE_VALUE_INT64(info->blocked ? 1 : 0));
    set_column(&update, text_changed(row, row->transaction_hex, row->stored.transaction_hex),
               "transaction_id",
               row->transaction_hex[0] != '\0' ? STORE_VALUE_TEXT(row->transaction_hex)
                                               : STORE_VALUE_NULL());
    set_column(&update, int_changed(row, info->order_expires_at, before->order_expires_at),
               "order_expires_at",
               info->order_expires_at > 0 ? STORE_VALUE_INT64(info->order_expires_at)
                                          : STORE_VALUE_NULL());
    if (update.count == 0)
        return RSP_OK;
    size_t changed = update.count;
    update.params[update.count++] = STORE_VALUE_INT64(smdp_inventory_now(inventory));
    update.params[update.count++] = STORE_VALUE_TEXT(info->iccid);
    int len = snprintf(update.sql + update.sql_len, sizeof update.sql - update.sql_len,
                       ", updated_at = $%zu WHERE iccid = $%zu", changed + 1, changed + 2);
    if (len < 0 || (size_t)len >= sizeof update.sql - update.sql_len)
        return rsp_error_set(err, RSP_ERR_BUFFER_TOO_SMALL, 0, 0, "profile update statement");
    return store_exec(conn, update.sql, update.params, update.count, NULL, err);
}

/* Back to a fresh Available (or Unavailable) profile: no order data survives a cancel. */
static void clear_order(profile_row *row, smdp_profile_state state)
{
    row->info.state = state;
    row->info.eid[0] = '\0';
    row->info.matching_id[0] = '\0';
    row->info.confirmation_code_required = false;
    row->info.confirmation_code_attempts = 0;
    row->info.download_attempts = 0;
    row->info.blocked = false;
    row->info.order_expires_at = 0;
    row->transaction_hex[0] = '\0';
    memset(row->cc_hash, 0, sizeof row->cc_hash);
}

/* Prepares `sql` (one $1 parameter, the ICCID) and steps to its row; no row is NOT_FOUND. The
 * caller finishes *stmt whenever it is non-NULL. */
static rsp_status select_by_iccid(store_conn *conn, const char *sql, const char *iccid,
                                  store_stmt **stmt, rsp_error *err)
{
    bool found = false;
    rsp_status st = store_prepare(conn, sql, stmt, err);
    if (st == RSP_OK)
        st = store_bind_text(*stmt, 1, iccid);
    if (st == RSP_OK)
        st = store_step(*stmt, &found, err);
    if (st == RSP_OK && !found)
        st = rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0, "no profile %s", iccid);
    return st;
}

rsp_status smdp_inventory_get(smdp_inventory *inventory, const char *iccid, smdp_profile_info *out,
                              rsp_error *err)
{
    store_conn *conn = NULL;
    rsp_status st = store_borrow(inventory->store, &conn, err);
    if (st != RSP_OK)
        return st;
    store_stmt *stmt = NULL;
    profile_row row;
    st = select_by_iccid(conn, "SELECT " PROFILE_COLUMNS " FROM smdp_profiles WHERE iccid = $1",
                         iccid, &stmt, err);
    if (st == RSP_OK && (st = read_row(stmt, &row, err)) == RSP_OK)
        *out = row.info;
    if (stmt != NULL)
        store_finish(stmt);
    store_return(conn);
    return st;
}

/* Copies the package blob in `column` into a malloc'd buffer the caller owns; an empty package
 * still gets a buffer: success always hands back a non-NULL package. */
static rsp_status copy_package_column(store_stmt *stmt, int column, uint8_t **package_owned,
                                      size_t *package_len, rsp_error *err)
{
    size_t len = 0;
    const uint8_t *data = store_column_blob(stmt, column, &len);
    *package_owned = malloc(len > 0 ? len : 1);
    if (*package_owned == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "package");
    if (len > 0)
        memcpy(*package_owned, data, len);
    *package_len = len;
    return RSP_OK;
}

rsp_status smdp_inventory_package(smdp_inventory *inventory, const char *iccid,
                                  uint8_t **package_owned, size_t *package_len, rsp_error *err)
{
    *package_owned = NULL;
    *package_len = 0;
    store_conn *conn = NULL;
    rsp_status st = store_borrow_reader(inventory->store, &conn, err);
    if (st != RSP_OK)
        return st;
    store_stmt *stmt = NULL;
    st = select_by_iccid(conn, "SELECT package FROM smdp_packages WHERE iccid = $1", iccid, &stmt,
                         err);
    if (st == RSP_OK)
        st = copy_package_column(stmt, 0, package_owned, package_len, err);
    if (stmt != NULL)
        store_finish(stmt);
    store_return(conn);
    return st;
}

rsp_status smdp_inventory_list(smdp_inventory *inventory, const char *operator_id,
                               smdp_profile_visit_fn fn, void *user, rsp_error *err)
{
    store_conn *conn = NULL;
    rsp_status st = store_borrow(inventory->store, &conn, err);
    if (st != RSP_OK)
        return st;
    store_stmt *stmt = NULL;
    st = store_prepare(conn,
                       "SELECT " PROFILE_COLUMNS " FROM smdp_profiles WHERE $1 = '' OR"
                       " operator_id = $1 ORDER BY iccid",
                       &stmt, err);
    if (st == RSP_OK)
        st = store_bind_text(stmt, 1, operator_id != NULL ? operator_id : "");
    bool has_row = false;
    while (st == RSP_OK && (st = store_step(stmt, &has_row, err)) == RSP_OK && has_row) {
        profile_row row;
        if ((st = read_row(stmt, &row, err)) == RSP_OK)
            fn(&row.info, user);
    }
    if (stmt != NULL)
        store_finish(stmt);
    store_return(conn);
    return st;
}

/* ---- ES2+ callbacks into the outbox ---- */

/* SGP.22 v2.5 section 5.3.5 ES2+.HandleDownloadProgressInfo request body. */
static json_t *progress_body(const smdp_inventory *inventory, const profile_row *row, int point,
                             const smdp_status_code_entry *failure, const uint8_t *result_data,
                             size_t result_len, int64_t now)
{
    char timestamp[32], call_id[96];
    time_t seconds = (time_t)now;
    struct tm tm;
    gmtime_r(&seconds, &tm);
    strftime(timestamp, sizeof timestamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(call_id, sizeof call_id, "%s-%d-%lld", row->info.iccid, point, (long long)now);
    json_t *body = json_object();
    json_t *status = json_object();
    if (body == NULL || status == NULL) {
        json_decref(body);
        json_decref(status);
        return NULL;
    }
    json_object_set_new(body, "header", rsp_json_request_header(inventory->smdp_address, call_id));
    if (row->info.eid[0] != '\0')
        json_object_set_new(body, "eid", json_string(row->info.eid));
    json_object_set_new(body, "iccid", json_string(row->info.iccid));
    json_object_set_new(body, "profileType", json_string(row->info.profile_type));
    json_object_set_new(body, "timestamp", json_string(timestamp));
    json_object_set_new(body, "notificationPointId", json_integer(point));
    json_object_set_new(status, "status",
                        json_string(rsp_execution_status_name(
                            failure == NULL ? RSP_EXECUTION_SUCCESS : RSP_EXECUTION_FAILED)));
    if (failure != NULL) {
        json_t *data = json_object();
        json_object_set_new(data, "subjectCode", json_string(failure->subject_code));
        json_object_set_new(data, "reasonCode", json_string(failure->reason_code));
        json_object_set_new(data, "message", json_string(failure->message));
        json_object_set_new(status, "statusCodeData", data);
    }
    json_object_set_new(body, "notificationPointStatus", status);
    if (result_data != NULL && result_len > 0)
        rsp_json_set_base64(body, "resultData", result_data, result_len);
    return body;
}

static rsp_status enqueue_progress(store_conn *conn, const smdp_inventory *inventory,
                                   const profile_row *row, int point,
                                   const smdp_status_code_entry *failure,
                                   const uint8_t *result_data, size_t result_len, rsp_error *err)
{
    const smdp_operator *op = smdp_inventory_operator(inventory, row->info.operator_id);
    if (op == NULL || op->callback_url[0] == '\0')
        return RSP_OK; /* this operator asked for no callbacks */
    int64_t now = smdp_inventory_now(inventory);
    json_t *body = progress_body(inventory, row, point, failure, result_data, result_len, now);
    char *text = body != NULL ? rsp_json_dump(body, NULL) : NULL;
    json_decref(body);
    if (text == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "callback body");
    const store_value params[] = {STORE_VALUE_TEXT(op->id), STORE_VALUE_TEXT(op->callback_url),
                                  STORE_VALUE_TEXT(text), STORE_VALUE_INT64(now)};
    rsp_status st = store_exec(conn,
                               "INSERT INTO smdp_outbox (operator_id, url, body, next_attempt_at)"
                               " VALUES ($1, $2, $3, $4)",
                               params, 4, NULL, err);
    free(text);
    return st;
}

/* ---- ES2+ operations ---- */

typedef struct {
    smdp_inventory *inventory;
    smdp_status outcome;
    profile_row row;
    const void *request;
    void *result;
} operation;

/* Loads the operator's profile for an ES2+ call, mapping absence and ownership to statuses. */
static rsp_status load_operator_profile(store_conn *conn, operation *op, const char *operator_id,
                                        const char *iccid_text, rsp_error *err)
{
    char iccid[SMDP_ICCID_SIZE];
    bool found = false;
    if (iccid_text == NULL) {
        op->outcome = SMDP_STATUS_ICCID_MISSING;
        return RSP_OK;
    }
    if (!normalise_iccid(iccid_text, iccid)) {
        op->outcome = SMDP_STATUS_ICCID_INVALID;
        return RSP_OK;
    }
    rsp_status st = load_row_where(conn, "iccid = $1", iccid, &op->row, &found, err);
    if (st == RSP_OK && !found)
        op->outcome = SMDP_STATUS_ICCID_UNKNOWN;
    else if (st == RSP_OK && strcmp(op->row.info.operator_id, operator_id) != 0)
        op->outcome = SMDP_STATUS_ICCID_NOT_ALLOWED;
    return st;
}

/* Picks an Available profile of the type for the operator (claim in the same statement). */
static rsp_status pick_by_type(store_conn *conn, operation *op, const smdp_download_order *order,
                               rsp_error *err)
{
    int64_t known = 0;
    const store_value params[] = {STORE_VALUE_TEXT(order->operator_id),
                                  STORE_VALUE_TEXT(order->profile_type)};
    rsp_status st = store_query_int64(conn,
                                      "SELECT COUNT(*) FROM smdp_profiles WHERE operator_id = $1"
                                      " AND profile_type = $2",
                                      params, 2, &known, err);
    if (st != RSP_OK)
        return st;
    if (known == 0) {
        op->outcome = SMDP_STATUS_PROFILE_TYPE_UNKNOWN;
        return RSP_OK;
    }
    char sql[400];
    snprintf(sql, sizeof sql,
             /* the state as a literal, so that the planner takes the partial index */
             "SELECT iccid FROM smdp_profiles WHERE operator_id = $1 AND profile_type = $2 AND"
             " state = 'available' ORDER BY iccid LIMIT 1%s",
             store_conn_dialect(conn) == STORE_DIALECT_POSTGRES ? " FOR UPDATE SKIP LOCKED" : "");
    store_stmt *stmt = NULL;
    bool found = false;
    char iccid[SMDP_ICCID_SIZE] = "";
    st = store_prepare(conn, sql, &stmt, err);
    if (st == RSP_OK)
        st = store_bind_values(stmt, params, 2);
    if (st == RSP_OK)
        st = store_step(stmt, &found, err);
    if (st == RSP_OK && found)
        copy_text(iccid, sizeof iccid, store_column_text(stmt, 0));
    if (stmt != NULL)
        store_finish(stmt);
    if (st == RSP_OK && !found)
        op->outcome = SMDP_STATUS_PROFILE_TYPE_UNAVAILABLE;
    if (st == RSP_OK && found)
        st = load_row_where(conn, "iccid = $1", iccid, &op->row, &found, err);
    return st;
}

static rsp_status download_order_in_transaction(store_conn *conn, void *context, rsp_error *err)
{
    operation *op = context;
    const smdp_download_order *order = op->request;
    rsp_status st = RSP_OK;
    op->outcome = SMDP_STATUS_OK;
    if (order->eid != NULL && !rsp_eid_is_valid(order->eid)) {
        op->outcome = SMDP_STATUS_EID_INVALID;
        return RSP_OK;
    }
    if (order->iccid != NULL) {
        st = load_operator_profile(conn, op, order->operator_id, order->iccid, err);
        if (st == RSP_OK && op->outcome == SMDP_STATUS_OK && order->profile_type != NULL &&
            strcmp(order->profile_type, op->row.info.profile_type) != 0)
            op->outcome = SMDP_STATUS_PROFILE_TYPE_UNKNOWN;
        if (st == RSP_OK && op->outcome == SMDP_STATUS_OK &&
            op->row.info.state != SMDP_PROFILE_AVAILABLE)
            op->outcome = SMDP_STATUS_ICCID_IN_USE;
    } else if (order->profile_type != NULL) {
        st = pick_by_type(conn, op, order, err);
    } else {
        op->outcome = SMDP_STATUS_ICCID_MISSING;
    }
    if (st != RSP_OK || op->outcome != SMDP_STATUS_OK)
        return st;
    op->row.info.state = order->eid != NULL ? SMDP_PROFILE_LINKED : SMDP_PROFILE_ALLOCATED;
    copy_text(op->row.info.eid, sizeof op->row.info.eid, order->eid);
    st = save_row(conn, op->inventory, &op->row, err);
    if (st == RSP_OK)
        copy_text(op->result, SMDP_ICCID_SIZE, op->row.info.iccid);
    return st;
}

static smdp_status run_operation(smdp_inventory *inventory, store_transaction_fn fn, operation *op,
                                 rsp_error *err)
{
    op->inventory = inventory;
    rsp_status st = store_transaction(inventory->store, fn, op, err);
    return st == RSP_OK ? op->outcome : SMDP_STATUS_INTERNAL;
}

/* For changes a power cut may lose because the client starts over (store.h). */
static smdp_status run_operation_relaxed(smdp_inventory *inventory, store_transaction_fn fn,
                                         operation *op, rsp_error *err)
{
    op->inventory = inventory;
    rsp_status st = store_transaction_relaxed(inventory->store, fn, op, err);
    return st == RSP_OK ? op->outcome : SMDP_STATUS_INTERNAL;
}

/* SGP.22 v2.5 section 5.3.1 ES2+.DownloadOrder */
smdp_status smdp_order_download(smdp_inventory *inventory, const smdp_download_order *order,
                                char iccid_out[SMDP_ICCID_SIZE], rsp_error *err)
{
    operation op = {.request = order, .result = iccid_out};
    iccid_out[0] = '\0';
    return run_operation(inventory, download_order_in_transaction, &op, err);
}

/* AC_Token of SGP.22 section 4.1: upper-case letters, digits and '-'. Grouped for reading
 * aloud; 20 random symbols of 36 carry about 103 bits. */
static rsp_status generate_matching_id(char out[SMDP_MATCHING_SIZE], rsp_error *err)
{
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    size_t n = 0;
    while (n < 23) {
        uint8_t bytes[32];
        if (rsp_random_bytes(bytes, sizeof bytes) != RSP_OK)
            return rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "random matching ID");
        for (size_t i = 0; i < sizeof bytes && n < 23; i++) {
            if (n % 6 == 5) {
                out[n++] = '-';
                continue;
            }
            if (bytes[i] >= 252) /* 252 = 7 * 36: reject to keep the symbols uniform */
                continue;
            out[n++] = alphabet[bytes[i] % 36];
        }
    }
    out[n] = '\0';
    return RSP_OK;
}

static rsp_status matching_id_taken(store_conn *conn, const char *matching_id, bool *taken,
                                    rsp_error *err)
{
    int64_t count = 0;
    const store_value params[] = {STORE_VALUE_TEXT(matching_id)};
    rsp_status st = store_query_int64(
        conn, "SELECT COUNT(*) FROM smdp_profiles WHERE matching_id = $1", params, 1, &count, err);
    *taken = count > 0;
    return st;
}

static rsp_status confirm_order_in_transaction(store_conn *conn, void *context, rsp_error *err)
{
    operation *op = context;
    const smdp_confirm_order *order = op->request;
    smdp_confirm_result *result = op->result;
    op->outcome = SMDP_STATUS_OK;
    rsp_status st = load_operator_profile(conn, op, order->operator_id, order->iccid, err);
    if (st != RSP_OK || op->outcome != SMDP_STATUS_OK)
        return st;
    smdp_profile_info *info = &op->row.info;
    smdp_profile_state target = order->release ? SMDP_PROFILE_RELEASED : SMDP_PROFILE_CONFIRMED;
    if (info->state != SMDP_PROFILE_ALLOCATED && info->state != SMDP_PROFILE_LINKED) {
        op->outcome = SMDP_STATUS_ICCID_INVALID_TRANSITION;
        return RSP_OK;
    }
    if (order->eid != NULL && !rsp_eid_is_valid(order->eid)) {
        op->outcome = SMDP_STATUS_EID_INVALID;
        return RSP_OK;
    }
    if (order->eid != NULL && info->eid[0] != '\0' && strcmp(order->eid, info->eid) != 0) {
        op->outcome = SMDP_STATUS_EID_INVALID_ASSOCIATION;
        return RSP_OK;
    }
    if (order->smds_address != NULL &&
        !activation_code_address_valid(order->smds_address, strlen(order->smds_address))) {
        op->outcome = SMDP_STATUS_SMDS_ADDRESS_INVALID;
        return RSP_OK;
    }
    if (order->matching_id != NULL) {
        bool taken = false;
        if (order->matching_id[0] == '\0' || strlen(order->matching_id) >= SMDP_MATCHING_SIZE ||
            !activation_code_matching_id_valid(order->matching_id, strlen(order->matching_id))) {
            op->outcome = SMDP_STATUS_MATCHING_ID_REFUSED;
            return RSP_OK;
        }
        if ((st = matching_id_taken(conn, order->matching_id, &taken, err)) != RSP_OK)
            return st;
        if (taken) {
            op->outcome = SMDP_STATUS_MATCHING_ID_IN_USE;
            return RSP_OK;
        }
        copy_text(info->matching_id, sizeof info->matching_id, order->matching_id);
    } else if ((st = generate_matching_id(info->matching_id, err)) != RSP_OK) {
        return st;
    }
    if (order->eid != NULL)
        copy_text(info->eid, sizeof info->eid, order->eid);
    info->confirmation_code_required = order->confirmation_code != NULL;
    if (info->confirmation_code_required) {
        /* Only SHA-256(CC) is kept: that is all the eUICC's hash needs. */
        const uint8_t *parts[] = {(const uint8_t *)order->confirmation_code};
        const size_t lens[] = {strlen(order->confirmation_code)};
        if ((st = rsp_sha256(parts, lens, 1, op->row.cc_hash)) != RSP_OK)
            return rsp_error_set(err, st, 0, 0, "confirmation code hash");
    }
    info->state = target;
    if (op->inventory->order_ttl_seconds > 0)
        info->order_expires_at =
            smdp_inventory_now(op->inventory) + op->inventory->order_ttl_seconds;
    st = save_row(conn, op->inventory, &op->row, err);
    if (st == RSP_OK) {
        copy_text(result->eid, sizeof result->eid, info->eid);
        copy_text(result->matching_id, sizeof result->matching_id, info->matching_id);
    }
    return st;
}

/* SGP.22 v2.5 section 5.3.2 ES2+.ConfirmOrder */
smdp_status smdp_order_confirm(smdp_inventory *inventory, const smdp_confirm_order *order,
                               smdp_confirm_result *result, rsp_error *err)
{
    operation op = {.request = order, .result = result};
    memset(result, 0, sizeof *result);
    if (order->confirmation_code != NULL &&
        (order->confirmation_code[0] == '\0' || strlen(order->confirmation_code) > 64))
        return SMDP_STATUS_INVALID_DATA;
    return run_operation(inventory, confirm_order_in_transaction, &op, err);
}

static rsp_status cancel_order_in_transaction(store_conn *conn, void *context, rsp_error *err)
{
    operation *op = context;
    const smdp_cancel_order *order = op->request;
    op->outcome = SMDP_STATUS_OK;
    rsp_status st = load_operator_profile(conn, op, order->operator_id, order->iccid, err);
    if (st != RSP_OK || op->outcome != SMDP_STATUS_OK)
        return st;
    smdp_profile_info *info = &op->row.info;
    smdp_profile_state target =
        order->make_unavailable ? SMDP_PROFILE_UNAVAILABLE : SMDP_PROFILE_AVAILABLE;
    if (!smdp_profile_transition_allowed(info->state, target) ||
        info->state == SMDP_PROFILE_AVAILABLE) {
        op->outcome = SMDP_STATUS_ICCID_INVALID_TRANSITION;
        return RSP_OK;
    }
    if (order->eid != NULL && strcmp(order->eid, info->eid) != 0) {
        op->outcome = SMDP_STATUS_EID_INVALID_ASSOCIATION;
        return RSP_OK;
    }
    if (order->matching_id != NULL && strcmp(order->matching_id, info->matching_id) != 0) {
        op->outcome = SMDP_STATUS_MATCHING_ID_INVALID_ASSOCIATION;
        return RSP_OK;
    }
    clear_order(&op->row, target);
    st = smdp_sessions_end_for_profile_on(conn, info->iccid, err);
    if (st == RSP_OK)
        st = save_row(conn, op->inventory, &op->row, err);
    return st;
}

/* SGP.22 v2.5 section 5.3.3 ES2+.CancelOrder */
smdp_status smdp_order_cancel(smdp_inventory *inventory, const smdp_cancel_order *order,
                              rsp_error *err)
{
    operation op = {.request = order};
    return run_operation(inventory, cancel_order_in_transaction, &op, err);
}

typedef struct {
    const char *operator_id;
    const char *iccid;
} release_request;

static rsp_status release_in_transaction(store_conn *conn, void *context, rsp_error *err)
{
    operation *op = context;
    const release_request *request = op->request;
    op->outcome = SMDP_STATUS_OK;
    rsp_status st = load_operator_profile(conn, op, request->operator_id, request->iccid, err);
    if (st != RSP_OK || op->outcome != SMDP_STATUS_OK)
        return st;
    if (op->row.info.state != SMDP_PROFILE_CONFIRMED) {
        op->outcome = SMDP_STATUS_ICCID_INVALID_TRANSITION;
        return RSP_OK;
    }
    op->row.info.state = SMDP_PROFILE_RELEASED;
    return save_row(conn, op->inventory, &op->row, err);
}

/* SGP.22 v2.5 section 5.3.4 ES2+.ReleaseProfile */
smdp_status smdp_order_release(smdp_inventory *inventory, const char *operator_id,
                               const char *iccid, rsp_error *err)
{
    release_request request = {operator_id, iccid};
    operation op = {.request = &request};
    return run_operation(inventory, release_in_transaction, &op, err);
}

/* ---- ES9+ side ---- */

typedef struct {
    const char *matching_id;
    const char *eid;
    const char *transaction_hex;
    char *iccid_out;
    bool *cc_required;
    const smdp_session_record *advance; /* session step stored with the binding, or NULL */
    int64_t expected_step;
    bool *raced; /* with advance: set when the transaction rolled back for a race */
} begin_request;

/* The order checks of authenticateClient on the row of the request's matching ID (or of the
 * Released order bound to its EID); op->outcome receives the verdict. */
static rsp_status check_begin(store_conn *conn, operation *op, bool *found, rsp_error *err)
{
    const begin_request *request = op->request;
    rsp_status st;
    op->outcome = SMDP_STATUS_OK;
    if (request->matching_id != NULL && request->matching_id[0] != '\0')
        st = load_row_where(conn, "matching_id = $1", request->matching_id, &op->row, found, err);
    else
        /* No matching ID: the default SM-DP+ / SM-DS case, an order bound to this EID. */
        st = load_row_where(conn, "eid = $1 AND state = 'released' ORDER BY iccid LIMIT 1",
                            request->eid, &op->row, found, err);
    if (st != RSP_OK)
        return st;
    smdp_profile_info *info = &op->row.info;
    if (!*found)
        op->outcome = SMDP_STATUS_MATCHING_ID_REFUSED;
    else if (info->eid[0] != '\0' && strcmp(info->eid, request->eid) != 0)
        op->outcome = SMDP_STATUS_EID_REFUSED;
    else if (info->state == SMDP_PROFILE_CONFIRMED)
        op->outcome = SMDP_STATUS_PROFILE_NOT_RELEASED;
    else if (info->state != SMDP_PROFILE_RELEASED)
        op->outcome = SMDP_STATUS_MATCHING_ID_REFUSED;
    else if (info->blocked)
        op->outcome = SMDP_STATUS_CONFIRMATION_CODE_RETRIES;
    else if (info->order_expires_at > 0 &&
             smdp_inventory_now(op->inventory) >= info->order_expires_at)
        op->outcome = SMDP_STATUS_ORDER_EXPIRED;
    else if (info->download_attempts >= download_limit(op->inventory))
        op->outcome = SMDP_STATUS_DOWNLOAD_RETRIES;
    if (op->outcome == SMDP_STATUS_OK) {
        copy_text(request->iccid_out, SMDP_ICCID_SIZE, info->iccid);
        *request->cc_required = info->confirmation_code_required;
    }
    return RSP_OK;
}

/* Rolls back the combined transaction: the order or the session moved on since the check. */
static rsp_status begin_raced(const begin_request *request, rsp_error *err, const char *why)
{
    *request->raced = true;
    return rsp_error_set(err, RSP_ERR_STATE, 0, 0, "%s", why);
}

static rsp_status begin_in_transaction(store_conn *conn, void *context, rsp_error *err)
{
    operation *op = context;
    const begin_request *request = op->request;
    bool found = false;
    if (request->raced != NULL)
        *request->raced = false; /* a re-run after a conflict starts afresh */
    rsp_status st = check_begin(conn, op, &found, err);
    if (st != RSP_OK || !found)
        return st;
    /* The callback names the eUICC that asked, whether or not the order was bound to it. */
    profile_row reported = op->row;
    copy_text(reported.info.eid, sizeof reported.info.eid, request->eid);
    if (op->outcome != SMDP_STATUS_OK && request->advance == NULL) {
        /* A transaction ID that already had its session (a replayed authenticateClient, its
         * ID still young) is refused as unknown, before any report of the refusal. */
        bool used = false;
        st = smdp_session_exists_on(conn, request->transaction_hex, &used, err);
        if (st != RSP_OK || used) {
            if (used)
                op->outcome = SMDP_STATUS_TRANSACTION_UNKNOWN;
            return st;
        }
    }
    if (op->outcome != SMDP_STATUS_OK) {
        /* A refused eligibility check is reported to the operator too (point 1, Failed). */
        if (op->outcome != SMDP_STATUS_MATCHING_ID_REFUSED ||
            op->row.info.state == SMDP_PROFILE_RELEASED)
            st = enqueue_progress(conn, op->inventory, &reported, SMDP_POINT_ELIGIBILITY,
                                  smdp_status_code(op->outcome), NULL, 0, err);
        return st;
    }
    if (request->advance != NULL) {
        /* The order checked before the answer was built must be the one bound now. */
        bool advanced = false;
        if (strcmp(op->row.info.iccid, request->advance->iccid) != 0)
            return begin_raced(request, err, "another order matched meanwhile");
        st =
            smdp_session_advance_on(conn, request->advance, request->expected_step, &advanced, err);
        if (st == RSP_OK && !advanced)
            st = begin_raced(request, err, "transaction moved on concurrently");
        if (st != RSP_OK)
            return st;
    }
    op->row.info.download_attempts++;
    copy_text(op->row.transaction_hex, sizeof op->row.transaction_hex, request->transaction_hex);
    st = save_row(conn, op->inventory, &op->row, err);
    if (st == RSP_OK)
        st = enqueue_progress(conn, op->inventory, &reported, SMDP_POINT_ELIGIBILITY, NULL, NULL, 0,
                              err);
    return st;
}

/* SGP.22 v2.5 section 5.6.2 (authenticateClient), order checks */
smdp_status smdp_order_begin_download(smdp_inventory *inventory, const char *matching_id,
                                      const char *eid, const char *transaction_hex,
                                      char iccid_out[SMDP_ICCID_SIZE], bool *cc_required,
                                      rsp_error *err)
{
    begin_request request = {matching_id, eid, transaction_hex, iccid_out, cc_required, NULL,
                             0,           NULL};
    operation op = {.request = &request};
    iccid_out[0] = '\0';
    *cc_required = false;
    /* Relaxed: what a power cut may lose is one counted attempt and the transaction's binding
     * to the order (its session, written after, is lost with it); the eUICC starts over. */
    return run_operation_relaxed(inventory, begin_in_transaction, &op, err);
}

/* SGP.22 v2.5 section 5.6.2 (authenticateClient), order checks without a write */
smdp_status smdp_order_check_download(smdp_inventory *inventory, const char *matching_id,
                                      const char *eid, char iccid_out[SMDP_ICCID_SIZE],
                                      bool *cc_required, smdp_profile_info *info,
                                      uint8_t cc_hash[32], rsp_error *err)
{
    begin_request request = {matching_id, eid, NULL, iccid_out, cc_required, NULL, 0, NULL};
    operation op = {.inventory = inventory, .request = &request};
    store_conn *conn = NULL;
    bool found = false;
    iccid_out[0] = '\0';
    *cc_required = false;
    rsp_status st = store_borrow_reader(inventory->store, &conn, err);
    if (st == RSP_OK) {
        st = check_begin(conn, &op, &found, err);
        store_return(conn);
    }
    if (st != RSP_OK)
        return SMDP_STATUS_INTERNAL;
    if (op.outcome == SMDP_STATUS_OK && info != NULL)
        *info = op.row.info;
    if (op.outcome == SMDP_STATUS_OK && cc_hash != NULL)
        memcpy(cc_hash, op.row.cc_hash, sizeof op.row.cc_hash);
    return op.outcome;
}

/* SGP.22 v2.5 section 5.6.2 (authenticateClient done): the order checks again, the attempt
 * counted and the transaction bound, with the session's next step, in one relaxed commit. */
smdp_status smdp_order_begin_download_session(smdp_inventory *inventory, const char *matching_id,
                                              const char *eid, const smdp_session_record *next,
                                              int64_t expected_step, rsp_error *err)
{
    char iccid[SMDP_ICCID_SIZE];
    bool cc_required = false, raced = false;
    begin_request request = {matching_id,  eid,  next->transaction_hex, iccid,
                             &cc_required, next, expected_step,         &raced};
    operation op = {.request = &request};
    smdp_status status = run_operation_relaxed(inventory, begin_in_transaction, &op, err);
    if (raced) {
        /* rolled back: a duplicate request took the session, or another order matched */
        rsp_error_clear(err);
        status = SMDP_STATUS_TRANSACTION_UNKNOWN;
    }
    return status;
}

static rsp_status cc_failed_in_transaction(store_conn *conn, void *context, rsp_error *err)
{
    operation *op = context;
    const char *iccid = op->request;
    bool found = false;
    op->outcome = SMDP_STATUS_CONFIRMATION_CODE_REFUSED;
    rsp_status st = load_row_where(conn, "iccid = $1", iccid, &op->row, &found, err);
    if (st != RSP_OK || !found)
        return st;
    smdp_profile_info *info = &op->row.info;
    /* Committed although the call fails: the attempt must count. */
    info->confirmation_code_attempts++;
    if (info->blocked || info->confirmation_code_attempts >= cc_limit(op->inventory)) {
        info->blocked = true;
        op->outcome = SMDP_STATUS_CONFIRMATION_CODE_RETRIES;
    }
    st = save_row(conn, op->inventory, &op->row, err);
    if (st == RSP_OK)
        st = enqueue_progress(conn, op->inventory, &op->row, SMDP_POINT_CONFIRMATION,
                              smdp_status_code(op->outcome), NULL, 0, err);
    return st;
}

/* SGP.22 v2.5 section 5.6.2 (getBoundProfilePackage), confirmation code retry limit */
smdp_status smdp_order_confirmation_code_failed(smdp_inventory *inventory, const char *iccid,
                                                rsp_error *err)
{
    operation op = {.request = iccid};
    return run_operation(inventory, cc_failed_in_transaction, &op, err);
}

rsp_status smdp_inventory_order_data(smdp_inventory *inventory, const char *iccid,
                                     smdp_profile_info *info, uint8_t cc_hash[32],
                                     uint8_t **package_owned, size_t *package_len, rsp_error *err)
{
    *package_owned = NULL;
    *package_len = 0;
    store_conn *conn = NULL;
    rsp_status st = store_borrow_reader(inventory->store, &conn, err);
    if (st != RSP_OK)
        return st;
    store_stmt *stmt = NULL;
    profile_row row;
    st = select_by_iccid(conn,
                         "SELECT " PROFILE_COLUMNS ", package FROM smdp_profiles"
                         " JOIN smdp_packages USING (iccid) WHERE iccid = $1",
                         iccid, &stmt, err);
    if (st == RSP_OK)
        st = read_row(stmt, &row, err);
    if (st == RSP_OK) {
        *info = row.info;
        memcpy(cc_hash, row.cc_hash, sizeof row.cc_hash);
        st = copy_package_column(stmt, 13, package_owned, package_len, err);
    }
    if (stmt != NULL)
        store_finish(stmt);
    store_return(conn);
    return st;
}

typedef struct {
    const char *iccid;
    const char *eid;
    smdp_profile_state target;
    int point;
    const smdp_status_code_entry *failure;
    const uint8_t *result_data;
    size_t result_len;
    const smdp_session_record *advance; /* session step stored with the change, or NULL */
    int64_t expected_step;
    const char *end_session;                     /* session ended with the change, or NULL */
    const smdp_notification_entry *notification; /* recorded with the change, or NULL */
    bool undo_download; /* Downloaded -> Released, outside the ES2+ state machine */
} progress_request;

static rsp_status progress_in_transaction(store_conn *conn, void *context, rsp_error *err)
{
    operation *op = context;
    const progress_request *request = op->request;
    bool found = false;
    op->outcome = SMDP_STATUS_OK;
    rsp_status st = load_row_where(conn, "iccid = $1", request->iccid, &op->row, &found, err);
    if (st != RSP_OK)
        return st;
    bool allowed = request->undo_download
                       ? op->row.info.state == SMDP_PROFILE_DOWNLOADED
                       : smdp_profile_transition_allowed(op->row.info.state, request->target);
    if (!found || !allowed) {
        op->outcome = SMDP_STATUS_BPP_NOT_AVAILABLE;
        return RSP_OK;
    }
    bool advanced = true;
    if (request->advance != NULL)
        st = smdp_session_continue_on(conn, request->advance, request->expected_step, &advanced,
                                      err);
    if (st == RSP_OK && request->end_session != NULL)
        st = smdp_session_end_on(conn, request->end_session, err);
    if (st == RSP_OK && request->notification != NULL)
        st = smdp_notification_record_on(conn, request->notification,
                                         smdp_inventory_now(op->inventory), err);
    if (st != RSP_OK)
        return st;
    if (!advanced) {
        /* A duplicate of this request won: nothing written, so nothing to roll back. */
        op->outcome = SMDP_STATUS_TRANSACTION_UNKNOWN;
        return RSP_OK;
    }
    op->row.info.state = request->target;
    /* The profile now belongs to this eUICC whether or not the order named it. */
    copy_text(op->row.info.eid, sizeof op->row.info.eid, request->eid);
    st = save_row(conn, op->inventory, &op->row, err);
    if (st == RSP_OK)
        st = enqueue_progress(conn, op->inventory, &op->row, request->point, request->failure,
                              request->result_data, request->result_len, err);
    return st;
}

/* SGP.22 v2.5 section 5.6.2 (getBoundProfilePackage done), notification point 3 */
smdp_status smdp_order_downloaded(smdp_inventory *inventory, const char *iccid, const char *eid,
                                  const smdp_session_record *next, int64_t expected_step,
                                  rsp_error *err)
{
    progress_request request = {.iccid = iccid,
                                .eid = eid,
                                .target = SMDP_PROFILE_DOWNLOADED,
                                .point = SMDP_POINT_BPP_DOWNLOAD,
                                .advance = next,
                                .expected_step = expected_step};
    operation op = {.request = &request};
    return run_operation(inventory, progress_in_transaction, &op, err);
}

/* SGP.22 v2.5 section 5.6.5 (cancelSession after the BPP was delivered, before any
 * installation result): the order is released again for a new download session, and the
 * operator hears that the BPP download failed (notification point 3). */
smdp_status smdp_order_download_cancelled(smdp_inventory *inventory, const char *iccid,
                                          const char *eid, int64_t reason,
                                          const smdp_session_record *next, int64_t expected_step,
                                          rsp_error *err)
{
    char message[96];
    snprintf(message, sizeof message, "session cancelled by the eUICC: reason %lld",
             (long long)reason);
    smdp_status_code_entry failure = {"8.1", "4.2", message};
    progress_request request = {.iccid = iccid,
                                .eid = eid,
                                .target = SMDP_PROFILE_RELEASED,
                                .point = SMDP_POINT_BPP_DOWNLOAD,
                                .failure = &failure,
                                .advance = next,
                                .expected_step = expected_step,
                                .undo_download = true};
    operation op = {.request = &request};
    return run_operation(inventory, progress_in_transaction, &op, err);
}

/* SGP.22 v2.5 section 5.6.4 (handleNotification, install result), notification point 4 */
smdp_status smdp_order_install_result(smdp_inventory *inventory, const char *iccid, const char *eid,
                                      bool success, int bpp_command_id, int error_reason,
                                      const uint8_t *result_data, size_t result_len,
                                      const char *transaction_hex,
                                      const smdp_notification_entry *notification, rsp_error *err)
{
    /* SGP.22 v2.5 section 5.3.5: the failure is described by bppCommandId / errorReason in
     * the message; resultData carries the eUICC's own result for the operator. */
    char message[96];
    snprintf(message, sizeof message, "installation failed: bppCommandId %d, errorReason %d",
             bpp_command_id, error_reason);
    smdp_status_code_entry failure = {"8.1", "4.2", message};
    progress_request request = {.iccid = iccid,
                                .eid = eid,
                                .target = success ? SMDP_PROFILE_INSTALLED : SMDP_PROFILE_ERROR,
                                .point = SMDP_POINT_BPP_INSTALLATION,
                                .failure = success ? NULL : &failure,
                                .result_data = result_data,
                                .result_len = result_len,
                                .end_session = transaction_hex,
                                .notification = notification};
    operation op = {.request = &request};
    return run_operation(inventory, progress_in_transaction, &op, err);
}

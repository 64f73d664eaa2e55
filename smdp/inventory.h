/* SM-DP+ profile inventory and its durable state: profiles (SAIP packages) with their order
 * state machine, download sessions shared by several server processes, the ES2+ callback
 * outbox and received notifications, all in one database behind store/store.h (SQLite by
 * default, PostgreSQL for scale-out).
 *
 * Profile life cycle (SGP.22 v2.5 section 3.1.1 and 5.3):
 *   Available -> Allocated (downloadOrder without EID) or Linked (with EID)
 *   -> Confirmed (confirmOrder, releaseFlag false) or Released (releaseFlag true)
 *   Confirmed -> Released (releaseProfile)
 *   Released -> Downloaded (BPP handed out) -> Installed (install notification, success)
 *   Downloaded -> Error (install notification, failure)
 *   any order state -> Available or Unavailable (cancelOrder)
 *
 * Every operation runs in one database transaction, so concurrent servers never hand one
 * profile out twice, and the ES2+ callbacks an operation causes are written to the outbox in
 * the same transaction (a crash after the commit loses no callback).
 *
 * Functional refusals are reported as smdp_status values, which map one to one onto the
 * SGP.22 subjectCode / reasonCode pairs (smdp_status_code()); SMDP_STATUS_INTERNAL means an
 * infrastructure failure described in the rsp_error. */
#ifndef RSPKIT_SMDP_INVENTORY_H
#define RSPKIT_SMDP_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "store/store.h"

/* A persisted ES9+ session (defined with the session functions below). */
typedef struct smdp_session_record smdp_session_record;

/* ---- SGP.22 status codes -------------------------------------------------------------- */

typedef enum {
    SMDP_STATUS_OK = 0,
    SMDP_STATUS_INTERNAL,                 /* 1.2 / 4.2 function provider, execution error */
    SMDP_STATUS_REQUESTER_UNKNOWN,        /* 1.1 / 1.1 function requester, unknown */
    SMDP_STATUS_MANDATORY_MISSING,        /* 1.2 / 2.2 mandatory element missing */
    SMDP_STATUS_INVALID_DATA,             /* 1.2 / 2.1 invalid */
    SMDP_STATUS_ICCID_UNKNOWN,            /* 8.2.1 / 3.9 */
    SMDP_STATUS_ICCID_NOT_ALLOWED,        /* 8.2.1 / 1.2 another operator's profile */
    SMDP_STATUS_ICCID_IN_USE,             /* 8.2.1 / 3.3 */
    SMDP_STATUS_ICCID_MISSING,            /* 8.2.1 / 2.2 */
    SMDP_STATUS_ICCID_INVALID,            /* 8.2.1 / 2.1 */
    SMDP_STATUS_ICCID_INVALID_TRANSITION, /* 8.2.1 / 3.5 */
    SMDP_STATUS_PROFILE_TYPE_UNKNOWN,     /* 8.2.5 / 3.9 */
    SMDP_STATUS_PROFILE_TYPE_UNAVAILABLE, /* 8.2.5 / 3.7 */
    SMDP_STATUS_EID_INVALID,              /* 8.1.1 / 2.1 */
    SMDP_STATUS_EID_INVALID_ASSOCIATION,  /* 8.1.1 / 3.10 */
    SMDP_STATUS_EID_REFUSED,              /* 8.1.1 / 3.8 (ES9+: order bound to another EID) */
    SMDP_STATUS_MATCHING_ID_REFUSED,      /* 8.2.6 / 3.8 */
    SMDP_STATUS_MATCHING_ID_IN_USE,       /* 8.2.6 / 3.3 */
    SMDP_STATUS_MATCHING_ID_INVALID_ASSOCIATION, /* 8.2.6 / 3.10 */
    SMDP_STATUS_CONFIRMATION_CODE_MISSING,       /* 8.2.7 / 2.2 */
    SMDP_STATUS_CONFIRMATION_CODE_REFUSED,       /* 8.2.7 / 3.8 */
    SMDP_STATUS_CONFIRMATION_CODE_RETRIES,       /* 8.2.7 / 6.4 */
    SMDP_STATUS_PROFILE_NOT_RELEASED,            /* 8.2 / 1.2 */
    SMDP_STATUS_BPP_NOT_AVAILABLE,               /* 8.2 / 3.7 */
    SMDP_STATUS_DOWNLOAD_RETRIES,                /* 8.8.5 / 6.4 */
    SMDP_STATUS_ORDER_EXPIRED,                   /* 8.8.5 / 4.10 */
    SMDP_STATUS_TRANSACTION_UNKNOWN,             /* 8.10.1 / 3.9 */
    SMDP_STATUS_SMDS_ADDRESS_INVALID,            /* 8.9.1 / 2.1 */
    SMDP_STATUS__COUNT
} smdp_status;

typedef struct {
    const char *subject_code;
    const char *reason_code;
    const char *message; /* the condition in the words of the SGP.22 tables */
} smdp_status_code_entry;

/* SGP.22 v2.5 section 6.5.1.4 (statusCodeData) for each status; never NULL. */
const smdp_status_code_entry *smdp_status_code(smdp_status status);

/* ---- profile states ------------------------------------------------------------------- */

typedef enum {
    SMDP_PROFILE_AVAILABLE = 0,
    SMDP_PROFILE_ALLOCATED,
    SMDP_PROFILE_LINKED,
    SMDP_PROFILE_CONFIRMED,
    SMDP_PROFILE_RELEASED,
    SMDP_PROFILE_DOWNLOADED,
    SMDP_PROFILE_INSTALLED,
    SMDP_PROFILE_ERROR,
    SMDP_PROFILE_UNAVAILABLE,
    SMDP_PROFILE__COUNT
} smdp_profile_state;

/* "available", "allocated", ... as stored in the database. */
const char *smdp_profile_state_name(smdp_profile_state state);
bool smdp_profile_state_parse(const char *name, smdp_profile_state *out);
/* Whether the state machine above allows from -> to. */
bool smdp_profile_transition_allowed(smdp_profile_state from, smdp_profile_state to);

/* ---- configuration -------------------------------------------------------------------- */

#define SMDP_ID_MAX        64
#define SMDP_URL_MAX       256
#define SMDP_ICCID_SIZE    21 /* 19 or 20 digits + NUL */
#define SMDP_EID_TEXT_SIZE 33
#define SMDP_MATCHING_SIZE 65

/* An operator (mobile network operator) allowed on ES2+. */
typedef struct {
    char id[SMDP_ID_MAX + 1];
    bool has_api_key;
    uint8_t api_key_sha256[32]; /* SHA-256 of the API key (the key itself is not kept) */
    bool has_certificate;
    uint8_t certificate_sha256[32];  /* SHA-256 of the DER TLS client certificate */
    char callback_url[SMDP_URL_MAX]; /* handleDownloadProgressInfo target; "" for none */
} smdp_operator;

typedef int64_t (*smdp_clock_fn)(void *user);

typedef struct {
    store *store;                   /* borrowed */
    const smdp_operator *operators; /* borrowed */
    size_t operator_count;
    char smdp_address[256]; /* "host" or "host:port", as written in activation codes */
    unsigned confirmation_code_max_attempts; /* 0: 5 */
    unsigned download_max_attempts;          /* 0: 10 */
    int64_t session_ttl_seconds;             /* 0: 600 */
    int64_t order_ttl_seconds;               /* confirmed orders expire after this; 0: never */
    smdp_clock_fn clock;                     /* NULL: time(NULL); tests move time forward */
    void *clock_user;
} smdp_inventory;

int64_t smdp_inventory_now(const smdp_inventory *inventory);
/* The operator with this id, or NULL. */
const smdp_operator *smdp_inventory_operator(const smdp_inventory *inventory, const char *id);

/* ---- storage --------------------------------------------------------------------------- */

/* Applies the "smdp" migrations (both dialects); safe from several processes at once. */
rsp_status smdp_storage_migrate(store *st, rsp_error *err);
/* The migrations up to `version` only: for testing how a later one moves existing data. */
rsp_status smdp_storage_migrate_to(store *st, unsigned version, rsp_error *err);

/* ---- import ----------------------------------------------------------------------------- */

/* Validates a SAIP package (core/saip.h), reads ICCID and profile type from its header and
 * stores it as Available for operator_id. A profile with the same ICCID is refused with
 * RSP_ERR_STATE. iccid_out receives the digits. */
rsp_status smdp_inventory_import(smdp_inventory *inventory, const char *operator_id,
                                 const uint8_t *package, size_t package_len,
                                 char iccid_out[SMDP_ICCID_SIZE], rsp_error *err);
/* Writes copy `index` (0-based) of a package personalised with the ICCID base+index (the Luhn
 * digit recomputed when the base has 19 or 20 digits with a check digit: the last digit of a
 * 19-digit ICCID, the 19th of a 20-digit one) and, when the package has an IMSI, IMSI
 * base+index. out_owned is malloc'd. */
rsp_status smdp_personalise_copy(const uint8_t *package, size_t package_len, uint64_t index,
                                 uint8_t **out_owned, size_t *out_len, rsp_error *err);
/* ICCID digits with a correct Luhn check digit: first 18 (or 19) digits given. */
bool smdp_iccid_add_luhn(const char *digits_without_check, char out[SMDP_ICCID_SIZE]);

/* ---- profiles ----------------------------------------------------------------------------- */

typedef struct {
    char iccid[SMDP_ICCID_SIZE];
    char operator_id[SMDP_ID_MAX + 1];
    char profile_type[SMDP_ID_MAX + 1];
    smdp_profile_state state;
    char eid[SMDP_EID_TEXT_SIZE];         /* "" when not bound */
    char matching_id[SMDP_MATCHING_SIZE]; /* "" when none */
    bool confirmation_code_required;
    unsigned confirmation_code_attempts;
    unsigned download_attempts;
    bool blocked;             /* confirmation code retries exhausted */
    int64_t order_expires_at; /* 0: the order does not expire */
    int64_t updated_at;
} smdp_profile_info;

/* RSP_ERR_NOT_FOUND when absent. */
rsp_status smdp_inventory_get(smdp_inventory *inventory, const char *iccid, smdp_profile_info *out,
                              rsp_error *err);
/* The SAIP package of a profile; *package_owned is malloc'd. */
rsp_status smdp_inventory_package(smdp_inventory *inventory, const char *iccid,
                                  uint8_t **package_owned, size_t *package_len, rsp_error *err);
/* Calls fn for every profile of operator_id (NULL: all), ordered by ICCID. */
typedef void (*smdp_profile_visit_fn)(const smdp_profile_info *profile, void *user);
rsp_status smdp_inventory_list(smdp_inventory *inventory, const char *operator_id,
                               smdp_profile_visit_fn fn, void *user, rsp_error *err);

/* ---- ES2+ operations (SGP.22 v2.5 section 5.3) ------------------------------------------ */

typedef struct {
    const char *operator_id;  /* the authenticated requester */
    const char *eid;          /* optional */
    const char *iccid;        /* optional (then profile_type) */
    const char *profile_type; /* optional */
} smdp_download_order;

/* SGP.22 v2.5 section 5.3.1 ES2+.DownloadOrder */
smdp_status smdp_order_download(smdp_inventory *inventory, const smdp_download_order *order,
                                char iccid_out[SMDP_ICCID_SIZE], rsp_error *err);

typedef struct {
    const char *operator_id;
    const char *iccid;
    const char *eid;               /* optional */
    const char *matching_id;       /* optional: generated when absent */
    const char *confirmation_code; /* optional */
    const char *smds_address;      /* optional; recorded */
    bool release;
} smdp_confirm_order;

typedef struct {
    char eid[SMDP_EID_TEXT_SIZE]; /* "" when none */
    char matching_id[SMDP_MATCHING_SIZE];
} smdp_confirm_result;

/* SGP.22 v2.5 section 5.3.2 ES2+.ConfirmOrder */
smdp_status smdp_order_confirm(smdp_inventory *inventory, const smdp_confirm_order *order,
                               smdp_confirm_result *result, rsp_error *err);

typedef struct {
    const char *operator_id;
    const char *iccid;
    const char *eid;         /* optional: must match the order */
    const char *matching_id; /* optional: must match the order */
    bool make_unavailable;   /* finalProfileStatusIndicator "Unavailable" */
} smdp_cancel_order;

/* SGP.22 v2.5 section 5.3.3 ES2+.CancelOrder; also ends the profile's download sessions. */
smdp_status smdp_order_cancel(smdp_inventory *inventory, const smdp_cancel_order *order,
                              rsp_error *err);
/* SGP.22 v2.5 section 5.3.4 ES2+.ReleaseProfile */
smdp_status smdp_order_release(smdp_inventory *inventory, const char *operator_id,
                               const char *iccid, rsp_error *err);

/* ---- ES9+ side: order lookup and progress -------------------------------------------------- */

/* SGP.22 v2.5 section 5.6.2 (authenticateClient) order checks: finds the Released profile for
 * matching_id (or, when matching_id is empty, the one Released and bound to eid), checks the
 * EID binding, the order's expiry and the download retry limit, counts the attempt, and binds
 * the transaction.
 * iccid_out receives the profile; cc_required tells whether a confirmation code is needed.
 * Notification point 1 goes to the operator's outbox. */
smdp_status smdp_order_begin_download(smdp_inventory *inventory, const char *matching_id,
                                      const char *eid, const char *transaction_hex,
                                      char iccid_out[SMDP_ICCID_SIZE], bool *cc_required,
                                      rsp_error *err);
/* The checks of smdp_order_begin_download without any write (nothing counted, nothing sent to
 * the operator): what authenticateClient needs before it builds its answer. When the order
 * passes, info and cc_hash (SHA-256 of the confirmation code, zero when none; either may be
 * NULL) receive what the answer is built from. */
smdp_status smdp_order_check_download(smdp_inventory *inventory, const char *matching_id,
                                      const char *eid, char iccid_out[SMDP_ICCID_SIZE],
                                      bool *cc_required, smdp_profile_info *info,
                                      uint8_t cc_hash[32], rsp_error *err);
/* smdp_order_begin_download for the order of next->iccid with the session's next step stored
 * in the same (relaxed) transaction, compare-and-set on expected_step. A refused check is
 * handled as by smdp_order_begin_download; TRANSACTION_UNKNOWN and no change when another
 * request took the session or another order now matches. */
smdp_status smdp_order_begin_download_session(smdp_inventory *inventory, const char *matching_id,
                                              const char *eid, const smdp_session_record *next,
                                              int64_t expected_step, rsp_error *err);
/* SGP.22 v2.5 section 5.6.3 (getBoundProfilePackage): a wrong confirmation code (the
 * download core found the eUICC's hash wrong) counts against the order's retry limit, across
 * sessions; at the limit the order is blocked and every later attempt gets
 * CONFIRMATION_CODE_RETRIES until the operator cancels it. Returns CONFIRMATION_CODE_REFUSED
 * or CONFIRMATION_CODE_RETRIES; notification point 2 (Failed) goes to the outbox. */
smdp_status smdp_order_confirmation_code_failed(smdp_inventory *inventory, const char *iccid,
                                                rsp_error *err);
/* What the binding needs of a profile: its state and EID binding, SHA-256(CC) (zero when no
 * code is required) and the package (*package_owned malloc'd). RSP_ERR_NOT_FOUND if absent. */
rsp_status smdp_inventory_order_data(smdp_inventory *inventory, const char *iccid,
                                     smdp_profile_info *info, uint8_t cc_hash[32],
                                     uint8_t **package_owned, size_t *package_len, rsp_error *err);
/* Released -> Downloaded when the BPP is handed out (notification point 3). When next is set,
 * the session's next step is stored in the same transaction (compare-and-set on
 * expected_step); TRANSACTION_UNKNOWN and no change when another request got there first. */
smdp_status smdp_order_downloaded(smdp_inventory *inventory, const char *iccid, const char *eid,
                                  const smdp_session_record *next, int64_t expected_step,
                                  rsp_error *err);
/* cancelSession after the BPP was handed out (signed by the eUICC, no installation result
 * yet): Downloaded -> Released so that a new session can download the profile, with the
 * session's next step stored in the same transaction as for smdp_order_downloaded; the
 * operator gets notification point 3 as failed. */
smdp_status smdp_order_download_cancelled(smdp_inventory *inventory, const char *iccid,
                                          const char *eid, int64_t reason,
                                          const smdp_session_record *next, int64_t expected_step,
                                          rsp_error *err);
/* A received notification, recorded for audit. */
typedef struct {
    const char *eid;
    const char *iccid; /* NULL or "" when it names none */
    int64_t sequence_number;
    int event; /* bit number of profileManagementOperation, -1 when none is set */
    const uint8_t *data;
    size_t len;
} smdp_notification_entry;

/* Install result (notification point 4): Downloaded -> Installed on success, else Error with
 * the SGP.22 bppCommandId / errorReason in the callback. result_data (may be NULL) is the
 * ProfileInstallationResult DER, passed on as resultData. The session transaction_hex (may be
 * NULL) ends in the same transaction, and notification (may be NULL) is recorded in it. */
smdp_status smdp_order_install_result(smdp_inventory *inventory, const char *iccid, const char *eid,
                                      bool success, int bpp_command_id, int error_reason,
                                      const uint8_t *result_data, size_t result_len,
                                      const char *transaction_hex,
                                      const smdp_notification_entry *notification, rsp_error *err);

/* ---- download sessions --------------------------------------------------------------------- */

/* A persisted ES9+ session: the download core's serialised state plus a step counter. Each
 * ES9+ call loads the session at the step it expects and stores the next step with a
 * compare-and-set on `step`, so a replayed or concurrent request for the same step loses and
 * changes nothing, and any server process can continue a transaction. */
struct smdp_session_record {
    char transaction_hex[33];
    char iccid[SMDP_ICCID_SIZE];  /* "" before authenticateClient */
    char eid[SMDP_EID_TEXT_SIZE]; /* "" before authenticateClient */
    int64_t step;                 /* SMDP_SESSION_ENDED once over */
    int64_t expires_at;
    /* Not in the database yet (a session smdp_session_resume() restored): advancing it
     * inserts it, and fails when its transaction ID was used before. */
    bool unstored;
    uint8_t *data; /* owned (malloc) */
    size_t data_len;
    /* SHA-256 of the getBoundProfilePackage request answered in this session, so that the same
     * request is answered with the same BPP (its answer may have been lost), rebuilt from the
     * session's binding secrets; has_bpp_request false before. Sessions bound by earlier
     * versions keep the answer itself in bpp_response (NULL otherwise). */
    bool has_bpp_request;
    uint8_t bpp_request_sha256[32];
    uint8_t *bpp_response; /* owned (malloc) */
    size_t bpp_response_len;
};

#define SMDP_SESSION_ENDED (-1)

void smdp_session_record_free(smdp_session_record *record);
/* Relaxed commit (store_transaction_relaxed): a session lost to a power cut makes the next
 * call fail as an unknown transaction and the LPA starts over (SGP.22 v2.5 section 3.1.3). */
rsp_status smdp_session_create(smdp_inventory *inventory, const smdp_session_record *record,
                               rsp_error *err);
/* RSP_ERR_NOT_FOUND when unknown or expired (expired ones are deleted). */
rsp_status smdp_session_load(smdp_inventory *inventory, const char *transaction_hex,
                             smdp_session_record *out, rsp_error *err);
/* The same without the BPP handed out (bpp_response stays NULL), for the steps after it. */
rsp_status smdp_session_load_state(smdp_inventory *inventory, const char *transaction_hex,
                                   smdp_session_record *out, rsp_error *err);
/* Stores record (data, iccid, eid, step = expected_step + 1) when the stored step still is
 * expected_step; RSP_ERR_STATE when another request got there first. */
rsp_status smdp_session_advance(smdp_inventory *inventory, const smdp_session_record *record,
                                int64_t expected_step, rsp_error *err);
/* The same with a relaxed commit, for steps a power cut may lose (authenticateClient). */
rsp_status smdp_session_advance_relaxed(smdp_inventory *inventory,
                                        const smdp_session_record *record, int64_t expected_step,
                                        rsp_error *err);
/* Forgets a session as a power cut losing its relaxed commits would. */
rsp_status smdp_session_delete(smdp_inventory *inventory, const char *transaction_hex,
                               rsp_error *err);
/* The same two on a borrowed connection, inside the caller's transaction. */
rsp_status smdp_session_advance_on(store_conn *conn, const smdp_session_record *record,
                                   int64_t expected_step, bool *advanced, rsp_error *err);
/* Ends a session (its ID is never continued nor started again) / every open session of a
 * profile, inside the caller's transaction. */
rsp_status smdp_session_end_on(store_conn *conn, const char *transaction_hex, rsp_error *err);
rsp_status smdp_sessions_end_for_profile_on(store_conn *conn, const char *iccid, rsp_error *err);
/* Whether a session (open or ended, not yet expired) has this transaction ID. */
rsp_status smdp_session_exists_on(store_conn *conn, const char *transaction_hex, bool *exists,
                                  rsp_error *err);
/* smdp_session_advance_on for a step that keeps the session's order (iccid and eid are not
 * written). */
rsp_status smdp_session_continue_on(store_conn *conn, const smdp_session_record *record,
                                    int64_t expected_step, bool *advanced, rsp_error *err);
/* The transaction ID key (SMDP_TRANSACTION_KEY_SIZE octets) shared through the database
 * (smdp_credentials.transaction_key):
 * made by the first process that asks, read by every later one. */
rsp_status smdp_storage_transaction_key(store *st, uint8_t key[32], rsp_error *err);
/* Deletes expired sessions; *deleted may be NULL. */
rsp_status smdp_session_expire(smdp_inventory *inventory, int64_t *deleted, rsp_error *err);

/* ---- notifications ------------------------------------------------------------------------ */

/* Notifications recorded for eid (all when eid is NULL). */
rsp_status smdp_notification_count(smdp_inventory *inventory, const char *eid, int64_t *count,
                                   rsp_error *err);
/* Records a received notification (any kind) for audit; a repeat is ignored. The _on form
 * runs inside the caller's transaction. */
rsp_status smdp_notification_record(smdp_inventory *inventory, const smdp_notification_entry *entry,
                                    rsp_error *err);
rsp_status smdp_notification_record_on(store_conn *conn, const smdp_notification_entry *entry,
                                       int64_t now, rsp_error *err);

/* ---- ES2+ callback outbox ------------------------------------------------------------------ */

/* SGP.22 v2.5 section 5.3.5 notification points. */
#define SMDP_POINT_ELIGIBILITY      1
#define SMDP_POINT_CONFIRMATION     2
#define SMDP_POINT_BPP_DOWNLOAD     3
#define SMDP_POINT_BPP_INSTALLATION 4

typedef struct {
    int64_t id;
    char url[SMDP_URL_MAX];
    char *body; /* owned JSON text */
    int64_t attempts;
} smdp_outbox_item;

/* Claims up to max due items (a lease of lease_seconds so other processes skip them). */
rsp_status smdp_outbox_claim(smdp_inventory *inventory, size_t max, int64_t lease_seconds,
                             smdp_outbox_item *items, size_t *count, rsp_error *err);
/* Delivered: removed from the queue (kept with delivered_at). Failed: retried with
 * exponential back-off, given up after max_attempts. */
rsp_status smdp_outbox_done(smdp_inventory *inventory, int64_t id, bool delivered,
                            const char *error_text, unsigned max_attempts, rsp_error *err);
void smdp_outbox_item_free(smdp_outbox_item *item);
/* Items not yet delivered and not given up. */
rsp_status smdp_outbox_pending(smdp_inventory *inventory, int64_t *count, rsp_error *err);

#endif

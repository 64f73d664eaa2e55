/* Durable state of the eIM: tenants and API keys, devices, orders (one eIM package each),
 * results, campaigns, the audit log, device history and the webhook outbox, on store/store.h
 * (SQLite or PostgreSQL, same SQL).
 *
 * Order life cycle: queued (campaign member not yet released) -> pending (the next poll of the
 * device gets it) -> delivered (signed with a counter taken from the device row in the same
 * transaction; the exact bytes are kept) -> succeeded | failed | cancelled. A delivered order is
 * resent byte for byte until its result arrives, so a counter is never given to two packages
 * and a package lost on the way is not replaced by a second one the eUICC could also execute.
 *
 * Time is UNIX seconds from eim_storage_now(). */
#ifndef RSPKIT_EIM_STORAGE_H
#define RSPKIT_EIM_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "store/store.h"

/* Order kinds: which GetEimPackageResponse alternative the stored body becomes. */
#define EIM_KIND_EUICC_PACKAGE    "euiccPackage"
#define EIM_KIND_IPA_EUICC_DATA   "ipaEuiccData"
#define EIM_KIND_DOWNLOAD_TRIGGER "profileDownloadTrigger"
#define EIM_TRANSACTION_ID_SIZE   16
#define EIM_API_KEY_ID_SIZE       16 /* hex characters of the public key id */

rsp_status eim_storage_migrate(store *st, rsp_error *err);
int64_t eim_storage_now(void);
/* " FOR UPDATE" on PostgreSQL (row lock until commit), "" on SQLite (writers serialised). */
const char *eim_storage_for_update(const store_conn *conn);
/* " FOR UPDATE SKIP LOCKED" on PostgreSQL, so that concurrent workers each take other rows; ""
 * on SQLite (writers serialised). */
const char *eim_storage_skip_locked(const store_conn *conn);
/* Leases up to batch due rows (undelivered, next_attempt_at reached) of the outbox table for
 * lease_s seconds, so that another worker skips them until then, and prepares *stmt returning
 * columns of each leased row (caller steps and finishes it). */
rsp_status eim_storage_claim_due(store_conn *conn, const char *table, const char *columns,
                                 int batch, int64_t lease_s, store_stmt **stmt, rsp_error *err);

/* Tenants and API keys. The key handed out is "<key id>.<secret>"; only SHA-256(secret) is
 * stored. key_out needs EIM_API_KEY_SIZE bytes. */
#define EIM_API_KEY_SIZE 96
rsp_status eim_storage_tenant_create(store_conn *conn, const char *name, int64_t *tenant_id,
                                     rsp_error *err);
rsp_status eim_storage_api_key_create(store_conn *conn, int64_t tenant_id,
                                      char key_out[EIM_API_KEY_SIZE], rsp_error *err);
/* RSP_ERR_VERIFY for an unknown, revoked or wrong key. key_id_out: EIM_API_KEY_ID_SIZE + 1. */
rsp_status eim_storage_api_key_check(store_conn *conn, const char *key, int64_t *tenant_id,
                                     char *key_id_out, rsp_error *err);

/* Appends to the audit log (every API call, package handed out, result received). */
rsp_status eim_storage_audit(store_conn *conn, int64_t tenant_id, const char *key_id,
                             const char *action, const char *target, const char *detail,
                             rsp_error *err);
/* An audit entry about one device, which is also that device's history (what it was sent,
 * what it reported, refusals, blocks): one row serves both queries. key_id NULL for events
 * the device caused. */
rsp_status eim_storage_device_event(store_conn *conn, int64_t tenant_id, const char *key_id,
                                    int64_t device_id, const char *action, const char *target,
                                    const char *detail, rsp_error *err);
/* The same rows in a relaxed transaction of their own (conn must not be in a transaction; see
 * store_transaction_relaxed): for rows that only describe something nothing else depends on (a
 * read, a refusal, a notification the relay stored durably), which a power cut may lose. Rows
 * about a change belong in the change's transaction instead. */
rsp_status eim_storage_audit_relaxed(store_conn *conn, int64_t tenant_id, const char *key_id,
                                     const char *action, const char *target, const char *detail,
                                     rsp_error *err);
rsp_status eim_storage_device_event_relaxed(store_conn *conn, int64_t tenant_id, const char *key_id,
                                            int64_t device_id, const char *action,
                                            const char *target, const char *detail, rsp_error *err);
/* Queues a webhook event for the tenant's endpoints (delivered by webhook.c), in the caller's
 * transaction so that a committed result always has its event. idempotency_key is unique: a
 * second enqueue with the same key is a no-op. */
rsp_status eim_storage_outbox_add(store_conn *conn, int64_t tenant_id, const char *event,
                                  const char *idempotency_key, const char *payload_json,
                                  rsp_error *err);

/* Creates an order for a device. state is "pending" or "queued". body: DER of the
 * EuiccPackage CHOICE, IpaEuiccDataRequest or ProfileDownloadTriggerRequest content without
 * eimTransactionId (added at hand-out). */
typedef struct {
    int64_t tenant_id;
    int64_t device_id;
    int64_t campaign_id; /* 0: none */
    const char *kind;
    const char *operation; /* "enable", "listProfileInfo", ... for humans and filters */
    const uint8_t *body;
    size_t body_len;
    const char *state;
    const char *smdp_address; /* for download orders, the relay target; may be NULL */
    const char *follow_up;    /* JSON operation ordered when this one succeeds; may be NULL */
    int64_t chain_root;       /* follow-ups: the order that started the chain; 0 otherwise */
} eim_order_spec;
rsp_status eim_storage_order_create(store_conn *conn, const eim_order_spec *spec, int64_t *order_id,
                                    rsp_error *err);

/* How eim_storage_order_finish left an order. */
typedef struct {
    bool changed;       /* this call finished it (it was delivered) */
    int64_t chain_root; /* the chain it starts or belongs to; 0: none */
    char *follow_up; /* owned JSON operation to order next (succeeded with a follow-up), or NULL */
} eim_order_finished;

/* Finishes a delivered order: state "succeeded" or "failed", with a summary (JSON text) and the
 * reason reported by the eUICC (NULL when none); updates its campaign counters and queues the
 * webhook event. An order with a follow-up that succeeded becomes "following" instead, counted
 * and announced when its chain ends: the caller creates the follow-up (out->follow_up, with
 * chain_root out->chain_root). A link of a chain that fails, or the last one that succeeds,
 * finishes the chain's first order the same way (a failure with the link's reason). Only a
 * delivered order changes. Free out->follow_up. */
rsp_status eim_storage_order_finish(store_conn *conn, int64_t order_id, const char *state,
                                    const char *summary_json, const char *reason,
                                    eim_order_finished *out, rsp_error *err);

/* A chain that cannot go on (its follow-up cannot be built or was cancelled): its first
 * order fails with reason. No-op for chain_root 0 or a chain already finished. */
rsp_status eim_storage_chain_fail(store_conn *conn, int64_t chain_root, const char *reason,
                                  rsp_error *err);

/* SGP.32 v1.2 section 5.9.16: the eUICC rolled back the profile a succeeded enable order
 * enabled (a second result for the same package). The order fails with reason, its campaign
 * figures move, a second webhook event goes out, and the chain it belongs to fails without
 * running its later links. *changed false when the order was not "succeeded". */
rsp_status eim_storage_order_rolled_back(store_conn *conn, int64_t order_id,
                                         const char *summary_json, const char *reason,
                                         bool *changed, rsp_error *err);

#endif

/* The eIM server (GSMA SGP.32 v1.2): ESipa for the devices' IPAs (ASN.1 binding at
 * /gsma/rsp2/asn1), the download relay to SM-DP+ servers (ES9+ JSON), a REST API for fleet
 * owners (/api/v1/...), campaigns, the audit log and signed webhooks, over one store
 * (SQLite or PostgreSQL). Several processes may share one PostgreSQL database.
 *
 * Ownership: the strings in eim_server_config are borrowed and must outlive the server. */
#ifndef RSPKIT_EIM_SERVER_H
#define RSPKIT_EIM_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "store/store.h"

typedef struct {
    const char *database;     /* store URL (store_open) */
    const char *listen;       /* "127.0.0.1:8443"; port 0 = ephemeral */
    const char *tls_cert;     /* PEM chain; NULL with tls_key for plain HTTP (tests only) */
    const char *tls_key;      /* PEM */
    const char *eim_id;       /* eimId in every package, SGP.32 v1.2 section 2.11.1.1 */
    const char *eim_key_file; /* PEM private key that signs the packages (eimSignature) */
    /* Bootstrap key of the operator: creates tenants. NULL disables POST /api/v1/tenants. */
    const char *admin_key;
    /* Trust for the relay's TLS connections to SM-DP+ servers (PEM bundle); NULL = system. */
    const char *smdp_ca_file;
    /* SM-DP+ addresses (host[:port]) the eIM forwards any device's notifications to, besides
     * the SM-DP+ servers named by orders handed to that device. */
    const char *const *trusted_smdp;
    size_t trusted_smdp_count;
    /* CI certificates (PEM files) eUICC certificates must chain to; none = not checked. */
    const char *const *ci_files;
    size_t ci_count;
    unsigned threads;          /* HTTP threads; default 2 */
    unsigned pool_size;        /* store connections; default threads + 2 */
    unsigned worker_period_ms; /* campaign release and webhook delivery; default 200 */
    unsigned relay_timeout_ms; /* ES9+ call timeout; default 30000 */
    /* Every commit survives a process crash; by default it also survives a power cut before
     * the server answers (store.h: durable commits, SQLite group commit). relaxed_durability
     * (store_options.relaxed_durability) lets a power cut lose the last commits, after which
     * a counter could be given again: the eUICC refuses that package as a replay. */
    bool relaxed_durability;
    /* Older name of the same choice: "normal" = relaxed_durability, NULL or "full" = durable. */
    const char *sqlite_synchronous;
    /* A package delivered this long ago without a result fails with reason "timeout" (its
     * device then gets its next orders, a late result is refused). 0: never. */
    unsigned delivery_timeout_s;
} eim_server_config;

typedef struct eim_server eim_server;

/* Opens the store, applies the schema, loads the key; does not listen yet. */
rsp_status eim_server_new(const eim_server_config *config, eim_server **out, rsp_error *err);
rsp_status eim_server_start(eim_server *server, rsp_error *err);
uint16_t eim_server_port(const eim_server *server);
/* The store the server uses (for tools and tests that inspect it). */
store *eim_server_store(eim_server *server);
/* One pass of the background work (campaign release, webhook delivery) now; the worker thread
 * calls it every worker_period_ms. */
void eim_server_run_background(eim_server *server);
void eim_server_stop(eim_server *server);
void eim_server_free(eim_server *server);

/* `rspkit eim serve` configuration: "key = value" lines (# comments), keys as the fields above
 * (database, listen, tls_cert, tls_key, eim_id, eim_key, admin_key, smdp_ca, ci (repeatable),
 * trusted_smdp (repeatable), threads, durability (full or relaxed), sqlite_synchronous (full or
 * normal, the older name), delivery_timeout_s). Strings live in
 * *storage, freed with eim_server_config_free. */
typedef struct {
    eim_server_config config;
    char *text;
    const char *ci[8];
    const char *trusted_smdp[8];
} eim_server_config_file;
rsp_status eim_server_config_load(const char *path, eim_server_config_file *out, rsp_error *err);
void eim_server_config_free(eim_server_config_file *file);

#endif

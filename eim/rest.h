/* Shared pieces of the eIM REST API (docs/api/openapi.yaml): operation bodies, the per-call
 * context and reply helpers used by rest_api.c and campaign.c. */
#ifndef RSPKIT_EIM_REST_H
#define RSPKIT_EIM_REST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "eim/server_private.h"

/* One REST operation made into an order body. */
typedef struct {
    const char *kind;       /* EIM_KIND_* */
    char name[32];          /* "enable", "download", ... */
    char smdp_address[256]; /* download orders: the SM-DP+ the relay may reach */
    uint8_t *body;          /* owned */
    size_t body_len;
    char *follow_up; /* owned JSON operation for when this one succeeds, or NULL */
} eim_operation;

/* op: {"type": "enable", "iccid": "...", ...}. eid selects a per-device activation code
 * ("activationCodes": {EID: code}); NULL when none applies. */
rsp_status eim_operation_build(const json_t *op, const char *eid, eim_operation *out,
                               rsp_error *err);
void eim_operation_free(eim_operation *op);

typedef struct {
    eim_server *server;
    const http_request *request;
    store_conn *conn;
    int64_t tenant_id;
    char key_id[24];
    json_t *body;     /* parsed request body or NULL */
    const char *path; /* after "/api/v1/" */
    bool authenticated;
    bool audited; /* the call's "api.call" audit row is written (committed) */
} rest_call;

/* Writes the call's "api.call" audit row in the caller's transaction: a handler that changes
 * state calls it inside the change's transaction (and sets call->audited once that commits), so
 * the row commits with the change and costs no sync of its own. Reads, and calls whose change
 * did not commit, get the row from the dispatcher, relaxed. */
rsp_status eim_rest_audit_call(rest_call *call, rsp_error *err);

/* Replies with a JSON body (takes the reference); returns 0 for the handler. */
int eim_rest_json(http_reply *reply, int status, json_t *body);
int eim_rest_problem(http_reply *reply, int status, const char *message);

/* Campaign routes ("campaigns..."); returns -1 when the path is not a campaign route. */
int eim_campaign_rest(rest_call *call, http_reply *reply);

#endif

/* The whole system on one machine: a test PKI, two SM-DP+ (operator A and operator B) with
 * TS.48-based profiles (ICCIDs made unique), an eIM and a fleet of simulated devices, all on
 * loopback HTTPS, driven only through the eIM's REST API and the operators' ES2+.
 *
 * `rspkit demo`, the system tests (tests/system) and `rspkit bench fleet` share it. The servers
 * run in this process (their own HTTP threads); they can be stopped and restarted on the same
 * port and database to simulate outages.
 *
 * Ownership: the scenario owns every server, the fleet and the work folder's contents. */
#ifndef RSPKIT_FLEET_SCENARIO_H
#define RSPKIT_FLEET_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "core/error.h"
#include "fleet/fleet.h"

#define SCENARIO_OPERATOR_A             0
#define SCENARIO_OPERATOR_B             1
#define SCENARIO_MAX_STEPS              16
#define SCENARIO_DEFAULT_WORKERS        32
#define SCENARIO_DEFAULT_SERVER_THREADS 16
#define SCENARIO_EIM_ID                 "eim.rspkit.test"
#define SCENARIO_EIM2_ID                "eim2.rspkit.test"

typedef struct scenario scenario;

typedef struct {
    size_t devices;
    const char *work_dir;     /* created when missing: PKI, databases, logs */
    const char *package_path; /* TS.48 SAIP package the operators' profiles are made from */
    /* Defaults keep both cores busy: a durable commit waits for the disk (group commit shares
     * one sync among the commits waiting together), so the servers need many requests in
     * flight, i.e. many device workers and request threads. */
    unsigned fleet_workers;    /* 0: SCENARIO_DEFAULT_WORKERS */
    uint32_t poll_interval_ms; /* 0: 1000 */
    unsigned server_threads;   /* per server; 0: SCENARIO_DEFAULT_SERVER_THREADS */
    unsigned step_timeout_s;   /* longest wait for one step; 0: 120 */
    /* SQLite synchronous=NORMAL for the SM-DP+ (one fsync per checkpoint instead of per
     * commit); false keeps the servers' durable default. */
    bool relaxed_durability;
    FILE *progress;   /* progress lines while waiting; NULL: silent */
    bool state_files; /* one eUICC state file per device under work_dir/devices */
    /* devices download straight from the SM-DP+ (ES9+) instead of through the eIM's relay */
    bool direct_download;
} scenario_config;

/* What a campaign or a batch of device operations ended with. */
typedef struct {
    int64_t campaign_id;
    size_t total, succeeded, failed, cancelled;
    size_t following;       /* first order done, the rest of the member's chain running */
    char state[16];         /* campaign state when the wait ended */
    char first_reason[160]; /* reason of the first failure seen */
    double seconds;
    /* when no member waited for its first order any more (every download done or failed),
     * from the start of the wait (of the campaign for scenario_provision, scenario_migrate and
     * scenario_campaign_download); 0 when not reached */
    double first_orders_seconds;
} scenario_outcome;

typedef struct {
    char name[48];
    double seconds;
} scenario_step;

/* Starts everything: PKI, both SM-DP+ with `devices` profiles each, the eIM, a tenant, the
 * fleet (provisioned with AddInitialEim) and its registration with the eIM. */
rsp_status scenario_start(const scenario_config *config, scenario **out, rsp_error *err);
void scenario_free(scenario *s);

fleet *scenario_fleet(scenario *s);
const char *scenario_eim_url(const scenario *s); /* REST base, https://127.0.0.1:port */
const char *scenario_api_key(const scenario *s);
const char *scenario_work_dir(const scenario *s);
const char *scenario_iccid(const scenario *s, size_t device, int operator_index);
/* Per-step wall times recorded so far. */
const scenario_step *scenario_steps(const scenario *s, size_t *count);
void scenario_record_step(scenario *s, const char *name, double seconds);

/* ES2+ as the operator: downloadOrder + confirmOrder bound to each device's EID
 * (SGP.22 v2.5 sections 5.3.1, 5.3.2); keeps ICCID and activation code per device. */
rsp_status scenario_reserve(scenario *s, int operator_index, rsp_error *err);

/* What each member of a download campaign does after its installation: the eIM's follow-up
 * chain, one eUICC Package per link (SGP.32 v1.2 section 2.11.1.1): enable the installed
 * profile (with the rollback flag, section 5.9.16), then delete another operator's profile.
 * A member succeeds only when its whole chain did. */
typedef struct {
    bool enable;
    bool rollback;
    int delete_operator; /* SCENARIO_OPERATOR_A/B, or -1: nothing deleted */
} scenario_chain;

/* ratePerMinute of the next campaigns (default: no practical limit). */
void scenario_set_campaign_rate(scenario *s, int64_t per_minute);
/* Starts a download campaign of the operator's per-device activation codes (chain NULL:
 * download only) over the devices listed by index (indices NULL: every device), and returns at
 * once (the id in out->campaign_id). */
rsp_status scenario_campaign_start(scenario *s, int operator_index, const scenario_chain *chain,
                                   double max_failure_ratio, const size_t *indices, size_t count,
                                   scenario_outcome *out, rsp_error *err);
/* Waits for the campaign's end (or for it to pause, or the step timeout), waking the devices it
 * released work for, with progress lines; out gets its figures and phase times. */
rsp_status scenario_campaign_wait(scenario *s, int64_t campaign_id, bool stop_when_paused,
                                  scenario_outcome *out, rsp_error *err);
rsp_status scenario_campaign_control(scenario *s, int64_t campaign_id, const char *action,
                                     rsp_error *err);
/* Download only, every device: start + wait, recorded as a step. */
rsp_status scenario_campaign_download(scenario *s, int operator_index, double max_failure_ratio,
                                      scenario_outcome *out, rsp_error *err);
/* The set-up: download + enable of the operator's profile on every device, one campaign. */
rsp_status scenario_provision(scenario *s, int operator_index, scenario_outcome *out,
                              rsp_error *err);
/* The migration, one campaign: download of to_operator's profile, enable with rollback, delete
 * of from_operator's profile, on every device. Two steps are recorded, both from the campaign's
 * start (they overlap: each device runs its chain in one go): every download done, every chain
 * done. */
rsp_status scenario_migrate(scenario *s, int from_operator, int to_operator,
                            double max_failure_ratio, scenario_outcome *out, rsp_error *err);
/* One campaign of PSMOs with each device's own ICCID of the operator ("iccids": {EID: ICCID})
 * over the devices listed by index (indices NULL: every device), then waits for it: type
 * "enable" (with rollback flag), "disable" or "delete". */
rsp_status scenario_device_operations(scenario *s, const char *type, int operator_index,
                                      bool rollback, const size_t *indices, size_t count,
                                      scenario_outcome *out, rsp_error *err);

/* Checks every device's eUICC: operator `enabled_operator`'s profile enabled, no profile of
 * `absent_operator` (-1: not checked; then also no other profile), nothing left undelivered in
 * the eUICC (ok counts these devices). Separately, the enabled profile's SM-DP+ must hold it
 * as Installed, i.e. its install notification reached it (smdp_not_installed counts the
 * others). The first problem of each kind is described. */
typedef struct {
    size_t devices, ok, wrong_profile, undelivered, smdp_not_installed;
    char first_problem[200];
    char smdp_problem[200];
} scenario_verdict;
rsp_status scenario_verify(scenario *s, int enabled_operator, int absent_operator,
                           scenario_verdict *out, rsp_error *err);

/* Faults. */
rsp_status scenario_restart_eim(scenario *s, rsp_error *err);
void scenario_stop_smdp(scenario *s, int operator_index);
rsp_status scenario_start_smdp(scenario *s, int operator_index, rsp_error *err);
/* A second eIM (own database and key, same PKI) with the same tenant name; the devices
 * [first, first+count) are handed over to it: addEim of the second eIM through the first,
 * registration with the second (with the association token each eUICC holds for it), then
 * deleteEim of the first through the first. Returns when no handed-over eUICC lists the first
 * eIM; out holds the first eIM's figures for the deleteEim campaign at that time. */
rsp_status scenario_handover(scenario *s, size_t first, size_t count, scenario_outcome *out,
                             rsp_error *err);
/* The two halves of scenario_handover: addEim + registration with the second eIM, then
 * deleteEim of the first (faults can be planned in between). */
rsp_status scenario_handover_add_eim(scenario *s, size_t first, size_t count, scenario_outcome *out,
                                     rsp_error *err);
rsp_status scenario_handover_delete_eim(scenario *s, size_t first, size_t count,
                                        scenario_outcome *out, rsp_error *err);
const char *scenario_eim2_url(const scenario *s);

/* REST call on the eIM (eim 0 or 1): JSON in, JSON out (NULL when none). */
rsp_status scenario_rest(scenario *s, int eim, const char *method, const char *path,
                         const json_t *body, long *http_status, json_t **answer, rsp_error *err);

double scenario_now(void);

#endif

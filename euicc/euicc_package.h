/* Internals shared by the SGP.32 v1.2 ES10b files of the eUICC (es10b_eim.c, euicc_package.c,
 * es10b_fallback.c, es10b_sgp32_misc.c): the eIM configuration store, eUICC Package Results
 * kept until acknowledged, the rollback snapshot and the fallback / emergency state.
 *
 * Persistent records (euicc/state.h):
 *  - EUICC_LIST_EIMS: one EimConfigurationData (tag 30) per associated eIM, with counterValue
 *    (the last counter accepted, the initial value until the first package) and, when the
 *    eUICC issued one, associationToken;
 *  - EUICC_LIST_PACKAGE_RESULTS: the signed EuiccPackageResults awaiting acknowledgement;
 *    their seqNumbers come from the notification counter so that one
 *    RemoveNotificationFromList(seqNumber) names exactly one pending item (SGP.32 v1.2
 *    section 3.3.1 steps 15-17 remove results and notifications alike);
 *  - EUICC_SLOT_ROLLBACK, EUICC_SLOT_FALLBACK: euicc_rollback_snapshot / euicc_fallback_state
 *    below, in the private schemas of euicc_package.c / es10b_fallback.c;
 *  - EUICC_SLOT_IMMEDIATE_ENABLE: the ConfigureImmediateProfileEnablingRequest TLV (BF59);
 *  - EUICC_COUNTER_ASSOCIATION_TOKEN (state.h): the last association token issued. */
#ifndef RSPKIT_EUICC_EUICC_PACKAGE_H
#define RSPKIT_EUICC_EUICC_PACKAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/der.h"
#include "core/error.h"
#include "core/sgp32.h"
#include "crypto/key.h"
#include "euicc/euicc.h"

#define EUICC_EIM_MAX                   8          /* associated eIMs this eUICC stores */
#define EUICC_EIM_COUNTER_MAX           0x7FFFFFFF /* largest counterValue accepted */
#define EUICC_PACKAGE_MAX_SIZE          16384      /* largest EuiccPackageRequest accepted */
#define EUICC_PACKAGE_RESULT_MAX_SIZE   32768      /* largest euiccResult list produced */

/* ---- eIM configuration (es10b_eim.c) ----------------------------------------------------- */

/* Index of the eIM with that eimId in EUICC_LIST_EIMS (decoded into *out when not NULL), or
 * -1. out borrows from the state. */
long euicc_eim_find(const euicc_state *s, der_view eim_id, sgp32_eim_configuration_data *out);
/* The key that verifies the eIM's packages: eimPublicKey, or the eimCertificate's key. */
rsp_status euicc_eim_public_key(const sgp32_eim_configuration_data *eim, rsp_public_key **out,
                                rsp_error *err);

/* SGP.32 v1.2 section 5.9.4 / 2.11.1.1.2: checks an eIM to be added (update false) or the
 * fields of an update, storing nothing. *code receives 0 or the AddEimResult /
 * UpdateEimResult code (ciPKUnknown, counterValueOutOfRange, commandError). */
void euicc_eim_check(euicc *e, const sgp32_eim_configuration_data *eim, bool update, int64_t *code);
/* associationToken value asking the eUICC to generate the token; a non-negative value is
 * the token the eIM chose, taken as given. */
#define EUICC_ASSOCIATION_TOKEN_REQUEST (-1)

/* Stores a checked new eIM. When the request carries associationToken (-1: the eUICC issues
 * the next one), *token_issued is set and *token holds the stored token. */
rsp_status euicc_eim_add(euicc *e, const sgp32_eim_configuration_data *eim, bool *token_issued,
                         int64_t *token);

/* eCO executors (SGP.32 v1.2 section 2.11.1.1.2); each writes one EuiccResultData. */
rsp_status euicc_eco_add_eim(euicc *e, const sgp32_eim_configuration_data *eim,
                             sgp32_euicc_result_data *result);
rsp_status euicc_eco_delete_eim(euicc *e, der_view eim_id, sgp32_euicc_result_data *result);
rsp_status euicc_eco_update_eim(euicc *e, const sgp32_eim_configuration_data *eim,
                                sgp32_euicc_result_data *result);
/* listEim: the result borrows items from arena (one sgp32_eim_id_info per eIM). */
rsp_status euicc_eco_list_eim(euicc *e, schema_arena *arena, sgp32_euicc_result_data *result);

/* ---- eUICC Package Results (euicc_package.c) ----------------------------------------------- */

/* Signs and stores a euiccPackageResultSigned for eim_id / counter / transaction with the
 * already encoded EuiccResultData list (content of the SEQUENCE OF); a new seqNumber is taken
 * (*seq_number). The whole BF51 TLV is appended to out (may be NULL). */
rsp_status euicc_package_result_issue(euicc *e, der_view eim_id, int64_t counter_value,
                                      der_view transaction_id, const int64_t *association_token,
                                      der_view encoded_results, int64_t *seq_number,
                                      der_writer *out);

/* Rollback permission granted by an enable PSMO with rollbackFlag (SGP.32 v1.2 section
 * 5.9.16): which package granted it and which profiles to swap back. */
typedef struct {
    der_view eim_id;
    int64_t counter_value;
    bool has_eim_transaction_id;
    der_view eim_transaction_id;
    int64_t seq_number; /* of that package's result; valid while it is unacknowledged */
    der_view enabled_iccid;
    bool has_previous_iccid;
    der_view previous_iccid;
} euicc_rollback_snapshot;

/* Decodes EUICC_SLOT_ROLLBACK; RSP_ERR_NOT_FOUND when no rollback is allowed (none granted,
 * or the granting package's result has been acknowledged). */
rsp_status euicc_rollback_get(const euicc *e, euicc_rollback_snapshot *out);
rsp_status euicc_rollback_clear(euicc *e);

/* ---- Fallback and emergency state (es10b_fallback.c) ----------------------------------- */

typedef struct {
    bool fallback_active; /* ExecuteFallbackMechanism ran, ReturnFromFallback not yet */
    bool has_fallback_return_iccid;
    der_view fallback_return_iccid; /* profile enabled before the fallback */
    bool emergency_active;          /* EnableEmergencyProfile ran */
    bool has_emergency_return_iccid;
    der_view emergency_return_iccid;
} euicc_fallback_state;

/* Decodes EUICC_SLOT_FALLBACK (all false when unset). */
rsp_status euicc_fallback_state_get(const euicc *e, euicc_fallback_state *out);
rsp_status euicc_fallback_state_set(euicc *e, const euicc_fallback_state *value);
/* True while the Emergency Profile is enabled (SGP.32 ecallActive conditions). */
bool euicc_emergency_active(const euicc *e);

/* Index of the profile carrying fallbackAttribute / ecallIndication, or -1. */
long euicc_find_fallback_profile(const euicc *e);
long euicc_find_emergency_profile(const euicc *e);

/* PSMO executors living beside the fallback code (SGP.32 v1.2 section 2.11.1.1.3). */
int64_t euicc_psmo_set_fallback_attribute(euicc *e, der_view iccid);
int64_t euicc_psmo_unset_fallback_attribute(euicc *e);
/* Stores the immediate-enable configuration (BF59 content); returns the result code. */
int64_t
euicc_configure_immediate_enable(euicc *e,
                                 const sgp32_configure_immediate_profile_enabling_request *request);

#endif

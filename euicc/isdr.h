/* The ISD-R: dispatch of ES10a/b/c commands (SGP.22 v2.5 section 5.7, SGP.32 v1.2 section 5.9)
 * to their handlers, with one state transaction around every command.
 *
 * Plugging in a function: write the handler (prototype below) in its own file and replace its
 * `isdr_not_yet` line in the table in isdr.c with the handler. Nothing else changes.
 *
 * Handler contract:
 *  - `command` is the whole command TLV (for a BPP segment: the segment as received, which may
 *    be only a TLV header, see isdr_command.segment);
 *  - write the response TLV into `response`; return RSP_OK also for answers that carry an
 *    error result code (those are normal responses). Return an error status only when the
 *    command gets no response data: decoding errors -> 6A80, RSP_ERR_STATE -> 6985,
 *    RSP_ERR_UNSUPPORTED / NOT_FOUND -> 6A88, out of memory -> 6A84, others -> 6F00;
 *  - change persistent data only through euicc/state.h. The dispatcher opened a transaction:
 *    when the handler returns RSP_OK and changed the state, the state is committed (file
 *    replaced atomically) BEFORE the response leaves; when the handler fails, or the commit
 *    fails, every change is rolled back and the response discarded. A handler that decides
 *    on an error result code after changing the state calls euicc_state_rollback() first
 *    (the transaction stays open).
 *  - keep data between commands of one session in euicc_session_get/set (per channel). */
#ifndef RSPKIT_EUICC_ISDR_H
#define RSPKIT_EUICC_ISDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/der.h"
#include "core/error.h"
#include "euicc/euicc.h"

typedef rsp_status (*isdr_handler)(euicc *e, unsigned channel, der_view command,
                                   der_writer *response);

typedef struct {
    uint32_t tag;         /* first tag of the command data */
    const char *name;     /* ES10 function name, for logs */
    isdr_handler handler; /* isdr_not_yet while unimplemented */
    bool segment;         /* BPP segment: the data may be a TLV header without its full value
                             (SGP.22 v2.5 section 5.7.6); the handler checks the framing */
} isdr_command;

extern const isdr_command isdr_commands[];
extern const size_t isdr_command_count;

/* Table entry for tag, or NULL. */
const isdr_command *isdr_find(uint32_t tag);

/* Runs one command: framing checks, lookup, transaction, handler, commit. Unknown tags are
 * RSP_ERR_UNSUPPORTED (status word 6A88). */
rsp_status isdr_dispatch(euicc *e, unsigned channel, der_view command, der_writer *response);

/* Placeholder for functions not implemented yet: the answer an eUICC gives for an ES10
 * function it does not support (SGP.22 v2.5 section 5.7.2: the STORE DATA tag is not
 * recognised -> 6A88 "referenced data not found"). */
rsp_status isdr_not_yet(euicc *e, unsigned channel, der_view command, der_writer *response);

/* ---- Handlers (one file per area) ---------------------------------------------------- */

/* es10a.c: SGP.22 v2.5 sections 5.7.3 and 5.7.4 */
rsp_status es10a_get_euicc_configured_addresses(euicc *e, unsigned channel, der_view command,
                                                der_writer *response);
rsp_status es10a_set_default_dp_address(euicc *e, unsigned channel, der_view command,
                                        der_writer *response);

/* es10b_info.c: SGP.22 v2.5 sections 5.7.8 and 5.7.20, SGP.32 v1.2 section 5.9.2 */
rsp_status es10b_get_euicc_info1(euicc *e, unsigned channel, der_view command,
                                 der_writer *response);
rsp_status es10b_get_euicc_info2(euicc *e, unsigned channel, der_view command,
                                 der_writer *response);
rsp_status es10c_get_eid(euicc *e, unsigned channel, der_view command, der_writer *response);
rsp_status es10b_get_rat(euicc *e, unsigned channel, der_view command, der_writer *response);

/* es10c_profile.c: SGP.22 v2.5 sections 5.7.15 to 5.7.21 */
rsp_status es10c_get_profiles_info(euicc *e, unsigned channel, der_view command,
                                   der_writer *response);
rsp_status es10c_enable_profile(euicc *e, unsigned channel, der_view command, der_writer *response);
rsp_status es10c_disable_profile(euicc *e, unsigned channel, der_view command,
                                 der_writer *response);
rsp_status es10c_delete_profile(euicc *e, unsigned channel, der_view command, der_writer *response);
rsp_status es10c_euicc_memory_reset(euicc *e, unsigned channel, der_view command,
                                    der_writer *response);
rsp_status es10c_set_nickname(euicc *e, unsigned channel, der_view command, der_writer *response);

/* es10c_notification.c: SGP.22 v2.5 sections 5.7.9 to 5.7.11 (+ SGP.32 v1.2 5.9.x forms) */
rsp_status es10b_list_notification(euicc *e, unsigned channel, der_view command,
                                   der_writer *response);
rsp_status es10b_retrieve_notifications_list(euicc *e, unsigned channel, der_view command,
                                             der_writer *response);
rsp_status es10b_remove_notification_from_list(euicc *e, unsigned channel, der_view command,
                                               der_writer *response);

/* es10b_download.c (euicc-download): SGP.22 v2.5 sections 5.7.5 to 5.7.7, 5.7.12 to 5.7.14 */
rsp_status es10b_get_euicc_challenge(euicc *e, unsigned channel, der_view command,
                                     der_writer *response);
rsp_status es10b_authenticate_server(euicc *e, unsigned channel, der_view command,
                                     der_writer *response);
rsp_status es10b_prepare_download(euicc *e, unsigned channel, der_view command,
                                  der_writer *response);
rsp_status es10b_load_bound_profile_package(euicc *e, unsigned channel, der_view command,
                                            der_writer *response);
rsp_status es10b_cancel_session(euicc *e, unsigned channel, der_view command, der_writer *response);
rsp_status es10b_load_crl(euicc *e, unsigned channel, der_view command, der_writer *response);

/* es10b_eim_*.c, euicc_package.c (euicc-sgp32): SGP.32 v1.2 section 5.9 */
rsp_status es10b_get_eim_configuration_data(euicc *e, unsigned channel, der_view command,
                                            der_writer *response);
rsp_status es10b_add_initial_eim(euicc *e, unsigned channel, der_view command,
                                 der_writer *response);
rsp_status es10b_load_euicc_package(euicc *e, unsigned channel, der_view command,
                                    der_writer *response);
rsp_status es10b_get_certs(euicc *e, unsigned channel, der_view command, der_writer *response);
rsp_status es10b_profile_rollback(euicc *e, unsigned channel, der_view command,
                                  der_writer *response);
rsp_status es10b_configure_immediate_profile_enabling(euicc *e, unsigned channel, der_view command,
                                                      der_writer *response);
rsp_status es10b_immediate_enable(euicc *e, unsigned channel, der_view command,
                                  der_writer *response);
rsp_status es10b_enable_emergency_profile(euicc *e, unsigned channel, der_view command,
                                          der_writer *response);
rsp_status es10b_disable_emergency_profile(euicc *e, unsigned channel, der_view command,
                                           der_writer *response);
rsp_status es10b_execute_fallback_mechanism(euicc *e, unsigned channel, der_view command,
                                            der_writer *response);
rsp_status es10b_return_from_fallback(euicc *e, unsigned channel, der_view command,
                                      der_writer *response);
rsp_status es10b_get_connectivity_parameters(euicc *e, unsigned channel, der_view command,
                                             der_writer *response);
rsp_status es10b_euicc_memory_reset_sgp32(euicc *e, unsigned channel, der_view command,
                                          der_writer *response);
rsp_status es10b_set_default_dp_address_sgp32(euicc *e, unsigned channel, der_view command,
                                              der_writer *response);

/* ---- Encoders shared with other functions (es10b_info.c) ------------------------------ */

/* SGP.22 v2.5 section 5.7.8: EUICCInfo1 (BF20), e.g. inside InitiateAuthentication data. */
rsp_status euicc_info1_encode(const euicc *e, der_writer *out);
/* SGP.32 v1.2 section 5.9.2: EUICCInfo2 with IoTSpecificInfo; tag 0 or 0xBF22 for BF22, or the
 * tag of the field it fills (euiccSigned1.euiccInfo2 is BF22 too). */
rsp_status euicc_info2_encode(const euicc *e, uint32_t tag, der_writer *out);
/* SGP.22 v2.5 section 5.7.22: GetRatResponse (BF43) holding the eUICC's RAT. */
rsp_status euicc_rat_encode(const euicc *e, der_writer *out);

/* ---- Profile operations shared by ES10c and SGP.32 PSMOs (es10c_profile.c) ------------- */

/* Options of a profile operation; zero-initialise for the plain ES10c behaviour. */
typedef struct {
    bool refresh_flag;      /* as received; recorded, no REFRESH is simulated */
    bool ignore_ppr;        /* skip profile policy rules (SGP.32 fallback / emergency paths) */
    bool skip_notification; /* do not queue the notification (caller queues its own) */
} euicc_profile_operation;

/* SGP.22 v2.5 section 5.7.16: enables profile index (disabling the enabled one, with its
 * disable notification). *result receives the EnableProfileResponse enableResult. The state
 * changes only when *result is SGP22_ENABLE_RESULT_OK. */
rsp_status euicc_profile_enable(euicc *e, size_t index, const euicc_profile_operation *options,
                                int64_t *result);
/* SGP.22 v2.5 section 5.7.17: DisableProfileResponse disableResult in *result. */
rsp_status euicc_profile_disable(euicc *e, size_t index, const euicc_profile_operation *options,
                                 int64_t *result);
/* SGP.22 v2.5 section 5.7.18: DeleteProfileResponse deleteResult in *result. */
rsp_status euicc_profile_delete(euicc *e, size_t index, const euicc_profile_operation *options,
                                int64_t *result);
/* Index of the profile named by an SGP.22 ProfileIdentifier-like pair (AID or ICCID), -1
 * when none. */
long euicc_profile_find(const euicc *e, bool by_aid, der_view identifier);

#endif

/* End of a profile download on the eUICC (SGP.22 v2.5 section 5.7.6): installing the loaded
 * profile package into the persistent state, and the signed ProfileInstallationResult that is
 * both the answer to the last LoadBoundProfilePackage segment and the pending install
 * notification. */
#ifndef RSPKIT_EUICC_PROFILE_INSTALL_H
#define RSPKIT_EUICC_PROFILE_INSTALL_H

#include <stdint.h>

#include "core/der.h"
#include "core/error.h"
#include "euicc/es10b_download.h"
#include "euicc/euicc.h"

/* Installs the profile of session (metadata and package collected by the loader) as a
 * disabled profile, queues the successful ProfileInstallationResult as notification and
 * writes it to response. When the package cannot be installed, the state is rolled back and
 * the error result (loadProfileElements / errorReason) is answered and queued instead. */
rsp_status euicc_profile_install(euicc *e, euicc_download_session *session, der_writer *response);

/* Rolls back anything the current command changed, then answers and queues a
 * ProfileInstallationResult carrying errorResult {bpp_command_id, error_reason}. */
rsp_status euicc_profile_install_failed(euicc *e, euicc_download_session *session,
                                        int64_t bpp_command_id, int64_t error_reason,
                                        der_writer *response);

#endif

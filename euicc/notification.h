/* Pending notifications of the eUICC (SGP.22 v2.5 section 3.5): sequence numbers, the signed
 * OtherSignedNotification for enable/disable/delete, and queuing per the profile's
 * NotificationConfigurationInformation.
 *
 * Installation results (ProfileInstallationResult, signed over its own data) are built by the
 * download code and queued here with euicc_notification_queue. */
#ifndef RSPKIT_EUICC_NOTIFICATION_H
#define RSPKIT_EUICC_NOTIFICATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/der.h"
#include "core/error.h"
#include "euicc/euicc.h"

/* Next notification sequence number (persisted counter, incremented). */
rsp_status euicc_notification_next_seq(euicc *e, int64_t *seq_number);

/* The address a profile wants notifications for event (SGP22_NOTIFICATION_*) sent to, per
 * its notificationConfigurationInfo (SGP.22 v2.5 section 2.4a.1.1). false when the profile
 * does not ask for this event. */
bool euicc_notification_address_for(const euicc_profile_record *profile, unsigned event,
                                    der_view *address);

/* SGP.22 v2.5 section 5.7.10: builds OtherSignedNotification { tbsOtherNotification (BF2F),
 * euiccNotificationSignature (5F37) over the tbsOtherNotification TLV, euiccCertificate,
 * eumCertificate } into out. */
rsp_status euicc_notification_build_other(euicc *e, int64_t seq_number, unsigned event,
                                          der_view address, der_view iccid, der_writer *out,
                                          rsp_error *err);

/* Stores a pending notification (seq_number from euicc_notification_next_seq) whose signed
 * form is pending_notification (BF37 or 30 TLV). */
rsp_status euicc_notification_queue(euicc *e, int64_t seq_number, unsigned event, der_view address,
                                    der_view iccid, der_view pending_notification);

/* For an enable/disable/delete of profile: when its configuration asks for event, numbers,
 * signs and queues the notification. Does nothing (RSP_OK) otherwise. */
rsp_status euicc_notification_for_profile(euicc *e, const euicc_profile_record *profile,
                                          unsigned event);

#endif

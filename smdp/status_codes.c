/* SGP.22 v2.5 section 6.5.1.4 statusCodeData: one table from the SM-DP+'s refusals to the
 * subjectCode / reasonCode pairs of the ES2+ (section 5.3) and ES9+ (section 5.6) function
 * tables. Subject codes: 8.1 eUICC, 8.1.1 EID, 8.2 Profile, 8.2.1 ICCID, 8.2.5 Profile Type,
 * 8.2.6 Matching ID, 8.2.7 Confirmation Code, 8.8.5 Download Order, 8.9.1 SM-DS address,
 * 8.10.1 TransactionId. Reason codes: 1.x access, 2.x format, 3.x conditions of use,
 * 4.x processing, 6.x security. */
#include "smdp/inventory.h"

static const smdp_status_code_entry entries[SMDP_STATUS__COUNT] = {
    [SMDP_STATUS_OK] = {"", "", "Executed-Success"},
    [SMDP_STATUS_INTERNAL] = {"1.2", "4.2", "Function provider - Execution error"},
    [SMDP_STATUS_REQUESTER_UNKNOWN] = {"1.1", "1.1", "Function requester - Unknown"},
    [SMDP_STATUS_MANDATORY_MISSING] = {"1.2", "2.2", "Mandatory element missing"},
    [SMDP_STATUS_INVALID_DATA] = {"1.2", "2.1", "Invalid"},
    [SMDP_STATUS_ICCID_UNKNOWN] = {"8.2.1", "3.9", "Profile ICCID - Unknown"},
    [SMDP_STATUS_ICCID_NOT_ALLOWED] = {"8.2.1", "1.2",
                                       "Profile ICCID - Not Allowed (Authorisation)"},
    [SMDP_STATUS_ICCID_IN_USE] = {"8.2.1", "3.3", "Profile ICCID - Already in use"},
    [SMDP_STATUS_ICCID_MISSING] = {"8.2.1", "2.2", "Profile ICCID - Mandatory Element Missing"},
    [SMDP_STATUS_ICCID_INVALID] = {"8.2.1", "2.1", "Profile ICCID - Invalid"},
    [SMDP_STATUS_ICCID_INVALID_TRANSITION] = {"8.2.1", "3.5", "Profile ICCID - Invalid transition"},
    [SMDP_STATUS_PROFILE_TYPE_UNKNOWN] = {"8.2.5", "3.9", "Profile Type - Unknown"},
    [SMDP_STATUS_PROFILE_TYPE_UNAVAILABLE] = {"8.2.5", "3.7", "Profile Type - Unavailable"},
    [SMDP_STATUS_EID_INVALID] = {"8.1.1", "2.1", "EID - Invalid"},
    [SMDP_STATUS_EID_INVALID_ASSOCIATION] = {"8.1.1", "3.10", "EID - Invalid Association"},
    [SMDP_STATUS_EID_REFUSED] = {"8.1.1", "3.8", "EID - Refused"},
    [SMDP_STATUS_MATCHING_ID_REFUSED] = {"8.2.6", "3.8", "Matching ID - Refused"},
    [SMDP_STATUS_MATCHING_ID_IN_USE] = {"8.2.6", "3.3", "Matching ID - Already in use"},
    [SMDP_STATUS_MATCHING_ID_INVALID_ASSOCIATION] = {"8.2.6", "3.10",
                                                     "Matching ID - Invalid Association"},
    [SMDP_STATUS_CONFIRMATION_CODE_MISSING] = {"8.2.7", "2.2",
                                               "Confirmation Code - Mandatory Element Missing"},
    [SMDP_STATUS_CONFIRMATION_CODE_REFUSED] = {"8.2.7", "3.8", "Confirmation Code - Refused"},
    [SMDP_STATUS_CONFIRMATION_CODE_RETRIES] = {"8.2.7", "6.4",
                                               "Confirmation Code - Maximum number of retries "
                                               "exceeded"},
    [SMDP_STATUS_PROFILE_NOT_RELEASED] = {"8.2", "1.2", "Profile - Not Allowed (not released)"},
    [SMDP_STATUS_BPP_NOT_AVAILABLE] = {"8.2", "3.7",
                                       "Profile - Unavailable (BPP not available for binding)"},
    [SMDP_STATUS_DOWNLOAD_RETRIES] = {"8.8.5", "6.4",
                                      "Download order - Maximum number of retries exceeded"},
    [SMDP_STATUS_ORDER_EXPIRED] = {"8.8.5", "4.10", "Download order - Time to Live Expired"},
    [SMDP_STATUS_TRANSACTION_UNKNOWN] = {"8.10.1", "3.9", "TransactionId - Unknown"},
    [SMDP_STATUS_SMDS_ADDRESS_INVALID] = {"8.9.1", "2.1", "SM-DS Address - Invalid"},
};

/* SGP.22 v2.5 section 6.5.1.4 */
const smdp_status_code_entry *smdp_status_code(smdp_status status)
{
    if ((unsigned)status >= SMDP_STATUS__COUNT)
        status = SMDP_STATUS_INTERNAL;
    return &entries[status];
}

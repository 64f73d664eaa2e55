/* The fleet simulator: N software eUICCs (euicc/euicc.h), each with its IPA (ipa/ipa.h), in one
 * process, so that the eIM and the SM-DP+ can be driven at scale.
 *
 * Event driven: a min-heap orders the devices by the time of their next poll and a small fixed
 * pool of workers runs ipa_poll_once for the devices that are due; there is never a thread per
 * device. Each worker owns one HTTPS client (libcurl, keep-alive), which the IPA of whichever
 * device it runs borrows for that poll.
 *
 * A device is an eUICC (state in memory, or one state file per device under state_dir) plus
 * its IPA and the IPA's few bytes of storage (in memory, or files next to the state file).
 * Failure injection: HTTP requests dropped (before they are sent or, as a lost answer, after
 * the server handled them), fixed delays, and reboots that cut the power in the middle of a
 * poll (the IPA instance and the card's channels are lost; the eUICC state and the IPA storage
 * survive, as on a real device).
 *
 * Identities: each eUICC gets a fresh key and a CERT.EUICC.ECDSA issued by the EUM of a
 * `rspkit pki init` folder, then AddInitialEim (SGP.32 v1.2 section 5.9.12) with the eIM's
 * public key, so that every device is ready to be registered with the eIM.
 *
 * Thread safety: the fleet_device_* accessors lock the device, so they may be called while
 * the fleet runs; fleet_new, fleet_start, fleet_stop and fleet_free are not concurrent. */
#ifndef RSPKIT_FLEET_FLEET_H
#define RSPKIT_FLEET_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/der.h"
#include "core/error.h"

#define FLEET_EID_STRING_SIZE   33
#define FLEET_ICCID_STRING_SIZE 21
/* Name of the fleet's device threads (IPA + eUICC + HTTPS client), as /proc and perf show it. */
#define FLEET_WORKER_THREAD_NAME "fleet-device"

typedef struct fleet fleet;

typedef struct {
    size_t devices;
    /* `rspkit pki init` folder: nist/SK_EUM_ECDSA.pem, CERT_EUM_ECDSA.der, CERT_CI_ECDSA.der
     * issue and anchor the eUICCs; nist/CERT_EIM_ECDSA.der is the eIM key the eUICCs trust
     * (unless eim_certificate is set); nist/CERT_CI_ECDSA.pem is the TLS root (unless
     * tls_ca_file is set). */
    const char *pki_dir;
    const char *eim_certificate; /* eIM signing certificate (PEM or DER); NULL: from pki_dir */
    const char *tls_ca_file;     /* PEM roots for the eIM's TLS; NULL: from pki_dir */
    /* eimFqdn given to AddInitialEim ("host[:port]"); the IPA polls https://<fqdn>/gsma/rsp2/asn1
     * as the eUICC's eIM configuration says (SGP.32 v1.2 section 6.1). */
    const char *eim_fqdn;
    const char *eim_id;
    /* Fleet number: the EIDs are 89049032 + 6 digits of this + 16 digits of the device index
     * + check digits, so several fleets never share an EID. */
    unsigned fleet_id;
    const char *state_dir;     /* NULL: every state in memory; else one folder per device */
    unsigned workers;          /* poll workers (0: 4) */
    uint32_t poll_interval_ms; /* 0: 1000 */
    uint32_t poll_jitter_ms;   /* added uniformly in [0, jitter] */
    uint32_t backoff_base_ms;  /* after a failed poll: base * 2^n, capped (0: 200 ms) */
    uint32_t backoff_max_ms;   /* 0: 5000 ms */
    double drop_rate;          /* fraction of HTTP requests lost (0..1) */
    uint32_t delay_ms;         /* added before every HTTP request */
    double reboot_rate;        /* probability per poll of a power cut in its middle */
    long http_timeout_ms;      /* 0: 30 s */
    uint32_t seed;             /* failure injection randomness (0: 1) */
    /* Profile downloads straight to the SM-DP+ (ES9+ JSON) instead of relayed by the eIM
     * (ipa_config.direct_download) */
    bool direct_download;
    bool quiet; /* no provisioning progress on stderr */
} fleet_config;

typedef struct {
    uint64_t polls;
    uint64_t poll_failures;
    uint64_t packages;
    uint64_t results_delivered;
    uint64_t notifications_sent;
    uint64_t http_requests;
    uint64_t http_dropped;
    uint64_t reboots;
    uint64_t polls_running;
} fleet_stats;

typedef struct {
    char iccid[FLEET_ICCID_STRING_SIZE];
    int64_t state; /* SGP.22 ProfileState: 0 disabled, 1 enabled */
    char smdp_address[128];
} fleet_profile;

/* Provisions every device (in parallel on the workers); does not poll yet. */
rsp_status fleet_new(const fleet_config *config, fleet **out, rsp_error *err);
/* Starts the workers: every device is due at once, then every poll interval. */
rsp_status fleet_start(fleet *f, rsp_error *err);
/* Stops the workers after the polls in progress. */
void fleet_stop(fleet *f);
void fleet_free(fleet *f);

size_t fleet_size(const fleet *f);
void fleet_get_stats(fleet *f, fleet_stats *out);
/* Makes every device due now (a device busy polling polls again right after). */
void fleet_poll_all_now(fleet *f);
/* true (default): half the dropped exchanges lose the answer after the server acted on the
 * request; false: every drop loses the request before it is sent. */
void fleet_set_answer_loss(fleet *f, bool lose_answers);
/* Makes one device due now (the eIM's wake-up of a device it has work for). */
void fleet_poll_device_now(fleet *f, size_t index);
/* Changes the failure injection while the fleet runs. */
void fleet_set_faults(fleet *f, double drop_rate, uint32_t delay_ms, double reboot_rate);

void fleet_device_eid(const fleet *f, size_t index, char eid[FLEET_EID_STRING_SIZE]);
/* Index of the device with that EID, or SIZE_MAX. */
size_t fleet_find_eid(const fleet *f, const char *eid);
/* Certificates as DER (borrowed from the device / fleet; valid until fleet_free). */
der_view fleet_device_certificate(fleet *f, size_t index);
der_view fleet_eum_certificate(const fleet *f);
/* The associationToken the eUICC holds for that eIM (0 when none). */
int64_t fleet_device_association_token(fleet *f, size_t index, const char *eim_id);
/* The installed profiles as the eUICC holds them. */
rsp_status fleet_device_profiles(fleet *f, size_t index, fleet_profile *out, size_t cap,
                                 size_t *count, rsp_error *err);
/* Notifications and eUICC Package Results the eUICC still holds (not yet acknowledged). */
size_t fleet_device_undelivered(fleet *f, size_t index);
/* eimIds configured in the eUICC, comma separated, into out. */
void fleet_device_eims(fleet *f, size_t index, char *out, size_t size);
/* The device loses power at its n-th next HTTP request (n >= 1), inside whatever poll. */
void fleet_device_cut_power(fleet *f, size_t index, unsigned after_requests);
/* The device loses power right before its next ProvideEimPackageResult (BF50) is sent: the
 * eUICC ran the package and the IPA stored the result, nothing reached the eIM. */
void fleet_device_cut_power_before_result(fleet *f, size_t index);
/* Heap bytes the eUICC and the IPA of a device hold. */
size_t fleet_device_bytes(fleet *f, size_t index);

/* Idle provisioning without downloads: installs in every device a copy of the SAIP package
 * (as an installed, enabled profile with its own ICCID iccid_prefix + index + Luhn digit),
 * the same record a download leaves. */
rsp_status fleet_install_profile_copies(fleet *f, der_view package, const char *iccid_prefix,
                                        rsp_error *err);

/* [{"eid", "euiccCertificate", "eumCertificate", "associationToken", "labels"}, ...] for
 * POST /api/v1/devices of the eIM eim_id; labels may be NULL. Devices [first, first+count). */
rsp_status fleet_registration_json(fleet *f, const char *eim_id, size_t first, size_t count,
                                   const char *labels_json, char **out, rsp_error *err);

#endif

/* Test doubles for libipa: an ES10 fake behind the real APDU front end (euicc/apdu.h), an
 * in-process fake eIM (ESipa ASN.1, decoded with the codec so every IPA message is checked
 * against the SGP.32 schema), memory storage and the platform hooks wiring them together. */
#ifndef RSPKIT_TESTS_IPA_FAKES_H
#define RSPKIT_TESTS_IPA_FAKES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/der.h"
#include "core/sgp32.h"
#include "euicc/apdu.h"
#include "ipa/ipa.h"

#define FAKE_MAX_ITEMS    16
#define FAKE_MAX_PROFILES 4
#define FAKE_ITEM_MAX     1024

typedef struct {
    int64_t seq;
    uint8_t der[FAKE_ITEM_MAX];
    size_t len;
} fake_item;

typedef struct {
    uint8_t iccid[10];
    bool enabled;
} fake_profile;

/* ---- fake eUICC ---------------------------------------------------------------------- */
typedef struct {
    euicc_card *card;
    uint8_t eid[16];
    fake_profile profiles[FAKE_MAX_PROFILES];
    size_t profile_count;
    fake_item notifications[FAKE_MAX_ITEMS];
    size_t notification_count;
    fake_item results[FAKE_MAX_ITEMS]; /* eUICC Package Results */
    size_t result_count;
    int64_t next_seq;
    int64_t last_counter;
    bool has_eim;             /* an eIM is configured */
    uint8_t eim_config[1024]; /* GetEimConfigurationData answer replacing the built-in one */
    size_t eim_config_len;
    unsigned packages_loaded;
    unsigned rollbacks;
    unsigned fallbacks;
    unsigned cancels;
    unsigned authenticate_servers; /* ES10b.AuthenticateServer calls */
    unsigned prepare_downloads;    /* ES10b.PrepareDownload calls */
    int64_t last_cancel_reason;
    unsigned bpp_segments;
    size_t bpp_remaining; /* bytes of A3 left */
    bool bpp_in_a3;
    uint16_t fail_sw_for_tag; /* answer this tag with an error (6A88) */
    uint32_t fail_tag;
    size_t largest_command;
} fake_euicc;

void fake_euicc_init(fake_euicc *f);
void fake_euicc_free(fake_euicc *f);
void fake_euicc_add_profile(fake_euicc *f, uint8_t last_digit, bool enabled);
/* A signed notification (event bit of NotificationEvent) as a profile operation leaves. */
void fake_euicc_add_notification(fake_euicc *f, const uint8_t iccid[10], uint8_t event_bit);

/* ---- fake eIM ------------------------------------------------------------------------ */
typedef enum {
    FAKE_EIM_OK = 0,
    FAKE_EIM_UNREACHABLE,   /* every call fails like a dead network */
    FAKE_EIM_GARBAGE,       /* answers bytes that are not DER */
    FAKE_EIM_WRONG_MESSAGE, /* answers a well-formed but unrelated message */
    FAKE_EIM_MUTATE         /* answers correctly, then damages 1-3 bytes or truncates */
} fake_eim_mode;

typedef struct {
    fake_eim_mode mode;
    uint32_t mutate_state;         /* xorshift state for FAKE_EIM_MUTATE */
    unsigned mutated;              /* answers damaged so far */
    unsigned fail_provide_results; /* fail this many ProvideEimPackageResult calls */
    uint32_t unreachable_from_tag; /* from a message with this tag on, every call fails */
    bool gone;                     /* that happened */
    uint8_t packages[4][FAKE_ITEM_MAX];
    size_t package_len[4];
    size_t package_count;
    size_t package_next;
    /* what arrived */
    unsigned calls;
    unsigned provide_results;
    unsigned get_packages;
    unsigned handle_notifications;
    unsigned cancel_sessions;
    unsigned schema_failures; /* IPA messages that did not decode as EsipaMessageFromIpaToEim */
    int64_t seen_seq[64];
    size_t seen_count;
    unsigned duplicates;
    uint8_t last_result[4096];
    size_t last_result_len;
    bool last_get_had_state_change;
    bool last_get_had_rplmn;
    uint8_t last_rplmn[3];
    int64_t last_state_change_cause;
    /* download */
    bool refuse_bpp; /* GetBoundProfilePackage answers an error (the SM-DP+ cancels) */
    unsigned download_steps;
    /* transient failures of the download step with tag flaky_tag, in this order: requests
     * lost before the eIM saw them, answers lost after it acted, undefinedError answers (the
     * eIM could not reach the SM-DP+) */
    uint32_t flaky_tag;
    unsigned lose_requests;
    unsigned lose_answers;
    unsigned undefined_errors;
    uint8_t flaky_body[FAKE_ITEM_MAX]; /* first request with flaky_tag */
    size_t flaky_body_len;
    unsigned flaky_resent_same; /* later requests with flaky_tag identical to the first */
    unsigned flaky_resent_other;
} fake_eim;

/* Answers one IPA message (the fake eIM's ESipa endpoint); returns the HTTP status, -1 for a
 * simulated network failure. */
long fake_eim_handle(fake_eim *eim, der_view body, der_writer *answer);
/* Queues a GetEimPackageResponse alternative (the BF51/BF52/BF54 TLV). */
void fake_eim_queue(fake_eim *eim, der_view package);
/* The last ProvideEimPackageResult the eIM received, decoded (valid until the next call); NULL
 * when the last result is no ProvideEimPackageResult. */
const sgp32_eim_package_result *fake_eim_last_result(const fake_eim *eim);

/* For the cmocka tests: a status check that prints the IPA's error message (an rsp_error
 * named err in the caller's scope) when it fails. */
#define assert_status(call, expected)                                                              \
    do {                                                                                           \
        rsp_status got_ = (call);                                                                  \
        if (got_ != (expected))                                                                    \
            print_message("status %s: %s\n", rsp_status_name(got_), err.message);                  \
        assert_int_equal(got_, (expected));                                                        \
    } while (0)

/* ---- wiring -------------------------------------------------------------------------- */
typedef struct {
    char keys[4][32];
    uint8_t values[4][8192];
    size_t lengths[4];
    bool used[4];
    unsigned writes;
    bool fail_writes;
    int writes_left; /* > 0: that many more writes succeed, then all fail (power loss) */
} fake_storage;

typedef struct {
    fake_euicc euicc;
    fake_eim eim;
    fake_storage storage;
    ipa_platform platform;
    ipa_config config;
} ipa_fixture;

void ipa_fixture_init(ipa_fixture *fx);
void ipa_fixture_free(ipa_fixture *fx);
bool fake_storage_has(const fake_storage *s, const char *key);

/* Builders for eIM packages. */
size_t build_euicc_package_enable(uint8_t *out, size_t cap, const uint8_t eid[16],
                                  uint8_t iccid_last_digit, int64_t counter, bool rollback);
size_t build_ipa_euicc_data_request(uint8_t *out, size_t cap, const uint8_t *tags, size_t tag_len,
                                    bool with_transaction_id);
size_t build_download_trigger(uint8_t *out, size_t cap, const char *activation_code);
size_t build_download_trigger_smds(uint8_t *out, size_t cap);
size_t build_download_trigger_default_smdp(uint8_t *out, size_t cap);

#endif

/* The whole-chain fixture of the IPA tests: a NIST PKI in a temporary folder, the software
 * eUICC reached through its APDU interface, the SM-DP+ and eIM servers on loopback (the eIM
 * over pinned HTTPS with a development TLS PKI) and a REST client acting as the fleet owner.
 * Every function fails the running cmocka test on error. */
#ifndef RSPKIT_TESTS_IPA_REAL_EIM_H
#define RSPKIT_TESTS_IPA_REAL_EIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/sgp32.h"
#include "eim/server.h"
#include "euicc/euicc.h"
#include "ipa/ipa.h"
#include "ipa/platform/platform.h"
#include "net/dev_pki.h"
#include "net/http_client.h"
#include "smdp/server.h"

#define EIM_ID    "eim.rspkit.test"
#define ADMIN_KEY "admin-secret"

typedef struct {
    char dir[64];
    char eid[RSP_EID_STRING_SIZE];
    rsp_certificate *ci, *eum, *euicc_cert;
    rsp_private_key *euicc_key, *eim_key;
    const rsp_certificate *cis[1];
    euicc *card;
    dev_pki tls;
    smdp_config smdp_config;
    smdp_server *smdp;
    eim_server *eim;
    char eim_db[128], eim_key_path[128], ci_pem[128];
    const char *ci_files[1];
    http_client *rest_client;
    char api_key[128];
    ipa_http *http;
    ipa_file_storage storage;
    ipa_instance *ipa;
} real_eim_fixture;

/* Clears the fixture and issues the PKI (one eUICC); -1 when the folder or PKI failed. */
int real_eim_setup(real_eim_fixture *f);
/* Frees whatever was started and removes the folder. */
int real_eim_teardown(real_eim_fixture *f);

void real_eim_check(rsp_status st, const rsp_error *err, const char *what);
/* ipa_platform.apdu_transmit with ctx = the fixture: straight into the software eUICC */
rsp_status real_eim_card_transmit(void *ctx, const uint8_t *command, size_t command_len,
                                  uint8_t *response, size_t response_cap, size_t *response_len,
                                  rsp_error *err);
void real_eim_start_card(real_eim_fixture *f);
void real_eim_start_servers(real_eim_fixture *f);

/* The eIM's REST API; takes ownership of body, returns the parsed answer (caller frees). */
json_t *real_eim_rest(real_eim_fixture *f, const char *method, const char *path, json_t *body,
                      long *status);
const char *real_eim_order_state(real_eim_fixture *f, int64_t id, char *buf, size_t size);
/* Orders an operation for the fixture's eUICC (takes ownership of op); returns the order ID. */
int64_t real_eim_operation(real_eim_fixture *f, json_t *op);

/* AddInitialEim through f->ipa; returns the association token. */
int64_t real_eim_associate(real_eim_fixture *f);
void real_eim_register_device(real_eim_fixture *f, int64_t token);
/* Imports a personalised copy of the package at package_path and releases a download order
 * for the fixture's EID. */
void real_eim_order_profile(real_eim_fixture *f, const char *package_path,
                            char iccid[SMDP_ICCID_SIZE], char matching_id[SMDP_MATCHING_SIZE]);
void real_eim_poll_ok(real_eim_fixture *f, ipa_poll_report *report);
/* The path of TS.48 profile `profile` under shared_dir (the tests' RSPKIT_SHARED_DIR); false,
 * said aloud so that the caller's skip() is loud, when it cannot be read. */
bool real_eim_ts48_path(char *path, size_t size, const char *shared_dir, const char *profile);
/* Orders the package at package_path and an indirect download of it through the eIM's REST
 * API; one poll of the IPA must run it to a succeeded order. The profile's ICCID is returned. */
void real_eim_download(real_eim_fixture *f, const char *package_path, char iccid[SMDP_ICCID_SIZE]);
/* The eUICC has exactly one profile and it is enabled; nothing is left pending on the device. */
void real_eim_assert_enabled_and_settled(real_eim_fixture *f);

#endif

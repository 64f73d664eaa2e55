/* Helpers shared by the end-to-end tests: whole files, the temporary PKI folder, the skip
 * check for the shared TS.48 profiles, and the LPA's ES10 transport (STORE DATA + GET
 * RESPONSE) over APDUs. Static inline so that each test includes only what it uses; every
 * helper fails the running cmocka test on an unexpected answer. Include after <cmocka.h>. */
#ifndef RSPKIT_TESTS_E2E_FIXTURE_H
#define RSPKIT_TESTS_E2E_FIXTURE_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/der.h"
#include "core/sgp32.h"
#include "crypto/certificate.h"
#include "crypto/key.h"
#include "crypto/pki_generate.h"
#include "euicc/euicc.h"
#include "euicc/euicc_package.h"
#include "smdp/download.h"

/* The whole file, malloc'd (caller frees); NULL when it cannot be read. */
static inline uint8_t *e2e_read_file(const char *path, size_t *len)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return NULL;
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    uint8_t *data = malloc(size > 0 ? (size_t)size : 1);
    if (data != NULL && fread(data, 1, (size_t)size, file) != (size_t)size) {
        free(data);
        data = NULL;
    }
    fclose(file);
    *len = (size_t)size;
    return data;
}

static inline void e2e_remove_tree(const char *dir)
{
    DIR *handle = opendir(dir);
    if (handle == NULL) {
        remove(dir);
        return;
    }
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        char path[1024];
        int path_len = snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        if (path_len < 0 || (size_t)path_len >= sizeof path)
            continue; /* deeper than any folder these tests make */
        if (remove(path) != 0)
            e2e_remove_tree(path);
    }
    closedir(handle);
    remove(dir);
}

/* dir/sub/name from a PKI folder (rsp_pki_init's "nist" or a test-data tree). */
static inline rsp_certificate *e2e_load_certificate(const char *dir, const char *sub,
                                                    const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    rsp_certificate *cert = NULL;
    rsp_error err = {0};
    assert_int_equal(rsp_certificate_load_file(path, &cert, &err), RSP_OK);
    return cert;
}

static inline rsp_private_key *e2e_load_key(const char *dir, const char *sub, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    rsp_private_key *key = NULL;
    rsp_error err = {0};
    assert_int_equal(rsp_private_key_load_file(path, &key, &err), RSP_OK);
    return key;
}

/* A fresh folder /tmp/rspkit-e2e-<name>-XXXXXX holding a test PKI (rsp_pki_init) with
 * euicc_count eUICCs on `curves`; false, having said why, when either cannot be made. */
static inline bool e2e_make_pki_folder(char *dir, size_t dir_size, const char *name,
                                       unsigned curves, unsigned euicc_count)
{
    snprintf(dir, dir_size, "/tmp/rspkit-e2e-%s-XXXXXX", name);
    if (mkdtemp(dir) == NULL)
        return false;
    rsp_pki_options options = {.curves = curves, .euicc_count = euicc_count};
    rsp_error err = {0};
    if (rsp_pki_init(dir, &options, &err) != RSP_OK) {
        fprintf(stderr, "pki: %s\n", err.message);
        return false;
    }
    return true;
}

/* The first `count` EIDs the PKI in dir issued (its eids.txt); returns how many were found. */
static inline size_t e2e_read_eids(const char *dir, char (*eids)[RSP_EID_STRING_SIZE], size_t count)
{
    char path[512], line[128];
    size_t found = 0;
    snprintf(path, sizeof path, "%s/eids.txt", dir);
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return 0;
    while (found < count && fgets(line, sizeof line, file) != NULL)
        if (sscanf(line, "issued %32s", eids[found]) == 1)
            found++;
    fclose(file);
    return found;
}

/* The certificate and private key of the eUICC `eid` from dir/sub/euicc. */
static inline void e2e_load_euicc_identity(const char *dir, const char *sub, const char *eid,
                                           rsp_certificate **certificate, rsp_private_key **key)
{
    char name[128];
    snprintf(name, sizeof name, "euicc/CERT_EUICC_ECDSA_%s.der", eid);
    *certificate = e2e_load_certificate(dir, sub, name);
    snprintf(name, sizeof name, "euicc/SK_EUICC_ECDSA_%s.pem", eid);
    *key = e2e_load_key(dir, sub, name);
}

/* Whether the TS.48 profile `profile` is in the shared test data; says why when it is not,
 * so that the caller's skip() is loud. */
static inline bool e2e_shared_data_present(const char *profile)
{
    char path[512];
    snprintf(path, sizeof path, "%s/testdata/ts48/%s", RSPKIT_SHARED_DIR, profile);
    if (access(path, R_OK) == 0)
        return true;
    fprintf(stderr, "SKIPPED: TS.48 test profiles not found under %s/testdata/ts48\n",
            RSPKIT_SHARED_DIR);
    return false;
}

/* header, Lc, 255 data bytes, Le */
#define E2E_STORE_DATA_MAX 262

/* SGP.22 v2.5 section 5.7.2: the b-th of `blocks` STORE DATA APDUs (CLA 80, INS E2, P1 91 on
 * the last block and 11 before it, P2 the block number, Le 00) carrying up to 255 bytes of
 * command. Returns the APDU's length. */
static inline size_t e2e_store_data_apdu(der_view command, size_t b, size_t blocks,
                                         uint8_t apdu[E2E_STORE_DATA_MAX])
{
    size_t chunk = command.len - b * 255 < 255 ? command.len - b * 255 : 255;
    apdu[0] = 0x80;
    apdu[1] = 0xE2;
    apdu[2] = b + 1 == blocks ? 0x91 : 0x11;
    apdu[3] = (uint8_t)b;
    apdu[4] = (uint8_t)chunk;
    memcpy(apdu + 5, command.data + b * 255, chunk);
    apdu[5 + chunk] = 0x00;
    return chunk + 6;
}

/* SGP.22 v2.5 section 5.7.2 (ES10 over STORE DATA): blocks of at most 255 bytes (each but the
 * last must answer 9000), then GET RESPONSE while the card says 61xx. The answer's data goes to
 * out; returns the last status word. resp is the reader's buffer. */
static inline unsigned e2e_es10(euicc *card, uint8_t *resp, size_t resp_cap, der_view command,
                                der_writer *out)
{
    size_t blocks = (command.len + 254) / 255;
    size_t len = 0;
    for (size_t b = 0; b < blocks; b++) {
        uint8_t apdu[E2E_STORE_DATA_MAX];
        size_t apdu_len = e2e_store_data_apdu(command, b, blocks, apdu);
        len = euicc_transmit(card, apdu, apdu_len, resp, resp_cap);
        assert_true(len >= 2);
        if (b + 1 < blocks)
            assert_int_equal(resp[len - 2], 0x90);
    }
    for (;;) {
        der_put_raw(out, resp, len - 2);
        unsigned sw = (unsigned)(resp[len - 2] << 8 | resp[len - 1]);
        if ((sw & 0xFF00) != 0x6100)
            return sw;
        uint8_t get_response[] = {0x80, 0xC0, 0x00, 0x00, (uint8_t)(sw & 0xFF)};
        len = euicc_transmit(card, get_response, sizeof get_response, resp, resp_cap);
        assert_true(len >= 2);
    }
}

/* The content TLVs of a response's OK alternative: outer { A0 { children } }. */
static inline size_t e2e_ok_children(der_view message, der_tlv *out, size_t cap)
{
    der_tlv outer, alternative;
    der_reader r;
    rsp_error err = {0};
    assert_int_equal(der_parse_single(message, &outer, &err), RSP_OK);
    assert_int_equal(der_reader_enter(&outer, 0, &r, &err), RSP_OK);
    assert_int_equal(der_reader_next(&r, &alternative, &err), RSP_OK);
    assert_int_equal(alternative.tag, 0xA0);
    assert_int_equal(der_reader_enter(&alternative, 1, &r, &err), RSP_OK);
    size_t n = 0;
    while (!der_reader_at_end(&r) && n < cap)
        assert_int_equal(der_reader_next(&r, &out[n++], &err), RSP_OK);
    return n;
}

/* One download in progress, as an LPA keeps it. */
typedef struct {
    smdp_download_session session;
    der_writer initiate;     /* InitiateAuthenticationResponse */
    der_writer authenticate; /* eUICC AuthenticateServerResponse */
    der_writer client;       /* AuthenticateClientResponseEs9 */
    der_writer prepare;      /* eUICC PrepareDownloadResponse */
    der_writer bound;        /* GetBoundProfilePackageResponse */
    der_view bpp;
    uint8_t challenge[16]; /* the eUICC challenge the download was started with */
} e2e_download;

static inline void e2e_download_init(e2e_download *d)
{
    memset(d, 0, sizeof *d);
    der_writer_init_dynamic(&d->initiate, NULL);
    der_writer_init_dynamic(&d->authenticate, NULL);
    der_writer_init_dynamic(&d->client, NULL);
    der_writer_init_dynamic(&d->prepare, NULL);
    der_writer_init_dynamic(&d->bound, NULL);
}

static inline void e2e_download_free(e2e_download *d)
{
    der_writer_free(&d->initiate);
    der_writer_free(&d->authenticate);
    der_writer_free(&d->client);
    der_writer_free(&d->prepare);
    der_writer_free(&d->bound);
}

/* ES9+.InitiateAuthentication request (SGP.22 v2.5 section 5.6.1): the eUICC's challenge, the
 * SM-DP+ address and the EUICCInfo1 TLV as the eUICC returned it. */
static inline void e2e_initiate_authentication_request(der_writer *request,
                                                       const uint8_t challenge[16],
                                                       const char *address, der_view info1)
{
    size_t outer = der_begin(request, 0xBF39);
    der_put_tlv(request, 0x81, challenge, 16);
    der_put_tlv(request, 0x83, (const uint8_t *)address, strlen(address));
    der_put_raw(request, info1.data, info1.len);
    der_end(request, outer);
}

/* ES9+.AuthenticateClient (tag 0xBF3B) or ES9+.GetBoundProfilePackage (0xBF3A) request, SGP.22
 * v2.5 sections 5.6.3 and 5.6.2: the transactionId, then the eUICC's answer it relays. */
static inline void e2e_relay_request(der_writer *request, uint32_t tag,
                                     const uint8_t transaction_id[16], der_view euicc_answer)
{
    size_t outer = der_begin(request, tag);
    der_put_tlv(request, 0x80, transaction_id, 16);
    der_put_raw(request, euicc_answer.data, euicc_answer.len);
    der_end(request, outer);
}

/* ES10b.PrepareDownload request (SGP.22 v2.5 section 5.7.5) from an AuthenticateClient OK
 * answer's items[2..4] (smdpSigned2, smdpSignature2, CERT.DPpb), with hashCc when not NULL. */
static inline void e2e_prepare_download_request(der_writer *request, const der_tlv items[5],
                                                const uint8_t *hash_cc)
{
    size_t outer = der_begin(request, 0xBF21);
    der_put_raw(request, items[2].whole.data, items[2].whole.len);
    der_put_raw(request, items[3].whole.data, items[3].whole.len);
    if (hash_cc != NULL)
        der_put_tlv(request, 0x04, hash_cc, 32);
    der_put_raw(request, items[4].whole.data, items[4].whole.len);
    der_end(request, outer);
}

/* ES10b.AuthenticateServer request (SGP.22 v2.5 section 5.7.13) from the four signed items of
 * an InitiateAuthentication OK answer (items[1..4], as e2e_ok_children lists them), with a
 * CtxParams1 for a download of matching_id from a device of a fixed TAC and no capabilities. */
static inline void e2e_authenticate_server_request(der_writer *request, const der_tlv items[5],
                                                   const char *matching_id)
{
    static const uint8_t tac[] = {0x35, 0x29, 0x06, 0x11};
    size_t outer = der_begin(request, 0xBF38);
    for (int i = 1; i < 5; i++)
        der_put_raw(request, items[i].whole.data, items[i].whole.len);
    size_t context = der_begin(request, 0xA0);
    der_put_tlv(request, 0x80, (const uint8_t *)matching_id, strlen(matching_id));
    size_t device = der_begin(request, 0xA1);
    der_put_tlv(request, 0x80, tac, sizeof tac);
    der_put_tlv(request, 0xA1, NULL, 0);
    der_end(request, device);
    der_end(request, context);
    der_end(request, outer);
}

/* The SM-DP+ side of an rsp_pki_init folder (its "nist" tree): the CI and EUM certificates,
 * DPauth and DPpb with their keys, as the SM-DP+ core's credentials for `address`. The
 * credentials point into the struct, which must therefore stay where it was loaded. */
typedef struct {
    rsp_certificate *ci, *eum, *dpauth, *dppb;
    rsp_private_key *dpauth_key, *dppb_key;
    const rsp_certificate *cis[1];
    smdp_identity identity;
    smdp_credentials credentials;
} e2e_smdp;

static inline void e2e_smdp_load(e2e_smdp *s, const char *dir, const char *address)
{
    s->ci = e2e_load_certificate(dir, "nist", "CERT_CI_ECDSA.der");
    s->eum = e2e_load_certificate(dir, "nist", "CERT_EUM_ECDSA.der");
    s->dpauth = e2e_load_certificate(dir, "nist", "CERT_S_SM_DPauth_ECDSA.der");
    s->dppb = e2e_load_certificate(dir, "nist", "CERT_S_SM_DPpb_ECDSA.der");
    s->dpauth_key = e2e_load_key(dir, "nist", "SK_S_SM_DPauth_ECDSA.pem");
    s->dppb_key = e2e_load_key(dir, "nist", "SK_S_SM_DPpb_ECDSA.pem");
    s->cis[0] = s->ci;
    s->identity = (smdp_identity){s->ci, s->dpauth, s->dpauth_key, s->dppb, s->dppb_key};
    s->credentials = (smdp_credentials){.address = address,
                                        .identities = &s->identity,
                                        .identity_count = 1,
                                        .cis = s->cis,
                                        .ci_count = 1};
}

static inline void e2e_smdp_free(e2e_smdp *s)
{
    rsp_certificate_free(s->ci);
    rsp_certificate_free(s->eum);
    rsp_certificate_free(s->dpauth);
    rsp_certificate_free(s->dppb);
    rsp_private_key_free(s->dpauth_key);
    rsp_private_key_free(s->dppb_key);
}

/* SGP.32 v1.2 section 5.9.4: the AddInitialEim command for one eIM (eim_id, also as its FQDN
 * when with_fqdn) with the public key of eim_key, asking for an association token. */
static inline void e2e_add_initial_eim_command(const rsp_private_key *eim_key, const char *eim_id,
                                               bool with_fqdn, der_writer *command)
{
    rsp_public_key *public_key = NULL;
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    rsp_error err = {0};
    assert_int_equal(rsp_private_key_public(eim_key, &public_key, &err), RSP_OK);
    assert_int_equal(rsp_public_key_to_spki(public_key, &spki, &spki_len, &err), RSP_OK);
    sgp32_eim_configuration_data configuration;
    memset(&configuration, 0, sizeof configuration);
    configuration.eim_id = der_view_make((const uint8_t *)eim_id, strlen(eim_id));
    if (with_fqdn) {
        configuration.has_eim_fqdn = true;
        configuration.eim_fqdn = configuration.eim_id;
    }
    configuration.has_counter_value = true;
    configuration.has_association_token = true;
    configuration.association_token = EUICC_ASSOCIATION_TOKEN_REQUEST;
    configuration.has_eim_public_key_data = true;
    configuration.eim_public_key_data.choice = SGP32_EIM_PUBLIC_KEY_DATA_EIM_PUBLIC_KEY;
    configuration.eim_public_key_data.u.eim_public_key = der_view_make(spki, spki_len);
    sgp32_add_initial_eim_request request;
    request.eim_configuration_data_list.count = 1;
    request.eim_configuration_data_list.items = &configuration;
    assert_int_equal(schema_encode(&sgp32_add_initial_eim_request_type, &request, command), RSP_OK);
    free(spki);
    rsp_public_key_free(public_key);
}

/* SGP.32 v1.2 section 5.9.4: the association token of an AddInitialEimResponse that must be
 * addInitialEimOk with a token. */
static inline int64_t e2e_association_token(der_view answer)
{
    sgp32_add_initial_eim_response response;
    uint8_t arena_buffer[256];
    schema_arena arena;
    rsp_error err = {0};
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    assert_int_equal(
        schema_decode(&sgp32_add_initial_eim_response_type, answer, &response, &arena, &err),
        RSP_OK);
    assert_int_equal(response.choice, SGP32_ADD_INITIAL_EIM_RESPONSE_ADD_INITIAL_EIM_OK);
    const sgp32_add_initial_eim_ok_item *item = response.u.add_initial_eim_ok.items;
    assert_int_equal(item->choice, SGP32_ADD_INITIAL_EIM_OK_ASSOCIATION_TOKEN);
    return item->u.association_token;
}

#endif

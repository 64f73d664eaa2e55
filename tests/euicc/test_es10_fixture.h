/* Shared fixture of the eUICC core tests (included by test_es10.c, test_state.c, test_isdr.c):
 * a fresh CI -> EUM -> eUICC chain, an eUICC object over a temporary state file, helpers to
 * plant profiles directly in the state and to run ES10 commands given in hex. */
#ifndef RSPKIT_TEST_ES10_FIXTURE_H
#define RSPKIT_TEST_ES10_FIXTURE_H

#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/der.h"
#include "core/sgp22.h"
#include "core/sgp32.h"
#include "crypto/certificate.h"
#include "crypto/ecdsa.h"
#include "crypto/key.h"
#include "crypto/pki_generate.h"
#include "euicc/euicc.h"
#include "euicc/isdr.h"
#include "euicc/notification.h"
#include "euicc/state.h"

#define FIXTURE_EID         "89049032123451234512345678901235"
#define FIXTURE_DEFAULT_DP  "smdp.example.com"
#define FIXTURE_NOTIFY_ADDR "notify.example.com"

typedef struct {
    rsp_private_key *ci_key;
    rsp_certificate *ci;
    rsp_private_key *eum_key;
    rsp_certificate *eum;
    rsp_private_key *euicc_key;
    rsp_certificate *euicc_cert;
    uint8_t eid[16];
    char dir[64];
    char state_path[128];
    euicc *e;
    const rsp_certificate *cis[1];
} fixture;

static inline rsp_certificate *fixture_issue(rsp_pki_certificate_request *request,
                                             const rsp_private_key *subject_key)
{
    rsp_error err = {0};
    rsp_public_key *public_key = NULL;
    rsp_certificate *cert = NULL;
    assert_int_equal(rsp_private_key_public(subject_key, &public_key, &err), RSP_OK);
    request->subject_key = public_key;
    request->not_before = time(NULL) - 60;
    if (rsp_pki_issue_certificate(request, &cert, &err) != RSP_OK)
        fail_msg("issue: %s", err.message);
    rsp_public_key_free(public_key);
    return cert;
}

static inline void fixture_make_identity(fixture *f)
{
    rsp_error err = {0};
    assert_int_equal(rsp_private_key_generate(RSP_CURVE_NIST_P256, &f->ci_key, &err), RSP_OK);
    assert_int_equal(rsp_private_key_generate(RSP_CURVE_NIST_P256, &f->eum_key, &err), RSP_OK);
    assert_int_equal(rsp_private_key_generate(RSP_CURVE_NIST_P256, &f->euicc_key, &err), RSP_OK);
    rsp_pki_certificate_request ci = {.role = RSP_CERT_ROLE_CI, .issuer_key = f->ci_key};
    f->ci = fixture_issue(&ci, f->ci_key);
    rsp_pki_certificate_request eum = {.role = RSP_CERT_ROLE_EUM,
                                       .eid_prefix = "89049032",
                                       .issuer = f->ci,
                                       .issuer_key = f->ci_key};
    f->eum = fixture_issue(&eum, f->eum_key);
    rsp_pki_certificate_request euicc_request = {.role = RSP_CERT_ROLE_EUICC,
                                                 .eid = FIXTURE_EID,
                                                 .issuer = f->eum,
                                                 .issuer_key = f->eum_key};
    f->euicc_cert = fixture_issue(&euicc_request, f->euicc_key);
    assert_int_equal(der_hex_decode(FIXTURE_EID, f->eid, sizeof(f->eid)), 16);
    f->cis[0] = f->ci;
}

static inline euicc_config fixture_config(fixture *f, const char *state_path)
{
    euicc_config config;
    memset(&config, 0, sizeof(config));
    memcpy(config.eid, f->eid, sizeof(config.eid));
    config.euicc_key = f->euicc_key;
    config.euicc_certificate = rsp_certificate_der(f->euicc_cert);
    config.eum_certificate = rsp_certificate_der(f->eum);
    config.ci_certificates = f->cis;
    config.ci_count = 1;
    config.default_dp_address = FIXTURE_DEFAULT_DP;
    config.state_path = state_path;
    config.durable = false;
    return config;
}

static inline void fixture_open(fixture *f)
{
    euicc_config config = fixture_config(f, f->state_path);
    rsp_error err = {0};
    if (euicc_new(&config, &f->e, &err) != RSP_OK)
        fail_msg("euicc_new: %s", err.message);
}

static inline int fixture_setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    fixture_make_identity(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/rspkit-euicc-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->state_path, sizeof(f->state_path), "%s/e.state", f->dir);
    fixture_open(f);
    *state = f;
    return 0;
}

static inline int fixture_teardown(void **state)
{
    fixture *f = *state;
    euicc_free(f->e);
    char path[160];
    snprintf(path, sizeof(path), "%s.tmp", f->state_path);
    unlink(path);
    unlink(f->state_path);
    rmdir(f->dir);
    rsp_certificate_free(f->ci);
    rsp_certificate_free(f->eum);
    rsp_certificate_free(f->euicc_cert);
    rsp_private_key_free(f->ci_key);
    rsp_private_key_free(f->eum_key);
    rsp_private_key_free(f->euicc_key);
    free(f);
    return 0;
}

/* ---- profiles planted in the state ------------------------------------------------------- */

typedef struct {
    const char *iccid_hex; /* 20 hex digits as stored (BCD swapped) */
    uint8_t aid_last;      /* ISD-P AID byte 14 */
    int64_t state;
    int64_t profile_class;
    const char *name;
    unsigned pprs;          /* bit mask: 1 << SGP22_PPR1, 1 << SGP22_PPR2 */
    unsigned notify_events; /* bit mask of SGP22_NOTIFICATION_* to configure */
} planted_profile;

static inline void fixture_plant(fixture *f, const planted_profile *p)
{
    uint8_t iccid[10], aid[16], ppr_byte, event_byte;
    assert_int_equal(der_hex_decode(p->iccid_hex, iccid, sizeof(iccid)), 10);
    assert_int_equal(der_hex_decode("A0000005591010FFFFFFFF8900001000", aid, sizeof(aid)), 16);
    aid[14] = p->aid_last;
    euicc_profile_record record;
    memset(&record, 0, sizeof(record));
    record.info.has_iccid = true;
    record.info.iccid = der_view_make(iccid, 10);
    record.info.has_isdp_aid = true;
    record.info.isdp_aid = der_view_make(aid, 16);
    record.info.has_profile_state = true;
    record.info.profile_state = p->state;
    record.info.has_profile_class = true;
    record.info.profile_class = p->profile_class;
    record.info.has_service_provider_name = true;
    record.info.service_provider_name = der_view_make((const uint8_t *)"Test SP", 7);
    record.info.has_profile_name = true;
    record.info.profile_name = der_view_make((const uint8_t *)p->name, strlen(p->name));
    if (p->pprs != 0) {
        ppr_byte = 0;
        for (unsigned bit = 0; bit < 3; bit++)
            if (p->pprs & (1u << bit))
                ppr_byte |= (uint8_t)(0x80u >> bit);
        record.info.has_profile_policy_rules = true;
        record.info.profile_policy_rules.bytes = der_view_make(&ppr_byte, 1);
        record.info.profile_policy_rules.unused_bits = 5;
    }
    sgp22_notification_configuration_information nci;
    if (p->notify_events != 0) {
        event_byte = 0;
        for (unsigned bit = 0; bit < 4; bit++)
            if (p->notify_events & (1u << bit))
                event_byte |= (uint8_t)(0x80u >> bit);
        nci.profile_management_operation.bytes = der_view_make(&event_byte, 1);
        nci.profile_management_operation.unused_bits = 4;
        nci.notification_address =
            der_view_make((const uint8_t *)FIXTURE_NOTIFY_ADDR, strlen(FIXTURE_NOTIFY_ADDR));
        record.info.has_notification_configuration_info = true;
        record.info.notification_configuration_info.count = 1;
        record.info.notification_configuration_info.items = &nci;
    }
    euicc_state *s = euicc_get_state(f->e);
    assert_int_equal(euicc_state_profile_add(s, &record), RSP_OK);
    rsp_error err = {0};
    assert_int_equal(euicc_state_commit(s, f->state_path, false, &err), RSP_OK);
}

#define ALL_EVENTS 0x0Fu

/* ---- running commands ------------------------------------------------------------------ */

typedef struct {
    rsp_status status;
    uint8_t data[8192];
    size_t len;
} command_result;

static inline command_result fixture_run(fixture *f, const char *hex)
{
    uint8_t command[4096];
    long n = der_hex_decode(hex, command, sizeof(command));
    assert_true(n > 0);
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    command_result r;
    memset(&r, 0, sizeof(r));
    r.status = euicc_process(f->e, der_view_make(command, (size_t)n), &w);
    assert_true(w.len <= sizeof(r.data));
    if (w.len > 0)
        memcpy(r.data, w.buf, w.len);
    r.len = w.len;
    der_writer_free(&w);
    return r;
}

/* Runs hex and returns the INTEGER under tag 80 of the response (single-result answers). */
static inline int64_t fixture_result_code(fixture *f, const char *hex)
{
    command_result r = fixture_run(f, hex);
    assert_int_equal(r.status, RSP_OK);
    der_tlv outer, inner;
    der_reader reader;
    rsp_error err = {0};
    assert_int_equal(der_parse_single(der_view_make(r.data, r.len), &outer, &err), RSP_OK);
    assert_int_equal(der_reader_enter(&outer, 0, &reader, &err), RSP_OK);
    assert_int_equal(der_reader_next(&reader, &inner, &err), RSP_OK);
    assert_int_equal(inner.tag, 0x80);
    int64_t value = -1;
    assert_int_equal(der_decode_int64(&inner, &value, &err), RSP_OK);
    return value;
}

/* Asserts that the command succeeded and that its answer decodes as type into out. out's views
 * point into r->data and its lists into arena_buffer: both must outlive out. */
static inline void fixture_decode(const command_result *r, const schema_type *type, void *out,
                                  uint8_t *arena_buffer, size_t arena_size)
{
    assert_int_equal(r->status, RSP_OK);
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, arena_size);
    rsp_error err = {0};
    assert_int_equal(schema_decode(type, der_view_make(r->data, r->len), out, &arena, &err),
                     RSP_OK);
}

static inline void assert_hex_equal(const uint8_t *data, size_t len, const char *hex)
{
    char text[4096];
    assert_true(len * 2 < sizeof(text));
    der_hex_encode(data, len, text, true);
    assert_string_equal(text, hex);
}

#endif

/* The eUICC state file under SIGKILL (issue 4, "State and faults"): a child process runs a
 * complete profile download (SM-DP+ core against the eUICC through APDUs, the BPP split as an
 * IPA sends it) and then eUICC Packages (enable, disable, delete, signed by a test eIM) against
 * a state file, and is killed at every step: after each APDU (the child stops and tells the
 * parent, which kills it), inside every commit (the child kills itself from an fsync
 * interposer: before the rename and after it), and at random delays while the committing
 * command runs. The parent then reloads the file and checks that the decoded records
 * (profiles, notifications, eIMs, package results, slots, counters) equal either the state
 * before the operation or the state after it, and that the eUICC still answers and can
 * complete the operation. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/saip.h"
#include "core/sgp22.h"
#include "core/sgp32.h"
#include "crypto/ecdsa.h"
#include "crypto/pki_generate.h"
#include "crypto/signature_gsma.h"
#include "euicc/euicc.h"
#include "euicc/euicc_package.h"
#include "smdp/binding.h"
#include "smdp/download.h"

#include "e2e_fixture.h"

#define SMDP_ADDRESS       "smdp.rspkit.test"
#define MATCHING_ID        "CRASH-0001"
#define EIM_ID             "eim.rspkit.test"
#define SECOND_ICCID       "8949449999999990031"
#define CRASH_PROFILE_NAME "crash profile"
#define PIECES_MAX         512
#define RANDOM_KILLS       6
#define SUMMARY_LIMIT      (1u << 20)

/* ---- the fsync interposer ------------------------------------------------------------- */

/* In a child, the commit's n-th fsync call (counted from the start of the operation) kills
 * the process: odd calls sync the new file before the rename, even ones the directory after
 * it, so both sides of the commit point are hit. 0 disables the kill. */
static unsigned fsync_kill_at;
static unsigned fsync_calls;

int fsync(int fd)
{
    fsync_calls++;
    if (fsync_kill_at != 0 && fsync_calls == fsync_kill_at)
        raise(SIGKILL);
    return (int)syscall(SYS_fsync, fd);
}

/* ---- fixture -------------------------------------------------------------------------- */

typedef enum { OP_DOWNLOAD, OP_ENABLE, OP_DISABLE, OP_DELETE } operation;

typedef struct {
    char dir[64];
    char state_path[128];
    rsp_certificate *euicc_cert;
    rsp_private_key *euicc_key, *eim_key;
    uint8_t eid[16];
    e2e_smdp smdp; /* CI, EUM, the SM-DP+ identity and its credentials */
    smdp_order order;
    uint8_t *packages[2]; /* [0] TS.48 as published, [1] the same with SECOND_ICCID */
    size_t package_lens[2];
    int64_t eim_token;
    int64_t eim_counter; /* last counter the base state accepted */
    uint8_t iccid[10];   /* ICCID of packages[0] as the eUICC stores it */
    bool durable;
} fixture;

/* What a child reports on its pipe. */
typedef enum { REPORT_STOPPED = 1, REPORT_WAITING, REPORT_DONE } report_kind;
typedef struct {
    uint32_t kind;
    uint32_t apdus;
    uint32_t fsyncs;
} report;

/* The LPA/IPA side: one eUICC reached through APDUs only. */
typedef struct {
    euicc *card;
    unsigned apdus;
    unsigned stop_after;   /* stop (and report) after this APDU; 0: never */
    unsigned pause_before; /* report and wait for the parent before this APDU; 0: never */
    int report_fd;
    int go_fd;
    uint8_t resp[600];
} lpa;

static void write_whole_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(data, 1, len, file), len);
    assert_int_equal(fclose(file), 0);
}

static void load_packages(fixture *f)
{
    char path[512];
    snprintf(path, sizeof path, "%s/testdata/ts48/NoBERTLV.der", RSPKIT_SHARED_DIR);
    f->packages[0] = e2e_read_file(path, &f->package_lens[0]);
    assert_non_null(f->packages[0]);
    der_writer second;
    rsp_error err = {0};
    der_writer_init_dynamic(&second, NULL);
    assert_int_equal(saip_set_iccid(der_view_make(f->packages[0], f->package_lens[0]), SECOND_ICCID,
                                    &second, &err),
                     RSP_OK);
    f->packages[1] = malloc(second.len);
    assert_non_null(f->packages[1]);
    memcpy(f->packages[1], second.buf, second.len);
    f->package_lens[1] = second.len;
    der_writer_free(&second);
}

static int group_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    if (!e2e_make_pki_folder(f->dir, sizeof f->dir, "crash", RSP_PKI_CURVE_NIST, 1))
        return -1;
    snprintf(f->state_path, sizeof f->state_path, "%s/euicc.state", f->dir);
    char eid[1][RSP_EID_STRING_SIZE] = {{0}};
    if (e2e_read_eids(f->dir, eid, 1) != 1 || der_hex_decode(eid[0], f->eid, sizeof f->eid) != 16)
        return -1;
    e2e_smdp_load(&f->smdp, f->dir, SMDP_ADDRESS);
    e2e_load_euicc_identity(f->dir, "nist", eid[0], &f->euicc_cert, &f->euicc_key);
    rsp_error err = {0};
    if (rsp_private_key_generate(RSP_CURVE_NIST_P256, &f->eim_key, &err) != RSP_OK)
        return -1;
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    e2e_smdp_free(&f->smdp);
    rsp_certificate_free(f->euicc_cert);
    rsp_private_key_free(f->euicc_key);
    rsp_private_key_free(f->eim_key);
    free(f->packages[0]);
    free(f->packages[1]);
    e2e_remove_tree(f->dir);
    free(f);
    return 0;
}

static euicc *open_euicc(fixture *f)
{
    euicc_config config;
    memset(&config, 0, sizeof config);
    memcpy(config.eid, f->eid, sizeof config.eid);
    config.euicc_key = f->euicc_key;
    config.euicc_certificate = rsp_certificate_der(f->euicc_cert);
    config.eum_certificate = rsp_certificate_der(f->smdp.eum);
    config.ci_certificates = f->smdp.cis;
    config.ci_count = 1;
    config.state_path = f->state_path;
    config.durable = f->durable;
    euicc *e = NULL;
    rsp_error err = {0};
    if (euicc_new(&config, &e, &err) != RSP_OK) {
        fprintf(stderr, "euicc_new: %s\n", err.message);
        return NULL;
    }
    return e;
}

/* ---- the LPA side (runs in the child, and in the parent for set-up and recovery) ---------- */

static void send_report(int fd, report_kind kind, unsigned apdus)
{
    report r = {kind, apdus, fsync_calls};
    if (write(fd, &r, sizeof r) != (ssize_t)sizeof r)
        _exit(90);
}

static size_t transmit(lpa *l, const uint8_t *apdu, size_t len)
{
    if (l->pause_before != 0 && l->apdus + 1 == l->pause_before) {
        uint8_t go;
        send_report(l->report_fd, REPORT_WAITING, l->apdus);
        if (read(l->go_fd, &go, 1) != 1)
            _exit(91);
    }
    size_t n = euicc_transmit(l->card, apdu, len, l->resp, sizeof l->resp);
    l->apdus++;
    if (l->stop_after != 0 && l->apdus == l->stop_after) {
        send_report(l->report_fd, REPORT_STOPPED, l->apdus);
        for (;;)
            pause();
    }
    return n;
}

static bool select_isd_r(lpa *l)
{
    static const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x10, 0xA0, 0x00, 0x00,
                                     0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF,
                                     0x89, 0x00, 0x00, 0x01, 0x00, 0x00};
    size_t len = transmit(l, select, sizeof select);
    return len >= 2 && l->resp[len - 2] == 0x90;
}

/* STORE DATA blocks of at most 255 bytes, then GET RESPONSE while the card says 61xx.
 * Returns the status word (0 on a framing failure); response data is appended to out. */
static unsigned es10(lpa *l, der_view command, der_writer *out)
{
    size_t blocks = (command.len + 254) / 255;
    size_t len = 0;
    for (size_t b = 0; b < blocks; b++) {
        uint8_t apdu[E2E_STORE_DATA_MAX];
        size_t apdu_len = e2e_store_data_apdu(command, b, blocks, apdu);
        len = transmit(l, apdu, apdu_len);
        if (len < 2 || (b + 1 < blocks && l->resp[len - 2] != 0x90))
            return 0;
    }
    for (;;) {
        der_put_raw(out, l->resp, len - 2);
        unsigned sw = (unsigned)(l->resp[len - 2] << 8 | l->resp[len - 1]);
        if ((sw & 0xFF00) != 0x6100)
            return sw;
        uint8_t get_response[] = {0x80, 0xC0, 0x00, 0x00, (uint8_t)(sw & 0xFF)};
        len = transmit(l, get_response, sizeof get_response);
        if (len < 2)
            return 0;
    }
}

/* The content TLVs of a response's first alternative: outer { A0 { children } }. */
static size_t children(der_view message, der_tlv *out, size_t cap)
{
    der_tlv outer, alternative;
    der_reader r;
    rsp_error err = {0};
    if (der_parse_single(message, &outer, &err) != RSP_OK ||
        der_reader_enter(&outer, 0, &r, &err) != RSP_OK ||
        der_reader_next(&r, &alternative, &err) != RSP_OK || alternative.tag != 0xA0 ||
        der_reader_enter(&alternative, 1, &r, &err) != RSP_OK)
        return 0;
    size_t n = 0;
    while (!der_reader_at_end(&r) && n < cap)
        if (der_reader_next(&r, &out[n++], &err) != RSP_OK)
            return 0;
    return n;
}

static smdp_result lookup_order(void *context, der_view matching_id, const char *eid,
                                smdp_order *order)
{
    fixture *f = context;
    (void)eid;
    (void)matching_id;
    *order = f->order;
    return SMDP_OK;
}

typedef struct {
    smdp_download_session session;
    der_writer initiate, authenticate, client, prepare, bound, result;
} download;

static void download_free(download *d)
{
    der_writer_free(&d->initiate);
    der_writer_free(&d->authenticate);
    der_writer_free(&d->client);
    der_writer_free(&d->prepare);
    der_writer_free(&d->bound);
    der_writer_free(&d->result);
}

/* GetEUICCChallenge, GetEUICCInfo1, ES9+.InitiateAuthentication, ES10b.AuthenticateServer. */
static bool authenticate(fixture *f, lpa *l, download *d)
{
    static const uint8_t get_challenge[] = {0xBF, 0x2E, 0x00};
    static const uint8_t get_info1[] = {0xBF, 0x20, 0x00};
    der_writer challenge, info1, request;
    der_writer_init_dynamic(&challenge, NULL);
    der_writer_init_dynamic(&info1, NULL);
    der_writer_init_dynamic(&request, NULL);
    rsp_error err = {0};
    bool ok = es10(l, der_view_make(get_challenge, 3), &challenge) == 0x9000 &&
              challenge.len == 21 && es10(l, der_view_make(get_info1, 3), &info1) == 0x9000;
    if (ok) {
        e2e_initiate_authentication_request(&request, challenge.buf + 5, SMDP_ADDRESS,
                                            der_writer_view(&info1));
        ok = smdp_initiate_authentication(&f->smdp.credentials, der_writer_view(&request), 0,
                                          &d->session, &d->initiate, &err) == SMDP_OK;
    }
    der_tlv items[8];
    ok = ok && children(der_writer_view(&d->initiate), items, 8) == 5;
    if (ok) {
        request.len = 0;
        e2e_authenticate_server_request(&request, items, MATCHING_ID);
        ok = es10(l, der_writer_view(&request), &d->authenticate) == 0x9000;
    }
    der_writer_free(&challenge);
    der_writer_free(&info1);
    der_writer_free(&request);
    return ok;
}

/* ES9+.AuthenticateClient, ES10b.PrepareDownload, ES9+.GetBoundProfilePackage. */
static bool prepare(fixture *f, lpa *l, download *d)
{
    der_writer request;
    der_writer_init_dynamic(&request, NULL);
    rsp_error err = {0};
    e2e_relay_request(&request, 0xBF3B, d->session.transaction_id,
                      der_writer_view(&d->authenticate));
    bool ok = smdp_authenticate_client(&f->smdp.credentials, &d->session, der_writer_view(&request),
                                       0, lookup_order, f, &d->client, &err) == SMDP_OK;
    der_tlv items[8];
    ok = ok && children(der_writer_view(&d->client), items, 8) == 5;
    if (ok) {
        request.len = 0;
        e2e_prepare_download_request(&request, items, NULL);
        ok = es10(l, der_writer_view(&request), &d->prepare) == 0x9000;
    }
    if (ok) {
        request.len = 0;
        e2e_relay_request(&request, 0xBF3A, d->session.transaction_id,
                          der_writer_view(&d->prepare));
        ok = smdp_get_bound_profile_package(&f->smdp.credentials, &d->session,
                                            der_writer_view(&request), &f->order, &d->bound,
                                            &err) == SMDP_OK;
    }
    der_writer_free(&request);
    return ok;
}

/* A whole download of packages[index]: true when the SM-DP+ accepts the install result. */
static bool run_download(fixture *f, lpa *l, int index)
{
    memset(&f->order, 0, sizeof f->order);
    f->order.package = der_view_make(f->packages[index], f->package_lens[index]);
    f->order.service_provider_name = "rspkit operator";
    f->order.profile_name = index == 0 ? CRASH_PROFILE_NAME : "resident profile";
    f->order.profile_class = SGP22_PROFILE_CLASS_OPERATIONAL;
    download d;
    memset(&d, 0, sizeof d);
    der_writer_init_dynamic(&d.initiate, NULL);
    der_writer_init_dynamic(&d.authenticate, NULL);
    der_writer_init_dynamic(&d.client, NULL);
    der_writer_init_dynamic(&d.prepare, NULL);
    der_writer_init_dynamic(&d.bound, NULL);
    der_writer_init_dynamic(&d.result, NULL);
    bool ok = authenticate(f, l, &d) && prepare(f, l, &d);
    der_tlv items[2];
    ok = ok && children(der_writer_view(&d.bound), items, 2) == 2 && items[1].tag == 0xBF36;
    der_view pieces[PIECES_MAX];
    size_t count = 0;
    rsp_error err = {0};
    ok = ok && smdp_bpp_split(items[1].whole, pieces, PIECES_MAX, &count, &err) == RSP_OK;
    for (size_t i = 0; ok && i < count && d.result.len == 0; i++)
        ok = es10(l, pieces[i], &d.result) == 0x9000;
    ok = ok && d.result.len > 0 &&
         smdp_handle_install_result(&f->smdp.credentials, &d.session, der_writer_view(&d.result),
                                    &err) == SMDP_OK &&
         d.session.state == SMDP_SESSION_INSTALLED;
    download_free(&d);
    return ok;
}

/* SGP.32 v1.2 section 2.11.1.1: one PSMO on iccid, signed by the test eIM. */
static bool run_package(fixture *f, lpa *l, int choice, const uint8_t *iccid, int64_t counter)
{
    sgp32_psmo psmo;
    memset(&psmo, 0, sizeof psmo);
    psmo.choice = choice;
    der_view iccid_view = der_view_make(iccid, 10);
    if (choice == SGP32_PSMO_ENABLE)
        psmo.u.enable.iccid = iccid_view;
    else if (choice == SGP32_PSMO_DISABLE)
        psmo.u.disable.iccid = iccid_view;
    else
        psmo.u.delete_profile.iccid = iccid_view;
    static const uint8_t transaction[2] = {0x7A, 0x01};
    sgp32_euicc_package_signed signed_part;
    memset(&signed_part, 0, sizeof signed_part);
    signed_part.eim_id = der_view_make((const uint8_t *)EIM_ID, strlen(EIM_ID));
    signed_part.eid_value = der_view_make(f->eid, 16);
    signed_part.counter_value = counter;
    signed_part.has_eim_transaction_id = true;
    signed_part.eim_transaction_id = der_view_make(transaction, 2);
    signed_part.euicc_package.choice = SGP32_EUICC_PACKAGE_PSMO_LIST;
    signed_part.euicc_package.u.psmo_list.count = 1;
    signed_part.euicc_package.u.psmo_list.items = &psmo;
    der_writer encoded, request, result;
    der_writer_init_dynamic(&encoded, NULL);
    der_writer_init_dynamic(&request, NULL);
    der_writer_init_dynamic(&result, NULL);
    rsp_error err = {0};
    bool ok = schema_encode(&sgp32_euicc_package_signed_type, &signed_part, &encoded) == RSP_OK &&
              rsp_eim_package_request_build(f->eim_key, der_writer_view(&encoded), &f->eim_token,
                                            &request, &err) == RSP_OK &&
              es10(l, der_writer_view(&request), &result) == 0x9000;
    /* the eUICC signed a result whose one operation succeeded */
    rsp_public_key *euicc_public = NULL;
    uint32_t alternative = 0;
    der_view signed_data;
    ok = ok && rsp_certificate_public_key(f->euicc_cert, &euicc_public, &err) == RSP_OK &&
         rsp_euicc_package_result_open(euicc_public, der_writer_view(&result), &f->eim_token,
                                       &alternative, &signed_data, &err) == RSP_OK &&
         alternative == 0xA0;
    rsp_public_key_free(euicc_public);
    uint8_t arena_buffer[4096];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    sgp32_euicc_package_result decoded;
    ok = ok && schema_decode(&sgp32_euicc_package_result_type, der_writer_view(&result), &decoded,
                             &arena, &err) == RSP_OK;
    if (ok) {
        const sgp32_euicc_package_result_data_signed *data =
            &decoded.u.euicc_package_result_signed.euicc_package_result_data_signed;
        const sgp32_euicc_result_data *first = data->euicc_result.items;
        int64_t code =
            first->choice == SGP32_EUICC_RESULT_DATA_ENABLE_RESULT    ? first->u.enable_result
            : first->choice == SGP32_EUICC_RESULT_DATA_DISABLE_RESULT ? first->u.disable_result
            : first->choice == SGP32_EUICC_RESULT_DATA_DELETE_RESULT  ? first->u.delete_result
                                                                      : -1;
        /* ok is 0 for enable, disable and delete alike */
        ok = data->euicc_result.count == 1 && first->choice == choice && code == 0;
    }
    der_writer_free(&encoded);
    der_writer_free(&request);
    der_writer_free(&result);
    return ok;
}

static bool run_operation(fixture *f, lpa *l, operation op)
{
    if (!select_isd_r(l))
        return false;
    switch (op) {
    case OP_DOWNLOAD:
        return run_download(f, l, 0);
    case OP_ENABLE:
        return run_package(f, l, SGP32_PSMO_ENABLE, f->iccid, f->eim_counter + 1);
    case OP_DISABLE:
        return run_package(f, l, SGP32_PSMO_DISABLE, f->iccid, f->eim_counter + 1);
    case OP_DELETE:
        return run_package(f, l, SGP32_PSMO_DELETE, f->iccid, f->eim_counter + 1);
    }
    return false;
}

/* ---- state summaries -------------------------------------------------------------------- */

/* The decoded records of the state file in one canonical byte string: everything but the
 * signatures inside signed notifications and results (fresh ECDSA nonces each run). */
static void summarise_state(const euicc_state *s, der_writer *out)
{
    rsp_error err = {0};
    for (int c = 0; c < EUICC_COUNTER__COUNT; c++)
        der_put_int64(out, 0x02, s->counters[c]);
    for (int slot = 0; slot < EUICC_SLOT__COUNT; slot++) {
        der_view v = euicc_state_slot(s, (euicc_slot_id)slot);
        der_put_tlv(out, 0x80, v.data, v.len);
    }
    for (size_t i = 0; i < euicc_state_count(s, EUICC_LIST_PROFILES); i++) {
        euicc_loaded_profile p;
        assert_int_equal(euicc_state_profile_load(s, i, false, &p, &err), RSP_OK);
        const sgp32_profile_info *info = &p.record.info;
        size_t mark = der_begin(out, 0xA1);
        der_put_tlv(out, 0x5A, info->iccid.data, info->iccid.len);
        der_put_tlv(out, 0x4F, info->isdp_aid.data, info->isdp_aid.len);
        der_put_int64(out, 0x9F70, info->profile_state);
        der_put_tlv(out, 0x92, info->profile_name.data, info->profile_name.len);
        der_put_tlv(out, 0x91, info->service_provider_name.data, info->service_provider_name.len);
        der_put_tlv(out, 0x90, info->profile_nickname.data, info->profile_nickname.len);
        der_put_tlv(out, 0x04, p.record.saip_package.data, p.record.saip_package.len);
        der_put_int64(out, 0x02, p.record.has_elements ? (int64_t)p.record.elements.count : -1);
        der_end(out, mark);
        euicc_loaded_profile_release(&p);
    }
    for (size_t i = 0; i < euicc_state_count(s, EUICC_LIST_NOTIFICATIONS); i++) {
        euicc_notification_record n;
        assert_int_equal(euicc_state_notification_decode(s, i, &n, &err), RSP_OK);
        size_t mark = der_begin(out, 0xA2);
        der_put_int64(out, 0x80, n.seq_number);
        der_put_tlv(out, 0x81, n.event.bytes.data, n.event.bytes.len);
        der_put_tlv(out, 0x0C, n.notification_address.data, n.notification_address.len);
        der_put_tlv(out, 0x5A, n.iccid.data, n.iccid.len);
        der_put_int64(out, 0x02,
                      n.pending_notification.len > 0 ? n.pending_notification.data[0] : 0);
        der_end(out, mark);
    }
    for (size_t i = 0; i < euicc_state_count(s, EUICC_LIST_PACKAGE_RESULTS); i++) {
        euicc_package_result_record r;
        assert_int_equal(euicc_state_package_result_decode(s, i, &r, &err), RSP_OK);
        size_t mark = der_begin(out, 0xA3);
        der_put_int64(out, 0x80, r.seq_number);
        der_put_tlv(out, 0x81, r.eim_id.data, r.eim_id.len);
        der_end(out, mark);
    }
    /* eIM configurations and CRLs hold no signature made by the eUICC: compared whole */
    for (size_t i = 0; i < euicc_state_count(s, EUICC_LIST_EIMS); i++) {
        der_view v = euicc_state_get(s, EUICC_LIST_EIMS, i);
        der_put_tlv(out, 0xA4, v.data, v.len);
    }
    for (size_t i = 0; i < euicc_state_count(s, EUICC_LIST_CRLS); i++) {
        der_view v = euicc_state_get(s, EUICC_LIST_CRLS, i);
        der_put_tlv(out, 0xA5, v.data, v.len);
    }
    assert_int_equal(der_writer_status(out), RSP_OK);
}

static void summarise_file(const char *path, der_writer *out)
{
    euicc_state s;
    rsp_error err = {0};
    euicc_state_init(&s);
    rsp_status status = euicc_state_load(&s, path, &err);
    if (status != RSP_OK)
        fail_msg("the state file does not load after the kill: %s", err.message);
    out->len = 0;
    summarise_state(&s, out);
    euicc_state_clear(&s);
}

/* ---- killing ------------------------------------------------------------------------------ */

typedef struct {
    unsigned stop_after;
    unsigned pause_before;
    unsigned fsync_kill_at;
    long random_delay_us; /* with pause_before: kill this long after letting the child go */
} kill_plan;

static void child_main(fixture *f, operation op, const kill_plan *plan, int report_fd, int go_fd)
{
    fsync_calls = 0;
    fsync_kill_at = plan->fsync_kill_at;
    lpa l;
    memset(&l, 0, sizeof l);
    l.stop_after = plan->stop_after;
    l.pause_before = plan->pause_before;
    l.report_fd = report_fd;
    l.go_fd = go_fd;
    l.card = open_euicc(f);
    if (l.card == NULL)
        _exit(2);
    if (!run_operation(f, &l, op))
        _exit(3);
    send_report(report_fd, REPORT_DONE, l.apdus);
    euicc_free(l.card);
    _exit(0);
}

/* Runs op in a child according to plan. Returns the child's last report; *killed tells whether
 * it died of SIGKILL. */
static report run_child(fixture *f, operation op, const kill_plan *plan, bool *killed)
{
    int to_parent[2], to_child[2];
    assert_int_equal(pipe(to_parent), 0);
    assert_int_equal(pipe(to_child), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(to_parent[0]);
        close(to_child[1]);
        child_main(f, op, plan, to_parent[1], to_child[0]);
    }
    close(to_parent[1]);
    close(to_child[0]);
    report r = {0, 0, 0};
    report next;
    while (read(to_parent[0], &next, sizeof next) == (ssize_t)sizeof next) {
        r = next;
        if (r.kind == REPORT_STOPPED) {
            kill(pid, SIGKILL);
        } else if (r.kind == REPORT_WAITING) {
            uint8_t go = 1;
            assert_int_equal(write(to_child[1], &go, 1), 1);
            struct timespec delay = {0, plan->random_delay_us * 1000L};
            nanosleep(&delay, NULL);
            kill(pid, SIGKILL);
        }
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(to_parent[0]);
    close(to_child[1]);
    *killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    if (!*killed && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        fail_msg("child failed (status %d) instead of completing or being killed", status);
    return r;
}

/* The eUICC on the file left behind answers GetProfilesInfo through APDUs with exactly the
 * profiles of the state. */
static void check_still_answers(fixture *f)
{
    lpa l;
    memset(&l, 0, sizeof l);
    l.card = open_euicc(f);
    assert_non_null(l.card);
    assert_true(select_isd_r(&l));
    static const uint8_t get_profiles_info[] = {0xBF, 0x2D, 0x00};
    der_writer answer;
    der_writer_init_dynamic(&answer, NULL);
    assert_int_equal(es10(&l, der_view_make(get_profiles_info, 3), &answer), 0x9000);
    sgp32_profile_info_list_response list;
    uint8_t arena_buffer[8192];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    rsp_error err = {0};
    assert_int_equal(schema_decode(&sgp32_profile_info_list_response_type, der_writer_view(&answer),
                                   &list, &arena, &err),
                     RSP_OK);
    assert_int_equal(list.choice, SGP32_PROFILE_INFO_LIST_RESPONSE_PROFILE_INFO_LIST_OK);
    assert_int_equal(list.u.profile_info_list_ok.count,
                     euicc_state_count(euicc_get_state_const(l.card), EUICC_LIST_PROFILES));
    der_writer_free(&answer);
    euicc_free(l.card);
}

typedef struct {
    const char *name;
    der_writer before, after, seen;
    uint8_t *before_bytes;
    size_t before_len;
    uint8_t *recover_bytes; /* a file a kill left in the before state, for the recovery run */
    size_t recover_len;
    unsigned kills, kills_before, kills_after, commit_apdu;
} crash_run;

/* Restores the before file, runs the child with plan, and classifies what it left. */
static bool kill_round(fixture *f, operation op, crash_run *run, const kill_plan *plan)
{
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", f->state_path);
    write_whole_file(f->state_path, run->before_bytes, run->before_len);
    unlink(tmp);
    bool killed = false;
    report r = run_child(f, op, plan, &killed);
    (void)r;
    summarise_file(f->state_path, &run->seen);
    bool is_before = der_view_equal(der_writer_view(&run->seen), der_writer_view(&run->before));
    bool is_after = der_view_equal(der_writer_view(&run->seen), der_writer_view(&run->after));
    if (!is_before && !is_after)
        fail_msg("%s: state between before and after (stop after APDU %u, fsync %u, delay %ld us)",
                 run->name, plan->stop_after, plan->fsync_kill_at, plan->random_delay_us);
    run->kills += killed;
    run->kills_before += killed && is_before;
    run->kills_after += killed && is_after;
    if (killed && is_before && run->recover_bytes == NULL)
        run->recover_bytes = e2e_read_file(f->state_path, &run->recover_len);
    check_still_answers(f);
    return is_after;
}

static void advance_base(fixture *f, operation op)
{
    if (op != OP_DOWNLOAD)
        f->eim_counter++;
}

/* Kills op at every step; leaves the state file in the after state. */
static void crash_operation(fixture *f, operation op, const char *name)
{
    crash_run run;
    memset(&run, 0, sizeof run);
    run.name = name;
    der_writer_init_dynamic(&run.before, NULL);
    der_writer_init_dynamic(&run.after, NULL);
    der_writer_init_dynamic(&run.seen, NULL);
    run.before_bytes = e2e_read_file(f->state_path, &run.before_len);
    assert_non_null(run.before_bytes);
    summarise_file(f->state_path, &run.before);

    /* reference run: how many APDUs and fsyncs the whole operation takes */
    kill_plan none = {0, 0, 0, 0};
    bool killed = false;
    report total = run_child(f, op, &none, &killed);
    assert_false(killed);
    assert_int_equal(total.kind, REPORT_DONE);
    summarise_file(f->state_path, &run.after);
    assert_false(der_view_equal(der_writer_view(&run.before), der_writer_view(&run.after)));

    for (unsigned n = 1; n <= total.apdus; n++) {
        kill_plan plan = {n, 0, 0, 0};
        if (kill_round(f, op, &run, &plan) && run.commit_apdu == 0)
            run.commit_apdu = n;
    }
    /* the state changes with exactly one APDU: the one whose command commits */
    assert_true(run.commit_apdu > 0);
    assert_true(run.kills_before >= run.commit_apdu - 1);
    for (unsigned k = 1; k <= total.fsyncs; k++) {
        kill_plan plan = {0, 0, k, 0};
        kill_round(f, op, &run, &plan);
    }
    srand(4242u + (unsigned)op);
    for (int i = 0; i < RANDOM_KILLS; i++) {
        kill_plan plan = {0, run.commit_apdu, 0, (long)(rand() % 3000)};
        kill_round(f, op, &run, &plan);
    }
    printf("# %s: %u APDUs, %u fsyncs in the reference run; %u SIGKILLs (%u left the state "
           "before, %u after; commit with APDU %u), never between\n",
           name, total.apdus, total.fsyncs, run.kills, run.kills_before, run.kills_after,
           run.commit_apdu);
    assert_true(run.kills >= total.apdus + total.fsyncs);

    /* the eUICC keeps working: from a file a kill left in the before state, the operation
     * completes in this process and yields the after state */
    assert_non_null(run.recover_bytes);
    write_whole_file(f->state_path, run.recover_bytes, run.recover_len);
    lpa l;
    memset(&l, 0, sizeof l);
    l.card = open_euicc(f);
    assert_non_null(l.card);
    assert_true(run_operation(f, &l, op));
    euicc_free(l.card);
    summarise_file(f->state_path, &run.seen);
    assert_true(der_view_equal(der_writer_view(&run.seen), der_writer_view(&run.after)));
    advance_base(f, op);

    free(run.before_bytes);
    free(run.recover_bytes);
    der_writer_free(&run.before);
    der_writer_free(&run.after);
    der_writer_free(&run.seen);
}

/* ---- set-up of the base state ------------------------------------------------------------ */

static void add_initial_eim(fixture *f, lpa *l)
{
    der_writer command, answer;
    der_writer_init_dynamic(&command, NULL);
    der_writer_init_dynamic(&answer, NULL);
    e2e_add_initial_eim_command(f->eim_key, EIM_ID, true, &command);
    assert_int_equal(es10(l, der_writer_view(&command), &answer), 0x9000);
    f->eim_token = e2e_association_token(der_writer_view(&answer));
    f->eim_counter = 0;
    der_writer_free(&command);
    der_writer_free(&answer);
}

/* ICCID of packages[0] as the eUICC stores it (the profile named by its order). */
static void learn_iccid(fixture *f, euicc *e)
{
    const euicc_state *s = euicc_get_state_const(e);
    rsp_error err = {0};
    bool found = false;
    for (size_t i = 0; i < euicc_state_count(s, EUICC_LIST_PROFILES); i++) {
        euicc_loaded_profile p;
        assert_int_equal(euicc_state_profile_load(s, i, true, &p, &err), RSP_OK);
        der_view name = p.record.info.profile_name;
        if (name.len == strlen(CRASH_PROFILE_NAME) &&
            memcmp(name.data, CRASH_PROFILE_NAME, name.len) == 0 && p.record.info.iccid.len == 10) {
            memcpy(f->iccid, p.record.info.iccid.data, 10);
            found = true;
        }
        euicc_loaded_profile_release(&p);
    }
    assert_true(found);
}

/* ---- the test ------------------------------------------------------------------------------ */

static void test_sigkill_at_every_step(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("NoBERTLV.der"))
        skip();
    load_packages(f);
    f->durable = true;
    unlink(f->state_path);

    /* base: an eIM, and a resident profile with its install notification */
    lpa l;
    memset(&l, 0, sizeof l);
    l.card = open_euicc(f);
    assert_non_null(l.card);
    assert_true(select_isd_r(&l));
    add_initial_eim(f, &l);
    assert_true(run_download(f, &l, 1));
    euicc_free(l.card);

    crash_operation(f, OP_DOWNLOAD, "profile download");
    l.card = open_euicc(f);
    assert_non_null(l.card);
    learn_iccid(f, l.card);
    euicc_free(l.card);
    crash_operation(f, OP_ENABLE, "eUICC Package enable");
    crash_operation(f, OP_DISABLE, "eUICC Package disable");
    crash_operation(f, OP_DELETE, "eUICC Package delete");

    /* after all that, a new download of the deleted profile succeeds */
    memset(&l, 0, sizeof l);
    l.card = open_euicc(f);
    assert_non_null(l.card);
    assert_true(select_isd_r(&l));
    assert_true(run_download(f, &l, 0));
    assert_int_equal(euicc_state_count(euicc_get_state_const(l.card), EUICC_LIST_PROFILES), 2);
    euicc_free(l.card);
    check_still_answers(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_at_every_step),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* rspkit euicc: run a software eUICC (serve) and inspect its state file (profiles, info). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cli/commands.h"
#include "core/der.h"
#include "core/sgp22.h"
#include "core/sgp32.h"
#include "crypto/certificate.h"
#include "crypto/key.h"
#include "crypto/pki_generate.h"
#include "euicc/euicc.h"
#include "euicc/face_socket.h"
#include "euicc/face_vpcd.h"
#include "euicc/state.h"

#define MAX_CIS 8
/* Which EIDs of a PKI folder eUICCs have taken: "EID STATE-PATH" per line. */
#define CLAIMS_FILE "euicc-claims.txt"

static void euicc_usage(FILE *out)
{
    fprintf(out,
            "usage: rspkit euicc serve --state FILE [identity] [face] [--no-fsync]\n"
            "         identity: --pki DIR [--curve nist|brainpool]   (next unused EID of DIR)\n"
            "                 | --key PEM --cert DER --eum DER --ci DER... [--eid HEX]\n"
            "                   (a state file that holds an identity needs neither)\n"
            "         face:     --socket PATH (default FILE.sock) | --listen [127.0.0.1:]PORT\n"
            "                 | --vpcd [HOST:PORT]   (vsmartcard vpcd, default "
            "127.0.0.1:35963)\n"
            "       rspkit euicc profiles --state FILE\n"
            "       rspkit euicc info --state FILE\n");
}

static int report(const char *what, const rsp_error *err)
{
    fprintf(stderr, "rspkit euicc %s: %s (%s)\n", what, err->message, rsp_status_name(err->code));
    return 1;
}

/* ---- identity ---------------------------------------------------------------------------- */

typedef struct {
    uint8_t eid[EUICC_EID_SIZE];
    rsp_private_key *key;
    char *key_pem; /* kept to store the identity in the state */
    size_t key_pem_len;
    rsp_certificate *euicc_certificate;
    rsp_certificate *eum_certificate;
    rsp_certificate *cis[MAX_CIS];
    size_t ci_count;
    char pki_dir[PATH_MAX];
    bool from_state;
} identity;

static void identity_free(identity *id)
{
    rsp_private_key_free(id->key);
    free(id->key_pem);
    rsp_certificate_free(id->euicc_certificate);
    rsp_certificate_free(id->eum_certificate);
    for (size_t i = 0; i < id->ci_count; i++)
        rsp_certificate_free(id->cis[i]);
    memset(id, 0, sizeof(*id));
}

static rsp_status read_whole_file(const char *path, char **data, size_t *len, rsp_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot open %s: %s", path, strerror(errno));
    rsp_status status = RSP_OK;
    size_t cap = 4096;
    *len = 0;
    *data = malloc(cap + 1);
    while (status == RSP_OK && *data != NULL) {
        size_t n = fread(*data + *len, 1, cap - *len, f);
        *len += n;
        if (n == 0)
            break;
        if (*len == cap) {
            char *bigger = realloc(*data, cap * 2 + 1);
            if (bigger == NULL)
                status = RSP_ERR_NO_MEMORY;
            else
                *data = bigger, cap *= 2;
        }
    }
    fclose(f);
    if (*data == NULL || status != RSP_OK) {
        free(*data);
        *data = NULL;
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "no memory reading %s", path);
    }
    (*data)[*len] = '\0';
    return RSP_OK;
}

/* The EID as 16 octets from the certificate's subject serialNumber (32 digits). */
static rsp_status eid_from_certificate(const rsp_certificate *cert, uint8_t eid[EUICC_EID_SIZE],
                                       rsp_error *err)
{
    char digits[RSP_EID_STRING_SIZE];
    rsp_status status = rsp_certificate_eid(cert, digits, err);
    if (status == RSP_OK && der_hex_decode(digits, eid, EUICC_EID_SIZE) != EUICC_EID_SIZE)
        status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "certificate EID is malformed");
    return status;
}

static rsp_status load_key_pem(identity *id, const char *path, rsp_error *err)
{
    rsp_status status = read_whole_file(path, &id->key_pem, &id->key_pem_len, err);
    if (status == RSP_OK)
        status = rsp_private_key_load((const uint8_t *)id->key_pem, id->key_pem_len, &id->key, err);
    return status;
}

static rsp_status add_ci(identity *id, const char *path, rsp_error *err)
{
    if (id->ci_count == MAX_CIS)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "at most %d CIs", MAX_CIS);
    rsp_status status = rsp_certificate_load_file(path, &id->cis[id->ci_count], err);
    if (status == RSP_OK)
        id->ci_count++;
    return status;
}

/* Identity remembered in the state file by an earlier serve. */
static rsp_status identity_from_state(const char *state_path, identity *id, bool *found,
                                      rsp_error *err)
{
    *found = false;
    euicc_state s;
    euicc_state_init(&s);
    rsp_status status = euicc_state_load(&s, state_path, err);
    if (status == RSP_ERR_NOT_FOUND) {
        rsp_error_clear(err);
        return RSP_OK;
    }
    der_view stored = euicc_state_slot(&s, EUICC_SLOT_IDENTITY);
    if (status != RSP_OK || stored.data == NULL) {
        euicc_state_clear(&s);
        return status;
    }
    uint8_t arena_buf[1024];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof(arena_buf));
    euicc_identity_record record;
    status = schema_decode(&euicc_identity_record_type, stored, &record, &arena, err);
    if (status == RSP_OK) {
        memcpy(id->eid, record.eid.data, EUICC_EID_SIZE);
        id->key_pem = malloc(record.private_key_pem.len + 1);
        if (id->key_pem == NULL)
            status = RSP_ERR_NO_MEMORY;
    }
    if (status == RSP_OK) {
        memcpy(id->key_pem, record.private_key_pem.data, record.private_key_pem.len);
        id->key_pem_len = record.private_key_pem.len;
        status = rsp_private_key_load((const uint8_t *)id->key_pem, id->key_pem_len, &id->key, err);
    }
    if (status == RSP_OK)
        status =
            rsp_certificate_from_der(record.euicc_certificate.data, record.euicc_certificate.len,
                                     &id->euicc_certificate, err);
    if (status == RSP_OK)
        status = rsp_certificate_from_der(record.eum_certificate.data, record.eum_certificate.len,
                                          &id->eum_certificate, err);
    const der_view *cis = record.ci_certificates.items;
    for (size_t i = 0; status == RSP_OK && i < record.ci_certificates.count && i < MAX_CIS; i++) {
        status = rsp_certificate_from_der(cis[i].data, cis[i].len, &id->cis[i], err);
        if (status == RSP_OK)
            id->ci_count++;
    }
    if (status == RSP_OK && record.has_pki_directory &&
        record.pki_directory.len < sizeof(id->pki_dir))
        memcpy(id->pki_dir, record.pki_directory.data, record.pki_directory.len);
    euicc_state_clear(&s);
    *found = status == RSP_OK;
    id->from_state = *found;
    return status;
}

/* The issued EIDs of a PKI folder (eids.txt, see crypto/pki_generate.h), in order. */
static size_t read_issued_eids(const char *dir, char (*eids)[RSP_EID_STRING_SIZE], size_t cap)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/eids.txt", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char line[128], key[16], value[64];
    size_t count = 0;
    while (count < cap && fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "%15s %63s", key, value) == 2 && strcmp(key, "issued") == 0 &&
            rsp_eid_is_valid(value))
            memcpy(eids[count++], value, RSP_EID_STRING_SIZE);
    fclose(f);
    return count;
}

static bool claimed(FILE *claims, const char *eid)
{
    char line[PATH_MAX + 64];
    rewind(claims);
    while (fgets(line, sizeof(line), claims) != NULL)
        if (strncmp(line, eid, RSP_EID_DIGITS) == 0 && line[RSP_EID_DIGITS] == ' ')
            return true;
    return false;
}

/* Claims the first issued EID no eUICC took yet, issuing one more when all are taken. The
 * claims file is locked so concurrent serves never share an EID. */
static rsp_status claim_eid(const char *dir, const char *state_path, char eid[RSP_EID_STRING_SIZE],
                            rsp_error *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/" CLAIMS_FILE, dir);
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot open %s: %s", path, strerror(errno));
    FILE *claims = fdopen(fd, "a+");
    if (claims == NULL || flock(fd, LOCK_EX) != 0) {
        if (claims != NULL)
            fclose(claims);
        else
            close(fd);
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot lock %s", path);
    }
    enum { MAX_EIDS = 4096 };
    char(*eids)[RSP_EID_STRING_SIZE] = calloc(MAX_EIDS, RSP_EID_STRING_SIZE);
    rsp_status status = eids == NULL ? RSP_ERR_NO_MEMORY : RSP_OK;
    bool done = false;
    for (int attempt = 0; status == RSP_OK && !done && attempt < 2; attempt++) {
        size_t count = read_issued_eids(dir, eids, MAX_EIDS);
        for (size_t i = 0; i < count && !done; i++) {
            if (!claimed(claims, eids[i])) {
                memcpy(eid, eids[i], RSP_EID_STRING_SIZE);
                done = true;
            }
        }
        if (!done && attempt == 0)
            status = rsp_pki_add_euiccs(dir, 1, 0, err);
    }
    if (status == RSP_OK && !done)
        status = rsp_error_set(err, RSP_ERR_STATE, 0, 0, "%s: no EID left to claim", dir);
    if (status == RSP_OK) {
        fprintf(claims, "%s %s\n", eid, state_path);
        if (fflush(claims) != 0)
            status = rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot write %s", path);
    }
    free(eids);
    fclose(claims); /* releases the lock */
    return status;
}

static rsp_status identity_from_pki(const char *dir, const char *curve, const char *state_path,
                                    identity *id, rsp_error *err)
{
    char eid[RSP_EID_STRING_SIZE];
    rsp_status status = claim_eid(dir, state_path, eid, err);
    char path[PATH_MAX];
    if (status == RSP_OK) {
        snprintf(path, sizeof(path), "%s/%s/euicc/SK_EUICC_ECDSA_%s.pem", dir, curve, eid);
        status = load_key_pem(id, path, err);
    }
    if (status == RSP_OK) {
        snprintf(path, sizeof(path), "%s/%s/euicc/CERT_EUICC_ECDSA_%s.der", dir, curve, eid);
        status = rsp_certificate_load_file(path, &id->euicc_certificate, err);
    }
    if (status == RSP_OK) {
        snprintf(path, sizeof(path), "%s/%s/CERT_EUM_ECDSA.der", dir, curve);
        status = rsp_certificate_load_file(path, &id->eum_certificate, err);
    }
    if (status == RSP_OK) {
        snprintf(path, sizeof(path), "%s/%s/CERT_CI_ECDSA.der", dir, curve);
        status = add_ci(id, path, err);
    }
    if (status == RSP_OK && der_hex_decode(eid, id->eid, EUICC_EID_SIZE) != EUICC_EID_SIZE)
        status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "bad EID %s", eid);
    if (status == RSP_OK && realpath(dir, id->pki_dir) == NULL)
        snprintf(id->pki_dir, sizeof(id->pki_dir), "%s", dir);
    return status;
}

/* Stores the identity in the state so that a restart keeps it without options. */
static rsp_status remember_identity(euicc *e, const identity *id, rsp_error *err)
{
    euicc_state *s = euicc_get_state(e);
    if (euicc_state_slot(s, EUICC_SLOT_IDENTITY).data != NULL)
        return RSP_OK;
    der_view cis[MAX_CIS];
    for (size_t i = 0; i < id->ci_count; i++)
        cis[i] = rsp_certificate_der(id->cis[i]);
    euicc_identity_record record;
    memset(&record, 0, sizeof(record));
    record.eid = der_view_make(id->eid, EUICC_EID_SIZE);
    record.private_key_pem = der_view_make((const uint8_t *)id->key_pem, id->key_pem_len);
    record.euicc_certificate = rsp_certificate_der(id->euicc_certificate);
    record.eum_certificate = rsp_certificate_der(id->eum_certificate);
    record.ci_certificates.count = id->ci_count;
    record.ci_certificates.items = cis;
    record.has_pki_directory = id->pki_dir[0] != '\0';
    record.pki_directory = der_view_make((const uint8_t *)id->pki_dir, strlen(id->pki_dir));
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    rsp_status status = schema_encode(&euicc_identity_record_type, &record, &w);
    if (status == RSP_OK)
        status = euicc_state_set_slot(s, EUICC_SLOT_IDENTITY, w.buf, w.len);
    der_writer_free(&w);
    if (status == RSP_OK)
        status = euicc_state_commit(s, euicc_state_path(e), euicc_durable(e), err);
    return status;
}

/* ---- serve ------------------------------------------------------------------------------- */

typedef struct {
    const char *state_path;
    const char *pki_dir;
    const char *curve;
    const char *eid_hex;
    const char *key_path;
    const char *cert_path;
    const char *eum_path;
    const char *ci_paths[MAX_CIS];
    size_t ci_count;
    const char *socket_path;
    const char *listen;
    bool vpcd;
    const char *vpcd_address;
    bool durable;
} serve_options;

static face_socket_server *running_server;
static face_vpcd *running_vpcd;

static void on_stop_signal(int sig)
{
    (void)sig;
    if (running_server != NULL)
        face_socket_stop(running_server);
    if (running_vpcd != NULL)
        face_vpcd_stop(running_vpcd);
}

static bool parse_serve(int argc, char **argv, serve_options *o)
{
    memset(o, 0, sizeof(*o));
    o->curve = "nist";
    o->durable = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (strcmp(a, "--state") == 0 && v)
            o->state_path = v;
        else if (strcmp(a, "--pki") == 0 && v)
            o->pki_dir = v;
        else if (strcmp(a, "--curve") == 0 && v && (!strcmp(v, "nist") || !strcmp(v, "brainpool")))
            o->curve = v;
        else if (strcmp(a, "--eid") == 0 && v)
            o->eid_hex = v;
        else if (strcmp(a, "--key") == 0 && v)
            o->key_path = v;
        else if (strcmp(a, "--cert") == 0 && v)
            o->cert_path = v;
        else if (strcmp(a, "--eum") == 0 && v)
            o->eum_path = v;
        else if (strcmp(a, "--ci") == 0 && v && o->ci_count < MAX_CIS)
            o->ci_paths[o->ci_count++] = v;
        else if (strcmp(a, "--socket") == 0 && v)
            o->socket_path = v;
        else if (strcmp(a, "--listen") == 0 && v)
            o->listen = v;
        else if (strcmp(a, "--vpcd") == 0) {
            o->vpcd = true;
            takes = v != NULL && strncmp(v, "--", 2) != 0;
            if (takes)
                o->vpcd_address = v;
        } else if (strcmp(a, "--no-fsync") == 0) {
            o->durable = false;
            takes = false;
        } else
            return false;
        if (takes)
            i++;
    }
    int faces = (o->socket_path != NULL) + (o->listen != NULL) + o->vpcd;
    return o->state_path != NULL && faces <= 1;
}

static rsp_status identity_from_options(const serve_options *o, identity *id, rsp_error *err)
{
    bool found = false;
    rsp_status status = identity_from_state(o->state_path, id, &found, err);
    if (status != RSP_OK || found)
        return status;
    if (o->pki_dir != NULL)
        return identity_from_pki(o->pki_dir, o->curve, o->state_path, id, err);
    if (o->key_path == NULL || o->cert_path == NULL || o->eum_path == NULL || o->ci_count == 0)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                             "no identity: give --pki DIR, or --key --cert --eum --ci");
    status = load_key_pem(id, o->key_path, err);
    if (status == RSP_OK)
        status = rsp_certificate_load_file(o->cert_path, &id->euicc_certificate, err);
    if (status == RSP_OK)
        status = rsp_certificate_load_file(o->eum_path, &id->eum_certificate, err);
    for (size_t i = 0; status == RSP_OK && i < o->ci_count; i++)
        status = add_ci(id, o->ci_paths[i], err);
    if (status == RSP_OK && o->eid_hex != NULL) {
        if (der_hex_decode(o->eid_hex, id->eid, EUICC_EID_SIZE) != EUICC_EID_SIZE)
            status = rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "--eid: 32 hex digits");
    } else if (status == RSP_OK) {
        status = eid_from_certificate(id->euicc_certificate, id->eid, err);
    }
    return status;
}

static bool split_host_port(const char *text, char *host, size_t host_cap, uint16_t *port)
{
    const char *colon = strrchr(text, ':');
    const char *port_text = colon != NULL ? colon + 1 : text;
    if (colon != NULL) {
        size_t n = (size_t)(colon - text);
        if (n == 0 || n >= host_cap)
            return false;
        memcpy(host, text, n);
        host[n] = '\0';
    } else {
        snprintf(host, host_cap, "127.0.0.1");
    }
    char *end = NULL;
    unsigned long value = strtoul(port_text, &end, 10);
    if (*port_text == '\0' || *end != '\0' || value > 65535)
        return false;
    *port = (uint16_t)value;
    return true;
}

static rsp_status run_socket_face(euicc *e, const serve_options *o, rsp_error *err)
{
    running_server = face_socket_server_new();
    if (running_server == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "no memory");
    rsp_status status;
    if (o->listen != NULL) {
        char host[64];
        uint16_t port = 0, bound = 0;
        if (!split_host_port(o->listen, host, sizeof(host), &port) ||
            strcmp(host, "127.0.0.1") != 0)
            status = rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                                   "--listen: [127.0.0.1:]PORT expected");
        else
            status = face_socket_listen_tcp(running_server, euicc_get_card(e), port, &bound, err);
        if (status == RSP_OK)
            printf("serving on tcp:127.0.0.1:%u\n", (unsigned)bound);
    } else {
        char path[PATH_MAX];
        if (o->socket_path != NULL)
            snprintf(path, sizeof(path), "%s", o->socket_path);
        else
            snprintf(path, sizeof(path), "%s.sock", o->state_path);
        status = face_socket_listen_unix(running_server, euicc_get_card(e), path, err);
        if (status == RSP_OK)
            printf("serving on unix:%s\n", path);
    }
    fflush(stdout);
    if (status == RSP_OK)
        status = face_socket_run(running_server, err);
    face_socket_server_free(running_server);
    running_server = NULL;
    return status;
}

static rsp_status run_vpcd_face(euicc *e, const serve_options *o, rsp_error *err)
{
    char host[64] = FACE_VPCD_DEFAULT_HOST;
    uint16_t port = FACE_VPCD_DEFAULT_PORT;
    if (o->vpcd_address != NULL && !split_host_port(o->vpcd_address, host, sizeof(host), &port))
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "--vpcd: HOST:PORT expected");
    running_vpcd = face_vpcd_new(euicc_get_card(e), host, port);
    if (running_vpcd == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "no memory");
    printf("serving into vpcd at %s:%u\n", host, (unsigned)port);
    fflush(stdout);
    rsp_status status = face_vpcd_run(running_vpcd, err);
    face_vpcd_free(running_vpcd);
    running_vpcd = NULL;
    return status;
}

static void print_eid(const uint8_t eid[EUICC_EID_SIZE], FILE *out)
{
    char text[2 * EUICC_EID_SIZE + 1];
    der_hex_encode(eid, EUICC_EID_SIZE, text, true);
    fputs(text, out);
}

static int euicc_serve(int argc, char **argv)
{
    serve_options o;
    if (!parse_serve(argc, argv, &o))
        return euicc_usage(stderr), 2;
    identity id;
    memset(&id, 0, sizeof(id));
    rsp_error err = {0};
    if (identity_from_options(&o, &id, &err) != RSP_OK) {
        identity_free(&id);
        return report("serve", &err);
    }
    euicc_config config;
    memset(&config, 0, sizeof(config));
    memcpy(config.eid, id.eid, EUICC_EID_SIZE);
    config.euicc_key = id.key;
    config.euicc_certificate = rsp_certificate_der(id.euicc_certificate);
    config.eum_certificate = rsp_certificate_der(id.eum_certificate);
    config.ci_certificates = (const rsp_certificate *const *)id.cis;
    config.ci_count = id.ci_count;
    config.state_path = o.state_path;
    config.durable = o.durable;
    euicc *e = NULL;
    rsp_status status = euicc_new(&config, &e, &err);
    if (status == RSP_OK)
        status = remember_identity(e, &id, &err);
    if (status == RSP_OK) {
        printf("rspkit euicc: EID ");
        print_eid(id.eid, stdout);
        printf("%s, state %s\n", id.from_state ? " (from the state file)" : "", o.state_path);
        struct sigaction action;
        memset(&action, 0, sizeof(action));
        action.sa_handler = on_stop_signal;
        sigaction(SIGINT, &action, NULL);
        sigaction(SIGTERM, &action, NULL);
        signal(SIGPIPE, SIG_IGN);
        status = o.vpcd ? run_vpcd_face(e, &o, &err) : run_socket_face(e, &o, &err);
    }
    euicc_free(e);
    identity_free(&id);
    return status == RSP_OK ? 0 : report("serve", &err);
}

/* ---- profiles / info ----------------------------------------------------------------------- */

/* ICCID as stored in ProfileInfo (EF.ICCID coding: nibbles swapped, F padding). */
static void iccid_text(der_view iccid, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < iccid.len && n + 2 < cap; i++) {
        uint8_t low = iccid.data[i] & 0x0F, high = iccid.data[i] >> 4;
        if (low <= 9)
            out[n++] = (char)('0' + low);
        if (high <= 9)
            out[n++] = (char)('0' + high);
    }
    out[n] = '\0';
}

static const char *class_name(const sgp32_profile_info *info)
{
    static const char *const names[] = {"test", "provisioning", "operational"};
    int64_t cls = info->has_profile_class ? info->profile_class : SGP22_PROFILE_CLASS_OPERATIONAL;
    return cls >= 0 && cls <= 2 ? names[cls] : "unknown";
}

static void print_text(const char *label, bool present, der_view text)
{
    if (present)
        printf(" %s \"%.*s\"", label, (int)text.len, (const char *)text.data);
}

static void print_profile(const euicc_profile_record *r, bool details)
{
    const sgp32_profile_info *info = &r->info;
    char iccid[32] = "?", aid[40] = "?";
    if (info->has_iccid)
        iccid_text(info->iccid, iccid, sizeof(iccid));
    if (info->has_isdp_aid && info->isdp_aid.len <= 16)
        der_hex_encode(info->isdp_aid.data, info->isdp_aid.len, aid, true);
    bool enabled = info->has_profile_state && info->profile_state == SGP22_PROFILE_STATE_ENABLED;
    printf("  ICCID %s %s %s", iccid, enabled ? "enabled" : "disabled", class_name(info));
    print_text("name", info->has_profile_name, info->profile_name);
    print_text("nickname", info->has_profile_nickname, info->profile_nickname);
    printf("\n");
    if (!details)
        return;
    printf("    ISD-P AID %s", aid);
    print_text("service provider", info->has_service_provider_name, info->service_provider_name);
    printf("\n");
    if (info->has_profile_policy_rules)
        printf("    PPRs:%s%s\n",
               schema_bits_get(&info->profile_policy_rules, SGP22_PPR1) ? " ppr1" : "",
               schema_bits_get(&info->profile_policy_rules, SGP22_PPR2) ? " ppr2" : "");
    if (info->has_fallback_attribute && info->fallback_attribute)
        printf("    fallback attribute set\n");
    const sgp22_notification_configuration_information *nci =
        info->notification_configuration_info.items;
    for (size_t i = 0; info->has_notification_configuration_info &&
                       i < info->notification_configuration_info.count;
         i++) {
        static const char *const events[] = {"install", "enable", "disable", "delete"};
        printf("    notifications to \"%.*s\" for", (int)nci[i].notification_address.len,
               (const char *)nci[i].notification_address.data);
        for (unsigned bit = 0; bit < 4; bit++)
            if (schema_bits_get(&nci[i].profile_management_operation, bit))
                printf(" %s", events[bit]);
        printf("\n");
    }
    print_text("    installed by SM-DP+", r->has_smdp_address, r->smdp_address);
    if (r->has_smdp_address)
        printf("\n");
    if (r->has_saip_package)
        printf("    profile package: %zu bytes, %zu elements\n", r->saip_package.len,
               r->has_elements ? r->elements.count : (size_t)0);
}

static int load_state_file(const char *path, euicc_state *s)
{
    rsp_error err = {0};
    euicc_state_init(s);
    if (euicc_state_load(s, path, &err) != RSP_OK) {
        if (err.code == RSP_OK)
            rsp_error_set(&err, RSP_ERR_NOT_FOUND, 0, 0, "%s does not exist", path);
        return report("state", &err);
    }
    return 0;
}

static int list_profiles(const euicc_state *s, bool details)
{
    size_t count = euicc_state_count(s, EUICC_LIST_PROFILES);
    printf("profiles: %zu\n", count);
    for (size_t i = 0; i < count; i++) {
        euicc_loaded_profile p;
        rsp_error err = {0};
        if (euicc_state_profile_load(s, i, !details, &p, &err) != RSP_OK)
            return report("profiles", &err);
        print_profile(&p.record, details);
        euicc_loaded_profile_release(&p);
    }
    return 0;
}

static const char *state_option(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--state") == 0)
            return argv[i + 1];
    return NULL;
}

static int euicc_profiles(int argc, char **argv)
{
    const char *path = state_option(argc, argv);
    if (path == NULL || argc != 3)
        return euicc_usage(stderr), 2;
    euicc_state s;
    int rc = load_state_file(path, &s);
    if (rc == 0)
        rc = list_profiles(&s, true);
    euicc_state_clear(&s);
    return rc;
}

static void print_identity(const euicc_state *s)
{
    der_view stored = euicc_state_slot(s, EUICC_SLOT_IDENTITY);
    uint8_t arena_buf[1024];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof(arena_buf));
    euicc_identity_record record;
    rsp_error err = {0};
    if (stored.data == NULL ||
        schema_decode(&euicc_identity_record_type, stored, &record, &arena, &err) != RSP_OK) {
        printf("EID: (no identity stored)\n");
        return;
    }
    printf("EID: ");
    print_eid(record.eid.data, stdout);
    printf("\n");
    if (record.has_pki_directory)
        printf("PKI: %.*s\n", (int)record.pki_directory.len,
               (const char *)record.pki_directory.data);
    printf("trusted CIs: %zu\n", record.ci_certificates.count);
}

static void print_eims(const euicc_state *s)
{
    size_t count = euicc_state_count(s, EUICC_LIST_EIMS);
    printf("eIMs: %zu\n", count);
    for (size_t i = 0; i < count; i++) {
        sgp32_eim_configuration_data eim;
        uint8_t arena_buf[1024];
        schema_arena arena;
        schema_arena_init(&arena, arena_buf, sizeof(arena_buf));
        rsp_error err = {0};
        if (euicc_state_decode_value(s, EUICC_LIST_EIMS, i, &sgp32_eim_configuration_data_type,
                                     &eim, &arena, &err) != RSP_OK) {
            printf("  (undecodable: %s)\n", err.message);
            continue;
        }
        printf("  eimId \"%.*s\"", (int)eim.eim_id.len, (const char *)eim.eim_id.data);
        print_text("fqdn", eim.has_eim_fqdn, eim.eim_fqdn);
        if (eim.has_counter_value)
            printf(" counter %lld", (long long)eim.counter_value);
        if (eim.has_association_token)
            printf(" association token %lld", (long long)eim.association_token);
        printf("\n");
    }
}

static void print_notifications(const euicc_state *s)
{
    static const char *const events[] = {"install", "enable", "disable", "delete"};
    size_t count = euicc_state_count(s, EUICC_LIST_NOTIFICATIONS);
    printf("pending notifications: %zu\n", count);
    for (size_t i = 0; i < count; i++) {
        euicc_notification_record n;
        rsp_error err = {0};
        if (euicc_state_notification_decode(s, i, &n, &err) != RSP_OK)
            continue;
        const char *event = "?";
        for (unsigned bit = 0; bit < 4; bit++)
            if (schema_bits_get(&n.event, bit))
                event = events[bit];
        char iccid[32] = "";
        if (n.has_iccid)
            iccid_text(n.iccid, iccid, sizeof(iccid));
        printf("  seq %lld %s to \"%.*s\" ICCID %s\n", (long long)n.seq_number, event,
               (int)n.notification_address.len, (const char *)n.notification_address.data, iccid);
    }
    printf("eUICC package results awaiting acknowledgement: %zu\n",
           euicc_state_count(s, EUICC_LIST_PACKAGE_RESULTS));
}

static int euicc_info(int argc, char **argv)
{
    const char *path = state_option(argc, argv);
    if (path == NULL || argc != 3)
        return euicc_usage(stderr), 2;
    euicc_state s;
    int rc = load_state_file(path, &s);
    if (rc != 0)
        return rc;
    print_identity(&s);
    der_view dp = euicc_state_slot(&s, EUICC_SLOT_DEFAULT_DP);
    der_view ds = euicc_state_slot(&s, EUICC_SLOT_ROOT_DS);
    printf("default SM-DP+: %.*s\n", dp.data ? (int)dp.len : 6,
           dp.data ? (const char *)dp.data : "(none)");
    printf("root SM-DS: %.*s\n", ds.data ? (int)ds.len : 6,
           ds.data ? (const char *)ds.data : "(none)");
    rc = list_profiles(&s, false);
    print_eims(&s);
    print_notifications(&s);
    printf("loaded CRLs: %zu\n", euicc_state_count(&s, EUICC_LIST_CRLS));
    euicc_state_clear(&s);
    return rc;
}

int cli_euicc(int argc, char **argv)
{
    if (argc < 2)
        return euicc_usage(stderr), 2;
    const char *sub = argv[1];
    if (strcmp(sub, "serve") == 0)
        return euicc_serve(argc - 1, argv + 1);
    if (strcmp(sub, "profiles") == 0)
        return euicc_profiles(argc - 1, argv + 1);
    if (strcmp(sub, "info") == 0)
        return euicc_info(argc - 1, argv + 1);
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0)
        return euicc_usage(stdout), 0;
    return euicc_usage(stderr), 2;
}

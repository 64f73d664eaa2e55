/* `rspkit ipa` end to end: the CLI code with the Linux hooks against the software eUICC socket
 * face and a fake eIM served over HTTPS, whose key the eUICC's eIM configuration pins
 * (trustedPublicKeyDataTls). */
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "euicc/face_socket.h"
#include "ipa_fakes.h"
#include "net/dev_pki.h"
#include "net/http_server.h"

int cli_ipa(int argc, char **argv);

typedef struct {
    ipa_fixture fx;
    char dir[64];
    char socket_path[128];
    char state_dir[128];
    dev_pki pki;
    http_server *eim_server;
    face_socket_server *card_server;
    pthread_t card_thread;
    pthread_mutex_t lock;
} state;

static int serve_esipa(const http_request *request, http_reply *reply, void *user)
{
    state *s = user;
    der_writer answer;
    der_writer_init_dynamic(&answer, NULL);
    pthread_mutex_lock(&s->lock);
    long status =
        fake_eim_handle(&s->fx.eim, der_view_make(request->body, request->body_len), &answer);
    pthread_mutex_unlock(&s->lock);
    if (status < 0)
        status = 503;
    http_reply_copy(reply, (int)status, "application/x-gsma-rsp-asn1", answer.buf, answer.len);
    der_writer_free(&answer);
    return 0;
}

static void *serve_card(void *arg)
{
    rsp_error err = {0};
    face_socket_run(arg, &err);
    return NULL;
}

/* DER SubjectPublicKeyInfo of a PEM certificate. */
static size_t spki_of(const char *pem_path, uint8_t *out, size_t cap)
{
    FILE *f = fopen(pem_path, "r");
    X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    unsigned char *der = NULL;
    int n = cert ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der) : -1;
    X509_free(cert);
    size_t len = n > 0 && (size_t)n <= cap ? (size_t)n : 0;
    if (len)
        memcpy(out, der, len);
    OPENSSL_free(der);
    return len;
}

/* DER of a PEM certificate. */
static size_t certificate_of(const char *pem_path, uint8_t *out, size_t cap)
{
    FILE *f = fopen(pem_path, "r");
    X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    unsigned char *der = NULL;
    int n = cert ? i2d_X509(cert, &der) : -1;
    X509_free(cert);
    size_t len = n > 0 && (size_t)n <= cap ? (size_t)n : 0;
    if (len)
        memcpy(out, der, len);
    OPENSSL_free(der);
    return len;
}

static void configure_eim_with(state *s, const uint8_t *trust, size_t trust_len, uint8_t tag);

/* The eUICC's eIM configuration: FQDN = the loopback server, TLS key = spki. */
static void configure_eim(state *s, const uint8_t *spki, size_t spki_len)
{
    configure_eim_with(s, spki, spki_len, 0xA0); /* trustedEimPkTls [0] */
}

/* ... or a certificate, trustedCertificateTls [1] */
static void configure_eim_certificate(state *s, const uint8_t *cert, size_t cert_len)
{
    configure_eim_with(s, cert, cert_len, 0xA1);
}

static void configure_eim_with(state *s, const uint8_t *spki, size_t spki_len, uint8_t tag)
{
    char fqdn[32];
    snprintf(fqdn, sizeof fqdn, "127.0.0.1:%u", (unsigned)http_server_port(s->eim_server));
    der_writer w;
    der_writer_init_fixed(&w, s->fx.euicc.eim_config, sizeof s->fx.euicc.eim_config);
    size_t outer = der_begin(&w, 0xBF55);
    size_t list = der_begin(&w, 0xA0);
    size_t item = der_begin(&w, 0x30);
    der_put_tlv(&w, 0x80, (const uint8_t *)"eim.test", 8);
    der_put_tlv(&w, 0x81, (const uint8_t *)fqdn, strlen(fqdn));
    der_put_int64(&w, 0x84, 7);
    size_t trust = der_begin(&w, 0xA6);
    der_put_raw(&w, spki, spki_len);
    w.buf[w.len - spki_len] = tag; /* the alternative's tag, implicit on the DER */
    der_end(&w, trust);
    der_end(&w, item);
    der_end(&w, list);
    der_end(&w, outer);
    assert_int_equal(der_writer_status(&w), RSP_OK);
    s->fx.euicc.eim_config_len = w.len;
}

static int setup(void **ctx)
{
    static state s;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.lock, NULL);
    ipa_fixture_init(&s.fx);
    snprintf(s.dir, sizeof s.dir, "/tmp/ipa-daemon-%d", (int)getpid());
    mkdir(s.dir, 0700);
    snprintf(s.socket_path, sizeof s.socket_path, "%s/card.sock", s.dir);
    snprintf(s.state_dir, sizeof s.state_dir, "%s/state", s.dir);
    rsp_error err = {0};
    if (dev_pki_create(s.dir, "localhost", &s.pki, &err) != RSP_OK)
        return -1;
    http_server_config config = {.listen = "127.0.0.1:0",
                                 .cert_file = s.pki.server_cert,
                                 .key_file = s.pki.server_key,
                                 .threads = 1};
    s.eim_server = http_server_new(&config, &err);
    if (!s.eim_server ||
        http_server_route(s.eim_server, "POST", "/gsma/rsp2/asn1", false, serve_esipa, &s, &err) !=
            RSP_OK ||
        http_server_start(s.eim_server, &err) != RSP_OK)
        return -1;
    s.card_server = face_socket_server_new();
    if (face_socket_listen_unix(s.card_server, s.fx.euicc.card, s.socket_path, &err) != RSP_OK ||
        pthread_create(&s.card_thread, NULL, serve_card, s.card_server) != 0)
        return -1;
    *ctx = &s;
    return 0;
}

static int teardown(void **ctx)
{
    state *s = *ctx;
    face_socket_stop(s->card_server);
    pthread_join(s->card_thread, NULL);
    face_socket_server_free(s->card_server);
    http_server_stop(s->eim_server, 0);
    http_server_free(s->eim_server);
    dev_pki_remove(&s->pki);
    char command[300];
    snprintf(command, sizeof command, "rm -rf '%s'", s->dir);
    if (system(command) != 0)
        fprintf(stderr, "could not remove %s\n", s->dir);
    ipa_fixture_free(&s->fx);
    pthread_mutex_destroy(&s->lock);
    return 0;
}

static int run_cli(state *s, const char *command, const char *extra)
{
    char card[160];
    snprintf(card, sizeof card, "socket:%s", s->socket_path);
    char *argv[] = {"ipa",        (char *)command, "--card", card,          "--state",
                    s->state_dir, "--log-level",   "warn",   (char *)extra, NULL};
    int argc = extra ? 9 : 8;
    return cli_ipa(argc, argv);
}

static void test_once_over_pinned_https(void **ctx)
{
    state *s = *ctx;
    uint8_t spki[200];
    size_t spki_len = spki_of(s->pki.server_cert, spki, sizeof spki);
    assert_true(spki_len > 0);
    configure_eim(s, spki, spki_len);
    uint8_t package[512];
    size_t len = build_euicc_package_enable(package, sizeof package, s->fx.euicc.eid, 2, 1, false);
    fake_eim_queue(&s->fx.eim, der_view_make(package, len));
    assert_int_equal(run_cli(s, "once", NULL), 0);
    assert_int_equal(s->fx.eim.provide_results, 1);
    assert_int_equal(s->fx.eim.schema_failures, 0);
    assert_true(s->fx.euicc.profiles[1].enabled);
    assert_int_equal(run_cli(s, "info", NULL), 0);
}

/* trustedCertificateTls: the eIM's own certificate is pinned, a CA's is the trust anchor. */
static void test_trusted_certificate_pinned_or_anchor(void **ctx)
{
    state *s = *ctx;
    uint8_t cert[2048];
    size_t len = certificate_of(s->pki.server_cert, cert, sizeof cert);
    assert_true(len > 0);
    configure_eim_certificate(s, cert, len);
    assert_int_equal(run_cli(s, "once", NULL), 0);
    assert_int_equal(s->fx.eim.get_packages, 1);
    len = certificate_of(s->pki.ca_cert, cert, sizeof cert);
    assert_true(len > 0);
    configure_eim_certificate(s, cert, len);
    assert_int_equal(run_cli(s, "once", NULL), 0);
    assert_int_equal(s->fx.eim.get_packages, 2);
    len = certificate_of(s->pki.client_cert, cert, sizeof cert); /* a leaf, not the eIM's */
    configure_eim_certificate(s, cert, len);
    assert_int_equal(run_cli(s, "once", NULL), 1);
    assert_int_equal(s->fx.eim.get_packages, 2);
}

static void test_wrong_pin_refused(void **ctx)
{
    state *s = *ctx;
    uint8_t spki[200];
    size_t spki_len = spki_of(s->pki.client_cert, spki, sizeof spki); /* not the server's */
    assert_true(spki_len > 0);
    configure_eim(s, spki, spki_len);
    assert_int_equal(run_cli(s, "once", NULL), 1);
    assert_int_equal(s->fx.eim.calls, 0);
    assert_int_equal(s->fx.eim.get_packages, 0);
}

static void test_add_initial_eim_from_file(void **ctx)
{
    state *s = *ctx;
    s->fx.euicc.has_eim = false;
    char path[160];
    snprintf(path, sizeof path, "%s/eim.hex", s->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("BF570CA00A3008800665696D2E6964\n", f);
    fclose(f);
    assert_int_equal(run_cli(s, "add-initial-eim", path), 0);
    assert_true(s->fx.euicc.has_eim);
    uint8_t spki[200];
    size_t spki_len = spki_of(s->pki.server_cert, spki, sizeof spki);
    configure_eim(s, spki, spki_len);
    /* the fallback is reported to the eIM at once */
    assert_int_equal(run_cli(s, "fallback", NULL), 0);
    assert_int_equal(s->fx.euicc.fallbacks, 1);
    assert_int_equal(s->fx.eim.get_packages, 1);
    assert_true(s->fx.eim.last_get_had_state_change);
}

/* The options from a JSON config file, a bad member refused as a usage error. */
static void test_config_file(void **ctx)
{
    state *s = *ctx;
    uint8_t spki[200];
    size_t spki_len = spki_of(s->pki.server_cert, spki, sizeof spki);
    configure_eim(s, spki, spki_len);
    char path[160];
    snprintf(path, sizeof path, "%s/ipa.json", s->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"card\": \"socket:%s\", \"state_dir\": \"%s\", \"log_level\": \"warn\",\n"
            " \"poll_interval\": 60, \"tac\": \"35290611\", \"direct\": false}\n",
            s->socket_path, s->state_dir);
    fclose(f);
    char *argv[] = {"ipa", "once", "--config", path, NULL};
    assert_int_equal(cli_ipa(4, argv), 0);
    assert_int_equal(s->fx.eim.get_packages, 1);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"card\": \"socket:%s\", \"colour\": \"blue\"}\n", s->socket_path);
    fclose(f);
    assert_int_equal(cli_ipa(4, argv), 2);
    char *unknown[] = {"ipa", "explode", NULL};
    assert_int_equal(cli_ipa(2, unknown), 2);
}

typedef struct {
    state *s;
    int rc;
} run_args;

static void *run_daemon(void *arg)
{
    run_args *a = arg;
    a->rc = run_cli(a->s, "run", NULL);
    return NULL;
}

/* `run` polls, keeps going, and stops cleanly on SIGTERM. */
static void test_run_loop_stops_on_sigterm(void **ctx)
{
    state *s = *ctx;
    uint8_t spki[200];
    size_t spki_len = spki_of(s->pki.server_cert, spki, sizeof spki);
    configure_eim(s, spki, spki_len);
    uint8_t package[512];
    size_t len = build_euicc_package_enable(package, sizeof package, s->fx.euicc.eid, 2, 1, false);
    fake_eim_queue(&s->fx.eim, der_view_make(package, len));
    run_args args = {.s = s, .rc = -1};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, run_daemon, &args), 0);
    for (int i = 0; i < 100 && s->fx.eim.provide_results == 0; i++)
        usleep(50 * 1000);
    kill(getpid(), SIGTERM);
    pthread_join(thread, NULL);
    signal(SIGTERM, SIG_DFL);
    assert_int_equal(args.rc, 0);
    assert_int_equal(s->fx.eim.provide_results, 1);
    assert_true(s->fx.euicc.profiles[1].enabled);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_once_over_pinned_https, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_pin_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trusted_certificate_pinned_or_anchor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_initial_eim_from_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_loop_stops_on_sigterm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

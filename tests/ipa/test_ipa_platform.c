/* Linux platform hooks of the IPA: file storage, the software eUICC socket transport, and the
 * AT-command modem transport (AT+CSIM and AT+CCHO/CGLA/CCHC) against a simulated modem on a
 * pseudo-terminal that forwards to the card. */
#define _XOPEN_SOURCE 700 /* posix_openpt, grantpt, ptsname */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
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

#include "euicc/face_socket.h"
#include "ipa/platform/platform.h"
#include "ipa_fakes.h"

static void test_file_storage_roundtrip(void **ctx)
{
    (void)ctx;
    char dir[] = "/tmp/ipa-storage-XXXXXX";
    assert_non_null(mkdtemp(dir));
    ipa_file_storage storage;
    rsp_error err = {0};
    der_writer out;
    static const uint8_t value[] = {0xBF, 0x50, 0x00};
    assert_int_equal(ipa_file_storage_init(&storage, dir, true, &err), RSP_OK);
    der_writer_init_dynamic(&out, NULL);
    assert_int_equal(ipa_file_storage_read(&storage, "pending", &out, &err), RSP_ERR_NOT_FOUND);
    assert_int_equal(
        ipa_file_storage_write(&storage, "pending", der_view_make(value, sizeof value), &err),
        RSP_OK);
    assert_int_equal(ipa_file_storage_read(&storage, "pending", &out, &err), RSP_OK);
    assert_int_equal(out.len, sizeof value);
    assert_memory_equal(out.buf, value, sizeof value);
    assert_int_equal(ipa_file_storage_write(&storage, "../escape", der_view_make(value, 1), &err),
                     RSP_ERR_INVALID_ARGUMENT);
    assert_int_equal(ipa_file_storage_remove(&storage, "pending", &err), RSP_OK);
    assert_int_equal(ipa_file_storage_remove(&storage, "pending", &err), RSP_OK);
    der_writer_free(&out);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s/pending.tmp", dir);
    assert_int_equal(access(tmp, F_OK), -1); /* no temporary left behind */
    rmdir(dir);
}

/* ---- socket face ---------------------------------------------------------------------- */

static void *serve(void *arg)
{
    rsp_error err = {0};
    face_socket_run(arg, &err);
    return NULL;
}

static void test_socket_transport_runs_a_poll(void **ctx)
{
    (void)ctx;
    static ipa_fixture fx;
    ipa_fixture_init(&fx);
    char path[64];
    snprintf(path, sizeof path, "/tmp/ipa-card-%d.sock", (int)getpid());
    rsp_error err = {0};
    face_socket_server *server = face_socket_server_new();
    assert_non_null(server);
    assert_int_equal(face_socket_listen_unix(server, fx.euicc.card, path, &err), RSP_OK);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, serve, server), 0);
    ipa_card *card = NULL;
    assert_int_equal(ipa_card_open_socket(path, &card, &err), RSP_OK);
    fx.platform.apdu_transmit = ipa_card_transmit;
    fx.platform.apdu_ctx = card;
    ipa_instance *ipa = NULL;
    assert_int_equal(ipa_new(&fx.platform, &fx.config, &ipa, &err), RSP_OK);
    uint8_t package[512];
    size_t len = build_euicc_package_enable(package, sizeof package, fx.euicc.eid, 2, 1, false);
    fake_eim_queue(&fx.eim, der_view_make(package, len));
    ipa_poll_report report;
    assert_int_equal(ipa_poll_once(ipa, &report, &err), RSP_OK);
    assert_memory_equal(ipa_eid(ipa), fx.euicc.eid, 16);
    assert_int_equal(report.results_delivered, 1);
    assert_true(fx.euicc.profiles[1].enabled);
    ipa_free(ipa);
    ipa_card_close(card);
    face_socket_stop(server);
    pthread_join(thread, NULL);
    face_socket_server_free(server);
    ipa_fixture_free(&fx);
}

/* ---- simulated modem on a pty --------------------------------------------------------- */

typedef struct {
    int master;
    euicc_card *card;
    volatile bool stop;
    unsigned commands;
    int channel;
} modem_sim;

static void reply(modem_sim *m, const char *text)
{
    if (write(m->master, text, strlen(text)) < 0)
        fprintf(stderr, "modem sim: write failed\n");
}

/* Sends an APDU to the card and answers "+<verb>: <len>,"<hex>"". */
static void forward(modem_sim *m, const char *verb, const char *hex, int channel)
{
    uint8_t apdu[300], resp[300];
    long n = der_hex_decode(hex, apdu, sizeof apdu);
    if (n < 4) {
        reply(m, "\r\nERROR\r\n");
        return;
    }
    if (channel > 0)
        apdu[0] = (uint8_t)((apdu[0] & 0xFC) | channel);
    size_t r = euicc_card_transmit(m->card, apdu, (size_t)n, resp, sizeof resp);
    char text[700], out[800];
    der_hex_encode(resp, r, text, true);
    snprintf(out, sizeof out, "\r\n+%s: %zu,\"%s\"\r\n\r\nOK\r\n", verb, 2 * r, text);
    reply(m, out);
}

static void open_channel(modem_sim *m)
{
    static const uint8_t manage[] = {0x00, 0x70, 0x00, 0x00, 0x01};
    uint8_t resp[300];
    size_t r = euicc_card_transmit(m->card, manage, sizeof manage, resp, sizeof resp);
    if (r != 3) {
        reply(m, "\r\n+CME ERROR: 3\r\n");
        return;
    }
    m->channel = resp[0];
    uint8_t select[22] = {(uint8_t)m->channel, 0xA4, 0x04, 0x00, 0x10};
    memcpy(select + 5, euicc_isd_r_aid, 16);
    euicc_card_transmit(m->card, select, sizeof select, resp, sizeof resp);
    char out[64];
    snprintf(out, sizeof out, "\r\n+CCHO: %d\r\n\r\nOK\r\n", m->channel);
    reply(m, out);
}

static void handle_line(modem_sim *m, char *line)
{
    m->commands++;
    char *quote = strchr(line, '"');
    char *end = quote ? strchr(quote + 1, '"') : NULL;
    if (end)
        *end = 0;
    if (strcmp(line, "ATE0") == 0)
        reply(m, "\r\nOK\r\n");
    else if (strncmp(line, "AT+CSIM=", 8) == 0 && quote)
        forward(m, "CSIM", quote + 1, 0);
    else if (strncmp(line, "AT+CCHO=", 8) == 0)
        open_channel(m);
    else if (strncmp(line, "AT+CGLA=", 8) == 0 && quote)
        forward(m, "CGLA", quote + 1, atoi(line + 8));
    else if (strncmp(line, "AT+CCHC=", 8) == 0)
        reply(m, "\r\nOK\r\n");
    else
        reply(m, "\r\nERROR\r\n");
}

static void *modem_thread(void *arg)
{
    modem_sim *m = arg;
    char line[1500];
    size_t len = 0;
    while (!m->stop) {
        struct pollfd p = {.fd = m->master, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        char c;
        ssize_t n = read(m->master, &c, 1);
        if (n <= 0)
            continue;
        if (c == '\r' || c == '\n') {
            line[len] = 0;
            if (len > 0)
                handle_line(m, line);
            len = 0;
        } else if (len + 1 < sizeof line) {
            line[len++] = c;
        }
    }
    return NULL;
}

static void run_modem(ipa_modem_mode mode)
{
    static ipa_fixture fx;
    ipa_fixture_init(&fx);
    modem_sim sim = {.card = fx.euicc.card};
    sim.master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(sim.master >= 0);
    assert_int_equal(grantpt(sim.master), 0);
    assert_int_equal(unlockpt(sim.master), 0);
    char device[128];
    snprintf(device, sizeof device, "%s", ptsname(sim.master));
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, modem_thread, &sim), 0);
    rsp_error err = {0};
    ipa_card *card = NULL;
    assert_int_equal(ipa_card_open_modem(device, mode, &card, &err), RSP_OK);
    fx.platform.apdu_transmit = ipa_card_transmit;
    fx.platform.apdu_ctx = card;
    fx.config.basic_channel = mode == IPA_MODEM_CGLA;
    ipa_instance *ipa = NULL;
    assert_int_equal(ipa_new(&fx.platform, &fx.config, &ipa, &err), RSP_OK);
    uint8_t package[512];
    size_t len = build_euicc_package_enable(package, sizeof package, fx.euicc.eid, 2, 1, false);
    fake_eim_queue(&fx.eim, der_view_make(package, len));
    ipa_poll_report report;
    rsp_status st = ipa_poll_once(ipa, &report, &err);
    if (st != RSP_OK)
        print_message("poll: %s\n", err.message);
    assert_int_equal(st, RSP_OK);
    assert_int_equal(report.results_delivered, 1);
    assert_true(fx.euicc.profiles[1].enabled);
    assert_true(sim.commands > 5);
    if (mode == IPA_MODEM_CGLA)
        assert_true(sim.channel > 0); /* the modem opened the ISD-R channel */
    ipa_free(ipa);
    ipa_card_close(card);
    sim.stop = true;
    pthread_join(thread, NULL);
    close(sim.master);
    ipa_fixture_free(&fx);
}

static void test_modem_csim_on_a_pty(void **ctx)
{
    (void)ctx;
    run_modem(IPA_MODEM_CSIM);
}

static void test_modem_cgla_on_a_pty(void **ctx)
{
    (void)ctx;
    run_modem(IPA_MODEM_CGLA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_storage_roundtrip),
        cmocka_unit_test(test_socket_transport_runs_a_poll),
        cmocka_unit_test(test_modem_csim_on_a_pty),
        cmocka_unit_test(test_modem_cgla_on_a_pty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

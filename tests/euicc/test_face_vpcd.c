/* The vpcd face against a fake vpcd (the pcscd driver side) played by the test: controls,
 * APDUs, reconnection with back-off after a refused connect and after a dropped one, stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "euicc/face_vpcd.h"

static const uint8_t test_eid[16] = {0x89, 0x04, 0x90, 0x32, 0x00, 0x00, 0x00, 0x00,
                                     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x42, 0x42};

static rsp_status eid_process(void *ctx, unsigned channel, der_view command, der_writer *response)
{
    (void)ctx;
    (void)channel;
    (void)command;
    size_t mark = der_begin(response, 0xBF3E);
    der_put_tlv(response, 0x5A, test_eid, sizeof test_eid);
    der_end(response, mark);
    return RSP_OK;
}

static const euicc_card_handler eid_handler = {eid_process, NULL, NULL};

typedef struct {
    euicc_card *card;
    face_vpcd *face;
    pthread_t thread;
    rsp_status run_status;
} running_face;

static void *run_thread(void *arg)
{
    running_face *r = arg;
    rsp_error err = {0};
    r->run_status = face_vpcd_run(r->face, &err);
    return NULL;
}

static void start_face(running_face *r, uint16_t port)
{
    r->card = euicc_card_new(&eid_handler, NULL);
    assert_non_null(r->card);
    r->face = face_vpcd_new(r->card, "127.0.0.1", port);
    assert_non_null(r->face);
    r->run_status = RSP_ERR_STATE;
    assert_int_equal(pthread_create(&r->thread, NULL, run_thread, r), 0);
}

static void stop_face(running_face *r)
{
    face_vpcd_stop(r->face);
    pthread_join(r->thread, NULL);
    assert_int_equal(r->run_status, RSP_OK);
    face_vpcd_free(r->face);
    euicc_card_free(r->card);
}

/* A socket bound to a free loopback port but not yet listening: connects are refused. */
static int bound_socket(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in address = {.sin_family = AF_INET};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof address;
    assert_int_equal(bind(fd, (struct sockaddr *)&address, sizeof address), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&address, &len), 0);
    *port = ntohs(address.sin_port);
    return fd;
}

static int accept_within(int listen_fd, int timeout_ms)
{
    struct pollfd pfd = {.fd = listen_fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, timeout_ms), 1);
    int fd = accept(listen_fd, NULL, NULL);
    assert_true(fd >= 0);
    return fd;
}

static void send_frame(int fd, const uint8_t *payload, size_t len)
{
    uint8_t frame[300];
    frame[0] = (uint8_t)(len >> 8);
    frame[1] = (uint8_t)len;
    memcpy(frame + 2, payload, len);
    assert_int_equal(write(fd, frame, len + 2), (ssize_t)(len + 2));
}

static void read_all(int fd, uint8_t *data, size_t len)
{
    while (len > 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&pfd, 1, 5000), 1);
        ssize_t n = read(fd, data, len);
        assert_true(n > 0);
        data += n;
        len -= (size_t)n;
    }
}

static size_t receive_frame(int fd, uint8_t *payload)
{
    uint8_t header[2];
    read_all(fd, header, 2);
    size_t len = (size_t)header[0] << 8 | header[1];
    assert_true(len <= 258);
    read_all(fd, payload, len);
    return len;
}

static unsigned apdu_hex(int fd, const char *hex, uint8_t *answer, size_t *answer_len)
{
    uint8_t apdu[300];
    long len = der_hex_decode(hex, apdu, sizeof apdu);
    assert_true(len > 1);
    send_frame(fd, apdu, (size_t)len);
    *answer_len = receive_frame(fd, answer);
    assert_true(*answer_len >= 2);
    return (unsigned)(answer[*answer_len - 2] << 8 | answer[*answer_len - 1]);
}

static void expect_atr(int fd, const euicc_card *card)
{
    uint8_t control = 0x04, answer[300];
    size_t atr_len = 0;
    const uint8_t *atr = euicc_card_atr(card, &atr_len);
    send_frame(fd, &control, 1);
    assert_int_equal(receive_frame(fd, answer), atr_len);
    assert_memory_equal(answer, atr, atr_len);
}

#define SELECT_ISD_R "00A4040C10A0000005591010FFFFFFFF8900000100"

static void test_serves_vpcd_and_reconnects(void **state)
{
    (void)state;
    uint16_t port = 0;
    int listen_fd = bound_socket(&port);
    running_face face;
    start_face(&face, port);
    /* Refused connects: the face backs off and keeps trying. */
    usleep(250 * 1000);
    assert_int_equal(face_vpcd_connections(face.face), 0);
    assert_int_equal(listen(listen_fd, 1), 0);
    int fd = accept_within(listen_fd, 10000);

    uint8_t control = 0x01, answer[300];
    size_t n = 0;
    send_frame(fd, &control, 1); /* power on: no answer */
    expect_atr(fd, face.card);
    assert_int_equal(apdu_hex(fd, SELECT_ISD_R, answer, &n), 0x9000);
    assert_int_equal(apdu_hex(fd, "80E2910006BF3E035C015A00", answer, &n), 0x9000);
    assert_int_equal(n, 5 + 16 + 2);
    assert_memory_equal(answer + 5, test_eid, 16);
    /* Reset (unanswered) drops the selection; unknown controls are ignored. */
    control = 0x02;
    send_frame(fd, &control, 1);
    control = 0x03;
    send_frame(fd, &control, 1);
    expect_atr(fd, face.card);
    assert_int_equal(apdu_hex(fd, "80E2910006BF3E035C015A00", answer, &n), 0x6986);
    assert_int_equal(apdu_hex(fd, SELECT_ISD_R, answer, &n), 0x9000);

    /* pcscd goes away and comes back: a new connection with a freshly reset card. */
    close(fd);
    fd = accept_within(listen_fd, 10000);
    expect_atr(fd, face.card); /* a round trip: the face counted the connection by now */
    assert_int_equal(face_vpcd_connections(face.face), 2);
    assert_int_equal(apdu_hex(fd, "80E2910006BF3E035C015A00", answer, &n), 0x6986);
    control = 0x00; /* power off, then an APDU anyway: still answered */
    send_frame(fd, &control, 1);
    assert_int_equal(apdu_hex(fd, "00A4", answer, &n), 0x6700);

    stop_face(&face);
    /* The face closed its side. */
    uint8_t byte;
    assert_int_equal(read(fd, &byte, 1), 0);
    close(fd);
    close(listen_fd);
}

static void test_stop_during_backoff(void **state)
{
    (void)state;
    uint16_t port = 0;
    int unused = bound_socket(&port);
    running_face face;
    start_face(&face, port);
    usleep(150 * 1000);
    stop_face(&face);
    close(unused);
    assert_null(face_vpcd_new(NULL, NULL, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serves_vpcd_and_reconnects),
        cmocka_unit_test(test_stop_during_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

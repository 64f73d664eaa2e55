/* The socket face: a card served from a thread, real clients over a Unix socket and TCP,
 * framing split across writes, clients served in turn, reset on disconnect, clean stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "euicc/face_socket.h"

static const uint8_t test_eid[16] = {0x89, 0x04, 0x90, 0x32, 0x12, 0x34, 0x56, 0x78,
                                     0x90, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34};

/* GetEuiccData (SGP.22 section 5.7.20) answers the EID; any other command gets a 600-byte
 * pattern so long responses cross the socket too. */
static rsp_status eid_process(void *ctx, unsigned channel, der_view command, der_writer *response)
{
    (void)ctx;
    (void)channel;
    static const uint8_t get_eid[] = {0xBF, 0x3E, 0x03, 0x5C, 0x01, 0x5A};
    if (der_view_equal(command, der_view_make(get_eid, sizeof get_eid))) {
        size_t mark = der_begin(response, 0xBF3E);
        der_put_tlv(response, 0x5A, test_eid, sizeof test_eid);
        der_end(response, mark);
        return RSP_OK;
    }
    for (unsigned i = 0; i < 600; i++) {
        uint8_t byte = (uint8_t)i;
        der_put_raw(response, &byte, 1);
    }
    return RSP_OK;
}

static const euicc_card_handler eid_handler = {eid_process, NULL, NULL};

typedef struct {
    euicc_card *card;
    face_socket_server *server;
    euicc_card *second_card; /* served over TCP by some tests */
    pthread_t thread;
    bool started;
    rsp_status run_status;
    char dir[64];
    char path[128];
} served;

static void *serve_thread(void *arg)
{
    served *s = arg;
    rsp_error err = {0};
    s->run_status = face_socket_run(s->server, &err);
    return NULL;
}

static int setup(void **state)
{
    served *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -1;
    strcpy(s->dir, "/tmp/rspkit-face-XXXXXX");
    if (mkdtemp(s->dir) == NULL)
        return -1;
    snprintf(s->path, sizeof s->path, "%s/card.sock", s->dir);
    s->card = euicc_card_new(&eid_handler, NULL);
    s->server = face_socket_server_new();
    if (s->card == NULL || s->server == NULL)
        return -1;
    rsp_error err = {0};
    if (face_socket_listen_unix(s->server, s->card, s->path, &err) != RSP_OK)
        return -1;
    *state = s;
    return 0;
}

static void start(served *s)
{
    assert_int_equal(pthread_create(&s->thread, NULL, serve_thread, s), 0);
    s->started = true;
}

static int teardown(void **state)
{
    served *s = *state;
    face_socket_stop(s->server);
    if (s->started)
        pthread_join(s->thread, NULL);
    int run_failed = s->started && s->run_status != RSP_OK;
    face_socket_server_free(s->server);
    euicc_card_free(s->card);
    euicc_card_free(s->second_card);
    struct stat st;
    int leftover = stat(s->path, &st) == 0;
    rmdir(s->dir);
    free(s);
    return leftover || run_failed ? -1 : 0; /* the server must remove its socket file */
}

static int connect_unix(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strcpy(address.sun_path, path);
    assert_int_equal(connect(fd, (struct sockaddr *)&address, sizeof address), 0);
    return fd;
}

static void write_all(int fd, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        assert_true(n > 0);
        data += n;
        len -= (size_t)n;
    }
}

static void read_all(int fd, uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = read(fd, data, len);
        assert_true(n > 0);
        data += n;
        len -= (size_t)n;
    }
}

/* Sends one frame (byte by byte when split) and returns the answer frame's length. */
static size_t exchange(int fd, const uint8_t *payload, size_t len, uint8_t *answer, bool split)
{
    uint8_t frame[300];
    frame[0] = (uint8_t)(len >> 8);
    frame[1] = (uint8_t)len;
    if (len > 0)
        memcpy(frame + 2, payload, len);
    if (split) {
        for (size_t i = 0; i < len + 2; i++) {
            write_all(fd, frame + i, 1);
            usleep(200);
        }
    } else {
        write_all(fd, frame, len + 2);
    }
    uint8_t header[2];
    read_all(fd, header, 2);
    size_t answer_len = (size_t)header[0] << 8 | header[1];
    assert_true(answer_len <= 258);
    read_all(fd, answer, answer_len);
    return answer_len;
}

static size_t exchange_hex(int fd, const char *hex, uint8_t *answer)
{
    uint8_t apdu[300];
    long len = der_hex_decode(hex, apdu, sizeof apdu);
    assert_true(len >= 0);
    return exchange(fd, apdu, (size_t)len, answer, false);
}

static unsigned sw_of(const uint8_t *answer, size_t len)
{
    assert_true(len >= 2);
    return (unsigned)(answer[len - 2] << 8 | answer[len - 1]);
}

#define SELECT_ISD_R "00A4040010A0000005591010FFFFFFFF890000010000"

static void read_eid(int fd)
{
    uint8_t answer[300];
    size_t n = exchange_hex(fd, SELECT_ISD_R, answer);
    assert_int_equal(sw_of(answer, n), 0x9000);
    n = exchange_hex(fd, "80E2910006BF3E035C015A00", answer);
    assert_int_equal(sw_of(answer, n), 0x9000);
    assert_int_equal(n, 5 + 16 + 2);
    assert_memory_equal(answer, "\xBF\x3E\x12\x5A\x10", 5);
    assert_memory_equal(answer + 5, test_eid, 16);
}

/* ---------------------------------------------------------------------------------------- */

static void test_controls_and_eid(void **state)
{
    served *s = *state;
    start(s);
    int fd = connect_unix(s->path);
    uint8_t answer[300];
    size_t atr_len = 0;
    const uint8_t *atr = euicc_card_atr(s->card, &atr_len);
    uint8_t control = FACE_CONTROL_GET_ATR;
    assert_int_equal(exchange(fd, &control, 1, answer, false), atr_len);
    assert_memory_equal(answer, atr, atr_len);
    control = FACE_CONTROL_POWER_ON;
    assert_int_equal(exchange(fd, &control, 1, answer, false), atr_len);
    assert_int_equal(exchange(fd, NULL, 0, answer, false), 0); /* keep-alive */
    read_eid(fd);
    /* Reset drops the selection. */
    control = FACE_CONTROL_RESET;
    assert_int_equal(exchange(fd, &control, 1, answer, false), atr_len);
    size_t n = exchange_hex(fd, "80E2910006BF3E035C015A00", answer);
    assert_int_equal(sw_of(answer, n), 0x6986);
    read_eid(fd);
    control = FACE_CONTROL_POWER_OFF;
    assert_int_equal(exchange(fd, &control, 1, answer, false), 0);
    n = exchange_hex(fd, "80E2910006BF3E035C015A00", answer);
    assert_int_equal(sw_of(answer, n), 0x6986);
    /* A malformed APDU is the card's business: 6700. */
    n = exchange_hex(fd, "00A4", answer);
    assert_int_equal(n, 2);
    assert_int_equal(sw_of(answer, n), 0x6700);
    close(fd);
}

static void test_split_frames_and_long_response(void **state)
{
    served *s = *state;
    start(s);
    int fd = connect_unix(s->path);
    uint8_t answer[300];
    uint8_t select[] = {0x00, 0xA4, 0x04, 0x0C, 0x10, 0xA0, 0x00, 0x00, 0x05, 0x59, 0x10,
                        0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00};
    size_t n = exchange(fd, select, sizeof select, answer, true);
    assert_int_equal(sw_of(answer, n), 0x9000);
    n = exchange_hex(fd, "80E2910003BF2000", answer); /* any other command: 600 bytes */
    assert_int_equal(sw_of(answer, n), 0x6100);
    size_t total = 0;
    for (;;) {
        n = exchange_hex(fd, "00C0000000", answer);
        for (size_t i = 0; i + 2 < n; i++)
            assert_int_equal(answer[i], (uint8_t)(total + i));
        total += n - 2;
        if (sw_of(answer, n) == 0x9000)
            break;
        assert_int_equal(answer[n - 2], 0x61);
    }
    assert_int_equal(total, 600);
    close(fd);
}

static void test_clients_served_in_turn_with_reset(void **state)
{
    served *s = *state;
    start(s);
    int first = connect_unix(s->path);
    read_eid(first);
    /* The second client connects but is not served while the first holds the card. */
    int second = connect_unix(s->path);
    uint8_t frame[] = {0x00, 0x01, FACE_CONTROL_GET_ATR};
    write_all(second, frame, sizeof frame);
    struct pollfd pfd = {.fd = second, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 200), 0);
    /* First leaves: the second gets its answer and a freshly reset card. */
    close(first);
    assert_int_equal(poll(&pfd, 1, 5000), 1);
    uint8_t header[2], atr[40];
    read_all(second, header, 2);
    size_t atr_len = (size_t)header[0] << 8 | header[1];
    assert_true(atr_len > 2 && atr_len <= sizeof atr);
    read_all(second, atr, atr_len);
    uint8_t answer[300];
    size_t n = exchange_hex(second, "80E2910006BF3E035C015A00", answer);
    assert_int_equal(sw_of(answer, n), 0x6986);
    read_eid(second);
    close(second);
}

static void test_unknown_control_closes_connection(void **state)
{
    served *s = *state;
    start(s);
    int fd = connect_unix(s->path);
    uint8_t frame[] = {0x00, 0x01, 0x07};
    write_all(fd, frame, sizeof frame);
    uint8_t byte;
    assert_int_equal(read(fd, &byte, 1), 0);
    close(fd);
    /* The card is free again. */
    fd = connect_unix(s->path);
    read_eid(fd);
    close(fd);
}

static void test_tcp_endpoint(void **state)
{
    served *s = *state;
    s->second_card = euicc_card_new(&eid_handler, NULL);
    assert_non_null(s->second_card);
    uint16_t port = 0;
    rsp_error err = {0};
    assert_int_equal(face_socket_listen_tcp(s->server, s->second_card, 0, &port, &err), RSP_OK);
    assert_true(port != 0);
    start(s);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&address, sizeof address), 0);
    int unix_fd = connect_unix(s->path); /* both cards at once, one loop */
    read_eid(fd);
    read_eid(unix_fd);
    close(unix_fd);
    close(fd);
}

static void test_bad_arguments(void **state)
{
    served *s = *state;
    rsp_error err = {0};
    char long_path[200];
    memset(long_path, 'a', sizeof long_path - 1);
    long_path[sizeof long_path - 1] = '\0';
    assert_int_equal(face_socket_listen_unix(s->server, s->card, long_path, &err),
                     RSP_ERR_INVALID_ARGUMENT);
    rsp_error_clear(&err);
    assert_int_equal(face_socket_listen_unix(s->server, s->card, "/nonexistent-dir/x.sock", &err),
                     RSP_ERR_IO);
    face_socket_server *empty = face_socket_server_new();
    rsp_error_clear(&err);
    assert_int_equal(face_socket_run(empty, &err), RSP_ERR_INVALID_ARGUMENT);
    face_socket_server_free(empty);
    start(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_controls_and_eid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_frames_and_long_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clients_served_in_turn_with_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_control_closes_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

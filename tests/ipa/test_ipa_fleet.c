/* Many IPA instances in one thread, event-driven: each poll runs in its own coroutine
 * (ucontext) and the HTTP hook suspends it instead of blocking, so a scheduler can have every
 * instance waiting on the eIM at the same time and answer them in any order. This is how a
 * fleet simulator runs libipa's blocking flows without a thread per device. It also measures
 * the stack a poll needs (painted stacks), a figure a device port needs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include <cmocka.h>

#include "ipa/ipa.h"
#include "ipa_fakes.h"

#define DEVICES    64
#define STACK_SIZE (64u * 1024u)
#define PAINT      0xA5

typedef struct {
    ipa_fixture fx;
    ipa_instance *ipa;
    ucontext_t context;
    uint8_t *stack;
    bool waiting;  /* suspended in the HTTP hook */
    bool finished; /* ipa_poll_once returned */
    rsp_status result;
    ipa_poll_report report;
    /* the request the scheduler answers, and the answer */
    uint8_t request[4096];
    size_t request_len;
    der_writer answer;
    long answer_status;
} device;

static ucontext_t scheduler;
static device *devices;
static device *running;

/* The HTTP hook: hands the request to the scheduler and yields until it is answered. */
static rsp_status suspending_post(void *ctx, const ipa_http_request *request, der_writer *response,
                                  long *http_status, rsp_error *err)
{
    device *d = ctx;
    if (request->body.len > sizeof d->request)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "request too large for the test");
    memcpy(d->request, request->body.data, request->body.len);
    d->request_len = request->body.len;
    d->waiting = true;
    swapcontext(&d->context, &scheduler);
    /* resumed: the scheduler put the answer in d->answer */
    der_put_raw(response, d->answer.buf, d->answer.len);
    *http_status = d->answer_status;
    return der_writer_status(response);
}

static void run_poll(void)
{
    device *d = running;
    rsp_error err = {0};
    d->result = ipa_poll_once(d->ipa, &d->report, &err);
    if (d->result != RSP_OK)
        fprintf(stderr, "device poll: %s\n", err.message);
    d->finished = true;
}

/* Lowest stack byte the poll wrote (stacks grow down from the top). */
static size_t stack_used(const uint8_t *stack)
{
    size_t i = 0;
    while (i < STACK_SIZE && stack[i] == PAINT)
        i++;
    return STACK_SIZE - i;
}

static void test_devices_interleaved_in_one_thread(void **ctx)
{
    (void)ctx;
#if defined(__SANITIZE_ADDRESS__)
    printf("SKIPPED: AddressSanitizer does not follow swapcontext stacks\n");
    skip();
#endif
    devices = calloc(DEVICES, sizeof *devices);
    assert_non_null(devices);
    rsp_error err = {0};
    for (int i = 0; i < DEVICES; i++) {
        device *d = &devices[i];
        ipa_fixture_init(&d->fx);
        d->fx.euicc.eid[15] = (uint8_t)i;
        d->fx.platform.http_post = suspending_post;
        d->fx.platform.http_ctx = d;
        assert_int_equal(ipa_new(&d->fx.platform, &d->fx.config, &d->ipa, &err), RSP_OK);
        uint8_t package[512];
        size_t len =
            build_euicc_package_enable(package, sizeof package, d->fx.euicc.eid, 2, 1, false);
        fake_eim_queue(&d->fx.eim, der_view_make(package, len));
        der_writer_init_dynamic(&d->answer, NULL);
        d->stack = malloc(STACK_SIZE);
        assert_non_null(d->stack);
        memset(d->stack, PAINT, STACK_SIZE);
        getcontext(&d->context);
        d->context.uc_stack.ss_sp = d->stack;
        d->context.uc_stack.ss_size = STACK_SIZE;
        d->context.uc_link = &scheduler;
    }
    /* start every poll: each runs until its first HTTP request and yields */
    for (int i = 0; i < DEVICES; i++) {
        running = &devices[i];
        makecontext(&devices[i].context, run_poll, 0);
        swapcontext(&scheduler, &devices[i].context);
    }
    unsigned rounds = 0, most_waiting = 0;
    for (bool busy = true; busy; rounds++) {
        busy = false;
        unsigned waiting = 0;
        for (int i = 0; i < DEVICES; i++)
            waiting += devices[i].waiting;
        most_waiting = waiting > most_waiting ? waiting : most_waiting;
        /* answer in reverse order, to show the order does not matter */
        for (int i = DEVICES - 1; i >= 0; i--) {
            device *d = &devices[i];
            if (!d->waiting)
                continue;
            d->answer.len = 0;
            d->answer_status =
                fake_eim_handle(&d->fx.eim, der_view_make(d->request, d->request_len), &d->answer);
            d->waiting = false;
            running = d;
            swapcontext(&scheduler, &d->context);
            busy = true;
        }
    }
    size_t deepest = 0;
    for (int i = 0; i < DEVICES; i++) {
        device *d = &devices[i];
        assert_true(d->finished);
        assert_int_equal(d->result, RSP_OK);
        assert_int_equal(d->report.results_delivered, 1);
        assert_int_equal(d->fx.eim.provide_results, 1);
        assert_int_equal(d->fx.eim.schema_failures, 0);
        assert_true(d->fx.euicc.profiles[1].enabled);
        size_t used = stack_used(d->stack);
        deepest = used > deepest ? used : deepest;
    }
    assert_int_equal(most_waiting, DEVICES); /* all suspended on the eIM at once */
    printf("%d devices in one thread: %u scheduler rounds, %u waiting at once, deepest poll "
           "stack %zu bytes\n",
           DEVICES, rounds, most_waiting, deepest);
    assert_true(deepest < STACK_SIZE - 4096);
    for (int i = 0; i < DEVICES; i++) {
        ipa_free(devices[i].ipa);
        ipa_fixture_free(&devices[i].fx);
        der_writer_free(&devices[i].answer);
        free(devices[i].stack);
    }
    free(devices);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_devices_interleaved_in_one_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

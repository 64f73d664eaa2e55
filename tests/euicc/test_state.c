/* Persistent eUICC state: survives a reload, encodes deterministically, rolls back a failed
 * command, is always a whole before/after state when the process is SIGKILLed in the middle
 * of commands, and costs little memory per idle instance. */
#include "test_es10_fixture.h"

#include <malloc.h>

#include "core/saip.h"
#include <signal.h>
#include <sys/wait.h>

#define ICCID_A "98001032547698103214"
#define ICCID_B "98001032547698103225"

static void plant_pair(fixture *f)
{
    planted_profile a = {
        ICCID_A, 0x10,      SGP22_PROFILE_STATE_ENABLED, SGP22_PROFILE_CLASS_OPERATIONAL, "A",
        0,       ALL_EVENTS};
    planted_profile b = {
        ICCID_B, 0x11,      SGP22_PROFILE_STATE_DISABLED, SGP22_PROFILE_CLASS_OPERATIONAL, "B",
        0,       ALL_EVENTS};
    fixture_plant(f, &a);
    fixture_plant(f, &b);
}

static void encode_state(const euicc_state *s, der_writer *w)
{
    der_writer_init_dynamic(w, NULL);
    assert_int_equal(euicc_state_encode(s, w), RSP_OK);
}

static void test_state_survives_reload(void **state)
{
    fixture *f = *state;
    plant_pair(f);
    assert_int_equal(fixture_result_code(f, "BF3111A00C5A0A" ICCID_B "810100"),
                     SGP22_ENABLE_RESULT_OK);
    assert_int_equal(fixture_result_code(f, "BF3F0A80086E65772E686F7374"), SGP22_RESULT_OK);
    der_writer before;
    encode_state(euicc_get_state(f->e), &before);

    euicc_free(f->e);
    f->e = NULL;
    fixture_open(f);
    der_writer after;
    encode_state(euicc_get_state(f->e), &after);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.buf, after.buf, before.len);
    assert_int_equal(euicc_state_count(euicc_get_state(f->e), EUICC_LIST_PROFILES), 2);
    assert_int_equal(euicc_state_count(euicc_get_state(f->e), EUICC_LIST_NOTIFICATIONS), 2);
    assert_int_equal(euicc_get_state(f->e)->counters[EUICC_COUNTER_NOTIFICATION], 2);
    /* and it keeps working: the next notification continues the sequence */
    assert_int_equal(fixture_result_code(f, "BF3211A00C5A0A" ICCID_B "810100"),
                     SGP22_DISABLE_RESULT_OK);
    assert_int_equal(euicc_get_state(f->e)->counters[EUICC_COUNTER_NOTIFICATION], 3);
    der_writer_free(&before);
    der_writer_free(&after);
}

static void test_state_codec_round_trip_and_damage(void **state)
{
    fixture *f = *state;
    plant_pair(f);
    euicc_state *s = euicc_get_state(f->e);
    const char token[] = "identity-or-anything";
    assert_int_equal(
        euicc_state_set_slot(s, EUICC_SLOT_FALLBACK, (const uint8_t *)token, sizeof(token)),
        RSP_OK);
    uint8_t crl[] = {0x30, 0x03, 0x02, 0x01, 0x05};
    assert_int_equal(euicc_state_append(s, EUICC_LIST_CRLS, der_view_make(crl, sizeof(crl))),
                     RSP_OK);
    der_writer w;
    encode_state(s, &w);
    euicc_state copy;
    euicc_state_init(&copy);
    rsp_error err = {0};
    assert_int_equal(euicc_state_decode(&copy, der_writer_view(&w), &err), RSP_OK);
    der_writer again;
    encode_state(&copy, &again);
    assert_int_equal(w.len, again.len);
    assert_memory_equal(w.buf, again.buf, w.len);
    assert_memory_equal(euicc_state_slot(&copy, EUICC_SLOT_FALLBACK).data, token, sizeof(token));
    assert_false(copy.dirty);

    /* Truncated or altered files are refused and leave the target untouched. */
    for (size_t cut = 0; cut < w.len; cut += 7) {
        rsp_error_clear(&err);
        assert_true(euicc_state_decode(&copy, der_view_make(w.buf, cut), &err) != RSP_OK);
    }
    uint8_t *bad = malloc(w.len);
    memcpy(bad, w.buf, w.len);
    bad[6] ^= 0x01; /* inside the magic */
    rsp_error_clear(&err);
    assert_true(euicc_state_decode(&copy, der_view_make(bad, w.len), &err) != RSP_OK);
    assert_int_equal(euicc_state_count(&copy, EUICC_LIST_PROFILES), 2);
    free(bad);
    euicc_state_clear(&copy);
    der_writer_free(&w);
    der_writer_free(&again);
}

static void test_transaction_rollback_restores_memory(void **state)
{
    fixture *f = *state;
    plant_pair(f);
    euicc_state *s = euicc_get_state(f->e);
    der_writer before;
    encode_state(s, &before);
    assert_int_equal(euicc_state_begin(s), RSP_OK);
    assert_int_equal(euicc_state_begin(s), RSP_ERR_STATE); /* not nested */
    assert_int_equal(euicc_state_profile_set_state(s, 1, SGP22_PROFILE_STATE_ENABLED), RSP_OK);
    assert_int_equal(euicc_state_remove(s, EUICC_LIST_PROFILES, 0), RSP_OK);
    int64_t seq;
    assert_int_equal(euicc_state_next_counter(s, EUICC_COUNTER_NOTIFICATION, &seq), RSP_OK);
    assert_int_equal(euicc_state_set_slot(s, EUICC_SLOT_DEFAULT_DP, NULL, 0), RSP_OK);
    assert_true(s->dirty);
    euicc_state_rollback(s);
    euicc_state_end(s);
    der_writer after;
    encode_state(s, &after);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.buf, after.buf, before.len);
    assert_false(s->dirty);
    der_writer_free(&before);
    der_writer_free(&after);
}

static void test_snapshot_restores_part_of_a_command(void **state)
{
    fixture *f = *state;
    plant_pair(f);
    euicc_state *s = euicc_get_state(f->e);
    assert_int_equal(euicc_state_set_slot(s, EUICC_SLOT_ROLLBACK, (const uint8_t *)"x", 1), RSP_OK);
    der_writer kept;
    encode_state(s, &kept);
    euicc_state_snapshot *snapshot = NULL;
    assert_int_equal(euicc_state_snapshot_take(s, &snapshot), RSP_OK);
    assert_int_equal(euicc_state_remove(s, EUICC_LIST_PROFILES, 1), RSP_OK);
    assert_int_equal(euicc_state_set_slot(s, EUICC_SLOT_ROLLBACK, NULL, 0), RSP_OK);
    euicc_state_snapshot_restore(s, snapshot);
    der_writer after;
    encode_state(s, &after);
    assert_int_equal(kept.len, after.len);
    assert_memory_equal(kept.buf, after.buf, kept.len);
    assert_true(s->dirty); /* the slot change before the snapshot still needs a commit */
    /* a snapshot that is not needed is just freed */
    assert_int_equal(euicc_state_snapshot_take(s, &snapshot), RSP_OK);
    assert_int_equal(euicc_state_remove(s, EUICC_LIST_PROFILES, 0), RSP_OK);
    euicc_state_snapshot_free(snapshot);
    assert_int_equal(euicc_state_count(s, EUICC_LIST_PROFILES), 1);
    der_writer_free(&kept);
    der_writer_free(&after);
}

/* A handler that fails after changing the state: the dispatcher must roll the change back and
 * leave neither memory nor file changed. Exercised with a SetNickname whose commit fails
 * because the state directory disappeared. */
static void test_failed_commit_rolls_back(void **state)
{
    fixture *f = *state;
    plant_pair(f);
    der_writer before;
    encode_state(euicc_get_state(f->e), &before);
    char moved[160];
    snprintf(moved, sizeof(moved), "%s.moved", f->dir);
    assert_int_equal(rename(f->dir, moved), 0);
    command_result r = fixture_run(f, "BF29115A0A" ICCID_A "900378797A");
    assert_int_equal(r.status, RSP_ERR_IO);
    assert_int_equal(r.len, 0);
    assert_int_equal(rename(moved, f->dir), 0);
    der_writer after;
    encode_state(euicc_get_state(f->e), &after);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.buf, after.buf, before.len);
    /* the file still holds the old state, and the next command succeeds */
    assert_int_equal(fixture_result_code(f, "BF29115A0A" ICCID_A "900378797A"),
                     SGP22_SET_NICKNAME_OK);
    der_writer_free(&before);
    der_writer_free(&after);
}

/* ---- crash consistency ------------------------------------------------------------------- */

/* Invariant of every whole state reachable from plant_pair by switching A <-> B with
 * EnableProfile: exactly one profile enabled, notifications numbered 1..N with N even, the
 * counter at N, and B enabled exactly when N/2 is odd. */
static void check_whole_state(const char *path, int64_t *switches)
{
    euicc_state s;
    euicc_state_init(&s);
    rsp_error err = {0};
    if (euicc_state_load(&s, path, &err) != RSP_OK)
        fail_msg("state after kill does not load: %s", err.message);
    size_t n = euicc_state_count(&s, EUICC_LIST_NOTIFICATIONS);
    assert_int_equal(n % 2, 0);
    assert_int_equal(s.counters[EUICC_COUNTER_NOTIFICATION], (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        euicc_notification_record record;
        assert_int_equal(euicc_state_notification_decode(&s, i, &record, &err), RSP_OK);
        assert_int_equal(record.seq_number, (int64_t)i + 1);
    }
    long enabled = euicc_state_find_enabled_profile(&s);
    assert_true(enabled >= 0);
    uint8_t iccid_b[10];
    der_hex_decode(ICCID_B, iccid_b, sizeof(iccid_b));
    long b = euicc_state_find_profile_by_iccid(&s, der_view_make(iccid_b, 10));
    assert_int_equal(enabled == b, (n / 2) % 2 == 1);
    size_t enabled_count = 0;
    for (size_t i = 0; i < euicc_state_count(&s, EUICC_LIST_PROFILES); i++) {
        euicc_loaded_profile p;
        assert_int_equal(euicc_state_profile_load(&s, i, true, &p, &err), RSP_OK);
        enabled_count += p.record.info.profile_state == SGP22_PROFILE_STATE_ENABLED;
        euicc_loaded_profile_release(&p);
    }
    assert_int_equal(enabled_count, 1);
    *switches = (int64_t)(n / 2);
    euicc_state_clear(&s);
}

static void child_switch_forever(fixture *f, bool durable)
{
    euicc_config config = fixture_config(f, f->state_path);
    config.durable = durable;
    euicc *e = NULL;
    rsp_error err = {0};
    if (euicc_new(&config, &e, &err) != RSP_OK)
        _exit(2);
    static const char *const commands[2] = {"BF3111A00C5A0A" ICCID_B "810100",
                                            "BF3111A00C5A0A" ICCID_A "810100"};
    uint8_t command[64];
    /* Start from whichever profile is disabled, so every command succeeds. */
    long enabled = euicc_state_find_enabled_profile(euicc_get_state(e));
    unsigned next = enabled == 0 ? 0 : 1;
    for (;;) {
        long n = der_hex_decode(commands[next], command, sizeof(command));
        der_writer w;
        der_writer_init_dynamic(&w, NULL);
        rsp_status status = euicc_process(e, der_view_make(command, (size_t)n), &w);
        bool ok = status == RSP_OK && w.len == 6 && w.buf[5] == 0;
        der_writer_free(&w);
        if (!ok)
            _exit(3);
        next ^= 1u;
    }
}

static void test_sigkill_leaves_whole_state(void **state)
{
    fixture *f = *state;
    plant_pair(f);
    euicc_free(f->e); /* the children own the file from now on */
    f->e = NULL;
    srand(12345);
    int64_t last = 0, switches = 0;
    const int rounds = 40;
    for (int round = 0; round < rounds; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            child_switch_forever(f, round % 4 == 0);
        struct timespec delay = {0, (long)(rand() % 20000) * 1000L}; /* 0-20 ms */
        nanosleep(&delay, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status))
            fail_msg("child exited with %d instead of being killed", WEXITSTATUS(status));
        check_whole_state(f->state_path, &switches);
        assert_true(switches >= last);
        last = switches;
    }
    printf("# crash test: %d SIGKILLs, %lld completed switches, every state whole\n", rounds,
           (long long)switches);
    /* The eUICC keeps working on the file the last child left. */
    fixture_open(f);
    long enabled = euicc_state_find_enabled_profile(euicc_get_state(f->e));
    const char *command =
        enabled == 0 ? "BF3111A00C5A0A" ICCID_B "810100" : "BF3111A00C5A0A" ICCID_A "810100";
    assert_int_equal(fixture_result_code(f, command), SGP22_ENABLE_RESULT_OK);
    check_whole_state(f->state_path, &switches);
    assert_int_equal(switches, last + 1);
}

/* ---- memory --------------------------------------------------------------------------------- */

/* A profile record for ICCID_A with its ISD-P AID and a profile state (disabled unless the
 * caller sets it); iccid and aid hold the bytes its views point at. */
static void profile_record_a(euicc_profile_record *record, uint8_t iccid[10], uint8_t aid[16])
{
    der_hex_decode(ICCID_A, iccid, 10);
    der_hex_decode("A0000005591010FFFFFFFF8900001000", aid, 16);
    memset(record, 0, sizeof(*record));
    record->info.has_iccid = true;
    record->info.iccid = der_view_make(iccid, 10);
    record->info.has_isdp_aid = true;
    record->info.isdp_aid = der_view_make(aid, 16);
    record->info.has_profile_state = true;
}

static void test_memory_per_idle_instance(void **state)
{
    fixture *f = *state;
    enum { INSTANCES = 200 };
    static euicc *instances[INSTANCES];
    euicc_config config = fixture_config(f, NULL);
    rsp_error err = {0};
    struct mallinfo2 before = mallinfo2();
    for (size_t i = 0; i < INSTANCES; i++)
        assert_int_equal(euicc_new(&config, &instances[i], &err), RSP_OK);
    struct mallinfo2 after = mallinfo2();
    size_t per_instance = (after.uordblks - before.uordblks) / INSTANCES;
    size_t held = euicc_bytes_held(instances[0]);
    printf("# memory per idle eUICC instance (no profile): %zu bytes malloc'ed, %zu bytes "
           "counted by euicc_bytes_held\n",
           per_instance, held);
    assert_true(per_instance < 64 * 1024);
    /* An enabled profile adds its record, not more. */
    euicc *e = instances[0];
    uint8_t iccid[10], aid[16];
    euicc_profile_record record;
    profile_record_a(&record, iccid, aid);
    assert_int_equal(euicc_state_profile_add(euicc_get_state(e), &record), RSP_OK);
    size_t record_len = euicc_state_get(euicc_get_state(e), EUICC_LIST_PROFILES, 0).len;
    assert_true(euicc_bytes_held(e) - held < record_len + 128);
    for (size_t i = 0; i < INSTANCES; i++)
        euicc_free(instances[i]);
}

static uint8_t *read_file_bytes(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc((size_t)size);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return data;
}

/* The budget: <= 64 KiB per idle instance beyond the stored profile bytes, measured
 * with one installed TS.48 profile (package and element summary in the state). */
static void test_memory_with_ts48_profile(void **state)
{
    fixture *f = *state;
    char path[512];
    snprintf(path, sizeof(path), "%s/testdata/ts48/NoBERTLV.der", RSPKIT_SHARED_DIR);
    size_t package_len = 0;
    uint8_t *package = read_file_bytes(path, &package_len);
    if (package == NULL) {
        printf("# SKIPPED: %s not found; TS.48 memory measurement not run\n", path);
        skip();
    }
    enum { MAX_ELEMENTS = 512 };
    static euicc_stored_element elements[MAX_ELEMENTS];
    size_t count = 0;
    saip_walker walker;
    saip_element element;
    rsp_error err = {0};
    saip_walker_init(&walker, der_view_make(package, package_len));
    while (count < MAX_ELEMENTS && saip_walker_next(&walker, &element, &err) == RSP_OK) {
        elements[count].element_type = element.type;
        elements[count].offset = (int64_t)element.tlv.offset;
        elements[count].length = (int64_t)element.tlv.whole.len;
        count++;
    }
    assert_true(count > 2);

    euicc_config config = fixture_config(f, NULL);
    struct mallinfo2 before = mallinfo2();
    euicc *e = NULL;
    assert_int_equal(euicc_new(&config, &e, &err), RSP_OK);
    uint8_t iccid[10], aid[16];
    euicc_profile_record record;
    profile_record_a(&record, iccid, aid);
    record.info.profile_state = SGP22_PROFILE_STATE_ENABLED;
    record.has_saip_package = true;
    record.saip_package = der_view_make(package, package_len);
    record.has_elements = true;
    record.elements.count = count;
    record.elements.items = elements;
    assert_int_equal(euicc_state_profile_add(euicc_get_state(e), &record), RSP_OK);
    struct mallinfo2 after = mallinfo2();
    size_t total = after.uordblks - before.uordblks;
    size_t stored = euicc_state_get(euicc_get_state(e), EUICC_LIST_PROFILES, 0).len;
    size_t beyond = total > stored ? total - stored : 0;
    printf("# memory per idle eUICC instance with one TS.48 profile (%zu package bytes, %zu "
           "elements): %zu bytes in all, %zu bytes beyond the stored profile record\n",
           package_len, count, total, beyond);
    assert_true(beyond <= 64 * 1024);
    /* Idle means idle: commands leave no heap behind. */
    struct mallinfo2 idle = mallinfo2();
    euicc *fixture_euicc = f->e;
    f->e = e;
    command_result r = fixture_run(f, "BF2D00");
    f->e = fixture_euicc;
    assert_int_equal(r.status, RSP_OK);
    struct mallinfo2 later = mallinfo2();
    /* (glibc counts chunks parked in its thread cache as in use: allow for a few) */
    assert_true(later.uordblks <= idle.uordblks + 256);
    euicc_free(e);
    free(package);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_state_survives_reload, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_state_codec_round_trip_and_damage, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_transaction_rollback_restores_memory, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_restores_part_of_a_command, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_failed_commit_rolls_back, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sigkill_leaves_whole_state, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_memory_per_idle_instance, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_memory_with_ts48_profile, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

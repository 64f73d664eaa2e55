#include "bench/bench.h"
#include "bench/eim.h"
#include "bench/euicc.h"
#include "bench/fleet.h"
#include "bench/http.h"
#include "bench/ipa.h"
#include "bench/smdp.h"
#include "bench/store.h"

const bench_entry bench_entries[] = {
    {"codec", bench_codec}, {"crypto", bench_crypto}, {"http", bench_http},
    {"store", bench_store}, {"euicc", bench_euicc},   {"ipa", bench_ipa},
    {"smdp", bench_smdp},   {"eim", bench_eim},       {"fleet", bench_fleet},
};
const size_t bench_entry_count = sizeof bench_entries / sizeof bench_entries[0];

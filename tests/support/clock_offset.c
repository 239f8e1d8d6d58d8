/* Preloaded into a test nameserver (LD_PRELOAD) to shift the wall clock it sees by
 * CLOCK_OFFSET_SECONDS, for TSIG's BADTIME. libfaketime cannot be used with BIND: it recurses
 * with jemalloc, which BIND links (libfaketime issue #130). This calls the kernel directly and
 * allocates nothing, so it works whatever the allocator. Monotonic clocks are left alone. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long offset;

__attribute__((constructor)) static void read_offset(void) {
    const char *text = getenv("CLOCK_OFFSET_SECONDS");
    if (text != NULL) {
        offset = strtol(text, NULL, 10);
    }
}

static int is_wall_clock(clockid_t clock) {
    return clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE || clock == CLOCK_TAI;
}

int clock_gettime(clockid_t clock, struct timespec *now) {
    long result = syscall(SYS_clock_gettime, clock, now);
    if (result == 0 && is_wall_clock(clock)) {
        now->tv_sec += offset;
    }
    return (int)result;
}

int gettimeofday(struct timeval *restrict now, void *restrict zone) {
    struct timespec precise;
    if (zone != NULL) {
        struct timezone *utc = zone;
        utc->tz_minuteswest = 0;
        utc->tz_dsttime = 0;
    }
    if (clock_gettime(CLOCK_REALTIME, &precise) != 0) {
        return -1;
    }
    now->tv_sec = precise.tv_sec;
    now->tv_usec = precise.tv_nsec / 1000;
    return 0;
}

time_t time(time_t *out) {
    struct timespec precise;
    if (clock_gettime(CLOCK_REALTIME, &precise) != 0) {
        return (time_t)-1;
    }
    if (out != NULL) {
        *out = precise.tv_sec;
    }
    return precise.tv_sec;
}

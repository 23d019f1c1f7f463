/* An LD_PRELOAD library for the clock-step tests (test_clock_steps.py): it
 * moves the wall clock of the process it is loaded into, and nothing else.
 * CLOCK_REALTIME (with time() and gettimeofday()) is shifted by the whole
 * seconds written in the file named by $BELLHOP_CLOCK_SHIFT_FILE; the
 * monotonic clocks are left alone, as a real step of the system clock
 * leaves them. The file is read again at most every 100 ms, so a test
 * steps the clock by rewriting it.
 *
 * Threads: every thread of the server reads clocks. The offset is one
 * atomic value and the time of the last read another; two threads that read
 * the file at once both store what they read, which is the same. */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static _Atomic long long offset_s = 0;
static _Atomic long long last_read_ns = -1000000000LL;

/* The kernel's clocks, past this library (the syscall, not the vDSO entry
 * that libc's own clock_gettime would call: that is the symbol replaced). */
static int raw_clock(clockid_t id, struct timespec* ts) {
  return (int)syscall(SYS_clock_gettime, id, ts);
}

static void refresh(void) {
  struct timespec m;
  if (raw_clock(CLOCK_MONOTONIC, &m) != 0)
    return;
  long long now = m.tv_sec * 1000000000LL + m.tv_nsec;
  if (now - atomic_load(&last_read_ns) < 100000000LL)
    return;
  atomic_store(&last_read_ns, now);
  const char* path = getenv("BELLHOP_CLOCK_SHIFT_FILE");
  if (!path)
    return;
  FILE* f = fopen(path, "r");
  if (!f)
    return;
  long long v;
  if (fscanf(f, "%lld", &v) == 1)
    atomic_store(&offset_s, v);
  fclose(f);
}

int clock_gettime(clockid_t id, struct timespec* ts) {
  int r = raw_clock(id, ts);
  if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
    refresh();
    ts->tv_sec += atomic_load(&offset_s);
  }
  return r;
}

/* glibc declares `tv` nonnull; a caller may pass NULL all the same. */
#pragma GCC diagnostic ignored "-Wnonnull-compare"
int gettimeofday(struct timeval* tv, void* tz) {
  (void)tz;
  struct timespec ts;
  int r = clock_gettime(CLOCK_REALTIME, &ts);
  if (r == 0 && tv) {
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
  }
  return r;
}

time_t time(time_t* out) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (out)
    *out = ts.tv_sec;
  return ts.tv_sec;
}

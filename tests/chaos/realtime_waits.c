// Preloaded before libfaketime for the clock_step fault test (tests/chaos/chaos.py): the process's wall clock
// is stepped back, but librdkafka's timed waits stay on the real clock.
//
// librdkafka computes each condition-variable deadline from the wall clock (timespec_get(TIME_UTC)) and waits
// with pthread_cond_timedwait on CLOCK_REALTIME. Under libfaketime both are faked, and a clock 30 s behind
// made every wait end at once ("Local: Timed out" before any broker answered), even with
// FAKETIME_DONT_FAKE_MONOTONIC=1. These two functions, found before libfaketime's, are the real ones again;
// everything else (clock_gettime, time, gettimeofday: what std::chrono::system_clock and so the order ids and
// the log lines read) keeps the stepped clock.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int timespec_get(struct timespec* ts, int base) {
  if (base != TIME_UTC || syscall(SYS_clock_gettime, CLOCK_REALTIME, ts) != 0) return 0;
  return base;
}

typedef int (*timedwait_fn)(pthread_cond_t*, pthread_mutex_t*, const struct timespec*);

int pthread_cond_timedwait(pthread_cond_t* cond, pthread_mutex_t* mutex, const struct timespec* deadline) {
  static timedwait_fn real;
  if (real == NULL) {
    void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    real = (timedwait_fn)dlvsym(libc, "pthread_cond_timedwait", "GLIBC_2.3.2");
  }
  return real(cond, mutex, deadline);
}

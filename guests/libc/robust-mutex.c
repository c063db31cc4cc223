// Robust mutexes (pthread_mutexattr_setrobust): a thread that ends holding
// one leaves it to the kernel, which walks the thread's robust futex list
// (set_robust_list) at exit, marks the word FUTEX_OWNER_DIED and wakes a
// waiter. The next pthread_mutex_lock returns EOWNERDEAD; after
// pthread_mutex_consistent the mutex is an ordinary one again. Also: a
// waiter already blocked when the owner dies, a mutex left inconsistent
// (ENOTRECOVERABLE), and several robust mutexes held at once.
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t m[3];
static pthread_barrier_t locked;

static void *hold_and_exit(void *arg) {
  int n = (int)(long)arg;
  for (int i = 0; i < n; i++) pthread_mutex_lock(&m[i]);
  return NULL; // ends without unlocking
}

static void *hold_until_waiter(void *arg) {
  (void)arg;
  pthread_mutex_lock(&m[0]);
  pthread_barrier_wait(&locked);
  usleep(50000); // the main thread is blocked in pthread_mutex_lock by now
  pthread_exit(NULL);
}

static const char *name(int r) {
  switch (r) {
    case 0: return "0";
    case EOWNERDEAD: return "EOWNERDEAD";
    case ENOTRECOVERABLE: return "ENOTRECOVERABLE";
    case EBUSY: return "EBUSY";
    case EINVAL: return "EINVAL";
    default: return strerror(r);
  }
}

static void init(int i) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&m[i], &a);
  pthread_mutexattr_destroy(&a);
}

int main(void) {
  pthread_t t;
  for (int i = 0; i < 3; i++) init(i);

  // One mutex, its owner gone before anyone waits.
  pthread_create(&t, NULL, hold_and_exit, (void *)1L);
  pthread_join(t, NULL);
  int r = pthread_mutex_lock(&m[0]);
  printf("lock after owner died: %s\n", name(r));
  printf("consistent: %s\n", name(pthread_mutex_consistent(&m[0])));
  printf("unlock: %s\n", name(pthread_mutex_unlock(&m[0])));
  printf("lock again: %s\n", name(pthread_mutex_lock(&m[0])));
  printf("unlock: %s\n", name(pthread_mutex_unlock(&m[0])));

  // A waiter blocked in the kernel when the owner dies is woken.
  pthread_barrier_init(&locked, NULL, 2);
  pthread_create(&t, NULL, hold_until_waiter, NULL);
  pthread_barrier_wait(&locked);
  r = pthread_mutex_lock(&m[0]);
  printf("blocked waiter: %s\n", name(r));
  pthread_join(t, NULL);
  pthread_mutex_consistent(&m[0]);
  pthread_mutex_unlock(&m[0]);

  // Three held at once: each is reported.
  pthread_create(&t, NULL, hold_and_exit, (void *)3L);
  pthread_join(t, NULL);
  for (int i = 0; i < 3; i++) {
    r = pthread_mutex_lock(&m[i]);
    printf("mutex %d: %s\n", i, name(r));
    if (i < 2) pthread_mutex_consistent(&m[i]);
    pthread_mutex_unlock(&m[i]);
  }
  // Unlocked without pthread_mutex_consistent: not recoverable.
  printf("mutex 2 again: %s\n", name(pthread_mutex_lock(&m[2])));
  printf("trylock 1: %s\n", name(pthread_mutex_trylock(&m[1])));
  pthread_mutex_unlock(&m[1]);
  return 0;
}

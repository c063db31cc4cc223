// A program linked against a shared library of ours (dynlib.c, built as
// guests/bin/libdyntest.so) that it finds through its RUNPATH $ORIGIN, the
// directory of /proc/self/exe: a library from the guest's own files, not
// from the sysroot. Threads see their own copy of the library's TLS.
#include <pthread.h>
#include <stdio.h>

extern __thread int dyntest_tls;
extern int dyntest_calls;
int dyntest_add(int a, int b);
void dyntest_greet(void);

const char *dyntest_program_name(void) {
  return "dynmain";
}

static void *worker(void *arg) {
  int n = (int)(long)arg;
  for (int i = 0; i < 1000; i++) dyntest_add(n, i);
  return (void *)(long)dyntest_tls;
}

int main(void) {
  printf("dynmain: 2 + 3 = %d\n", dyntest_add(2, 3));
  dyntest_greet();
  pthread_t t[3];
  for (long i = 0; i < 3; i++) pthread_create(&t[i], NULL, worker, (void *)(i + 1));
  for (int i = 0; i < 3; i++) {
    void *tls;
    pthread_join(t[i], &tls);
    printf("dynmain: thread %d ended with tls %ld\n", i + 1, (long)tls);
  }
  printf("dynmain: main's tls %d, calls %d\n", dyntest_tls, dyntest_calls);
  return 0;
}

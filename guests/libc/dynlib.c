// A shared library of ours (guests/bin/libdyntest.so) for dynmain.c: a
// constructor and a destructor, thread-local and global state, a function
// the program calls, and one that calls back into the program through a
// symbol the program defines (interposition across objects).
#include <stdio.h>

__thread int dyntest_tls = 100;
// Counted atomically: the program's threads call in at once (under
// qemu-riscv64 truly in parallel, where a plain ++ lost counts).
int dyntest_calls;

// Defined by the program: the library resolves it at run time.
extern const char *dyntest_program_name(void);

__attribute__((constructor)) static void loaded(void) {
  printf("libdyntest: constructor\n");
}

__attribute__((destructor)) static void unloaded(void) {
  printf("libdyntest: destructor after %d calls\n", dyntest_calls);
}

int dyntest_add(int a, int b) {
  __atomic_fetch_add(&dyntest_calls, 1, __ATOMIC_RELAXED);
  dyntest_tls += a;
  return a + b;
}

void dyntest_greet(void) {
  __atomic_fetch_add(&dyntest_calls, 1, __ATOMIC_RELAXED);
  printf("libdyntest: hello, %s (tls %d)\n", dyntest_program_name(), dyntest_tls);
}

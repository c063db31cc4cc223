/*
 * clocks: a user program of the guest initramfs (/bin/clocks) that reads
 * the time through the vDSO, as every glibc program does: clock_gettime
 * and gettimeofday run in user mode there and read the `time` CSR with
 * rdtime, which U-mode may only do when the firmware (or a perf driver) has
 * set scounteren.TM. A kernel without perf events never sets it itself, so
 * this is where a firmware that leaves scounteren at 0 kills init (SIGILL).
 *
 * Its output is deterministic (facts about the clocks, never their values),
 * so that the console under QEMU and under ringvisor can be compared.
 *
 * Built with: riscv64-linux-gnu-gcc -static -O2 (glibc).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }
static const char *yesno(int v) { return v ? "yes" : "no"; }

int main(void)
{
	struct timespec a, b, s, res;
	struct timeval tv;
	int monotonic = 1, ordered, consistent;

	/* glibc finds the vDSO through the auxiliary vector. */
	printf("vDSO mapped: %s\n", yesno(getauxval(AT_SYSINFO_EHDR) != 0));

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 1000; i++) {
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (ns(b) < ns(a))
			monotonic = 0;
		a = b;
	}
	printf("clock_gettime(CLOCK_MONOTONIC) x1000 through the vDSO: never goes back: %s\n", yesno(monotonic));

	/* The vDSO and the system call read the same clock. */
	clock_gettime(CLOCK_MONOTONIC, &a);
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &s);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ordered = ns(a) <= ns(s) && ns(s) <= ns(b);
	printf("vDSO <= system call <= vDSO (CLOCK_MONOTONIC): %s\n", yesno(ordered));

	/* gettimeofday (vDSO) between two CLOCK_REALTIME readings (vDSO). */
	clock_gettime(CLOCK_REALTIME, &a);
	gettimeofday(&tv, NULL);
	clock_gettime(CLOCK_REALTIME, &b);
	consistent = a.tv_sec <= tv.tv_sec && tv.tv_sec <= b.tv_sec;
	printf("gettimeofday agrees with CLOCK_REALTIME: %s\n", yesno(consistent));
	/* The RTC gave the wall clock at boot. */
	printf("CLOCK_REALTIME after 2020: %s\n", yesno(a.tv_sec > 1577836800));

	/* Time passes: 2 ms of busy waiting on the vDSO clock. */
	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while (ns(b) - ns(a) < 2000000);
	printf("busy-waited 2 ms on CLOCK_MONOTONIC: done\n");

	clock_getres(CLOCK_MONOTONIC, &res);
	printf("clock_getres(CLOCK_MONOTONIC): %lld ns\n", ns(res));
	clock_gettime(CLOCK_BOOTTIME, &b);
	printf("CLOCK_BOOTTIME readable: yes\n");
	return monotonic && ordered && consistent ? 0 : 1;
}

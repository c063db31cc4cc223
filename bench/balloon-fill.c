/*
 * balloon-fill: the guest program of bench/balloon.mjs. It takes N MiB of
 * anonymous memory, writes every byte of it (a pattern, so no page is zero),
 * and exits, which hands the memory back to the guest kernel's free lists:
 * what a guest's workload leaves behind, memory the guest no longer uses
 * but the host still holds. Our initramfs's shell cannot do this (it has
 * no redirection or dd), so the bench puts this program on an ext2 disk.
 *
 *   balloon-fill MIB
 *
 * Built by bench/balloon.mjs: riscv64-linux-gnu-gcc -static -O2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
	long mib = argc > 1 ? atol(argv[1]) : 0;
	if (mib <= 0) {
		fprintf(stderr, "usage: balloon-fill MIB\n");
		return 2;
	}
	size_t bytes = (size_t)mib << 20;
	unsigned char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("balloon-fill: mmap");
		return 1;
	}
	for (size_t at = 0; at < bytes; at += 4096)
		memset(p + at, (int)((at >> 12) % 255) + 1, 4096);
	printf("balloon-fill: wrote %ld MiB\n", mib);
	return 0;
}

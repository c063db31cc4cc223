// printf of integers and floating-point values in many formats: glibc's
// stdio and its number formatting on the guest, byte for byte against QEMU.
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <stdio.h>
#include <string.h>

static void integers(void) {
  const long long vals[] = {0, 1, -1, 7, -42, 255, 1000000, INT_MAX, INT_MIN, LLONG_MAX, LLONG_MIN, 0x123456789abcdefLL};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    long long v = vals[i];
    printf("[%d] [%5d] [%-5d|] [%+d] [% d] [%05d] [%lld] [%llu] [%llx] [%#llX] [%llo] [%#llo] [%20lld] [%-20lld|]\n",
           (int)v, (int)v, (int)v, (int)v, (int)v, (int)v, v, (unsigned long long)v, (unsigned long long)v,
           (unsigned long long)v, (unsigned long long)v, (unsigned long long)v, v, v);
  }
  printf("[%hhd] [%hhu] [%hd] [%hu] [%zu] [%zd] [%td] [%jd]\n", (signed char)-129, (unsigned char)300,
         (short)70000, (unsigned short)70000, (size_t)SIZE_MAX, (ssize_t)-5, (ptrdiff_t)-77, (intmax_t)INTMAX_MIN);
  printf("[%" PRId8 "] [%" PRIu16 "] [%" PRIx32 "] [%" PRIo64 "] [%" PRIiMAX "]\n", (int8_t)-8, (uint16_t)65535,
         (uint32_t)0xdeadbeef, (uint64_t)01234567, (intmax_t)-99);
  printf("[%.0d] [%.3d] [%8.3d] [%-8.3d|] [%*d] [%-*d|] [%.*d]\n", 0, 7, -7, 7, 6, 42, 6, 42, 4, 3);
  printf("[%c%c%c] [%5c] [%-3c|] [%%]\n", 'a', 'B', '0', 'z', 'y');
  printf("[%s] [%10s] [%-10s|] [%.3s] [%10.2s] [%s]\n", "hello", "hi", "hi", "truncate", "ab cd", "");
  int n = 0;
  printf("count%n", &n);
  printf(" -> %d\n", n);
  char buf[64];
  volatile size_t limit = 10; // truncation on purpose (and unseen by -Wformat-truncation)
  int len = snprintf(buf, limit, "%s-%d-%x", "snprintf", 12345, 0xabcdefu);
  printf("snprintf: %d [%s]\n", len, buf);
}

static void floats(void) {
  const double vals[] = {0.0, -0.0, 1.0, -1.5, 0.1, 2.5, 3.5, 1.0 / 3.0, 123456.789, 1e-5, 1e-300, 5e-324,
                         1e300, DBL_MAX, DBL_MIN, DBL_EPSILON, M_PI, -M_E, 0.5, 1e15, 1e16, 1e21, 9.999999e22,
                         123.456e-7, INFINITY, -INFINITY, NAN};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    double v = vals[i];
    printf("%zu: [%f] [%.0f] [%.3f] [%e] [%.2E] [%g] [%G] [%.10g] [%#g] [%a] [%A] [%.3a] [%12.4f] [%-12.2e|] [%+.1f] [%08.2f]\n",
           i, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v);
  }
  printf("[%.17g] [%.17g] [%.17g] [%.20f]\n", 0.1, 1.0 / 3.0, 2.0 / 3.0, 0.1);
  printf("[%.60f]\n", 1e-30);
  printf("[%.0f] [%.0f]\n", 1e308, 2.0e20);
  printf("float [%f] [%g] [%a]\n", (double)FLT_MAX, (double)FLT_MIN, (double)1.1f);
  for (double x = 1e-10; x < 1e12; x *= 37.7) printf("%g|%.4e|%.3f\n", x, -x, x);
  char buf[128];
  snprintf(buf, sizeof buf, "%.3f %.3e %g", 2.0 / 7.0, 7e11 / 3.0, 1234567.0);
  printf("snprintf float: %s (%zu)\n", buf, strlen(buf));
}

static void scanning(void) {
  int a = 0;
  unsigned b = 0;
  double d = 0;
  char word[16] = "";
  long long ll = 0;
  int got = sscanf("  -17 0x1f 3.25e2 word 9223372036854775807", "%d %x %lf %15s %lld", &a, &b, &d, word, &ll);
  printf("sscanf: %d -> %d %u %g %s %lld\n", got, a, b, d, word, ll);
  double e = 0;
  got = sscanf("0x1.8p3 nan", "%la", &e);
  printf("sscanf hex float: %d -> %g\n", got, e);
}

int main(void) {
  integers();
  floats();
  scanning();
  fprintf(stderr, "libc-printf: to stderr %d %.2f\n", 42, 2.718281828);
  return 0;
}

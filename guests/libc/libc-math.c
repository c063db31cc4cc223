// libm on the guest: each result printed with %.17g and as its bit pattern,
// so that the last bit of every function and of the F/D instructions under
// it must match QEMU.
#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t bits(double x) {
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}

static void show(const char *what, double x, double r) {
  printf("%-6s(%.17g) = %.17g [%016llx]\n", what, x, r, (unsigned long long)bits(r));
}

static void show2(const char *what, double x, double y, double r) {
  printf("%-6s(%.17g, %.17g) = %.17g [%016llx]\n", what, x, y, r, (unsigned long long)bits(r));
}

int main(void) {
  const double xs[] = {0.0, -0.0, 1e-310, 1e-8, 0.1, 0.5, 0.75, 1.0, 1.5, 2.0, M_PI / 4, M_PI / 2, M_PI, 3.0, 10.0,
                       22.5, 100.0, 709.0, 1e10, 1e22, -0.3, -1.0, -2.5, -100.0, INFINITY, -INFINITY, NAN};
  const size_t n = sizeof xs / sizeof xs[0];
  for (size_t i = 0; i < n; i++) {
    double x = xs[i];
    show("sin", x, sin(x));
    show("cos", x, cos(x));
    show("tan", x, tan(x));
    show("exp", x, exp(x));
    show("expm1", x, expm1(x));
    show("log", x, log(x));
    show("log2", x, log2(x));
    show("log10", x, log10(x));
    show("log1p", x, log1p(x));
    show("sqrt", x, sqrt(x));
    show("cbrt", x, cbrt(x));
    show("atan", x, atan(x));
    show("asin", x, asin(x));
    show("acos", x, acos(x));
    show("sinh", x, sinh(x));
    show("tanh", x, tanh(x));
    show("floor", x, floor(x));
    show("ceil", x, ceil(x));
    show("round", x, round(x));
    show("trunc", x, trunc(x));
    show("rint", x, rint(x));
    show("nbyint", x, nearbyint(x));
    show("lgamma", x, lgamma(x));
    show("erf", x, erf(x));
  }
  const double ys[] = {0.0, 0.5, -1.0, 2.0, 3.0, -0.5, 1e-3, 7.25, INFINITY, NAN};
  for (size_t i = 0; i < n; i += 2) {
    for (size_t j = 0; j < sizeof ys / sizeof ys[0]; j++) {
      double x = xs[i], y = ys[j];
      show2("pow", x, y, pow(x, y));
      show2("atan2", x, y, atan2(x, y));
      show2("fmod", x, y, fmod(x, y));
      show2("hypot", x, y, hypot(x, y));
      show2("remain", x, y, remainder(x, y));
      show2("fmin", x, y, fmin(x, y));
      show2("fmax", x, y, fmax(x, y));
      show2("copysg", x, y, copysign(x, y));
      printf("fma(%.17g, %.17g, 1e-17) = %.17g [%016llx]\n", x, y, fma(x, y, 1e-17), (unsigned long long)bits(fma(x, y, 1e-17)));
    }
  }
  printf("fma exact: %a vs %a\n", fma(1.0 + 0x1p-52, 1.0 - 0x1p-52, -1.0), (1.0 + 0x1p-52) * (1.0 - 0x1p-52) - 1.0);
  int e;
  double m = frexp(1234.5, &e);
  printf("frexp %a %d ldexp %a modf ", m, e, ldexp(0.75, -1030));
  double ip;
  double fp = modf(-3.75, &ip);
  printf("%g %g ilogb %d logb %g scalbn %g nextafter %a\n", ip, fp, ilogb(1e300), logb(0.1), scalbn(1.5, 10),
         nextafter(1.0, 2.0));
  printf("lround %ld llrint %lld lrint(2.5) %ld lrint(3.5) %ld\n", lround(-2.5), llrint(1e15 + 0.5), lrint(2.5), lrint(3.5));
  const int modes[] = {FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO};
  const char *names[] = {"nearest", "down", "up", "zero"};
  for (int k = 0; k < 4; k++) {
    fesetround(modes[k]);
    volatile double a = 1.0, b = 3.0;
    printf("%-7s: 1/3 = %a rint(-2.5) = %g rint(2.5) = %g sqrt(2) = %a\n", names[k], a / b, rint(-2.5), rint(2.5), sqrt(2.0 * a));
  }
  fesetround(FE_TONEAREST);
  feclearexcept(FE_ALL_EXCEPT);
  volatile double z = 0.0;
  volatile double r = 1.0 / z;
  printf("1/0 = %g divbyzero %d inexact %d\n", r, fetestexcept(FE_DIVBYZERO) != 0, fetestexcept(FE_INEXACT) != 0);
  float f = 1.0f / 3.0f;
  printf("float: %.9g sinf %.9g expf %.9g powf %.9g sqrtf %.9g\n", f, sinf(f), expf(f), powf(f, 2.5f), sqrtf(f));
  return 0;
}

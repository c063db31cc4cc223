// Floating point: a softened gravitational n-body simulation (our own system
// of a star and four planets on near-circular orbits, G = 1), advanced with
// semi-implicit Euler: velocities from all pairwise forces, then positions.
// Prints the bits of the total energy at the end, so that every peer must
// agree to the last bit: the operations and their order are fixed, and the
// build turns off fused multiply-add contraction (-ffp-contract=off).
//   bench-nbody.elf STEPS
#include <math.h>
#include <string.h>
#include "bench.h"

#define BODIES 5
#define DT 0.001
#define SOFTENING 0.01

struct body { double x, y, z, vx, vy, vz, mass; };

static void init(struct body *b) {
  memset(b, 0, sizeof(struct body) * BODIES);
  b[0].mass = 1000.0;
  for (int k = 1; k < BODIES; k++) {
    double r = 10.0 * k;
    double v = sqrt(b[0].mass / r);
    b[k].mass = 0.5 * k;
    // Spread around the star, each orbit slightly tilted.
    double c = (k & 1) ? 1.0 : -1.0;
    b[k].x = c * r;
    b[k].y = 0.1 * k;
    b[k].z = 0.05 * k;
    b[k].vy = c * v;
    b[k].vx = -0.01 * k;
    b[k].vz = 0.02 * v;
  }
  // The star moves so that total momentum is zero.
  double px = 0, py = 0, pz = 0;
  for (int k = 1; k < BODIES; k++) { px += b[k].vx * b[k].mass; py += b[k].vy * b[k].mass; pz += b[k].vz * b[k].mass; }
  b[0].vx = -px / b[0].mass; b[0].vy = -py / b[0].mass; b[0].vz = -pz / b[0].mass;
}

static void advance(struct body *b) {
  for (int i = 0; i < BODIES; i++)
    for (int j = i + 1; j < BODIES; j++) {
      double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
      double d2 = dx * dx + dy * dy + dz * dz + SOFTENING;
      double mag = DT / (d2 * sqrt(d2));
      double mi = b[i].mass * mag, mj = b[j].mass * mag;
      b[i].vx -= dx * mj; b[i].vy -= dy * mj; b[i].vz -= dz * mj;
      b[j].vx += dx * mi; b[j].vy += dy * mi; b[j].vz += dz * mi;
    }
  for (int i = 0; i < BODIES; i++) { b[i].x += DT * b[i].vx; b[i].y += DT * b[i].vy; b[i].z += DT * b[i].vz; }
}

static double energy(const struct body *b) {
  double e = 0;
  for (int i = 0; i < BODIES; i++) {
    e += 0.5 * b[i].mass * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
    for (int j = i + 1; j < BODIES; j++) {
      double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
      e -= b[i].mass * b[j].mass / sqrt(dx * dx + dy * dy + dz * dz + SOFTENING);
    }
  }
  return e;
}

int main(int argc, char **argv) {
  long steps = size_arg(argc, argv, 1000000);
  struct body b[BODIES];
  init(b);
  double before = energy(b);
  for (long s = 0; s < steps; s++) advance(b);
  double after = energy(b);
  uint64_t bits0, bits1;
  memcpy(&bits0, &before, 8);
  memcpy(&bits1, &after, 8);
  printf("steps %ld energy 0x%016llx -> 0x%016llx\n", steps, (unsigned long long)bits0, (unsigned long long)bits1);
  return 0;
}

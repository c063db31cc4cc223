// guests/bench/nbody.c in JavaScript: the same bodies, the same operations
// in the same order, so the energy comes out to the same bits.
const BODIES = 5, DT = 0.001, SOFTENING = 0.01;

function init() {
  const b = Array.from({ length: BODIES }, () => ({ x: 0, y: 0, z: 0, vx: 0, vy: 0, vz: 0, mass: 0 }));
  b[0].mass = 1000.0;
  for (let k = 1; k < BODIES; k++) {
    const r = 10.0 * k;
    const v = Math.sqrt(b[0].mass / r);
    b[k].mass = 0.5 * k;
    const c = k & 1 ? 1.0 : -1.0;
    b[k].x = c * r;
    b[k].y = 0.1 * k;
    b[k].z = 0.05 * k;
    b[k].vy = c * v;
    b[k].vx = -0.01 * k;
    b[k].vz = 0.02 * v;
  }
  let px = 0, py = 0, pz = 0;
  for (let k = 1; k < BODIES; k++) { px += b[k].vx * b[k].mass; py += b[k].vy * b[k].mass; pz += b[k].vz * b[k].mass; }
  b[0].vx = -px / b[0].mass; b[0].vy = -py / b[0].mass; b[0].vz = -pz / b[0].mass;
  return b;
}

function advance(b) {
  for (let i = 0; i < BODIES; i++) {
    const bi = b[i];
    for (let j = i + 1; j < BODIES; j++) {
      const bj = b[j];
      const dx = bi.x - bj.x, dy = bi.y - bj.y, dz = bi.z - bj.z;
      const d2 = dx * dx + dy * dy + dz * dz + SOFTENING;
      const mag = DT / (d2 * Math.sqrt(d2));
      const mi = bi.mass * mag, mj = bj.mass * mag;
      bi.vx -= dx * mj; bi.vy -= dy * mj; bi.vz -= dz * mj;
      bj.vx += dx * mi; bj.vy += dy * mi; bj.vz += dz * mi;
    }
  }
  for (const p of b) { p.x += DT * p.vx; p.y += DT * p.vy; p.z += DT * p.vz; }
}

function energy(b) {
  let e = 0;
  for (let i = 0; i < BODIES; i++) {
    const bi = b[i];
    e += 0.5 * bi.mass * (bi.vx * bi.vx + bi.vy * bi.vy + bi.vz * bi.vz);
    for (let j = i + 1; j < BODIES; j++) {
      const bj = b[j];
      const dx = bi.x - bj.x, dy = bi.y - bj.y, dz = bi.z - bj.z;
      e -= bi.mass * bj.mass / Math.sqrt(dx * dx + dy * dy + dz * dz + SOFTENING);
    }
  }
  return e;
}

function bits(x) {
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, x);
  return '0x' + v.getBigUint64(0).toString(16).padStart(16, '0');
}

export function run(steps) {
  const b = init();
  const before = energy(b);
  for (let s = 0; s < steps; s++) advance(b);
  return `steps ${steps} energy ${bits(before)} -> ${bits(energy(b))}\n`;
}

// The dirty-page log (assembly/layout.ts DIRTY_MAP, Cpu.startDirtyLog and
// takeDirtyPages): every page of RAM a write reaches while the log is on is
// reported by the next take, and no other. Checked in both memory modes and
// both tiers (interpreted; translated at threshold 64 without warm-up) for
// stores of every width, compressed, FP, AMOs, SC, page-crossing stores
// (inside a slot and across slots), the MMU's A/D updates, ring -1's writes,
// and against a model: the pages whose bytes changed (RAM snapshots diffed)
// and the pages the program's stores targeted must both be in the log, and
// the log holds nothing else; then random programs of such stores, run in
// random slices with takes and ring -1's writes between them, against the
// same model interval by interval.
import { describe, expect, it } from 'vitest';
import * as A from './support/rvasm.js';
import { newCpu, userMode, describeExit, Cpu, ExitReason, ExitControl, RAM_BASE } from './support/machine.js';
import { MemoryMode, Perm, Priv, PAGE_SIZE } from '../src/cpu/cpu.js';
import { Rng } from './support/prng.js';

type Mode = 'flat' | 'perms';
type Tier = 'interpreted' | 'translated';

const P = BigInt(PAGE_SIZE);
/** The program's code (its own page), and its data pages D(0)..D(17). */
const CODE = RAM_BASE + 0x1000n;
const DATA = RAM_BASE + 0x8_0000n;
const D = (k: number): bigint => DATA + BigInt(k) * P;
const DATA_PAGES = 18;
const ITERATIONS = 200n;

/** A CPU in `mode` running `tier`: in page-permission mode the code page is
 *  R|X (or `codePerms`) and D(0)..D(17) R|W. */
function machine(mode: Mode, tier: Tier, codePerms: number = Perm.R | Perm.X): Cpu {
  const cpu = newCpu();
  if (mode === 'perms') {
    userMode(cpu);
    cpu.setPagePermissions(CODE, PAGE_SIZE, codePerms);
    cpu.setPagePermissions(DATA, DATA_PAGES * PAGE_SIZE, Perm.R | Perm.W);
  }
  if (tier === 'translated') {
    cpu.jitWarmup = 0n;
    cpu.jitThreshold = 64;
  }
  return cpu;
}

/** The RAM page (index from RAM's start) of guest address `addr`. */
function pageOf(cpu: Cpu, addr: bigint): number {
  const off = cpu.ramOffsetOf(addr);
  if (off === undefined) throw new Error(`0x${addr.toString(16)} is not RAM`);
  return Math.floor(off / PAGE_SIZE);
}

const snapshot = (cpu: Cpu): Uint8Array => cpu.ramView(0, Number(cpu.ramLength)).slice();

/** Pages whose bytes differ between two snapshots. */
function changedPages(before: Uint8Array, after: Uint8Array): Set<number> {
  const out = new Set<number>();
  for (let p = 0; p * PAGE_SIZE < before.length; p++) {
    const a = before.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE), b = after.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE);
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) { out.add(p); break; }
  }
  return out;
}

/** Runs to an ebreak, failing on any other exit. */
function runToEbreak(cpu: Cpu): void {
  for (let i = 0; i < 1000; i++) {
    const r = cpu.run(100_000n);
    if (r === ExitReason.Budget) continue;
    if (r !== ExitReason.Ebreak) throw new Error(`expected an ebreak, got ${describeExit(cpu)}`);
    return;
  }
  throw new Error('the program did not stop');
}

/** The log against the model: `targeted` and the changed pages are in it,
 *  and it holds nothing else; it is sorted and the take emptied it. */
function expectLog(cpu: Cpu, before: Uint8Array, targeted: Set<number>, what: string): void {
  const changed = changedPages(before, snapshot(cpu));
  expect(cpu.dirtyPageCount(), `${what}: dirtyPageCount`).toBe(targeted.size);
  const log = cpu.takeDirtyPages();
  expect([...log], `${what}: sorted`).toEqual([...log].sort((a, b) => a - b));
  const logged = new Set(log);
  for (const p of changed) expect(logged.has(p), `${what}: changed page ${p} logged`).toBe(true);
  expect([...logged].sort((a, b) => a - b), `${what}: the targeted pages exactly`).toEqual([...targeted].sort((a, b) => a - b));
  expect(cpu.takeDirtyPages().length, `${what}: a take empties the log`).toBe(0);
  expect(cpu.dirtyPageCount()).toBe(0);
}

// The stores program: one store of each kind per data page, in a loop of
// ITERATIONS (hot: translated at threshold 64), then ebreak. Page D(17) is
// writable and never written.
const T0 = A.T0, T1 = A.T1;
const STORES = [
  A.sb(T0, A.A0), // D(0)
  A.sh(T0, A.A1), // D(1)
  A.sw(T0, A.A2), // D(2)
  A.sd(T0, A.A3), // D(3)
  A.fsw(1, A.A4), // D(4)
  A.fsd(1, A.A5), // D(5)
  A.c_sd(A.S1, A.S0), // D(6), compressed
  A.sd(T0, A.S3), // D(9)+4092: D(9) and D(10), inside a slot
  A.sd(T0, A.S4), // D(15)+4092: D(15) and D(16), across slots in page-permission mode
  A.amoadd_w(0, T0, A.A6), // D(7)
  A.amoswap_d(A.T2, T0, A.A7), // D(8)
  A.lr_d(A.T3, A.S2), // D(11): LR, then a successful SC
  A.sc_d(A.T4, T0, A.S2),
];
const STORE_PAGES = [0, 1, 2, 3, 4, 5, 6, 9, 10, 15, 16, 7, 8, 11];
const LOOP_BODY = [...STORES, A.addi(T1, T1, -1)];
const LOOP = [...LOOP_BODY, A.bne(T1, 0, -A.assemble(LOOP_BODY).length), A.ebreak()];

function loadStores(cpu: Cpu, value: bigint): void {
  cpu.writeBytes(CODE, A.assemble(LOOP));
  setStoreRegisters(cpu, value);
}

function setStoreRegisters(cpu: Cpu, value: bigint): void {
  const bases: Array<[number, bigint]> = [
    [A.A0, D(0)], [A.A1, D(1)], [A.A2, D(2)], [A.A3, D(3)], [A.A4, D(4)], [A.A5, D(5)], [A.S0, D(6)],
    [A.A6, D(7)], [A.A7, D(8)], [A.S3, D(9) + P - 4n], [A.S2, D(11)], [A.S4, D(15) + P - 4n],
  ];
  for (const [r, v] of bases) cpu.setX(r, v);
  cpu.setX(T0, value);
  cpu.setX(A.S1, value ^ 0xffn);
  cpu.setF(1, value);
  cpu.setX(T1, ITERATIONS);
  cpu.pc = CODE;
}

describe('dirty-page log: guest stores', () => {
  for (const mode of ['flat', 'perms'] as const) {
    for (const tier of ['interpreted', 'translated'] as const) {
      it(`logs every kind of store, and again after a take (${mode}, ${tier})`, () => {
        const cpu = machine(mode, tier);
        loadStores(cpu, 0x1122_3344_5566_7788n);
        expect(cpu.dirtyLogging).toBe(false);
        cpu.startDirtyLog();
        expect(cpu.dirtyLogging).toBe(true);
        const targeted = new Set(STORE_PAGES.map((k) => pageOf(cpu, D(k))));
        expect(targeted.has(pageOf(cpu, D(17)))).toBe(false);
        let before = snapshot(cpu);
        runToEbreak(cpu);
        expect(cpu.x(T1)).toBe(0n); // it looped ITERATIONS times
        if (tier === 'translated' && mode === 'perms') expect(cpu.jitStats!.translated).toBeGreaterThan(0);
        expectLog(cpu, before, targeted, 'first interval');

        // The same stores after the take, with other values: logged again,
        // whichever tier runs them (the translations made above stay).
        const translated = cpu.jitStats?.translated ?? 0;
        setStoreRegisters(cpu, 0x0102_0304_0506_0708n);
        before = snapshot(cpu);
        runToEbreak(cpu);
        if (tier === 'translated' && mode === 'perms') expect(cpu.jitStats!.translated).toBe(translated);
        expectLog(cpu, before, targeted, 'second interval');

        // Nothing run, nothing logged.
        expect(cpu.takeDirtyPages().length).toBe(0);
      });
    }
  }

  it('logs a store into a page of translated code (self-modifying, PERM_CODE_W)', () => {
    const cpu = machine('perms', 'translated', Perm.R | Perm.W | Perm.X);
    // The loop stores into its own page, past the code.
    const at = CODE + 0x800n;
    const body = [A.sd(T0, A.A0), A.addi(T1, T1, -1), A.bne(T1, 0, -8), A.ebreak()];
    cpu.writeBytes(CODE, A.assemble(body));
    const run = (value: bigint): void => {
      cpu.setX(A.A0, at); cpu.setX(T0, value); cpu.setX(T1, ITERATIONS); cpu.pc = CODE;
      runToEbreak(cpu);
    };
    run(1n); // translated, its page's W withheld as code
    cpu.startDirtyLog();
    const page = new Set([pageOf(cpu, CODE)]);
    for (const value of [2n, 3n]) {
      const before = snapshot(cpu);
      run(value);
      expect(cpu.read64(at)).toBe(value);
      expectLog(cpu, before, page, `value ${value}`);
    }
  });

  it('keeps withholding W from pages given it by setPagePermissions while logging', () => {
    const cpu = machine('perms', 'interpreted');
    cpu.write64(D(0), 1n); // touched: a later R|W gives W at once
    cpu.writeBytes(CODE, A.assemble([A.sd(T0, A.A0), A.ebreak()]));
    cpu.startDirtyLog();
    cpu.setPagePermissions(D(0), PAGE_SIZE, Perm.R);
    cpu.setPagePermissions(D(0), PAGE_SIZE, Perm.R | Perm.W);
    expect(cpu.takeDirtyPages().length).toBe(0);
    cpu.setX(A.A0, D(0)); cpu.setX(T0, 5n); cpu.pc = CODE;
    runToEbreak(cpu);
    expect([...cpu.takeDirtyPages()]).toEqual([pageOf(cpu, D(0))]);
  });
});

describe('dirty-page log: off, stop and reset', () => {
  for (const mode of ['flat', 'perms'] as const) {
    it(`reports nothing and withholds nothing while off (${mode})`, () => {
      const cpu = machine(mode, 'interpreted');
      loadStores(cpu, 7n);
      runToEbreak(cpu);
      expect(cpu.dirtyLogging).toBe(false);
      expect(cpu.dirtyPageCount()).toBe(0);
      expect(cpu.takeDirtyPages().length).toBe(0);
      if (mode === 'perms') {
        // The stores made the pages writable for good: the hot path's test
        // passes without the slow path, as before the log existed.
        const perms = (cpu as unknown as { bytes: Uint8Array }).bytes, base = cpu.layout.PAGE_PERMS;
        expect(perms[base + pageOf(cpu, D(0))] & Perm.W).toBe(Perm.W);
        cpu.startDirtyLog();
        expect(perms[base + pageOf(cpu, D(0))] & Perm.W).toBe(0);
        expect(cpu.pagePermissions(D(0))).toBe(Perm.R | Perm.W); // as ring -1 sees it
        expect(cpu.memoryUsed).toBeGreaterThan(0);
        const used = cpu.memoryUsed;
        setStoreRegisters(cpu, 8n);
        runToEbreak(cpu);
        expect(perms[base + pageOf(cpu, D(0))] & Perm.W).toBe(Perm.W);
        expect(cpu.memoryUsed).toBe(used); // a re-armed page is not counted twice
      }
    });

    it(`stops, and reset turns it off (${mode})`, () => {
      const cpu = machine(mode, 'interpreted');
      loadStores(cpu, 7n);
      cpu.startDirtyLog();
      runToEbreak(cpu);
      expect(cpu.dirtyPageCount()).toBe(STORE_PAGES.length);
      cpu.stopDirtyLog();
      expect(cpu.dirtyLogging).toBe(false);
      expect(cpu.takeDirtyPages().length).toBe(0);
      setStoreRegisters(cpu, 9n);
      runToEbreak(cpu);
      expect(cpu.takeDirtyPages().length).toBe(0);
      // Started again: empty, then only what is written from now.
      cpu.startDirtyLog();
      expect(cpu.dirtyPageCount()).toBe(0);
      cpu.write32(D(17), 1);
      expect([...cpu.takeDirtyPages()]).toEqual([pageOf(cpu, D(17))]);
      cpu.reset();
      expect(cpu.dirtyLogging).toBe(false);
      expect(cpu.takeDirtyPages().length).toBe(0);
    });
  }
});

describe('dirty-page log: ring -1 writes', () => {
  for (const mode of ['flat', 'perms'] as const) {
    it(`logs every accessor that writes RAM (${mode})`, () => {
      const cpu = machine(mode, 'interpreted');
      cpu.startDirtyLog();
      const cases: Array<[string, () => void, number[]]> = [
        ['writeBytes across a page', () => cpu.writeBytes(D(0) + P - 2n, new Uint8Array([1, 2, 3, 4])), [0, 1]],
        ['fill of three pages', () => cpu.fill(D(2), 3 * PAGE_SIZE, 0x5a), [2, 3, 4]],
        ['write32', () => cpu.write32(D(5) + 8n, 0xdead), [5]],
        ['write64', () => cpu.write64(D(6), 0xbeefn), [6]],
        ['writeWords64', () => cpu.writeWords64(D(7) + P - 8n, [1n, 2n]), [7, 8]],
        ['guestBytes, written through', () => { cpu.guestBytes(D(9), 16).fill(3); }, [9]],
        ['wrote, after a view', () => { cpu.peekBytes(D(10), 4).fill(4); cpu.wrote(D(10), 4); }, [10]],
        ['a write across slots', () => cpu.writeBytes(D(15) + P - 4n, new Uint8Array(8).fill(6)), [15, 16]],
        ['clearTouchedPages', () => cpu.clearTouchedPages(D(2), 2 * PAGE_SIZE), [2, 3]],
      ];
      for (const [what, write, pages] of cases) {
        const before = snapshot(cpu);
        write();
        expectLog(cpu, before, new Set(pages.map((k) => pageOf(cpu, D(k)))), what);
      }
      // Reads log nothing.
      cpu.readBytes(D(0), 3 * PAGE_SIZE); cpu.read64(D(6)); cpu.peekBytes(D(9), 16);
      expect(cpu.takeDirtyPages().length).toBe(0);
    });
  }
});

// ---- a system VM's memory: the MMU and MMIO ---------------------------------------------------
const PTE_V = 1n, PTE_R = 2n, PTE_W = 4n, PTE_X = 8n, PTE_A = 64n, PTE_D = 128n;
const leaf = (pa: bigint, flags: bigint): bigint => ((pa >> 12n) << 10n) | flags | PTE_V;
const pointer = (pa: bigint): bigint => ((pa >> 12n) << 10n) | PTE_V;
const ROOT = RAM_BASE + 0x1_0000n, L1 = RAM_BASE + 0x1_1000n, L0 = RAM_BASE + 0x1_2000n;
/** Data reached through 4 KiB leaves in L0 that have neither A nor D yet. */
const VA = 0x4000_0000n;
const DEVICE = 0x1000_0000n;

/** S-mode on flat memory, Sv39: RAM identity-mapped by a gigapage (A and D
 *  set, so walks for code never write), VA + k * 4096 -> D(2k) (R|W, no A/D). */
function systemMachine(): Cpu {
  const cpu = newCpu();
  cpu.exitControls = ExitControl.Supervisor | ExitControl.Ebreak;
  cpu.priv = Priv.Supervisor;
  cpu.writeWords64(ROOT + 8n * 2n, [leaf(RAM_BASE, PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)]);
  cpu.writeWords64(ROOT + 8n * 1n, [pointer(L1)]);
  cpu.writeWords64(L1, [pointer(L0)]);
  for (let k = 0; k < 4; k++) cpu.writeWords64(L0 + 8n * BigInt(k), [leaf(D(2 * k), PTE_R | PTE_W)]);
  cpu.setCsr('satp', (8n << 60n) | (ROOT >> 12n));
  return cpu;
}

describe('dirty-page log: system VM memory', () => {
  it('logs the page tables the MMU writes A and D bits into, and split stores to both pages', () => {
    const cpu = systemMachine();
    expect(cpu.memoryMode).toBe(MemoryMode.Flat);
    cpu.writeBytes(CODE, A.assemble([
      A.ld(T1, A.A0), // VA page 0: a load, its PTE gets A
      A.sd(T0, A.A1), // VA page 1: its PTE gets A and D
      A.sd(T0, A.A2), // VA page 2 + 4092: crosses into VA page 3 (D(4) and D(6): not contiguous)
      A.ebreak(),
    ]));
    cpu.setX(A.A0, VA); cpu.setX(A.A1, VA + P); cpu.setX(A.A2, VA + 3n * P - 4n); cpu.setX(T0, 0x55n);
    cpu.pc = CODE;
    cpu.startDirtyLog();
    let before = snapshot(cpu);
    runToEbreak(cpu);
    expect(cpu.read64(L0 + 8n) & PTE_D).toBe(PTE_D);
    expectLog(cpu, before, new Set([L0, D(2), D(4), D(6)].map((a) => pageOf(cpu, a))), 'walks and stores');
    // The TLB holds the translations now: the same stores write no PTE.
    cpu.pc = CODE;
    before = snapshot(cpu);
    runToEbreak(cpu);
    expectLog(cpu, before, new Set([D(2), D(4), D(6)].map((a) => pageOf(cpu, a))), 'from the TLB');
  });

  it('does not log MMIO stores (not RAM)', () => {
    const cpu = newCpu();
    cpu.exitControls = ExitControl.Supervisor | ExitControl.Ebreak;
    cpu.priv = Priv.Supervisor;
    cpu.writeBytes(CODE, A.assemble([A.sd(T0, A.A0), A.sw(T0, A.A1), A.ebreak()]));
    cpu.setX(A.A0, DEVICE); cpu.setX(A.A1, D(3)); cpu.setX(T0, 1n);
    cpu.pc = CODE;
    cpu.startDirtyLog();
    const before = snapshot(cpu);
    expect(cpu.run(100n)).toBe(ExitReason.MmioStore);
    expect(cpu.mmio.addr).toBe(DEVICE);
    runToEbreak(cpu);
    expectLog(cpu, before, new Set([pageOf(cpu, D(3))]), 'MMIO and RAM');
  });
});

// ---- random programs against the model ----------------------------------------------------------
// Random stores of every kind at random places in D(0)..D(17) (page-crossing
// ones among them), in a loop whose stored values change each iteration,
// run in random slices with ring -1's writes and takes of the log between
// them. Each interval's log must hold the pages whose bytes changed, the
// pages ring -1 wrote, and every page the program targets when a whole
// iteration ran in it; and nothing but pages the program or ring -1 wrote.
type StoreKind = 'sb' | 'sh' | 'sw' | 'sd' | 'fsw' | 'fsd' | 'amoadd.w' | 'amoswap.d' | 'lr/sc';
const KINDS: readonly StoreKind[] = ['sb', 'sh', 'sw', 'sd', 'fsw', 'fsd', 'amoadd.w', 'amoswap.d', 'lr/sc'];
const SIZE: Record<StoreKind, number> = { sb: 1, sh: 2, sw: 4, sd: 8, fsw: 4, fsd: 8, 'amoadd.w': 4, 'amoswap.d': 8, 'lr/sc': 8 };
/** Base registers (t0 holds the value, t1 the count, t2 and t3 LR/SC's results). */
const BASES = [9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 29, 30, 31];

function randomStores(rng: Rng): { words: number[]; bases: Array<[number, bigint, number]>; body: number } {
  const n = rng.range(3, 12), words: number[] = [], bases: Array<[number, bigint, number]> = [];
  for (let i = 0; i < n; i++) {
    const kind = rng.pick(KINDS), size = SIZE[kind], base = BASES[i];
    const atomic = kind === 'amoadd.w' || kind === 'amoswap.d' || kind === 'lr/sc';
    const page = rng.int(17);
    // Plain stores sometimes end past their page (into the next, D(17) at most).
    const within = atomic ? rng.int(PAGE_SIZE / size) * size : rng.chance(0.3) ? PAGE_SIZE - rng.range(1, size) : rng.int(PAGE_SIZE);
    bases.push([base, D(page) + BigInt(within), size]);
    switch (kind) {
      case 'sb': words.push(A.sb(T0, base)); break;
      case 'sh': words.push(A.sh(T0, base)); break;
      case 'sw': words.push(A.sw(T0, base)); break;
      case 'sd': words.push(A.sd(T0, base)); break;
      case 'fsw': words.push(A.fsw(1, base)); break;
      case 'fsd': words.push(A.fsd(1, base)); break;
      case 'amoadd.w': words.push(A.amoadd_w(0, T0, base)); break;
      case 'amoswap.d': words.push(A.amoswap_d(A.T2, T0, base)); break;
      case 'lr/sc': words.push(A.lr_d(A.T2, base), A.sc_d(A.T3, T0, base)); break;
    }
  }
  // The values change every iteration: t0 += 1, f1 = t0.
  const body = [...words, A.addi(T0, T0, 1), A.fmv_d_x(1, T0), A.addi(T1, T1, -1)];
  return { words: [...body, A.bne(T1, 0, -4 * body.length), A.ebreak()], bases, body: body.length + 1 };
}

describe('dirty-page log: random programs', () => {
  for (const mode of ['flat', 'perms'] as const) {
    for (const tier of ['interpreted', 'translated'] as const) {
      it(`matches the model (${mode}, ${tier})`, () => {
        let translatedSeeds = 0;
        for (let seed = 0; seed < 12; seed++) {
          const rng = new Rng(`dirty-log ${mode} ${tier} ${seed}`);
          const cpu = machine(mode, tier);
          const p = randomStores(rng);
          cpu.writeBytes(CODE, A.assemble(p.words));
          for (const [r, v] of p.bases) cpu.setX(r, v);
          cpu.setX(T0, 1n); cpu.setF(1, 1n); cpu.setX(T1, ITERATIONS); cpu.pc = CODE;
          const targeted = new Set<number>();
          for (const [, at, size] of p.bases) {
            targeted.add(pageOf(cpu, at));
            targeted.add(pageOf(cpu, at + BigInt(size) - 1n));
          }
          cpu.startDirtyLog();
          const seen = new Set<number>();
          let before = snapshot(cpu), ring1 = new Set<number>(), startInstret = cpu.instret;
          const check = (): void => {
            const log = new Set(cpu.takeDirtyPages());
            const what = `seed ${seed}`;
            for (const q of changedPages(before, snapshot(cpu))) expect(log.has(q), `${what}: changed page ${q} logged`).toBe(true);
            for (const q of ring1) expect(log.has(q), `${what}: ring -1's page ${q} logged`).toBe(true);
            for (const q of log) expect(targeted.has(q) || ring1.has(q), `${what}: page ${q} was written`).toBe(true);
            if (cpu.instret - startInstret >= BigInt(2 * p.body)) {
              for (const q of targeted) expect(log.has(q), `${what}: targeted page ${q} logged after a whole iteration`).toBe(true);
            }
            for (const q of log) seen.add(q);
            before = snapshot(cpu); ring1 = new Set(); startInstret = cpu.instret;
          };
          for (let slices = 0; ; slices++) {
            if (slices > 100_000) throw new Error('the program did not stop');
            const reason = cpu.run(BigInt(rng.range(1, 300)));
            if (reason === ExitReason.Ebreak) break;
            if (reason !== ExitReason.Budget) throw new Error(`seed ${seed}: ${describeExit(cpu)}`);
            if (rng.chance(0.05)) {
              const k = rng.int(DATA_PAGES);
              cpu.write64(D(k) + BigInt(rng.int(PAGE_SIZE / 8) * 8), rng.u64());
              ring1.add(pageOf(cpu, D(k)));
            }
            if (rng.chance(0.2)) check();
          }
          check();
          expect(cpu.x(T1)).toBe(0n);
          if ((cpu.jitStats?.translated ?? 0) > 0) translatedSeeds++;
          for (const q of targeted) expect(seen.has(q), `seed ${seed}: targeted page ${q} logged at some take`).toBe(true);
        }
        // (Only page-permission mode translates; a loop that starts with an
        // atomic is not translated from its head.)
        if (tier === 'translated' && mode === 'perms') expect(translatedSeeds).toBeGreaterThanOrEqual(6);
      });
    }
  }
});

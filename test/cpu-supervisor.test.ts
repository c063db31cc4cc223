// The supervisor side of the hart (assembly/supervisor.ts), for system VMs:
// S-mode CSRs, trap delivery into S-mode, sret, wfi, sfence.vma, the S-level
// interrupts with Sstc's stimecmp, the counter-enable and FS gates, and the
// MMIO exits. Judged against the RISC-V privileged specification v1.12,
// chapters "Supervisor-Level ISA" and "Sstc"; there is no M-mode in the
// guest, so everything behaves as if medeleg/mideleg delegated it all to S.
// Everything here runs with satp = 0 (Bare) but the satp tests, which map
// RAM identity; translation itself is test/cpu-mmu.test.ts's subject.
//
// Programs are real instruction sequences: code at CODE, a trap handler at
// HANDLER (stvec), U-mode code at USER. The default handler is a lone
// `ebreak` (which exits, ExitControl.Ebreak), so a test sees the state the
// trap left behind with the handler's first instruction not yet run. A test
// that delivers ebreak itself ends its handlers with `wfi` instead (a handler
// that traps again would deliver to itself forever; see the skipped test at
// the end).
import { describe, expect, it } from 'vitest';
import * as A from './support/rvasm.js';
import { newCpu, describeExit, CODE, DATA, RAM_BASE, RAM_SIZE, ALL_ONES, ExitReason, ExitControl, type Cpu } from './support/machine.js';
import { Priv, Irq, SUPERVISOR_CSRS, type SupervisorCsr } from '../src/cpu/cpu.js';

const { CSR } = A;
const { RA, SP, T0, T1, T2, S0, S1, S2, A0, A1, A2, A3, A7 } = A;
const END = RAM_BASE + RAM_SIZE;
const HANDLER = RAM_BASE + 0x1000n;
const USER = RAM_BASE + 0x2000n;
/** A device address: outside RAM, below it. */
const DEVICE = 0x1000_0000n;
const SUPERVISOR = ExitControl.Supervisor;
const INTERRUPT = 1n << 63n;

// sstatus (privileged spec, "Supervisor Status Register")
const SIE = 1n << 1n, SPIE = 1n << 5n, SPP = 1n << 8n, SUM = 1n << 18n, MXR = 1n << 19n;
const FS_INITIAL = 1n << 13n, FS_CLEAN = 2n << 13n, FS_DIRTY = 3n << 13n, FS = FS_DIRTY;
const UXL_64 = 2n << 32n, SD = 1n << 63n;
// sie / sip bits
const SSI = 1n << 1n, STI = 1n << 5n, SEI = 1n << 9n;

const CSR_NUMBERS: Record<SupervisorCsr, number> = {
  sstatus: CSR.sstatus, sie: CSR.sie, sip: CSR.sip, stvec: CSR.stvec, sscratch: CSR.sscratch, sepc: CSR.sepc,
  scause: CSR.scause, stval: CSR.stval, satp: CSR.satp, scounteren: CSR.scounteren, senvcfg: CSR.senvcfg, stimecmp: CSR.stimecmp,
};

function put(cpu: Cpu, at: bigint, words: number[]): void {
  cpu.writeBytes(at, A.assemble(words));
}

interface SysSetup {
  /** Exit controls besides Supervisor and Ebreak (which are always on unless `noEbreak`). */
  controls?: number;
  noEbreak?: boolean;
  priv?: Priv;
  x?: Record<number, bigint | number>;
  csr?: Partial<Record<SupervisorCsr, bigint>>;
  handler?: number[];
  user?: number[];
  time?: bigint;
  at?: bigint;
}

/** A system VM's hart in S-mode (unless `priv`) with `code` at CODE, stvec
 *  = HANDLER holding `handler` (default: ebreak) and the timer off. */
function sys(code: number[], o: SysSetup = {}): Cpu {
  const cpu = newCpu();
  cpu.exitControls = SUPERVISOR | (o.noEbreak ? 0 : ExitControl.Ebreak) | (o.controls ?? 0);
  cpu.priv = o.priv ?? Priv.Supervisor;
  cpu.setCsr('stvec', HANDLER);
  cpu.setCsr('stimecmp', ALL_ONES); // Linux's "no timer"
  for (const [name, v] of Object.entries(o.csr ?? {})) cpu.setCsr(name as SupervisorCsr, v);
  put(cpu, HANDLER, o.handler ?? [A.ebreak()]);
  if (o.user) put(cpu, USER, o.user);
  const at = o.at ?? CODE;
  put(cpu, at, code);
  for (const [r, v] of Object.entries(o.x ?? {})) cpu.setX(Number(r), BigInt(v));
  if (o.time !== undefined) cpu.time = o.time;
  cpu.pc = at;
  return cpu;
}

/** Runs and expects to stop at the ebreak at `pc`. */
function runTo(cpu: Cpu, pc: bigint, budget = 1000n): void {
  const reason = cpu.run(budget);
  expect(reason, describeExit(cpu)).toBe(ExitReason.Ebreak);
  expect(cpu.exit.pc, describeExit(cpu)).toBe(pc);
}

/** Runs into the default handler and returns what the trap recorded. */
function trap(cpu: Cpu, budget = 1000n): { scause: bigint; sepc: bigint; stval: bigint; sstatus: bigint } {
  runTo(cpu, HANDLER, budget);
  expect(cpu.priv).toBe(Priv.Supervisor);
  return { scause: cpu.csr('scause'), sepc: cpu.csr('sepc'), stval: cpu.csr('stval'), sstatus: cpu.csr('sstatus') };
}

const u32 = (w: number) => BigInt(w >>> 0);
const sext = (v: bigint, bits: number) => BigInt.asUintN(64, BigInt.asIntN(bits, v));

describe('the encoder: supervisor instructions and CSR names', () => {
  it('sret, wfi and sfence.vma have the words of the privileged spec', () => {
    expect(A.sret()).toBe(0x10200073);
    expect(A.wfi()).toBe(0x10500073);
    expect(A.sfence_vma()).toBe(0x12000073);
    expect(A.sfence_vma(A0, A1)).toBe(0x12b50073); // gas: sfence.vma a0, a1
    expect(A.disasm(0x12b50073)).toBe('sfence.vma a0, a1');
    expect(A.asm('sret')).toBe(0x10200073);
    expect(A.disasm(A.csrr(A0, CSR.stimecmp))).toBe('csrrs a0, stimecmp, zero');
  });
});

describe('a process VM (no ExitControl.Supervisor): nothing of S-mode', () => {
  it('every supervisor CSR is an illegal instruction (FAULT, cause 2, tval = the bits)', () => {
    for (const name of SUPERVISOR_CSRS) {
      for (const word of [A.csrr(A0, CSR_NUMBERS[name]), A.csrw(CSR_NUMBERS[name], A1)]) {
        const cpu = newCpu();
        put(cpu, CODE, [word]);
        cpu.pc = CODE;
        expect(cpu.run(10n), name).toBe(ExitReason.Fault);
        expect(cpu.exit).toMatchObject({ cause: 2, addr: u32(word), pc: CODE });
      }
    }
  });

  it('sret, wfi and sfence.vma are illegal instructions, even with priv set to S', () => {
    for (const word of [A.sret(), A.wfi(), A.sfence_vma(), A.sfence_vma(A0, A1)]) {
      const cpu = newCpu();
      cpu.priv = Priv.Supervisor;
      put(cpu, CODE, [word]);
      cpu.pc = CODE;
      expect(cpu.run(10n)).toBe(ExitReason.Fault);
      expect(cpu.exit).toMatchObject({ cause: 2, addr: u32(word), pc: CODE });
    }
  });

  it('a load or store outside RAM is an access fault, not MMIO', () => {
    for (const [word, cause] of [[A.lw(A0, T0, 0), 5], [A.sw(A0, T0, 0), 7]] as const) {
      const cpu = newCpu();
      put(cpu, CODE, [word]);
      cpu.setX(T0, DEVICE);
      cpu.pc = CODE;
      expect(cpu.run(10n)).toBe(ExitReason.Fault);
      expect(cpu.exit).toMatchObject({ cause, addr: DEVICE });
    }
  });

  it('FP works with sstatus all zero, and U-mode reads the counters with scounteren zero', () => {
    const cpu = newCpu();
    put(cpu, CODE, [A.fadd_d(1, 2, 2), A.csrr(A0, CSR.instret), A.csrr(A1, CSR.cycle), A.csrr(A2, CSR.time), A.ebreak()]);
    cpu.setF(2, 0x3ff0_0000_0000_0000n); // 1.0
    cpu.time = 77n;
    cpu.pc = CODE;
    expect(cpu.run(100n)).toBe(ExitReason.Ebreak);
    expect(cpu.f(1)).toBe(0x4000_0000_0000_0000n);
    expect([cpu.x(A0), cpu.x(A1), cpu.x(A2)]).toEqual([1n, 2n, 77n]);
    expect(cpu.csr('sstatus')).toBe(0n); // no FS bookkeeping
  });
});

describe('ecall and ebreak: exit when selected, else delivered to S', () => {
  it('ecall from U with ExitControl.EcallU: ECALL_U exit, retired, still in U', () => {
    const cpu = sys([A.addi(A7, 0, 93), A.ecall(), A.ebreak()], { priv: Priv.User, controls: ExitControl.EcallU });
    expect(cpu.run(100n)).toBe(ExitReason.EcallU);
    expect(cpu.exit).toMatchObject({ pc: CODE + 4n, inst: 0x73, instLength: 4 });
    expect(cpu.pc).toBe(CODE + 8n);
    expect(cpu.instret).toBe(2n);
    expect(cpu.priv).toBe(Priv.User);
  });

  it('ecall from U without ExitControl.EcallU (EcallS does not catch it): delivered, scause 8, sepc on the ecall, SPP = U, stval 0', () => {
    const cpu = sys([A.addi(A7, 0, 93), A.ecall()], { priv: Priv.User, controls: ExitControl.EcallS, csr: { stval: 0x55n } });
    const t = trap(cpu);
    expect(t).toMatchObject({ scause: 8n, sepc: CODE + 4n, stval: 0n });
    expect(t.sstatus & SPP).toBe(0n);
    expect(cpu.instret).toBe(1n); // the ecall did not retire
  });

  it('ecall from S with ExitControl.EcallS: ECALL_S exit (an SBI call), retired, resumes after it', () => {
    const cpu = sys([A.addi(A7, 0, 0x10), A.ecall(), A.addi(A1, A0, 1), A.ebreak()], { controls: ExitControl.EcallS });
    expect(cpu.run(100n)).toBe(ExitReason.EcallS);
    expect(cpu.exit).toMatchObject({ reason: ExitReason.EcallS, pc: CODE + 4n, inst: 0x73, instLength: 4 });
    expect(cpu.pc).toBe(CODE + 8n);
    expect(cpu.instret).toBe(2n);
    expect(cpu.x(A7)).toBe(0x10n);
    cpu.setX(A0, 41n); // ring -1's answer
    runTo(cpu, CODE + 12n);
    expect(cpu.x(A1)).toBe(42n);
    expect(cpu.instret).toBe(3n);
    expect(cpu.exitCounts().get(ExitReason.EcallS)).toBe(1n);
  });

  it('ecall from S without it: delivered with scause 9 and SPP = S (ExitControl.EcallU does not catch it)', () => {
    const cpu = sys([A.ecall()], { controls: ExitControl.EcallU });
    const t = trap(cpu);
    expect(t).toMatchObject({ scause: 9n, sepc: CODE, stval: 0n });
    expect(t.sstatus & SPP).toBe(SPP);
  });

  it('ebreak with ExitControl.Ebreak exits EBREAK from S and from U: not retired, pc on it', () => {
    for (const priv of [Priv.Supervisor, Priv.User]) {
      const cpu = sys([A.addi(A0, 0, 1), A.ebreak()], { priv });
      expect(cpu.run(100n)).toBe(ExitReason.Ebreak);
      expect(cpu.exit).toMatchObject({ pc: CODE + 4n, inst: 0x00100073 });
      expect(cpu.pc).toBe(CODE + 4n);
      expect(cpu.instret).toBe(1n);
      expect(cpu.priv).toBe(priv);
    }
  });

  it('ebreak and c.ebreak without it: delivered, scause 3, stval = sepc = its pc', () => {
    for (const [priv, word] of [[Priv.Supervisor, A.ebreak()], [Priv.User, A.c_ebreak()], [Priv.Supervisor, A.c_ebreak()]] as const) {
      const cpu = sys([A.addi(A0, 0, 1), word], { priv, noEbreak: true, handler: [A.wfi()] });
      expect(cpu.run(100n), describeExit(cpu)).toBe(ExitReason.Wfi);
      expect(cpu.exit.pc).toBe(HANDLER);
      expect(cpu.csr('scause')).toBe(3n);
      expect(cpu.csr('sepc')).toBe(CODE + 4n);
      expect(cpu.csr('stval')).toBe(CODE + 4n);
      expect(cpu.csr('sstatus') & SPP).toBe(priv === Priv.Supervisor ? SPP : 0n);
      expect(cpu.instret).toBe(2n); // the addi and the handler's wfi
    }
  });
});

describe('trap delivery', () => {
  it('a handler reads scause, stval and sepc, steps sepc past the instruction and srets', () => {
    const MRET = 0x30200073; // no M-mode here: an illegal instruction
    const cpu = sys([A.addi(A0, 0, 1), MRET, A.addi(A0, A0, 2), A.ebreak()], {
      handler: [
        A.csrr(T0, CSR.scause), A.csrr(T1, CSR.sepc), A.csrr(T2, CSR.stval),
        A.addi(T1, T1, 4), A.csrw(CSR.sepc, T1), A.sret(),
      ],
    });
    runTo(cpu, CODE + 12n);
    expect(cpu.x(A0)).toBe(3n);
    expect(cpu.x(T0)).toBe(2n);
    expect(cpu.x(T1)).toBe(CODE + 8n);
    expect(cpu.x(T2)).toBe(u32(MRET));
    expect(cpu.priv).toBe(Priv.Supervisor);
    // two addis and the six of the handler; neither the mret nor the final ebreak
    expect(cpu.instret).toBe(8n);
    // sret: SIE = SPIE (0 from the trap), SPIE = 1, SPP = U
    expect(cpu.csr('sstatus') & (SIE | SPIE | SPP)).toBe(SPIE);
  });

  it('from S with SIE = 1: SPIE = 1, SIE = 0, SPP = S; pc = stvec', () => {
    const t = trap(sys([A.ecall()], { csr: { sstatus: SIE } }));
    expect(t.sstatus & (SIE | SPIE | SPP)).toBe(SPIE | SPP);
  });

  it('from S with SIE = 0 (inside a handler): still taken, SPIE = 0, SPP = S', () => {
    const t = trap(sys([A.ecall()], { csr: { sstatus: SPIE } }));
    expect(t.sstatus & (SIE | SPIE | SPP)).toBe(SPP);
    expect(t.scause).toBe(9n);
  });

  it('from U: SPP = U, SPIE = the old SIE (0 or 1), priv becomes S', () => {
    for (const sie of [0n, SIE]) {
      const t = trap(sys([A.ecall()], { priv: Priv.User, csr: { sstatus: sie | SPP } }));
      expect(t.sstatus & (SIE | SPIE | SPP)).toBe(sie ? SPIE : 0n);
    }
  });

  it('into U by sret, back by a U ecall: sepc = the ecall, SPP = U', () => {
    const cpu = sys([
      A.csrw(CSR.sepc, S0), A.csrrc(0, CSR.sstatus, S1), A.sret(),
    ], { x: { [S0]: USER, [S1]: SPP }, csr: { sstatus: SPP }, user: [A.addi(A0, 0, 7), A.ecall()] });
    const t = trap(cpu);
    expect(cpu.x(A0)).toBe(7n);
    expect(t).toMatchObject({ scause: 8n, sepc: USER + 4n });
    expect(t.sstatus & SPP).toBe(0n);
    expect(cpu.instret).toBe(4n);
  });

  it('a nested trap: a U ecall, then an ecall in its handler (SPP = S), back to the handler, still in S', () => {
    const H2 = HANDLER + 0x100n;
    const cpu = sys([A.ecall()], {
      priv: Priv.User,
      x: { [S0]: H2 },
      handler: [
        A.csrr(S1, CSR.sstatus), A.csrr(A0, CSR.sepc), A.csrr(A1, CSR.scause),
        A.csrw(CSR.stvec, S0), A.ecall(), A.addi(A3, 0, 1), A.ebreak(),
      ],
    });
    put(cpu, H2, [
      A.csrr(S2, CSR.sstatus), A.csrr(T0, CSR.sepc), A.csrr(T1, CSR.scause),
      A.addi(T0, T0, 4), A.csrw(CSR.sepc, T0), A.sret(),
    ]);
    runTo(cpu, HANDLER + 24n);
    expect(cpu.x(S1) & SPP).toBe(0n); // first trap from U
    expect([cpu.x(A0), cpu.x(A1)]).toEqual([CODE, 8n]);
    expect(cpu.x(S2) & SPP).toBe(SPP); // second from S
    expect([cpu.x(T0), cpu.x(T1)]).toEqual([HANDLER + 20n, 9n]);
    expect(cpu.x(A3)).toBe(1n);
    expect(cpu.priv).toBe(Priv.Supervisor); // sret with SPP = S stays in S
    expect(cpu.csr('sepc')).toBe(HANDLER + 20n); // the first trap's sepc is gone (the handler saved it)
  });

  it('stval of an illegal instruction: the 32 bits, or a compressed one\'s 16 bits (0x0000 gives 0)', () => {
    const cases: Array<[number, bigint]> = [
      [0xffff_ffff, 0xffff_ffffn], [0x3020_0073, 0x3020_0073n], [A.csrr(A0, 0x7c0), u32(A.csrr(A0, 0x7c0))],
      [0x8002, 0x8002n], // c.jr x0: reserved
      [0x6101, 0x6101n], // c.addi16sp with 0: reserved
    ];
    for (const [word, tval] of cases) {
      const t = trap(sys([word], { x: { [A0]: 5n } }));
      expect(t).toMatchObject({ scause: 2n, sepc: CODE, stval: tval });
    }
    // 0x0000 (zeroed RAM): the all-zero parcel is defined illegal
    const cpu = sys([], { at: CODE + 0x100n, csr: { stval: 0x1234n } });
    expect(trap(cpu)).toMatchObject({ scause: 2n, sepc: CODE + 0x100n, stval: 0n });
  });

  it('the trapping instruction does not retire and changes nothing', () => {
    // a misaligned amoswap.d in RAM: store/AMO address misaligned (cause 6)
    const cpu = sys([A.addi(A0, 0, 1), A.amoswap_d(A1, A2, S0)], { x: { [S0]: DATA + 4n, [A1]: 0x77n, [A2]: ALL_ONES } });
    expect(trap(cpu)).toMatchObject({ scause: 6n, sepc: CODE + 4n, stval: DATA + 4n });
    expect(cpu.x(A1)).toBe(0x77n);
    expect([cpu.read64(DATA), cpu.read64(DATA + 8n)]).toEqual([0n, 0n]);
    expect(cpu.instret).toBe(1n);
  });

  it('vectored stvec (MODE 1): exceptions still go to BASE', () => {
    const cpu = sys([A.ecall()], { csr: { stvec: HANDLER | 1n } });
    put(cpu, HANDLER, Array.from({ length: 16 }, () => A.ebreak()));
    runTo(cpu, HANDLER);
    expect(cpu.csr('scause')).toBe(9n);
  });

  it('a 4-byte instruction whose second parcel lies past the end of RAM: cause 1, stval = that parcel, sepc = its start', () => {
    const cpu = sys([]);
    cpu.writeBytes(END - 2n, A.assemble([A.addi(A0, A0, 1)]).subarray(0, 2));
    cpu.pc = END - 2n;
    expect(trap(cpu)).toMatchObject({ scause: 1n, sepc: END - 2n, stval: END });
    expect(cpu.x(A0)).toBe(0n);
    expect(cpu.instret).toBe(0n);
  });

  it('a jump to a device address: instruction access fault (never MMIO), sepc = stval = the target', () => {
    const cpu = sys([A.jalr(RA, T0, 0)], { x: { [T0]: DEVICE } });
    expect(trap(cpu)).toMatchObject({ scause: 1n, sepc: DEVICE, stval: DEVICE });
    expect(cpu.x(RA)).toBe(CODE + 4n); // the jump retired
    expect(cpu.instret).toBe(1n);
  });

  it('misaligned loads and stores in RAM still simply work in S-mode', () => {
    const cpu = sys([A.ld(A0, S0, 3), A.sw(A0, S0, 13), A.lwu(A1, S0, 13), A.lh(A2, S0, 1), A.ebreak()], { x: { [S0]: DATA } });
    cpu.writeBytes(DATA, Uint8Array.from({ length: 16 }, (_, i) => 0x80 + i));
    runTo(cpu, CODE + 16n);
    expect(cpu.x(A0)).toBe(0x8a89_8887_8685_8483n);
    expect(cpu.x(A1)).toBe(0x8685_8483n);
    expect(cpu.x(A2)).toBe(0xffff_ffff_ffff_8281n);
  });

  it('misaligned atomics: LR gives cause 4, AMOs and SC cause 6, with stval = the address', () => {
    for (const [word, cause] of [[A.lr_w(A0, S0), 4n], [A.amoadd_w(A0, A1, S0), 6n], [A.sc_d(A0, A1, S0), 6n]] as const) {
      const t = trap(sys([word], { x: { [S0]: DATA + 2n } }));
      expect(t).toMatchObject({ scause: cause, stval: DATA + 2n, sepc: CODE });
    }
  });
});

describe('sret', () => {
  it('to U: priv = U, SIE = SPIE, SPIE = 1, SPP = U, pc = sepc', () => {
    const cpu = sys([A.sret()], {
      controls: ExitControl.EcallU, csr: { sepc: USER, sstatus: SPIE }, user: [A.addi(A0, 0, 1), A.ecall()],
    });
    expect(cpu.run(100n)).toBe(ExitReason.EcallU);
    expect(cpu.exit.pc).toBe(USER + 4n);
    expect(cpu.priv).toBe(Priv.User);
    expect(cpu.csr('sstatus') & (SIE | SPIE | SPP)).toBe(SIE | SPIE);
    expect(cpu.instret).toBe(3n);
  });

  it('to S (SPP = 1) with SPIE = 0: stays in S, SIE = 0, SPIE = 1, SPP cleared', () => {
    const cpu = sys([A.sret()], { csr: { sepc: CODE + 0x40n, sstatus: SPP | SIE } });
    put(cpu, CODE + 0x40n, [A.ebreak()]);
    runTo(cpu, CODE + 0x40n);
    expect(cpu.priv).toBe(Priv.Supervisor);
    expect(cpu.csr('sstatus') & (SIE | SPIE | SPP)).toBe(SPIE);
  });

  it('with ExitControl.Sret: CSR exit after it retired, exit pc on the sret, pc = sepc', () => {
    const cpu = sys([A.addi(A0, 0, 1), A.sret()], { controls: ExitControl.Sret, csr: { sepc: USER }, user: [A.ebreak()] });
    expect(cpu.run(100n)).toBe(ExitReason.Csr);
    expect(cpu.exit).toMatchObject({ pc: CODE + 4n, inst: 0x10200073, instLength: 4 });
    expect(cpu.pc).toBe(USER);
    expect(cpu.priv).toBe(Priv.User);
    expect(cpu.instret).toBe(2n);
    runTo(cpu, USER);
  });

  it('in U: illegal instruction, delivered with stval = its bits', () => {
    const t = trap(sys([A.sret()], { priv: Priv.User }));
    expect(t).toMatchObject({ scause: 2n, sepc: CODE, stval: 0x10200073n });
    expect(t.sstatus & SPP).toBe(0n);
  });

  it('sepc bit 0 is always zero, so sret lands on an even address', () => {
    const cpu = sys([A.csrw(CSR.sepc, S0), A.csrr(A0, CSR.sepc), A.sret()], { x: { [S0]: CODE + 0x41n }, csr: { sstatus: SPP } });
    put(cpu, CODE + 0x40n, [A.ebreak()]);
    runTo(cpu, CODE + 0x40n);
    expect(cpu.x(A0)).toBe(CODE + 0x40n);
  });
});

describe('wfi and sfence.vma', () => {
  it('wfi in S: WFI exit, retired, pc after it', () => {
    const cpu = sys([A.addi(A0, 0, 1), A.wfi(), A.addi(A0, A0, 1), A.ebreak()]);
    expect(cpu.run(100n)).toBe(ExitReason.Wfi);
    expect(cpu.exit).toMatchObject({ reason: ExitReason.Wfi, pc: CODE + 4n, inst: 0x10500073, instLength: 4 });
    expect(cpu.pc).toBe(CODE + 8n);
    expect(cpu.instret).toBe(2n);
    runTo(cpu, CODE + 12n);
    expect(cpu.x(A0)).toBe(2n);
  });

  it('wfi, then ring -1 raises SEIP: the interrupt is taken with sepc after the wfi', () => {
    const cpu = sys([A.wfi(), A.addi(A0, 0, 1)], { csr: { sstatus: SIE, sie: SEI } });
    expect(cpu.run(100n)).toBe(ExitReason.Wfi);
    cpu.setInterruptPending(Irq.SupervisorExternal, true);
    expect(trap(cpu)).toMatchObject({ scause: INTERRUPT | 9n, sepc: CODE + 4n, stval: 0n });
    expect(cpu.x(A0)).toBe(0n);
  });

  it('wfi in U: illegal instruction', () => {
    expect(trap(sys([A.wfi()], { priv: Priv.User }))).toMatchObject({ scause: 2n, sepc: CODE, stval: 0x10500073n });
  });

  it('sfence.vma in S (Bare): no architectural effect without ExitControl.Sfence', () => {
    const cpu = sys([A.sfence_vma(), A.sfence_vma(A0, A1), A.addi(A2, 0, 3), A.ebreak()], { x: { [A0]: DATA, [A1]: 5n } });
    runTo(cpu, CODE + 12n);
    expect([cpu.x(A0), cpu.x(A1), cpu.x(A2)]).toEqual([DATA, 5n, 3n]);
    expect(cpu.instret).toBe(3n);
  });

  it('sfence.vma with ExitControl.Sfence: CSR exit after it retired', () => {
    const cpu = sys([A.addi(A0, 0, 1), A.sfence_vma(A0, A1), A.ebreak()], { controls: ExitControl.Sfence });
    expect(cpu.run(100n)).toBe(ExitReason.Csr);
    expect(cpu.exit).toMatchObject({ pc: CODE + 4n, inst: 0x12b50073 });
    expect(cpu.pc).toBe(CODE + 8n);
    expect(cpu.instret).toBe(2n);
    runTo(cpu, CODE + 8n);
  });

  it('sfence.vma in U: illegal instruction', () => {
    expect(trap(sys([A.sfence_vma(A0, A1)], { priv: Priv.User }))).toMatchObject({ scause: 2n, stval: 0x12b50073n });
  });
});

describe('satp', () => {
  // Writing Sv39 or Sv48 turns translation on (assembly/mmu.ts, tested in
  // test/cpu-mmu.test.ts): the roots used here map RAM's gigabyte identity
  // (one S gigapage, RWX, A and D set), so the code runs on unchanged.
  const ROOT39 = RAM_BASE + 0x4_0000n;
  const ROOT48 = RAM_BASE + 0x4_1000n;
  const ROOT57 = RAM_BASE + 0x4_2000n;
  const GIGAPAGE = ((RAM_BASE >> 12n) << 10n) | 0xcfn; // V R W X A D
  const SV39 = (8n << 60n) | (0x1234n << 44n) | (ROOT39 >> 12n);
  const SV48 = (9n << 60n) | (0xffffn << 44n) | (ROOT48 >> 12n);
  const SV57 = (10n << 60n) | (0x5757n << 44n) | (ROOT57 >> 12n);

  const writeSatp = (v: bigint, controls = 0, satp = SV39) => {
    const cpu = sys([A.csrw(CSR.satp, A0), A.csrr(A1, CSR.satp), A.ebreak()], { x: { [A0]: v }, csr: { satp }, controls });
    cpu.write64(ROOT39 + 8n * (RAM_BASE >> 30n), GIGAPAGE);
    cpu.write64(ROOT48, ((ROOT39 >> 12n) << 10n) | 1n); // level 3, entry 0 -> the Sv39 root as level 2
    cpu.write64(ROOT57, ((ROOT48 >> 12n) << 10n) | 1n); // level 4, entry 0 -> the Sv48 root as level 3
    return cpu;
  };

  it('Sv39, Sv48 and Sv57 are kept whole (all 16 ASID bits); Bare reads as all zero', () => {
    for (const [v, want] of [[SV48, SV48], [SV57, SV57], [SV39 ^ (0xffffn << 44n), SV39 ^ (0xffffn << 44n)], [0x0000_ffff_ffff_ffffn, 0n]]) {
      const cpu = writeSatp(v, 0, 0n);
      runTo(cpu, CODE + 8n);
      expect(cpu.x(A1)).toBe(want);
    }
  });

  it('any other MODE leaves satp unchanged', () => {
    for (const mode of [1n, 2n, 7n, 11n, 15n]) {
      const cpu = writeSatp((mode << 60n) | 5n);
      runTo(cpu, CODE + 8n);
      expect(cpu.x(A1), `mode ${mode}`).toBe(SV39);
    }
  });

  it('with ExitControl.Satp a write exits CSR after retiring; a read does not', () => {
    const cpu = writeSatp(SV48, ExitControl.Satp, 0n);
    expect(cpu.run(100n)).toBe(ExitReason.Csr);
    expect(cpu.exit).toMatchObject({ pc: CODE, inst: A.csrw(CSR.satp, A0) });
    expect(cpu.pc).toBe(CODE + 4n);
    expect(cpu.instret).toBe(1n);
    expect(cpu.csr('satp')).toBe(SV48);
    runTo(cpu, CODE + 8n); // the csrr satp does not exit
    expect(cpu.x(A1)).toBe(SV48);
    const reads = sys([A.csrrs(A1, CSR.satp, 0), A.csrrc(A2, CSR.satp, 0), A.ebreak()], { controls: ExitControl.Satp });
    runTo(reads, CODE + 8n);
  });

  it('without ExitControl.Satp a write runs on', () => {
    const cpu = writeSatp(SV48, 0, 0n);
    runTo(cpu, CODE + 8n);
    expect(cpu.exitCounts().get(ExitReason.Csr)).toBeUndefined();
  });
});

describe('supervisor CSRs', () => {
  /** Writes `v` to `csr` with csrw and reads it back with csrr, in S-mode. */
  const roundTrip = (csr: number, v: bigint, o: SysSetup = {}): bigint => {
    const cpu = sys([A.csrw(csr, A0), A.csrr(A1, csr), A.ebreak()], { ...o, x: { [A0]: v, ...o.x } });
    runTo(cpu, CODE + 8n);
    return cpu.x(A1);
  };

  it('sstatus: SIE, SPIE, SPP, FS, SUM, MXR writable; UXL reads 2; SD reads 1 with FS dirty', () => {
    const cpu = sys([A.csrw(CSR.sstatus, A0), A.csrr(A1, CSR.sstatus), A.csrw(CSR.sstatus, 0), A.csrr(A2, CSR.sstatus), A.ebreak()], { x: { [A0]: ALL_ONES } });
    runTo(cpu, CODE + 16n);
    expect(cpu.x(A1)).toBe(SIE | SPIE | SPP | FS | SUM | MXR | UXL_64 | SD);
    expect(cpu.x(A2)).toBe(UXL_64);
  });

  it('sstatus: SD follows FS (Off, Initial, Clean: 0; Dirty: 1)', () => {
    for (const [fs, sd] of [[0n, 0n], [FS_INITIAL, 0n], [FS_CLEAN, 0n], [FS_DIRTY, SD]]) {
      expect(roundTrip(CSR.sstatus, fs | SUM)).toBe(fs | SUM | UXL_64 | sd);
    }
  });

  it('sstatus as the CPU keeps it holds only the writable bits (SD and UXL are derived)', () => {
    const cpu = sys([A.csrw(CSR.sstatus, A0), A.ebreak()], { x: { [A0]: ALL_ONES } });
    runTo(cpu, CODE + 4n);
    expect(cpu.csr('sstatus')).toBe(SIE | SPIE | SPP | FS | SUM | MXR);
  });

  it('sie: only SSIE, STIE and SEIE', () => {
    expect(roundTrip(CSR.sie, ALL_ONES)).toBe(SSI | STI | SEI);
  });

  it('sip: software writes SSIP only (STIP and SEIP read-only)', () => {
    expect(roundTrip(CSR.sip, ALL_ONES)).toBe(SSI);
    const cpu = sys([A.csrrs(0, CSR.sip, A0), A.csrr(A1, CSR.sip), A.csrrc(0, CSR.sip, A0), A.csrr(A2, CSR.sip), A.ebreak()], { x: { [A0]: ALL_ONES } });
    cpu.setInterruptPending(Irq.SupervisorExternal, true);
    cpu.time = 10n;
    cpu.setCsr('stimecmp', 10n);
    runTo(cpu, CODE + 16n);
    expect(cpu.x(A1)).toBe(SSI | STI | SEI);
    expect(cpu.x(A2)).toBe(STI | SEI); // csrc sip cannot clear STIP or SEIP
  });

  it('stvec: MODE 0 and 1 are kept, writes with MODE 2 or 3 are ignored', () => {
    const cpu = sys([
      A.csrw(CSR.stvec, A0), A.csrr(T0, CSR.stvec), A.csrw(CSR.stvec, A1), A.csrr(T1, CSR.stvec),
      A.csrw(CSR.stvec, A2), A.csrr(T2, CSR.stvec), A.csrw(CSR.stvec, A3), A.csrr(S1, CSR.stvec), A.ebreak(),
    ], { x: { [A0]: USER, [A1]: HANDLER | 1n, [A2]: USER | 2n, [A3]: USER | 3n } });
    runTo(cpu, CODE + 32n);
    expect([cpu.x(T0), cpu.x(T1), cpu.x(T2), cpu.x(S1)]).toEqual([USER, HANDLER | 1n, HANDLER | 1n, HANDLER | 1n]);
  });

  it('sepc: bit 0 reads zero; sscratch, scause, stval and stimecmp hold 64 bits', () => {
    const v = 0xfedc_ba98_7654_3211n;
    expect(roundTrip(CSR.sepc, v)).toBe(v - 1n);
    for (const csr of [CSR.sscratch, CSR.scause, CSR.stval, CSR.stimecmp]) expect(roundTrip(csr, v)).toBe(v);
  });

  it('senvcfg: only FIOM (bit 0); scounteren: the low 32 bits', () => {
    expect(roundTrip(CSR.senvcfg, ALL_ONES)).toBe(1n);
    expect(roundTrip(CSR.scounteren, ALL_ONES)).toBe(0xffff_ffffn);
  });

  it('csrrw sp, sscratch, sp swaps (the usual trap entry)', () => {
    const cpu = sys([A.csrrw(SP, CSR.sscratch, SP), A.ebreak()], { x: { [SP]: 0x1111n }, csr: { sscratch: 0x2222n } });
    runTo(cpu, CODE + 4n);
    expect(cpu.x(SP)).toBe(0x2222n);
    expect(cpu.csr('sscratch')).toBe(0x1111n);
  });

  it('supervisor CSR numbers that do not exist are illegal in S', () => {
    for (const csr of [0x101, 0x102, 0x103, 0x10c, 0x145, 0x14e, 0x181, 0x1ff, 0x5a8, 0x9c0, 0xdb0]) {
      const word = A.csrr(A0, csr);
      expect(trap(sys([word])), `csr 0x${csr.toString(16)}`).toMatchObject({ scause: 2n, stval: u32(word) });
    }
  });

  it('every supervisor CSR is illegal from U (cause 2, stval = the bits), reads and writes', () => {
    for (const name of SUPERVISOR_CSRS) {
      for (const word of [A.csrr(A0, CSR_NUMBERS[name]), A.csrw(CSR_NUMBERS[name], A1), A.csrrsi(0, CSR_NUMBERS[name], 1)]) {
        const cpu = sys([word], { priv: Priv.User, x: { [A0]: 0x55n, [A1]: ALL_ONES } });
        const before = cpu.csr(name);
        const t = trap(cpu);
        expect(t, name).toMatchObject({ scause: 2n, sepc: CODE, stval: u32(word) });
        expect(t.sstatus & SPP).toBe(0n);
        expect(cpu.x(A0)).toBe(0x55n);
        if (!['sstatus', 'sepc', 'scause', 'stval'].includes(name)) expect(cpu.csr(name), name).toBe(before);
      }
    }
  });
});

describe('interrupts', () => {
  it('pending and enabled at run entry: taken before any instruction, costing none of the budget', () => {
    const cpu = sys([A.addi(A0, 0, 1)], { csr: { sstatus: SIE, sie: SEI, stval: 0x99n }, handler: [A.addi(A1, 0, 1), A.addi(A1, A1, 1)] });
    cpu.setInterruptPending(Irq.SupervisorExternal, true);
    expect(cpu.run(1n)).toBe(ExitReason.Budget);
    expect(cpu.pc).toBe(HANDLER + 4n); // one handler instruction ran
    expect(cpu.instret).toBe(1n);
    expect(cpu.x(A0)).toBe(0n);
    expect(cpu.csr('scause')).toBe(INTERRUPT | 9n);
    expect(cpu.csr('sepc')).toBe(CODE);
    expect(cpu.csr('stval')).toBe(0n);
    expect(cpu.csr('sstatus') & (SIE | SPIE | SPP)).toBe(SPIE | SPP);
    expect(cpu.priv).toBe(Priv.Supervisor);
  });

  it('not taken in S while SIE = 0, nor while its sie bit is clear', () => {
    for (const csr of [{ sstatus: 0n, sie: SEI }, { sstatus: SIE, sie: SSI | STI }]) {
      const cpu = sys([A.addi(A0, 0, 1), A.ebreak()], { csr });
      cpu.setInterruptPending(Irq.SupervisorExternal, true);
      runTo(cpu, CODE + 4n);
      expect(cpu.x(A0)).toBe(1n);
    }
  });

  it('in U it is taken whatever SIE says (SPP = U, SPIE = the old SIE)', () => {
    for (const sie of [0n, SIE]) {
      const cpu = sys([A.addi(A0, 0, 1)], { priv: Priv.User, csr: { sstatus: sie, sie: SSI } });
      cpu.setInterruptPending(Irq.SupervisorSoftware, true);
      const t = trap(cpu);
      expect(t).toMatchObject({ scause: INTERRUPT | 1n, sepc: CODE });
      expect(t.sstatus & (SIE | SPIE | SPP)).toBe(sie ? SPIE : 0n);
      expect(cpu.x(A0)).toBe(0n);
    }
  });

  it('taken right after the csrs sstatus that sets SIE (sepc = the next instruction)', () => {
    const cpu = sys([A.addi(A0, 0, 1), A.csrrsi(0, CSR.sstatus, 2), A.addi(A0, A0, 1)], { csr: { sie: SEI } });
    cpu.setInterruptPending(Irq.SupervisorExternal, true);
    expect(trap(cpu)).toMatchObject({ scause: INTERRUPT | 9n, sepc: CODE + 8n });
    expect(cpu.x(A0)).toBe(1n);
    expect(cpu.instret).toBe(2n);
  });

  it('taken right after the csrs sie that enables it', () => {
    const cpu = sys([A.csrrs(0, CSR.sie, S0), A.addi(A0, 0, 1)], { x: { [S0]: SEI }, csr: { sstatus: SIE } });
    cpu.setInterruptPending(Irq.SupervisorExternal, true);
    expect(trap(cpu)).toMatchObject({ scause: INTERRUPT | 9n, sepc: CODE + 4n });
  });

  it('SSIP written by software is taken at once; the handler clears it and returns for good', () => {
    const cpu = sys([A.csrrsi(0, CSR.sip, 2), A.addi(A0, A0, 1), A.ebreak()], {
      csr: { sstatus: SIE, sie: SSI },
      handler: [A.csrr(T0, CSR.sip), A.csrr(T1, CSR.scause), A.csrrci(0, CSR.sip, 2), A.csrr(T2, CSR.sip), A.addi(A1, A1, 1), A.sret()],
    });
    runTo(cpu, CODE + 8n);
    expect(cpu.x(T0)).toBe(SSI);
    expect(cpu.x(T1)).toBe(INTERRUPT | 1n);
    expect(cpu.x(T2)).toBe(0n);
    expect([cpu.x(A0), cpu.x(A1)]).toEqual([1n, 1n]); // main ran once past the csrs, the handler once
    expect(cpu.csr('sstatus') & SIE).toBe(SIE); // sret restored it
  });

  it('taken right after an sret to U that enables it (sepc = the U pc, SPP = U)', () => {
    const cpu = sys([A.sret()], { csr: { sepc: USER, sstatus: SPIE, sie: SEI }, user: [A.addi(A0, 0, 1), A.ebreak()] });
    cpu.setInterruptPending(Irq.SupervisorExternal, true);
    const t = trap(cpu);
    expect(t).toMatchObject({ scause: INTERRUPT | 9n, sepc: USER });
    expect(t.sstatus & (SPIE | SPP)).toBe(SPIE);
    expect(cpu.x(A0)).toBe(0n);
    expect(cpu.instret).toBe(1n);
  });

  it('priority with all three pending: SEI, then SSI, then STI', () => {
    const cpu = sys([A.ebreak()], {
      x: { [S0]: DATA },
      csr: { sstatus: SIE, sie: SSI | STI | SEI, stimecmp: 5n },
      time: 5n,
      handler: [
        A.csrr(T0, CSR.scause), A.sd(T0, S0, 0), A.addi(S0, S0, 8),
        A.andi(T1, T0, 63), A.addi(T2, 0, 1), A.sll(T2, T2, T1), A.csrrc(0, CSR.sie, T2), A.sret(),
      ],
    });
    cpu.setInterruptPending(Irq.SupervisorExternal, true);
    cpu.setInterruptPending(Irq.SupervisorSoftware, true);
    runTo(cpu, CODE);
    expect(cpu.x(S0)).toBe(DATA + 24n);
    expect([cpu.read64(DATA), cpu.read64(DATA + 8n), cpu.read64(DATA + 16n)]).toEqual([INTERRUPT | 9n, INTERRUPT | 1n, INTERRUPT | 5n]);
    expect(cpu.instret).toBe(24n);
  });

  it('SSI before STI when both are pending', () => {
    const cpu = sys([A.addi(A0, 0, 1)], { csr: { sstatus: SIE, sie: SSI | STI, stimecmp: 0n } });
    cpu.setInterruptPending(Irq.SupervisorSoftware, true);
    expect(trap(cpu).scause).toBe(INTERRUPT | 1n);
  });

  it('vectored stvec: interrupts go to BASE + 4 * cause', () => {
    for (const [irq, setup] of [
      [Irq.SupervisorSoftware, (c: Cpu) => c.setInterruptPending(Irq.SupervisorSoftware, true)],
      [Irq.SupervisorTimer, (c: Cpu) => { c.setCsr('stimecmp', 100n); c.time = 100n; }],
      [Irq.SupervisorExternal, (c: Cpu) => c.setInterruptPending(Irq.SupervisorExternal, true)],
    ] as const) {
      const cpu = sys([A.addi(A0, 0, 1)], { csr: { stvec: HANDLER | 1n, sstatus: SIE, sie: SSI | STI | SEI } });
      put(cpu, HANDLER, Array.from({ length: 16 }, () => A.ebreak()));
      setup(cpu);
      runTo(cpu, HANDLER + 4n * BigInt(irq));
      expect(cpu.csr('scause')).toBe(INTERRUPT | BigInt(irq));
      expect(cpu.csr('sepc')).toBe(CODE);
    }
  });

  it('SEIP lowered by ring -1 (the PLIC) stays lowered; left high, it is taken again after sret', () => {
    const handler = [
      A.csrrc(0, CSR.sip, S2), A.csrr(T0, CSR.sip), // the guest cannot clear SEIP itself
      A.addi(A1, A1, 1), A.ecall(), A.sret(), // the ecall: ask ring -1 (an SBI-style call)
    ];
    for (const lower of [true, false]) {
      const cpu = sys([A.addi(A0, 0, 1), A.ebreak()], { controls: ExitControl.EcallS, x: { [S2]: SEI }, csr: { sstatus: SIE, sie: SEI }, handler });
      cpu.setInterruptPending(Irq.SupervisorExternal, true);
      expect(cpu.run(100n)).toBe(ExitReason.EcallS);
      expect(cpu.x(T0)).toBe(SEI);
      if (lower) {
        cpu.setInterruptPending(Irq.SupervisorExternal, false);
        runTo(cpu, CODE + 4n);
        expect([cpu.x(A0), cpu.x(A1)]).toEqual([1n, 1n]);
      } else {
        expect(cpu.run(100n)).toBe(ExitReason.EcallS); // straight back into the handler
        expect(cpu.x(A1)).toBe(2n);
        expect(cpu.csr('sepc')).toBe(CODE);
        expect(cpu.x(A0)).toBe(0n);
      }
    }
  });
});

describe('the timer (Sstc)', () => {
  it('sip.STIP follows stimecmp <= time, set and cleared by writes to stimecmp', () => {
    const cpu = sys([
      A.csrw(CSR.stimecmp, A0), A.csrr(T0, CSR.sip), // 100 <= 100: pending
      A.csrw(CSR.stimecmp, A1), A.csrr(T1, CSR.sip), // 101: not
      A.csrw(CSR.stimecmp, A2), A.csrr(T2, CSR.sip), // 0: pending
      A.csrw(CSR.stimecmp, A3), A.csrr(S1, CSR.sip), // 2^64-1: off
      A.ebreak(),
    ], { time: 100n, x: { [A0]: 100n, [A1]: 101n, [A2]: 0n, [A3]: ALL_ONES } });
    runTo(cpu, CODE + 32n);
    expect([cpu.x(T0), cpu.x(T1), cpu.x(T2), cpu.x(S1)]).toEqual([STI, 0n, STI, 0n]);
  });

  it('time reaching stimecmp between runs: STIP at run entry, the interrupt taken with sepc after the wfi', () => {
    const cpu = sys([A.addi(A0, 0, 1), A.wfi(), A.addi(A0, A0, 1), A.ebreak()], { csr: { stimecmp: 1000n, sstatus: SIE, sie: STI }, time: 999n });
    expect(cpu.run(100n)).toBe(ExitReason.Wfi);
    expect(cpu.csr('sip') & STI).toBe(0n);
    cpu.time = 1000n;
    expect(trap(cpu)).toMatchObject({ scause: INTERRUPT | 5n, sepc: CODE + 8n });
    expect(cpu.csr('sip') & STI).toBe(STI);
    expect(cpu.x(A0)).toBe(1n);
  });

  it('a stimecmp write in the past fires at once; the handler moves it to the future, STIP clears, no second interrupt', () => {
    const cpu = sys([A.csrw(CSR.stimecmp, S0), A.addi(A0, A0, 1), A.ebreak()], {
      time: 500n, x: { [S0]: 400n, [S1]: 1500n }, csr: { sstatus: SIE, sie: STI },
      handler: [A.csrr(T0, CSR.sip), A.csrr(T1, CSR.scause), A.csrw(CSR.stimecmp, S1), A.csrr(T2, CSR.sip), A.addi(A1, A1, 1), A.sret()],
    });
    runTo(cpu, CODE + 8n);
    expect([cpu.x(T0), cpu.x(T1), cpu.x(T2)]).toEqual([STI, INTERRUPT | 5n, 0n]);
    expect(cpu.csr('sepc')).toBe(CODE + 4n);
    expect([cpu.x(A0), cpu.x(A1)]).toEqual([1n, 1n]);
  });

  it('stimecmp = 2^64-1 never fires, however late it is', () => {
    const cpu = sys([A.addi(A0, 0, 1), A.ebreak()], { time: ALL_ONES - 1n, csr: { sstatus: SIE, sie: STI, stimecmp: ALL_ONES } });
    runTo(cpu, CODE + 4n);
    expect(cpu.csr('sip') & STI).toBe(0n);
  });

  it('ring -1 cannot hold STIP up by hand: it follows stimecmp at run entry', () => {
    const cpu = sys([A.csrr(A0, CSR.sip), A.ebreak()], { time: 1n, csr: { stimecmp: 2n } });
    cpu.setInterruptPending(Irq.SupervisorTimer, true);
    runTo(cpu, CODE + 4n);
    expect(cpu.x(A0)).toBe(0n);
  });
});

describe('budgets stay exact across delivered traps and interrupts', () => {
  // main: ecall (delivered) → handler: three addis, sepc += 4, sret → main: addi, ebreak
  const program = () => sys([A.ecall(), A.addi(A0, A0, 1), A.ebreak()], {
    handler: [A.addi(A1, A1, 1), A.addi(A1, A1, 1), A.addi(A1, A1, 1), A.csrr(T0, CSR.sepc), A.addi(T0, T0, 4), A.csrw(CSR.sepc, T0), A.sret()],
  });

  it('a delivered trap uses one unit of budget and retires nothing: run(n) retires n - 1', () => {
    // The trap takes a unit of budget (so that a handler that traps again
    // and again still ends the run) but is no retired instruction. Where the
    // hart stands after k retired instructions: six of the handler, its
    // sret, main's addi.
    const at = [HANDLER, ...[1n, 2n, 3n, 4n, 5n, 6n].map((k) => HANDLER + 4n * k), CODE + 4n, CODE + 8n];
    for (let n = 1; n <= 9; n++) {
      const cpu = program();
      expect(cpu.run(BigInt(n)), `budget ${n}`).toBe(ExitReason.Budget);
      expect(cpu.instret, `budget ${n}`).toBe(BigInt(n - 1));
      expect(cpu.pc, `budget ${n}`).toBe(at[n - 1]);
      expect(cpu.budgetLeft).toBe(0n);
    }
  });

  it('the whole program in one run: 8 instructions retired, the ebreak next', () => {
    const cpu = program();
    runTo(cpu, CODE + 8n);
    expect(cpu.instret).toBe(8n);
    expect([cpu.x(A0), cpu.x(A1)]).toEqual([1n, 3n]);
  });

  it('an interrupt costs nothing either, and instret read in the handler counts what retired', () => {
    const cpu = sys([A.addi(A0, 0, 1), A.csrrsi(0, CSR.sstatus, 2), A.addi(A0, A0, 1), A.ebreak()], {
      csr: { sie: SEI },
      handler: [A.csrr(T0, CSR.instret), A.csrrc(0, CSR.sie, S2), A.sret()],
      x: { [S2]: SEI },
    });
    cpu.setInterruptPending(Irq.SupervisorExternal, true);
    runTo(cpu, CODE + 12n);
    expect(cpu.x(T0)).toBe(2n);
    expect(cpu.instret).toBe(6n);
  });
});

describe('counters: cycle, time and instret under scounteren', () => {
  const counters = [['cycle', CSR.cycle, 0], ['time', CSR.time, 1], ['instret', CSR.instret, 2]] as const;

  it('from U: illegal unless the scounteren bit (CY, TM, IR) is set', () => {
    for (const [name, csr, bit] of counters) {
      const word = A.csrr(A0, csr);
      const denied = sys([A.addi(A1, 0, 1), word], { priv: Priv.User, csr: { scounteren: 0x7n & ~(1n << BigInt(bit)) } });
      expect(trap(denied), name).toMatchObject({ scause: 2n, sepc: CODE + 4n, stval: u32(word) });
      const allowed = sys([A.addi(A1, 0, 1), word, A.ebreak()], { priv: Priv.User, time: 1234n, csr: { scounteren: 1n << BigInt(bit) } });
      runTo(allowed, CODE + 8n);
      expect(allowed.x(A0), name).toBe(name === 'time' ? 1234n : 1n);
    }
  });

  it('from S: always readable, scounteren zero', () => {
    const cpu = sys([A.csrr(A0, CSR.cycle), A.csrr(A1, CSR.time), A.csrr(A2, CSR.instret), A.ebreak()], { time: 99n });
    runTo(cpu, CODE + 12n);
    expect([cpu.x(A0), cpu.x(A1), cpu.x(A2)]).toEqual([0n, 99n, 2n]);
  });
});

describe('sstatus.FS', () => {
  const D1 = 0x3ff0_0000_0000_0000n; // 1.0

  it('Off: every F/D instruction (compressed ones too) and fflags/frm/fcsr are illegal, with stval = the bits', () => {
    const words = [
      A.fadd_d(1, 2, 3), A.fmadd_s(1, 2, 3, 4), A.fld(1, S0, 0), A.flw(1, S0, 0), A.fsd(2, S0, 0), A.fsw(2, S0, 0),
      A.fmv_x_d(A0, 2), A.fmv_d_x(1, A1), A.fcvt_d_l(1, A1), A.feq_d(A0, 2, 2), A.fclass_s(A0, 2),
      A.c_fld(8, 9, 0), A.c_fsd(8, 9, 0), A.c_fldsp(1, 8), A.c_fsdsp(2, 8),
      A.csrr(A0, CSR.fflags), A.csrr(A0, CSR.frm), A.csrr(A0, CSR.fcsr), A.csrw(CSR.fcsr, A1), A.csrrwi(0, CSR.fflags, 1),
    ];
    for (const priv of [Priv.Supervisor, Priv.User]) {
      for (const word of words) {
        const cpu = sys([word], { priv, x: { [S0]: DATA, [S1]: DATA, [SP]: DATA, [A0]: 0x55n, [A1]: 7n } });
        cpu.setF(1, 0x1111n);
        cpu.setF(2, D1);
        cpu.fcsr = 0x21;
        expect(trap(cpu), A.disasm(word)).toMatchObject({ scause: 2n, sepc: CODE, stval: u32(word) });
        expect(cpu.f(1)).toBe(0x1111n);
        expect(cpu.x(A0)).toBe(0x55n);
        expect(cpu.fcsr).toBe(0x21);
        expect(cpu.read64(DATA)).toBe(0n);
        expect(cpu.csr('sstatus') & FS).toBe(0n);
      }
    }
  });

  it('Initial or Clean: an FP instruction runs and makes FS Dirty; SD reads 1', () => {
    for (const fs of [FS_INITIAL, FS_CLEAN]) {
      const cpu = sys([A.fadd_d(1, 2, 2), A.csrr(A0, CSR.sstatus), A.ebreak()], { csr: { sstatus: fs } });
      cpu.setF(2, D1);
      runTo(cpu, CODE + 8n);
      expect(cpu.f(1)).toBe(0x4000_0000_0000_0000n);
      expect(cpu.x(A0) & (FS | SD)).toBe(FS_DIRTY | SD);
    }
  });

  it('an FP load in RAM works and dirties FS, from U as well', () => {
    const cpu = sys([A.fld(1, S0, 0), A.ebreak()], { priv: Priv.User, x: { [S0]: DATA }, csr: { sstatus: FS_INITIAL } });
    cpu.write64(DATA, D1);
    runTo(cpu, CODE + 4n);
    expect(cpu.f(1)).toBe(D1);
    expect(cpu.csr('sstatus') & FS).toBe(FS_DIRTY);
  });

  it('a write to an FP CSR makes FS Dirty', () => {
    for (const word of [A.csrrwi(0, CSR.fflags, 1), A.csrw(CSR.frm, A1), A.csrw(CSR.fcsr, A1)]) {
      const cpu = sys([word, A.ebreak()], { csr: { sstatus: FS_CLEAN }, x: { [A1]: 1n } });
      runTo(cpu, CODE + 4n);
      expect(cpu.csr('sstatus') & FS, A.disasm(word)).toBe(FS_DIRTY);
    }
  });

  it('the kernel marks it Clean after saving the registers: FS = 2, SD = 0', () => {
    const cpu = sys([A.csrrc(0, CSR.sstatus, S0), A.csrrs(0, CSR.sstatus, S1), A.csrr(A0, CSR.sstatus), A.ebreak()], {
      x: { [S0]: FS, [S1]: FS_CLEAN }, csr: { sstatus: FS_DIRTY },
    });
    runTo(cpu, CODE + 12n);
    expect(cpu.x(A0) & (FS | SD)).toBe(FS_CLEAN);
  });
});

describe('MMIO: integer loads and stores outside RAM exit to ring -1', () => {
  const V = 0x8123_4567_89ab_cdefn;
  const loads = [
    ['lb', A.lb, 1, sext(V & 0xffn, 8)], ['lh', A.lh, 2, sext(V & 0xffffn, 16)], ['lw', A.lw, 4, sext(V & 0xffff_ffffn, 32)],
    ['ld', A.ld, 8, V], ['lbu', A.lbu, 1, V & 0xffn], ['lhu', A.lhu, 2, V & 0xffffn], ['lwu', A.lwu, 4, V & 0xffff_ffffn],
  ] as const;

  for (const [name, op, size, want] of loads) {
    it(`${name}: MMIO_LOAD (not retired), then completeMmioLoad: rd gets the value as ${name} extends it, retired`, () => {
      const cpu = sys([A.addi(A1, 0, 1), op(A0, T0, 8), A.ebreak()], { x: { [T0]: DEVICE, [A0]: 0x55n } });
      expect(cpu.run(100n), describeExit(cpu)).toBe(ExitReason.MmioLoad);
      expect(cpu.mmio).toMatchObject({ addr: DEVICE + 8n, size, store: false });
      expect(cpu.exit).toMatchObject({ reason: ExitReason.MmioLoad, pc: CODE + 4n, instLength: 4, inst: op(A0, T0, 8) });
      expect(cpu.pc).toBe(CODE + 4n);
      expect(cpu.instret).toBe(1n);
      expect(cpu.x(A0)).toBe(0x55n);
      // a device answers with the whole register's width: only the access's bytes count
      cpu.completeMmioLoad(V);
      runTo(cpu, CODE + 8n);
      expect(cpu.x(A0)).toBe(want);
      expect(cpu.instret).toBe(2n);
    });
  }

  it('the values at the edges of sign extension', () => {
    for (const [op, v, want] of [
      [A.lb, 0x7fn, 0x7fn], [A.lb, 0x80n, sext(0x80n, 8)], [A.lh, 0x7fffn, 0x7fffn], [A.lh, 0x8000n, sext(0x8000n, 16)],
      [A.lw, 0x7fff_ffffn, 0x7fff_ffffn], [A.lw, 0x8000_0000n, sext(0x8000_0000n, 32)], [A.lwu, 0xffff_ffffn, 0xffff_ffffn],
    ] as const) {
      const cpu = sys([op(A0, T0, 0), A.ebreak()], { x: { [T0]: DEVICE } });
      expect(cpu.run(100n)).toBe(ExitReason.MmioLoad);
      cpu.completeMmioLoad(v);
      runTo(cpu, CODE + 4n);
      expect(cpu.x(A0)).toBe(want);
    }
  });

  const stores = [['sb', A.sb, 1, 0x88n], ['sh', A.sh, 2, 0x7788n], ['sw', A.sw, 4, 0x5566_7788n], ['sd', A.sd, 8, 0x1122_3344_5566_7788n]] as const;
  for (const [name, op, size, data] of stores) {
    it(`${name}: MMIO_STORE with the low ${size} bytes; the next run steps past it and retires it`, () => {
      const cpu = sys([op(A1, T0, -16), A.addi(A2, 0, 1), A.ebreak()], { x: { [T0]: DEVICE + 16n, [A1]: 0x1122_3344_5566_7788n } });
      expect(cpu.run(100n), describeExit(cpu)).toBe(ExitReason.MmioStore);
      expect(cpu.mmio).toEqual({ addr: DEVICE, size, data, store: true });
      expect(cpu.exit).toMatchObject({ pc: CODE, instLength: 4 });
      expect(cpu.pc).toBe(CODE);
      expect(cpu.instret).toBe(0n);
      runTo(cpu, CODE + 8n);
      expect(cpu.instret).toBe(2n);
      expect(cpu.x(A2)).toBe(1n);
    });
  }

  it('addresses just below RAM and at its end are MMIO too', () => {
    for (const addr of [RAM_BASE - 8n, END, 0n]) {
      const cpu = sys([A.ld(A0, T0, 0)], { x: { [T0]: addr } });
      expect(cpu.run(100n)).toBe(ExitReason.MmioLoad);
      expect(cpu.mmio.addr).toBe(addr);
    }
  });

  it('compressed loads and stores complete with their own length (2)', () => {
    const cases = [
      [A.c_lw(A0, S1, 4), DEVICE + 4n, 4, false, sext(0xffff_fffen, 32)],
      [A.c_ld(A0, S1, 8), DEVICE + 8n, 8, false, 0xffff_fffen],
      [A.c_lwsp(A0, 12), DEVICE + 12n, 4, false, sext(0xffff_fffen, 32)],
      [A.c_ldsp(A0, 16), DEVICE + 16n, 8, false, 0xffff_fffen],
      [A.c_sw(A1, S1, 4), DEVICE + 4n, 4, true, 0n],
      [A.c_sd(A1, S1, 8), DEVICE + 8n, 8, true, 0n],
      [A.c_swsp(A1, 12), DEVICE + 12n, 4, true, 0n],
      [A.c_sdsp(A1, 16), DEVICE + 16n, 8, true, 0n],
    ] as const;
    for (const [word, addr, size, store, want] of cases) {
      const cpu = sys([word, A.c_ebreak()], { x: { [S1]: DEVICE, [SP]: DEVICE, [A1]: 0xa1n } });
      expect(cpu.run(100n), A.disasm(word)).toBe(store ? ExitReason.MmioStore : ExitReason.MmioLoad);
      expect(cpu.mmio, A.disasm(word)).toMatchObject({ addr, size, store });
      expect(cpu.exit).toMatchObject({ pc: CODE, instLength: 2, inst: word });
      if (store) expect(cpu.mmio.data).toBe(0xa1n);
      else cpu.completeMmioLoad(0xffff_fffen);
      runTo(cpu, CODE + 2n);
      expect(cpu.instret).toBe(1n);
      if (!store) expect(cpu.x(A0), A.disasm(word)).toBe(want);
    }
  });

  it('from U-mode as well', () => {
    const cpu = sys([A.lw(A0, T0, 0), A.ebreak()], { priv: Priv.User, x: { [T0]: DEVICE } });
    expect(cpu.run(100n)).toBe(ExitReason.MmioLoad);
    cpu.completeMmioLoad(3n);
    runTo(cpu, CODE + 4n);
    expect(cpu.x(A0)).toBe(3n);
    expect(cpu.priv).toBe(Priv.User);
  });

  it('a load into x0 completes and x0 stays 0', () => {
    const cpu = sys([A.lw(0, T0, 0), A.ebreak()], { x: { [T0]: DEVICE } });
    expect(cpu.run(100n)).toBe(ExitReason.MmioLoad);
    cpu.completeMmioLoad(3n);
    runTo(cpu, CODE + 4n);
    expect(cpu.x(0)).toBe(0n);
  });

  it('failMmio on a load: load access fault delivered (cause 5, stval = the address), rd untouched, not retired', () => {
    const cpu = sys([A.addi(A1, 0, 1), A.lhu(A0, T0, 6)], { priv: Priv.User, x: { [T0]: DEVICE, [A0]: 0x55n } });
    expect(cpu.run(100n)).toBe(ExitReason.MmioLoad);
    cpu.failMmio();
    const t = trap(cpu);
    expect(t).toMatchObject({ scause: 5n, sepc: CODE + 4n, stval: DEVICE + 6n });
    expect(t.sstatus & SPP).toBe(0n);
    expect(cpu.x(A0)).toBe(0x55n);
    expect(cpu.instret).toBe(1n);
  });

  it('failMmio on a store: store access fault delivered (cause 7)', () => {
    const cpu = sys([A.sd(A1, T0, 0)], { x: { [T0]: DEVICE + 0x20n } });
    expect(cpu.run(100n)).toBe(ExitReason.MmioStore);
    cpu.failMmio();
    const t = trap(cpu);
    expect(t).toMatchObject({ scause: 7n, sepc: CODE, stval: DEVICE + 0x20n });
    expect(t.sstatus & SPP).toBe(SPP);
    expect(cpu.instret).toBe(0n);
  });

  it('an interrupt raised while the load was out is taken after it completes (sepc = the next instruction)', () => {
    const cpu = sys([A.lw(A0, T0, 0), A.addi(A1, 0, 1)], { x: { [T0]: DEVICE }, csr: { sstatus: SIE, sie: SEI } });
    expect(cpu.run(100n)).toBe(ExitReason.MmioLoad);
    cpu.completeMmioLoad(5n);
    cpu.setInterruptPending(Irq.SupervisorExternal, true);
    expect(trap(cpu)).toMatchObject({ scause: INTERRUPT | 9n, sepc: CODE + 4n });
    expect(cpu.x(A0)).toBe(5n);
    expect(cpu.x(A1)).toBe(0n);
    expect(cpu.instret).toBe(1n);
  });

  it('completing an access costs none of the next run\'s budget', () => {
    const cpu = sys([A.lw(A0, T0, 0), A.addi(A1, 0, 1), A.ebreak()], { x: { [T0]: DEVICE } });
    expect(cpu.run(100n)).toBe(ExitReason.MmioLoad);
    cpu.completeMmioLoad(5n);
    expect(cpu.run(1n)).toBe(ExitReason.Budget);
    expect(cpu.pc).toBe(CODE + 8n);
    expect([cpu.x(A0), cpu.x(A1)]).toEqual([5n, 1n]);
    expect(cpu.instret).toBe(2n);
  });

  it('FP loads and stores, LR, SC and AMOs outside RAM are access faults, never MMIO', () => {
    const cases = [
      [A.flw(1, T0, 0), 5n], [A.fld(1, T0, 0), 5n], [A.c_fld(8, 9, 0), 5n], [A.fsw(1, T0, 0), 7n], [A.fsd(1, T0, 0), 7n],
      [A.lr_w(A0, T0), 5n], [A.lr_d(A0, T0), 5n], [A.sc_w(A0, A1, T0), 7n], [A.sc_d(A0, A1, T0), 7n],
      [A.amoadd_w(A0, A1, T0), 7n], [A.amoswap_d(A0, A1, T0), 7n], [A.amoor_d(A0, A1, T0), 7n],
    ] as const;
    for (const [word, cause] of cases) {
      const cpu = sys([word], { x: { [T0]: DEVICE, [S1]: DEVICE, [A0]: 0x55n }, csr: { sstatus: FS_INITIAL } });
      cpu.setF(1, 0x1111n);
      cpu.setF(8, 0x8888n);
      const t = trap(cpu);
      expect(t, A.disasm(word)).toMatchObject({ scause: cause, sepc: CODE, stval: DEVICE });
      expect(cpu.x(A0)).toBe(0x55n);
      expect([cpu.f(1), cpu.f(8)]).toEqual([0x1111n, 0x8888n]);
      expect(cpu.exitCounts().get(ExitReason.MmioLoad)).toBeUndefined();
      expect(cpu.exitCounts().get(ExitReason.MmioStore)).toBeUndefined();
    }
  });
});

describe('coalesced MMIO (Cpu.coalescedMmio): byte stores to one device register are kept, not exits', () => {
  it('they retire without an exit and come back in order; another size or address exits as ever', () => {
    const cpu = sys([
      A.sb(A1, T0, 0), A.addi(A1, A1, 1), A.sb(A1, T0, 0), // kept
      A.sh(A1, T0, 0), // another size: exits
      A.sb(A1, T0, 1), // another address: exits
      A.sb(A1, T0, 0), A.ebreak(),
    ], { x: { [T0]: DEVICE, [A1]: 0x141n } });
    expect(cpu.coalescedMmio).toBeUndefined();
    cpu.coalescedMmio = DEVICE;
    expect(cpu.coalescedMmio).toBe(DEVICE);
    expect(cpu.run(100n), describeExit(cpu)).toBe(ExitReason.MmioStore);
    expect(cpu.mmio).toEqual({ addr: DEVICE, size: 2, data: 0x142n, store: true });
    expect(cpu.instret).toBe(3n);
    expect([...cpu.takeCoalesced()!]).toEqual([0x41, 0x42]);
    expect(cpu.takeCoalesced()).toBeUndefined();
    expect(cpu.run(100n)).toBe(ExitReason.MmioStore);
    expect(cpu.mmio).toMatchObject({ addr: DEVICE + 1n, size: 1, data: 0x42n });
    expect(cpu.takeCoalesced()).toBeUndefined();
    expect(cpu.run(100n)).toBe(ExitReason.Ebreak);
    expect([...cpu.takeCoalesced()!]).toEqual([0x42]);
    expect(cpu.instret).toBe(6n);
    expect(cpu.exitCounts().get(ExitReason.MmioStore)).toBe(2n);
  });

  it('a full buffer makes the next store an exit; the stores after it are kept again', () => {
    const n = 300;
    const cpu = sys([
      A.addi(T1, 0, n), A.sb(T1, T0, 0), A.addi(T1, T1, -1), A.bne(T1, 0, -8), A.ebreak(),
    ], { x: { [T0]: DEVICE } });
    cpu.coalescedMmio = DEVICE;
    expect(cpu.run(10_000n)).toBe(ExitReason.MmioStore);
    const first = cpu.takeCoalesced()!;
    expect(first.length).toBe(256);
    expect(first[0]).toBe(n & 0xff);
    expect(first[255]).toBe((n - 255) & 0xff);
    // The 257th store is ring -1's to do, as any MMIO store.
    expect(cpu.mmio).toEqual({ addr: DEVICE, size: 1, data: BigInt(n - 256), store: true });
    expect(cpu.run(10_000n)).toBe(ExitReason.Ebreak);
    const rest = cpu.takeCoalesced()!;
    expect(rest.length).toBe(n - 257);
    expect(rest[rest.length - 1]).toBe(1);
    expect(cpu.instret).toBe(BigInt(1 + 3 * n));
  });

  it('with none registered (the default, and after setting undefined) every byte store outside RAM exits', () => {
    const cpu = sys([A.sb(A1, T0, 0), A.ebreak()], { x: { [T0]: DEVICE } });
    cpu.coalescedMmio = DEVICE;
    cpu.coalescedMmio = undefined;
    expect(cpu.run(100n)).toBe(ExitReason.MmioStore);
    expect(cpu.takeCoalesced()).toBeUndefined();
    expect(() => { cpu.coalescedMmio = 0n; }).toThrow(RangeError);
  });

  it('a store to the register from U-mode is kept too; a process VM has no MMIO to keep', () => {
    const cpu = sys([A.sb(A1, T0, 0), A.ebreak()], { priv: Priv.User, x: { [T0]: DEVICE, [A1]: 7n } });
    cpu.coalescedMmio = DEVICE;
    expect(cpu.run(100n)).toBe(ExitReason.Ebreak);
    expect([...cpu.takeCoalesced()!]).toEqual([7]);
  });
});

describe('a guest cannot keep ring -1 inside run()', () => {
  // A handler that itself traps (stvec still 0 at boot, outside RAM; or a
  // handler of zeroed RAM, 0x0000 being illegal) delivers to itself again
  // and again: each delivery uses a unit of budget, so the run still ends.
  it('a trap loop ends at the budget', () => {
    const cpu = sys([A.ecall()], { csr: { stvec: 0n } });
    expect(cpu.run(1000n)).toBe(ExitReason.Budget);
    expect(cpu.instret).toBe(0n);
  });

  it('failMmio with no MMIO exit to fail is refused', () => {
    const cpu = sys([A.ecall()], {});
    expect(() => cpu.failMmio()).toThrow(/not an MMIO access/);
  });
});

// Decode before access: an encoding the specification reserves is an
// illegal-instruction exception (SIGILL for a process) whatever its address
// registers hold. Before this rule, a reserved AMO funct5 was looked up only
// after its address had been checked, so `amo<funct5 5>.w a1, a2, (a0)` with
// a0 = 8 gave SIGSEGV and with a0 misaligned SIGBUS, where qemu-riscv64 (and
// the specification) give SIGILL. docs/SECURITY.md, "The CPU's exceptions".
//
// One suite per instruction group, each encoding with addresses outside RAM,
// misaligned, and straddling RAM's end: on the bench CPU (flat memory, the
// interpreter); on a system VM's hart in S-mode, where the trap delivered
// to stvec must be the illegal instruction even for a device address
// (which a valid integer access would turn into an MMIO exit); then in a
// process VM with page permissions and the translation tier on (a hot loop
// runs first, so the region ending at the reserved word is translated),
// where the signal must be what QEMU reports.
import { describe, expect, it } from 'vitest';
import { ProcessVM } from '../src/linux/process-vm.js';
import { loadCpuModule } from '../src/node/load.js';
import * as A from './support/rvasm.js';
import { writeElf } from './support/elf-writer.js';
import { execRaw, newCpu, load, RAM_BASE, RAM_SIZE, DATA, CODE, ExitReason, ExitControl } from './support/machine.js';
import { Priv } from '../src/cpu/cpu.js';
import { translatable } from '../src/cpu/jit/translate.js';
import { Rng } from './support/prng.js';
import { qemuAvailable, runQemu } from './support/qemu.js';

const ILLEGAL = 2;
const PF_X = 1, PF_R = 4;
const SIGILL = 4, SIGBUS = 7, SIGSEGV = 11;
const END = RAM_BASE + RAM_SIZE;

// Raw encodings: rvasm refuses reserved fields, which is the point here.
const R = (f7: number, rs2: number, rs1: number, f3: number, rd: number, opcode: number): number =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opcode) >>> 0;
const AMO = 0x2f, LOAD = 0x03, STORE = 0x23, LOAD_FP = 0x07, STORE_FP = 0x27, MISC_MEM = 0x0f, SYSTEM = 0x73;
const OP_FP = 0x53, MADD = 0x43;
const BASE = 10; // a0 holds the address
const amo = (funct5: number, f3: number, rs2 = 12): number => R(funct5 << 2, rs2, BASE, f3, 11, AMO);

/** funct5 values the A extension defines (LR, SC, and the nine AMOs). */
const AMO_FUNCT5 = new Set([0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x0c, 0x10, 0x14, 0x18, 0x1c]);

interface Case { name: string; word: number; /** the register holding the address */ base?: number }

const GROUPS: Record<string, Case[]> = {
  'AMO: reserved funct5, widths other than .W/.D, LR with rs2 != 0': [
    ...Array.from({ length: 32 }, (_, f5) => f5).filter((f5) => !AMO_FUNCT5.has(f5)).flatMap((f5) => [
      { name: `amo funct5 ${f5.toString(16)}.w`, word: amo(f5, 2) },
      { name: `amo funct5 ${f5.toString(16)}.d`, word: amo(f5, 3) },
    ]),
    ...[0, 1, 4, 5, 6, 7].flatMap((f3) => [
      { name: `amoadd funct3 ${f3}`, word: amo(0x00, f3) },
      { name: `lr funct3 ${f3}`, word: amo(0x02, f3, 0) },
      { name: `sc funct3 ${f3}`, word: amo(0x03, f3) },
      { name: `amomaxu funct3 ${f3}`, word: amo(0x1c, f3) },
    ]),
    ...[1, 5, 31].flatMap((rs2) => [
      { name: `lr.w rs2=x${rs2}`, word: amo(0x02, 2, rs2) },
      { name: `lr.d rs2=x${rs2}`, word: amo(0x02, 3, rs2) },
    ]),
    { name: 'amo funct5 5 with aq and rl', word: (amo(0x05, 2) | (3 << 25)) >>> 0 },
  ],
  'loads and stores with reserved funct3': [
    { name: 'load funct3 7', word: R(0, 0, BASE, 7, 11, LOAD) },
    ...[4, 5, 6, 7].map((f3) => ({ name: `store funct3 ${f3}`, word: R(0, 12, BASE, f3, 0, STORE) })),
  ],
  'FP loads and stores with reserved widths': [
    ...[0, 1, 4, 5, 6, 7].flatMap((f3) => [
      { name: `load-fp funct3 ${f3}`, word: R(0, 0, BASE, f3, 1, LOAD_FP) },
      { name: `store-fp funct3 ${f3}`, word: R(0, 1, BASE, f3, 0, STORE_FP) },
    ]),
  ],
  'compressed forms reserved with rd = 0 (the address is sp)': [
    { name: 'c.lwsp x0', word: 0x4002, base: 2 },
    { name: 'c.ldsp x0', word: 0x6002, base: 2 },
    { name: 'c.lwsp x0, 252(sp)', word: 0x507e, base: 2 },
  ],
  'MISC-MEM: funct3 other than FENCE and FENCE.I (no Zicbom/Zicboz)': [
    ...[2, 3, 4, 5, 6, 7].map((f3) => ({ name: `misc-mem funct3 ${f3}`, word: R(0, f3 === 2 ? 4 : 0, BASE, f3, 0, MISC_MEM) })),
  ],
  'CSR and SYSTEM encodings that do not exist': [
    { name: 'csrrw to an unknown CSR (0x7c0)', word: ((0x7c0 << 20) | (BASE << 15) | (1 << 12) | SYSTEM) >>> 0 },
    { name: 'csrrs writing cycle (read-only)', word: ((0xc00 << 20) | (BASE << 15) | (2 << 12) | (11 << 7) | SYSTEM) >>> 0 },
    { name: 'SYSTEM funct3 4', word: R(0, 0, BASE, 4, 11, SYSTEM) },
    { name: 'ecall with rs1 != 0', word: R(0, 0, BASE, 0, 0, SYSTEM) },
    { name: 'sret from U-mode', word: 0x1020_0073 },
  ],
  'FP operations with a reserved rounding mode or format': [
    { name: 'fadd.s rm=5', word: R(0x00, 2, 1, 5, 3, OP_FP) },
    { name: 'fadd.d rm=6', word: R(0x01, 2, 1, 6, 3, OP_FP) },
    { name: 'fadd fmt=2 (H)', word: R(0x02, 2, 1, 0, 3, OP_FP) },
    { name: 'fadd fmt=3 (Q)', word: R(0x03, 2, 1, 0, 3, OP_FP) },
    { name: 'fmadd fmt=2', word: R(0x02 | (4 << 2), 2, 1, 0, 3, MADD) },
    { name: 'fsqrt.d rs2 != 0', word: R(0x2d, 1, 1, 0, 3, OP_FP) },
  ],
};

// Addresses that make any access fault: outside RAM, misaligned inside it,
// straddling its end.
const BAD_ADDRESSES: Array<[string, bigint]> = [
  ['outside RAM', 8n], ['misaligned', DATA + 1n], ['straddling the end of RAM', END - 2n], ['all ones', 0xffff_ffff_ffff_ffffn],
];

const hex = (w: number) => '0x' + (w >>> 0).toString(16).padStart(8, '0');

for (const [group, cases] of Object.entries(GROUPS)) {
  describe(`interpreter: ${group}`, () => {
    it('is illegal (cause 2, tval the instruction) whatever the address register holds', () => {
      for (const c of cases) {
        const compressed = A.insnLength(c.word) === 2;
        for (const [where, addr] of BAD_ADDRESSES) {
          const { reason, exit, cpu } = execRaw([c.word], { x: { [c.base ?? BASE]: addr, 11: 0x1111n, 12: 0x2222n } });
          const what = `${c.name} (${hex(c.word)}), address ${where}`;
          expect(reason, what).toBe(ExitReason.Fault);
          expect({ cause: exit.cause, tval: exit.addr, pc: exit.pc }, what)
            .toEqual({ cause: ILLEGAL, tval: BigInt(compressed ? c.word & 0xffff : c.word), pc: CODE });
          expect(cpu.x(11), what).toBe(0x1111n); // nothing retired, nothing written
          expect(cpu.instret, what).toBe(0n);
        }
      }
    });
  });
}

// ---- a system VM's hart in S-mode: the trap delivered is the illegal instruction ----------------
const HANDLER = RAM_BASE + 0x1000n;
const DEVICE = 0x1000_0000n; // outside RAM: integer accesses there would exit as MMIO
const FS_INITIAL = 1n << 13n;

for (const [group, cases] of Object.entries(GROUPS)) {
  describe(`S-mode (system VM): ${group}`, () => {
    it('traps to stvec with scause 2 and stval the instruction, whatever the address (RAM, misaligned, a device)', () => {
      const cpu = newCpu(); // one hart, set up again for each case
      for (const c of cases) {
        if (c.word === 0x1020_0073) continue; // sret is legal in S-mode
        const compressed = A.insnLength(c.word) === 2;
        for (const [where, addr] of [...BAD_ADDRESSES, ['a device', DEVICE] as [string, bigint]]) {
          cpu.exitControls = ExitControl.Supervisor | ExitControl.Ebreak;
          cpu.priv = Priv.Supervisor;
          cpu.setCsr('stvec', HANDLER);
          cpu.setCsr('stimecmp', 0xffff_ffff_ffff_ffffn);
          cpu.setCsr('sstatus', FS_INITIAL); // FP on: its encodings are decoded, not refused wholesale
          cpu.writeBytes(HANDLER, A.assemble([A.ebreak()]));
          load(cpu, [c.word], { x: { [c.base ?? BASE]: addr, 11: 0x1111n, 12: 0x2222n } });
          const reason = cpu.run(10n);
          const what = `${c.name} (${hex(c.word)}), address ${where}`;
          expect({ reason, pc: cpu.exit.pc }, what).toEqual({ reason: ExitReason.Ebreak, pc: HANDLER });
          expect({ scause: cpu.csr('scause'), stval: cpu.csr('stval'), sepc: cpu.csr('sepc') }, what)
            .toEqual({ scause: 2n, stval: BigInt(compressed ? c.word & 0xffff : c.word), sepc: CODE });
          expect(cpu.x(11), what).toBe(0x1111n);
        }
      }
    });
  });
}

// ---- the same in a process VM, translated, against QEMU's signals ------------------------------
const cpuModule = loadCpuModule('release');

/** An ELF: a hot loop (so the translation tier translates the region that
 *  ends at `word`), a0 = `addr`, then `word`, then exit(0). */
function program(word: number, base: number, addr: bigint): Uint8Array {
  const words: number[] = [
    A.addi(5, 0, 100),              // t0 = 100
    A.addi(5, 5, -1),               // loop: t0--
    A.bne(5, 0, -4),                //   while t0 != 0
    ...loadConstant(base, addr),
    A.addi(11, 0, 0x111),
    A.addi(12, 0, 0x222),
    word,
    A.addi(10, 0, 0), A.addi(17, 0, 93), A.ecall(),
  ];
  // Read and execute only: the translation tier translates only code that
  // cannot be written.
  return writeElf(A.assemble(words), 0, PF_R | PF_X);
}

/** rd = v (any 64-bit value), a byte at a time. */
function loadConstant(rd: number, v: bigint): number[] {
  const out: number[] = [A.addi(rd, 0, 0)];
  // From the top byte down: slli 8, ori byte (a byte fits ori's immediate).
  for (let s = 56; s >= 0; s -= 8) {
    out.push(A.slli(rd, rd, 8), A.ori(rd, rd, Number((v >> BigInt(s)) & 0xffn)));
  }
  return out;
}

function runRingvisor(elf: Uint8Array): number {
  const vm = ProcessVM.create(elf, {
    cpuModule, memoryBytes: 16 * 1024 * 1024, jitThreshold: 1, jitWarmup: 0n, maxInstructions: 100_000n,
    stdout: () => {}, stderr: () => {}, diagnostics: () => {},
  });
  try {
    const status = vm.runSync();
    // The loop (and the code after it, up to the reserved word) ran translated.
    expect(vm.cpu.jitStats?.translated ?? 0).toBeGreaterThan(0);
    return status;
  } finally {
    vm.dispose();
  }
}

// Process-VM addresses: 8 is below RAM (never mapped), 0x10001 is the ELF's own page (read and execute), misaligned.
const PROCESS_ADDRESSES: Array<[string, bigint]> = [['unmapped', 8n], ['misaligned, mapped', 0x1_0001n], ['all ones', 0xffff_ffff_ffff_ffffn]];

describe('process VM with the translation tier: reserved encodings are SIGILL, as under qemu-riscv64', () => {
  for (const [group, cases] of Object.entries(GROUPS)) {
    it(group, () => {
      for (const c of cases) {
        for (const [where, addr] of PROCESS_ADDRESSES) {
          const status = runRingvisor(program(c.word, c.base ?? BASE, addr));
          expect(status, `${c.name} (${hex(c.word)}), address ${where}`).toBe(128 + SIGILL);
        }
      }
    });
  }

  it('the valid forms of the same groups still fault on the address (so the cases above prove the order)', () => {
    const valid: Array<[string, number, bigint, number]> = [
      ['amoadd.w unmapped', A.amoadd_w(11, 12, BASE), 8n, SIGSEGV],
      ['amoadd.w misaligned', A.amoadd_w(11, 12, BASE), 0x1_0001n, SIGBUS],
      ['lr.d misaligned', A.lr_d(11, BASE), 0x1_0001n, SIGBUS],
      ['ld unmapped', A.ld(11, BASE, 0), 8n, SIGSEGV],
      ['fsd unmapped', A.fsd(1, BASE, 0), 8n, SIGSEGV],
    ];
    for (const [name, word, addr, sig] of valid) expect(runRingvisor(program(word, BASE, addr)), name).toBe(128 + sig);
  });
});

describe.skipIf(!qemuAvailable())('the same programs under qemu-riscv64 (the oracle)', () => {
  it('every reserved encoding above is SIGILL there too', () => {
    // One address per case keeps this quick; the interpreter suites above
    // cover the rest.
    for (const cases of Object.values(GROUPS)) {
      for (const c of cases.slice(0, 6)) {
        const q = runQemu(program(c.word, c.base ?? BASE, 8n));
        expect(q.status, `${c.name} (${hex(c.word)}) under QEMU`).toBe(128 + SIGILL);
      }
    }
  });
});

// ---- the translator's decode against the interpreter's ------------------------------------------
describe('the translator decodes no encoding the interpreter calls illegal', () => {
  it('random words of every opcode: translatable(w) implies the interpreter executes w', () => {
    // One bench CPU for all words; every register points into RAM (DATA), so
    // an access can only fault by misalignment (which works) or the
    // encoding. FP opcodes are left out: the translator accepts every FP
    // word and decides at run time (natively where proven exact, else
    // through the interpreter's own code, jitFloat, which raises what the
    // interpreter raises), so "translatable" says nothing of legality there;
    // the groups above run reserved FP encodings translated against QEMU.
    const cpu = newCpu();
    const rng = new Rng('decode');
    const FP = new Set([0x07, 0x27, 0x43, 0x47, 0x4b, 0x4f, 0x53]);
    const bad: string[] = [];
    let checked = 0;
    for (let n = 0; n < 40_000 && bad.length < 10; n++) {
      // Half the words keep a defined major opcode with random fields.
      let w = rng.u32();
      if (rng.chance(0.5)) w = ((w & ~0x7f) | rng.pick([0x03, 0x0f, 0x13, 0x17, 0x1b, 0x23, 0x2f, 0x33, 0x37, 0x3b, 0x63, 0x67, 0x6f, 0x73])) >>> 0;
      w |= 3;
      if (FP.has(w & 0x7f) || !translatable(w)) continue;
      checked++;
      const regs: Record<number, bigint> = {};
      for (let r = 1; r < 32; r++) regs[r] = DATA + 0x100n;
      load(cpu, [w, A.ebreak()], { x: regs });
      const reason = cpu.run(4n);
      // (A jump lands on zeros, illegal there: only the word's own pc counts.)
      if (reason === ExitReason.Fault && cpu.exit.cause === ILLEGAL && cpu.exit.pc === CODE) bad.push(`${hex(w)} (${A.disasm(w)}): translatable, but the interpreter raises illegal instruction`);
    }
    expect(bad, bad.join('\n')).toEqual([]);
    expect(checked).toBeGreaterThan(10_000);
  });
});

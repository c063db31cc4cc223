// The fixed layout of a virtual processor's state in linear memory.
//
// Everything the guest can observe (registers, pc, CSRs), the exit block the
// hypervisor reads after `run` returns, the exit counters and the exit
// controls live at these offsets, never in AssemblyScript globals: the
// TypeScript side (src/cpu/) reads and writes the same bytes, a checkpoint is
// a copy of known regions, and a later JIT tier can import the memory and use
// the same addresses. The offsets are exported as globals so that TypeScript
// never keeps a second copy of this table.

// ---- architectural state -------------------------------------------------
export const X_REGS: u32 = 0x0000; // x0..x31, u64 each (x0 always reads 0)
export const F_REGS: u32 = 0x0100; // f0..f31, u64 each (single values NaN-boxed)
export const PC: u32 = 0x0200; // u64
export const FCSR: u32 = 0x0208; // u32: fflags in bits 4:0, frm in bits 7:5
export const INSTRET: u32 = 0x0210; // u64 instructions retired (also `cycle`)
export const TIME: u32 = 0x0218; // u64 value of the `time` CSR, kept by the hypervisor
export const RESERVATION: u32 = 0x0220; // u64 address reserved by LR, or ~0 for none
export const PRIV: u32 = 0x0228; // u32 privilege mode: 0 = U, 1 = S
// The supervisor CSRs (system VMs; assembly/supervisor.ts), u64 each.
export const SSTATUS: u32 = 0x0230;
export const SIE: u32 = 0x0238;
export const SIP: u32 = 0x0240;
export const STVEC: u32 = 0x0248;
export const SSCRATCH: u32 = 0x0250;
export const SEPC: u32 = 0x0258;
export const SCAUSE: u32 = 0x0260;
export const STVAL: u32 = 0x0268;
export const SATP: u32 = 0x0270;
export const SCOUNTEREN: u32 = 0x0278;
export const SENVCFG: u32 = 0x0280;
export const STIMECMP: u32 = 0x0288;
export const TLB_GEN: u32 = 0x0290; // u64 generation of the TLB's tags (assembly/mmu.ts); 0: not yet set up

export const PRIV_U: u32 = 0;
export const PRIV_S: u32 = 1;
// sstatus fields (privileged spec, "Supervisor Status Register").
export const SSTATUS_SIE: u64 = 1 << 1;
export const SSTATUS_SPIE: u64 = 1 << 5;
export const SSTATUS_SPP: u64 = 1 << 8;
export const SSTATUS_FS: u64 = 3 << 13;
export const SSTATUS_SUM: u64 = 1 << 18;
export const SSTATUS_MXR: u64 = 1 << 19;
export const SSTATUS_UXL: u64 = (<u64>2) << 32;
export const SSTATUS_SD: u64 = (<u64>1) << 63;
// Interrupt numbers (scause with bit 63 set; bits of sip and sie).
export const IRQ_SSI: u32 = 1;
export const IRQ_STI: u32 = 5;
export const IRQ_SEI: u32 = 9;

// ---- the exit block (VMCS exit fields / struct kvm_run) -------------------
export const EXIT_BLOCK: u32 = 0x0400;
export const EXIT_REASON: u32 = 0x0400; // u32 ExitReason
export const EXIT_CAUSE: u32 = 0x0404; // u32 RISC-V exception cause (FAULT)
export const EXIT_PC: u32 = 0x0408; // u64 pc of the instruction that exited
export const EXIT_INST: u32 = 0x0410; // u32 its instruction bits (16-bit forms zero-extended)
export const EXIT_INST_LEN: u32 = 0x0414; // u32 2 or 4, 0 when the fetch itself failed
export const EXIT_ADDR: u32 = 0x0418; // u64 faulting address (the RISC-V tval)
export const EXIT_SIZE: u32 = 0x0420; // u32 access size in bytes
export const EXIT_DATA: u32 = 0x0428; // u64 data of a store / result of a load
// MMIO exits: the load's destination register and whether its value is
// sign-extended; MMIO_PENDING says what the next run completes first
// (ring -1 writes EXIT_DATA for a load, or MMIO_FAILED for no device).
export const EXIT_MMIO_RD: u32 = 0x0430; // u32
export const EXIT_MMIO_SIGNED: u32 = 0x0434; // u32 0 or 1
export const MMIO_PENDING: u32 = 0x0438; // u32 MMIO_NONE, MMIO_LOAD_PENDING, MMIO_STORE_PENDING, MMIO_FAILED
export const MMIO_NONE: u32 = 0;
export const MMIO_LOAD_PENDING: u32 = 1;
export const MMIO_STORE_PENDING: u32 = 2;
export const MMIO_FAILED: u32 = 4; // ORed into the pending kind by ring -1: no device answered
export const EXIT_MMIO_VADDR: u32 = 0x0440; // u64 the virtual address of an MMIO access (its stval if it fails)

// ---- exit controls (VMCS execution controls) -----------------------------
export const EXIT_CONTROLS: u32 = 0x0480; // u32 mask of EXIT_ON_* bits
export const RAM_BASE: u32 = 0x0488; // u64 guest physical address of RAM's first byte
export const RAM_SIZE: u32 = 0x0490; // u64 bytes of guest RAM
export const BUDGET_LEFT: u32 = 0x0498; // u64 instructions left of the last run's budget
export const MEMORY_MODE: u32 = 0x04a0; // u32 MEMORY_FLAT or MEMORY_PAGE_PERMS
export const JIT_THRESHOLD: u32 = 0x04a4; // u32 visits that make a jump target hot; 0: no translation
// Memory a process VM's guest uses, in pages marked PAGE_TOUCHED (below):
// counted by the CPU's first store to a page and by ring -1's writes,
// uncounted when ring -1 clears pages. TOUCH_LIMIT (0: none) is its --mem:
// a first store that would pass it is refused as a store page fault, which
// ring -1 turns into the out-of-memory kill Linux would make. The count is
// what Linux calls resident memory; TOUCHED_PEAK is its high-water mark.
export const TOUCHED_PAGES: u32 = 0x04a8; // u32
export const TOUCHED_PEAK: u32 = 0x04ac; // u32
export const TOUCH_LIMIT: u32 = 0x04b0; // u32
// Whether the dirty-page log (DIRTY_MAP, below) is on: read by `run` on
// entry, like MEMORY_MODE. Kept by ring -1 (src/cpu/cpu.ts, startDirtyLog).
export const DIRTY_LOG: u32 = 0x04b4; // u32 0 or 1
// The translation tier in a system VM (src/cpu/jit/, "Translated system
// VMs" in docs/ARCHITECTURE.md). JIT_HOT_PAGE: on a HOT exit, 1 + the RAM
// page the hot pc's code comes from (0 in a process VM). MMU_PERMS: the
// linear address of the permission table for the current privilege, SUM
// and MXR (assembly/mmu.ts keeps it), which translated loads and stores
// check TLB entries against as the interpreter does. CODE_WRITTEN: how many
// RAM pages holding translated code (CODE_PAGE, below) the guest has
// stored to since ring -1 last looked, or CODE_WRITTEN_ALL when it may
// have stored to any (more than CODE_WRITTEN_MAX, or with the MMU off);
// the pages follow, u32 each. Until ring -1 has dropped their translations
// the interpreter calls no translation (for the rest of that run).
export const JIT_HOT_PAGE: u32 = 0x04b8; // u32
export const MMU_PERMS: u32 = 0x04bc; // u32
export const CODE_WRITTEN: u32 = 0x04c0; // u32
export const CODE_WRITTEN_PAGES: u32 = 0x04c4; // CODE_WRITTEN_MAX u32
export const CODE_WRITTEN_MAX: u32 = 8;
export const CODE_WRITTEN_ALL: u32 = 0xffff_ffff;
// Translated code in a system VM: the byte of a RAM page at PAGE_PERMS has
// CODE_PAGE while translations made from it may exist (ring -1 sets it),
// and every TLB entry for it then carries TLB_CODE (in its data's bit 8,
// which no permission check reads): a store through such an entry clears
// the page's bit and lists the page in CODE_WRITTEN (assembly/mmu.ts), and
// translated stores stop before it. The count of such pages, kept by ring
// -1, tells the CPU whether any exist.
export const TLB_CODE: u32 = 0x100;
export const CODE_PAGES: u32 = 0x04e4; // u32
// Calls into translations (from the interpreter and from each other): a
// u64 that translations made while ring -1 asks for it count up as they
// start (Cpu.jitCountEntries, `ringvisor run --stats`); nothing else
// touches it. Counting costs each call a load and a store.
export const JIT_ENTRIES: u32 = 0x04e8;
// Coalesced MMIO (KVM's KVM_REGISTER_COALESCED_MMIO): a byte store to the
// device register at guest physical address COALESCED_ADDR (0: none) does
// not exit; the CPU appends its value to COALESCED_DATA (COALESCED_COUNT
// bytes so far, at most COALESCED_MAX; a store that finds it full exits as
// ever) and retires it. Ring -1 hands the bytes to the device, in order,
// after every run and before it handles the exit that ended it, so that
// the device has seen them before the guest can see it again: any other
// access to a device is an exit. For a register whose writes the guest
// cannot observe but through other registers (a UART's transmit holding
// register): console output then costs an exit for what is written
// between two other exits, not one a byte. Not part of a checkpoint (the
// buffer is empty between runs).
export const COALESCED_ADDR: u32 = 0x04f0; // u64
export const COALESCED_COUNT: u32 = 0x04f8; // u32
export const COALESCED_DATA: u32 = 0x0600; // COALESCED_MAX bytes
export const COALESCED_MAX: u32 = 256;

// ---- exit counters (kvm_stat) ---------------------------------------------
export const EXIT_COUNTS: u32 = 0x0500; // u64 per ExitReason, EXIT_REASON_COUNT of them
export const EXIT_REASON_COUNT: u32 = 16;

// Per-page permissions of guest RAM (process VMs): one byte per 4 KiB page,
// page n of RAM (guest address RAM_BASE + n * 4096) at PAGE_PERMS + n. Room for
// 4 GiB of RAM. Kept by the hypervisor; read by the CPU on every access when
// MEMORY_MODE is MEMORY_PAGE_PERMS.
export const PAGE_PERMS: u32 = 0x0080_0000;
export const PAGE_SHIFT: u32 = 12;
export const PERM_R: u32 = 1;
export const PERM_W: u32 = 2;
export const PERM_X: u32 = 4;
// Writable on the first store: a page mapped writable that no store has
// reached yet has PERM_WLAZY instead of PERM_W. The first store takes the
// slow path of guestAddress (memory.ts), which makes it PERM_W and
// PAGE_TOUCHED and goes on: no exit, no cost on the hot path. Ring -1
// reports it as writable.
export const PERM_WLAZY: u32 = 8;
// The page may hold something other than zeros: a store of the guest or a
// write of ring -1 has reached it since it was last cleared. Pages without
// it are known to be zero, and are never read or written when memory is
// freed or a VM scrubbed (that would make the host commit them).
export const PAGE_TOUCHED: u32 = 0x10;
// Translated code lives in the page and its W (PERM_CODE_W) or PERM_WLAZY
// (PERM_CODE_WLAZY) is withheld: the guest's next store faults to ring -1,
// which drops the page's translations and gives the bit back before the
// store runs again (src/cpu/cpu.ts, codeWritten). Ring -1 reports the page
// as writable. The interpreter never tests these bits.
export const PERM_CODE_W: u32 = 0x20;
export const PERM_CODE_WLAZY: u32 = 0x40;
// (Flat memory has no permissions: there the bit marks code, CODE_PAGES above.)
export const CODE_PAGE: u32 = 0x20;
// Memory modes: flat RAM where every byte is readable, writable and
// executable, or RAM with the per-page permissions above.
export const MEMORY_FLAT: u32 = 0;
export const MEMORY_PAGE_PERMS: u32 = 1;

// The dirty-page log (incremental checkpoints, live migration,
// replication): one byte per 4 KiB page of RAM, page n at DIRTY_MAP + n
// (room for 4 GiB), nonzero when some write may have reached the page since
// ring -1 last took the log. A byte, not a bit: the store path marks a page
// with one plain store8, never a read-modify-write. Who marks:
// - flat memory (system VMs): every store that reaches RAM, on the store
//   path itself, while DIRTY_LOG is set (assembly/memory.ts guestAddress),
//   page-crossing ones (assembly/mmu.ts splitAddress) and the MMU's A/D
//   updates (walk) too;
// - page permissions (process VMs): the slow path of a store (firstStore).
//   Ring -1 takes W from every page when it starts or takes the log (a
//   writable page becomes PERM_WLAZY, code's PERM_CODE_W becomes
//   PERM_CODE_WLAZY), so that the first store to each page in an interval,
//   interpreted or translated, takes the slow path, which marks the page
//   and gives W back: nothing on the hot path, one slow store per page
//   written per interval;
// - ring -1's own writes (src/cpu/cpu.ts, touch and clearTouched).
// Translated code in page-permission mode never marks: its stores to pages
// whose W is withheld stop before the store. In a system VM (flat memory,
// the MMU) every translated store marks its page, as the slow paths do
// (src/cpu/jit/translate.ts, tlbAddress).
export const DIRTY_MAP: u32 = 0x00c0_0000;

// Expansions of compressed instructions, one u32 per 16-bit parcel (256
// KiB): 0 until the parcel is first met, then its 32-bit equivalent, or
// RVC_ILLEGAL. Derived from the parcel alone (the expansion never depends on
// state), so it is never invalidated and never part of a checkpoint.
export const RVC_CACHE: u32 = 0x0090_0000;
export const RVC_ILLEGAL: u32 = 1; // no 32-bit instruction has low bits 01

// The translation map (ring -1's JIT, src/cpu/jit/): a direct-mapped table
// of JIT_MAP_ENTRIES entries of 16 bytes, indexed by (pc >> 1) & mask, each
// { u64 pc, u32 function-table index of its translation (0: none yet,
// JIT_NEVER: not translatable), u32 visits }. The interpreter counts visits
// to jump targets here and calls translations found here; ring -1 fills it.
// Only a cache: a lost entry costs a recount, never correctness.
export const JIT_MAP: u32 = 0x00a0_0000;
export const JIT_MAP_ENTRIES: u32 = 0x1_0000;
export const JIT_NEVER: u32 = 0xffff_ffff;
// A translation returns the budget left, with this bit set when it stopped
// before an instruction the interpreter must execute (one it cannot
// translate, a fault, or too little budget for the next block).
export const JIT_BAIL: u64 = 0x8000_0000_0000_0000;

// Virtual memory (assembly/mmu.ts): the permission tables (8 x 128 bytes),
// a 16-byte buffer for accesses that cross into an unrelated physical page,
// and the TLB at 11 MiB (4096 entries of 16 bytes).
export const MMU_PERM_TABLE: u32 = 0x0000_0c00;
export const SPLIT_BUFFER: u32 = 0x0000_0bf0;
export const TLB: u32 = 0x00b0_0000;
export const TLB_ENTRIES: u32 = 4096;

// The translations' TLB of a process VM (src/cpu/jit/translate.ts,
// checkedAddress): two direct-mapped tables of USER_TLB_ENTRIES entries of
// 16 bytes, one for loads and one for stores, indexed by (address >> 12) &
// mask, each { u64 the guest page's address (all ones: none), u32 what to
// add to an address in it for its offset in RAM }. An entry exists only
// while its page allows the access, so that a translated access tests one
// tag where it would test the user range, the page's end and the
// permissions. On a miss a translation writes the access to USER_TLB_MISS
// (u64 address) and USER_TLB_MISS_KIND (u32 size | need << 8) and stops
// before it; the interpreter fills the entry (fillUserTlb,
// assembly/memory.ts: from the slot table and the page's permissions, if
// they allow the access) and executes the access itself. Permissions and
// slots only grow inside a run (firstStore). USER_TLB_STATE says whether
// the tables are empty (USER_TLB_EMPTY), hold entries (USER_TLB_FILLED),
// or may hold stale ones (any other value, zeroed memory included: an
// entry there would map page 0): ring -1 (src/cpu/cpu.ts) turns FILLED
// into stale when it takes a permission away or moves a slot, and `run`
// empties stale tables on entry.
export const USER_TLB: u32 = 0x00b1_0000;
export const USER_TLB_ENTRIES: u32 = 4096;
export const USER_TLB_STORES: u32 = USER_TLB + USER_TLB_ENTRIES * 16;
export const USER_TLB_STATE: u32 = USER_TLB + 2 * USER_TLB_ENTRIES * 16; // u32
export const USER_TLB_EMPTY: u32 = 1;
export const USER_TLB_FILLED: u32 = 2;
export const USER_TLB_MISS: u32 = USER_TLB_STATE + 8; // u64
export const USER_TLB_MISS_KIND: u32 = USER_TLB_STATE + 16; // u32; 0: none

// The process VM's address space (MEMORY_PAGE_PERMS): guest addresses below
// 2^USER_VA_BITS (Linux's Sv39 user range, 256 GiB) in 64 KiB slots. Slot n
// (addresses n << SLOT_SHIFT and up) is backed by the 64 KiB of guest RAM
// that start SLOT_TABLE's u32 entry n bytes into RAM, or by nothing: entry
// SLOT_NONE (0) means the first 64 KiB of RAM, which no slot is ever given
// and whose pages' permission bytes are never set, so every access to a slot
// without RAM faults without a test of its own, and the table needs no
// filling (untouched, it costs the host nothing). Ring -1
// (src/linux/address-space.ts) backs a slot when the guest first reaches a
// mapped page in it and frees it when nothing is mapped there any more, so
// that mappings never used cost nothing.
export const USER_VA_BITS: u32 = 38;
export const SLOT_SHIFT: u32 = 16;
export const SLOT_BYTES: u32 = 1 << 16;
export const SLOT_COUNT: u32 = 1 << (USER_VA_BITS - SLOT_SHIFT);
export const SLOT_TABLE: u32 = 0x0100_0000; // SLOT_COUNT u32 entries: 16 MiB
export const SLOT_NONE: u32 = 0;

// Linear memory from here up is guest RAM: guest physical address RAM_BASE
// is byte RAM_OFFSET. The space below holds the state above and the module's
// static data (asconfig's memoryBase is 64 KiB); the rest is kept for the
// caches later tiers need.
export const RAM_OFFSET: u32 = 0x0200_0000;
// The most guest RAM linear memory can hold (wasm32: 4 GiB, less what lies
// below RAM_OFFSET and the last 64 KiB page), a multiple of 64 KiB.
export const RAM_MAX: u32 = 0xffff_0000 - RAM_OFFSET;

// ---- exit reasons ---------------------------------------------------------
export const EXIT_NONE: u32 = 0;
export const EXIT_ECALL_U: u32 = 1;
export const EXIT_EBREAK: u32 = 2;
export const EXIT_FAULT: u32 = 3;
export const EXIT_BUDGET: u32 = 4;
// A jump target reached JIT_THRESHOLD visits: ring -1 translates the code
// there (or marks it JIT_NEVER) and runs the CPU on; callers of Cpu.run never
// see this exit.
export const EXIT_HOT: u32 = 5;
// System VMs (CTRL_SUPERVISOR). ECALL_S: an SBI call (retired: pc after it).
// WFI: the hart waits for an interrupt (retired). MMIO_LOAD / MMIO_STORE: an
// access outside RAM (not retired: the next run completes it, see
// MMIO_PENDING). CSR: a selected satp write, sfence.vma or sret (retired).
export const EXIT_ECALL_S: u32 = 6;
export const EXIT_WFI: u32 = 7;
export const EXIT_MMIO_LOAD: u32 = 8;
export const EXIT_MMIO_STORE: u32 = 9;
export const EXIT_CSR: u32 = 10;

// ---- exit controls ----------------------------------------------------------
// A selected event exits with its own reason. An event that is not selected is
// delivered as a trap to the guest's supervisor when the hart has one
// (CTRL_SUPERVISOR); without one, it is a FAULT exit carrying the RISC-V cause.
export const EXIT_ON_ECALL_U: u32 = 1 << 0;
export const EXIT_ON_EBREAK: u32 = 1 << 1;
export const EXIT_ON_ECALL_S: u32 = 1 << 2;
// The hart has S-mode (a system VM): traps that do not exit are delivered to
// it, interrupts are taken, and accesses outside RAM exit as MMIO.
export const CTRL_SUPERVISOR: u32 = 1 << 3;
export const EXIT_ON_SATP: u32 = 1 << 4;
export const EXIT_ON_SFENCE: u32 = 1 << 5;
export const EXIT_ON_SRET: u32 = 1 << 6;
// A read of the `time` CSR (rdtime) retires, then exits (EXIT_CSR): ring -1
// puts the time of the moment into its register, reading the host's clock
// only when the guest asks (VT-x's "RDTSC exiting"). Without it, TIME is
// what ring -1 last stored there.
export const EXIT_ON_TIME: u32 = 1 << 7;

// ---- RISC-V exception causes (privileged spec, scause) ---------------------
export const CAUSE_MISALIGNED_FETCH: u32 = 0;
export const CAUSE_FETCH_ACCESS: u32 = 1;
export const CAUSE_ILLEGAL_INSTRUCTION: u32 = 2;
export const CAUSE_BREAKPOINT: u32 = 3;
export const CAUSE_MISALIGNED_LOAD: u32 = 4;
export const CAUSE_LOAD_ACCESS: u32 = 5;
export const CAUSE_MISALIGNED_STORE: u32 = 6;
export const CAUSE_STORE_ACCESS: u32 = 7;
export const CAUSE_ECALL_U: u32 = 8;
export const CAUSE_ECALL_S: u32 = 9;
export const CAUSE_FETCH_PAGE_FAULT: u32 = 12;
export const CAUSE_LOAD_PAGE_FAULT: u32 = 13;
export const CAUSE_STORE_PAGE_FAULT: u32 = 15;

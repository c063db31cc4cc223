// The package entry for Node: the library API, with the compiled CPU loaded
// from the package's build/ folder by default.
import { registerDefaultCpuModule } from './cpu/module-registry.js';
import { loadCpuModule } from './node/load.js';
import { registerDiskImageOpener } from './system/disk-opener.js';
import { FileBlockBackend } from './node/block-file.js';

registerDefaultCpuModule(() => loadCpuModule());
registerDiskImageOpener((path, readOnly) => FileBlockBackend.open(path, readOnly));

export { Cpu, ExitReason, ExitControl, Cause, GuestMemoryError, RamAllocationError, EXIT_REASON_NAMES } from './cpu/cpu.js';
export { UserMemory, UserFault } from './linux/user-memory.js';
export type { ExitInfo } from './cpu/cpu.js';
export { ProcessVM, LIMIT_EXIT_STATUS, DEFAULT_MEMORY_BYTES, MAX_HOST_BLOCK_MS, ArgumentListTooLongError } from './linux/process-vm.js';
export { HostInput } from './linux/fs/host-input.js';
export type { ProcessVMOptions, ProcessVMRestoreOptions, ProcessVMState, Sink } from './linux/process-vm.js';
export { CheckpointUnsupportedError } from './linux/process-checkpoint.js';
export { parseElf, loadBias, ElfError, ELF_ET_DYN_BASE, MMAP_MIN_ADDR } from './linux/elf.js';
export type { ElfImage, Segment, ParseOptions } from './linux/elf.js';
export {
  vmcall, vmcallSync, VmCallError, UnknownSymbolError, CallArgumentError, CallBudgetError,
  CallFaultError, CallExitError, CallBusyError, CallStackError, DEFAULT_CALL_BUDGET, MAX_CALL_ARGS,
} from './linux/vmcall.js';
export type { CallArg, CallArgs, CallOptions, CallResult } from './linux/vmcall.js';
export { loadCpuModule } from './node/load.js';
export { compileHere, DEFAULT_CACHE_LIMIT } from './cpu/jit/jit.js';
export type { TranslationService, TranslationRequest, TranslationResult, JitStats, TranslationCacheLimit } from './cpu/jit/jit.js';
export { WorkerTranslationService } from './node/translation-worker.js';
export { readProgramFile, openProgramFile, ProgramFileError, MAX_PROGRAM_BYTES } from './node/read-program.js';
export { lazyProgram, type ReadAt } from './linux/program-bytes.js';
export { GuestFs, privateMounts } from './linux/fs/guest-fs.js';
export { MemFs } from './linux/fs/memfs.js';
export type { MountSpec, Mount } from './linux/fs/guest-fs.js';
export type { FileSystem } from './linux/fs/types.js';
export { HostFs, parseMountSpec, sandboxFs, hostSysroot, SysrootError } from './node/host-fs.js';
export type { HostMount, SandboxOptions } from './node/host-fs.js';
export { SystemVM, DEFAULT_SYSTEM_MEMORY, SYSTEM_LIMIT_STATUS, QUANTUM, INSTRUCTIONS_PER_TICK } from './system/system-vm.js';
export type { SystemVMOptions } from './system/system-vm.js';
export { BalloonTargetError, NoBalloonError } from './system/devices/virtio-balloon.js';
export type { BalloonInfo } from './system/devices/virtio-balloon.js';
export { KernelImageError, parseKernelImage, loadKernel } from './system/linux-image.js';
export { virtDeviceTree, qemuVirtConfig, QEMU_VIRT } from './system/device-tree.js';
export { FdtBuilder, parseFdt, FdtError } from './system/fdt.js';
export { MemoryBlockBackend } from './system/devices/virtio-blk.js';
export type { BlockBackend } from './system/devices/virtio-blk.js';
export { FileBlockBackend, openDiskImage } from './node/block-file.js';
export { hostRandom } from './node/random.js';

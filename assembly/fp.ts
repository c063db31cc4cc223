// The F and D extensions. (placeholder signature; being written)
import { raiseException } from './trap';
import { CAUSE_ILLEGAL_INSTRUCTION } from './layout';

// Executes one instruction of the opcodes LOAD-FP (0x07), STORE-FP (0x27),
// MADD/MSUB/NMSUB/NMADD (0x43/0x47/0x4b/0x4f) and OP-FP (0x53).
export function execFloat(inst: u32): void {
  raiseException(CAUSE_ILLEGAL_INSTRUCTION, inst);
}

// The pure softfloat entry points exported from the WebAssembly module for
// unit tests (test/fp.test.ts checks them against QEMU's golden results).
// assembly/index.ts re-exports this file.
export {
  fpExceptionFlags, fpClearExceptionFlags, fpSetFastPaths,
  f32Add, f32Sub, f32Mul, f32Div, f32Sqrt,
  f64Add, f64Sub, f64Mul, f64Div, f64Sqrt,
  f32MulAdd, f32MulSub, f32NegMulSub, f32NegMulAdd,
  f64MulAdd, f64MulSub, f64NegMulSub, f64NegMulAdd,
  f32Min, f32Max, f64Min, f64Max,
  f32SignInject, f64SignInject,
  f32Eq, f32Lt, f32Le, f64Eq, f64Lt, f64Le,
  f32Class, f64Class,
  f64ToF32, f32ToF64,
  f32ToI32, f32ToU32, f32ToI64, f32ToU64, f64ToI32, f64ToU32, f64ToI64, f64ToU64,
  i32ToF32, u32ToF32, i64ToF32, u64ToF32, i32ToF64, u32ToF64, i64ToF64, u64ToF64,
} from './softfloat';

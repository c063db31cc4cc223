// Linux errno values (include/uapi/asm-generic/errno-base.h, errno.h).
export const EPERM = 1;
export const ENOENT = 2;
export const EBADF = 9;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EINVAL = 22;
export const ENOSYS = 38;
export const EEXIST = 17;
export const ENODEV = 19;

// File-system errors (the file and descriptor system calls, sys/files.ts).
export const EIO = 5;
export const ENXIO = 6;
export const EAGAIN = 11;
export const EACCES = 13;
export const EBUSY = 16;
export const EXDEV = 18;
export const ENOTDIR = 20;
export const EISDIR = 21;
export const ENFILE = 23;
export const EMFILE = 24;
export const ENOTTY = 25;
export const EFBIG = 27;
export const ENOSPC = 28;
export const ESPIPE = 29;
export const EROFS = 30;
export const EMLINK = 31;
export const EPIPE = 32;
export const ERANGE = 34;
export const ENAMETOOLONG = 36;
export const ENOTEMPTY = 39;
export const ELOOP = 40;
export const EOPNOTSUPP = 95;
/** A disk quota is exhausted (--disk-quota). */
export const EDQUOT = 122;

// Processes, threads and waiting (sys/process.ts, sys/threads.ts, sys/signals.ts).
export const ESRCH = 3;
export const EINTR = 4;
export const ECHILD = 10;
export const ETIMEDOUT = 110;

// New programs (sys/exec.ts).
export const E2BIG = 7;
export const ENOEXEC = 8;
export const ELIBBAD = 80;

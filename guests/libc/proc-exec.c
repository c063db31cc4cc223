// execve and what rides on it: a program that runs itself again
// (/proc/self/exe, argv[0], PATH, an open descriptor) with its argv and envp,
// #! scripts (written at run time into a temporary directory, with this
// program as their interpreter), the errors (ENOENT, EACCES, ENOEXEC,
// ENOTDIR), close-on-exec against inherited descriptors, signal dispositions
// across exec (handled -> default, ignored stays ignored, the mask and
// pending signals kept), exec from a thread, fork/vfork + exec,
// posix_spawn, popen and system.
//
// qemu-riscv64 cannot execve a riscv64 program (without binfmt_misc the
// host kernel does not know the format), so the reference is this same
// source built for the host with gcc and run natively: test/proc-exec.test.ts
// compares the two outputs. Nothing printed depends on the machine: no pid,
// no path; relations only.
//
// popen and system run "/bin/sh -c CMD". Natively that is the host's shell;
// under ringvisor the test mounts a directory at /bin that holds this very
// program as "sh": started under that name it is a shell just big enough for
// the commands used here (echo, exit, ';'), so both print the same.
//
// Modes (argv[1]) that start a test: self, path, script, errors, cloexec,
// signals, ids, thread, fork-exec, vfork-exec, spawn, popen, system.
// The others are what the new image runs (show-args, fds, sigs, ...).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void out(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof buf - 1) n = sizeof buf - 1;
  for (int done = 0; done < n;) {
    ssize_t w = write(1, buf + done, n - done);
    if (w <= 0) _exit(90);
    done += w;
  }
}

static const char *errname(int e) {
  switch (e) {
    case 0: return "0";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EBADF: return "EBADF";
    case ECHILD: return "ECHILD";
    case EAGAIN: return "EAGAIN";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENOEXEC: return "ENOEXEC";
    case E2BIG: return "E2BIG";
    case ELOOP: return "ELOOP";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case ETXTBSY: return "ETXTBSY";
    default: {
      static char other[16];
      snprintf(other, sizeof other, "errno %d", e);
      return other;
    }
  }
}

static const char *yes(int b) { return b ? "yes" : "no"; }

/** This program's absolute path, as /proc/self/exe names it. */
static char self_path[4096];

static void find_self(void) {
  ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
  if (n <= 0) {
    out("readlink /proc/self/exe: %s\n", errname(errno));
    exit(1);
  }
  self_path[n] = 0;
}

/** An environment variable as a number (what the image before exec left). */
static long env_num(const char *name) {
  const char *v = getenv(name);
  return v ? atol(v) : -1;
}

static void describe(const char *what, int status) {
  if (WIFEXITED(status)) out("%s: exited %d\n", what, WEXITSTATUS(status));
  else if (WIFSIGNALED(status)) out("%s: killed by signal %d\n", what, WTERMSIG(status));
  else out("%s: status %#x\n", what, status);
}

/** fork() or end the test: a fork that fails here is the finding. */
static pid_t must_fork(void) {
  pid_t p = fork();
  if (p < 0) {
    out("fork failed: %s\n", errname(errno));
    exit(1);
  }
  return p;
}

static void reap(const char *what, pid_t pid) {
  int status;
  pid_t r = waitpid(pid, &status, 0);
  if (r != pid) {
    out("%s: waitpid: %s\n", what, r < 0 ? errname(errno) : "other pid");
    return;
  }
  describe(what, status);
}

/** An exec that returned: print why and end. */
static void exec_failed(const char *what) {
  out("%s failed: %s\n", what, errname(errno));
  exit(1);
}

static char tmpdir_path[256];

static void make_tmpdir(void) {
  strcpy(tmpdir_path, "/tmp/proc-exec-XXXXXX");
  if (!mkdtemp(tmpdir_path)) {
    out("mkdtemp: %s\n", errname(errno));
    exit(1);
  }
}

static void write_file(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
    out("write %s: %s\n", path, errname(errno));
    exit(1);
  }
  close(fd);
  chmod(path, mode);
}

// ---- the new images ----

/** show-args: argc, argv and the environment (less the PRE_ variables). */
static int image_show_args(int argc, char **argv) {
  out("new image: argc %d\n", argc);
  for (int i = 0; i < argc; i++) {
    // argv[0] of a path exec is the caller's choice; print it unless it is a path of ours.
    out("  argv[%d] = '%s'\n", i, argv[i]);
  }
  out("  argv[argc] is NULL: %s\n", yes(argv[argc] == NULL));
  int n = 0;
  for (char **e = environ; *e; e++) {
    if (strncmp(*e, "PRE_", 4) == 0) continue;
    out("  env '%s'\n", *e);
    n++;
  }
  out("  %d environment strings\n", n);
  out("  same pid as before exec: %s, same parent: %s\n", yes(getpid() == env_num("PRE_PID")), yes(getppid() == env_num("PRE_PPID")));
  char exe[4096] = {0};
  readlink("/proc/self/exe", exe, sizeof exe - 1);
  const char *want = getenv("PRE_EXE");
  out("  /proc/self/exe is the program exec'd: %s\n", yes(want && strcmp(exe, want) == 0));
  return 0;
}

/** fds: which of descriptors 3..31 are open, their FD_CLOEXEC, and what they hold. */
static int image_fds(void) {
  out("new image: descriptors\n");
  for (int fd = 10; fd < 32; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) continue;
    off_t off = lseek(fd, 0, SEEK_CUR);
    char buf[64] = {0};
    const char *kind = "other";
    struct stat st;
    fstat(fd, &st);
    if (S_ISFIFO(st.st_mode)) {
      kind = "pipe";
      if ((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY) {
        fcntl(fd, F_SETFL, O_NONBLOCK);
        ssize_t n = read(fd, buf, sizeof buf - 1);
        if (n < 0) n = 0;
        buf[n] = 0;
      }
    } else if (S_ISREG(st.st_mode)) {
      kind = "file";
    }
    out("  fd %d open, FD_CLOEXEC %s, %s", fd, yes(flags & FD_CLOEXEC), kind);
    if (S_ISREG(st.st_mode)) out(" at offset %ld", (long)off);
    if (buf[0]) out(" holding '%s'", buf);
    out("\n");
  }
  return 0;
}

static const char *disposition(int sig) {
  struct sigaction sa;
  sigaction(sig, NULL, &sa);
  if (sa.sa_handler == SIG_DFL) return "default";
  if (sa.sa_handler == SIG_IGN) return "ignored";
  return "a handler";
}

/** sigs: dispositions, mask, pending, the alternate stack. */
static int image_sigs(void) {
  static const struct { int sig; const char *name; } sigs[] = {
    {SIGUSR1, "SIGUSR1"}, {SIGUSR2, "SIGUSR2"}, {SIGTERM, "SIGTERM"}, {SIGINT, "SIGINT"},
    {SIGCHLD, "SIGCHLD"}, {SIGPIPE, "SIGPIPE"}, {SIGHUP, "SIGHUP"}, {SIGALRM, "SIGALRM"},
  };
  sigset_t mask, pending;
  sigprocmask(SIG_SETMASK, NULL, &mask);
  sigpending(&pending);
  out("new image: signals\n");
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    out("  %-8s %-9s blocked %-3s pending %s\n", sigs[i].name, disposition(sigs[i].sig), yes(sigismember(&mask, sigs[i].sig)),
        yes(sigismember(&pending, sigs[i].sig)));
  stack_t ss;
  sigaltstack(NULL, &ss);
  out("  alternate signal stack disabled: %s\n", yes(ss.ss_flags & SS_DISABLE));
  // The pending SIGTERM is still blocked; take it without dying.
  if (sigismember(&pending, SIGTERM)) {
    int sig = 0;
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGTERM);
    sigwait(&one, &sig);
    out("  sigwait took the pending signal %d\n", sig);
  }
  return 0;
}

/** ids: pid, parent, thread id against what the image before exec recorded. */
static int image_ids(void) {
  out("new image: same pid %s, same parent %s, gettid is getpid %s\n", yes(getpid() == env_num("PRE_PID")),
      yes(getppid() == env_num("PRE_PPID")), yes(syscall(SYS_gettid) == getpid()));
  return 0;
}

/** script-interp...: run as a #! interpreter. */
static int image_script(int argc, char **argv) {
  out("interpreter: argc %d\n", argc);
  out("  argv[0] is this program: %s\n", yes(strcmp(argv[0], self_path) == 0 || strcmp(argv[0], getenv("PRE_EXE") ? getenv("PRE_EXE") : "") == 0));
  out("  argv[1] = '%s'\n", argv[1]);
  const char *dir = getenv("PRE_DIR");
  size_t dl = dir ? strlen(dir) : 0;
  for (int i = 2; i < argc; i++) {
    // The script's path: shown relative to the temporary directory.
    if (dir && strncmp(argv[i], dir, dl) == 0) out("  argv[%d] = TMP%s\n", i, argv[i] + dl);
    else out("  argv[%d] = '%s'\n", i, argv[i]);
  }
  // The script itself is a file the interpreter can read: its second line.
  if (argc > 2) {
    FILE *f = fopen(argv[2], "r");
    char line[256];
    if (f && fgets(line, sizeof line, f) && fgets(line, sizeof line, f)) out("  the script's second line: %s", line);
    if (f) fclose(f);
  }
  return 0;
}

/** A shell just big enough for popen and system here: "sh -c 'echo ...; exit N'". */
static int mini_sh(int argc, char **argv) {
  if (argc < 3 || strcmp(argv[1], "-c") != 0) {
    fprintf(stderr, "sh: only -c is supported here\n");
    return 2;
  }
  char *cmd = strdup(argv[2]);
  int status = 0;
  for (char *part = strtok(cmd, ";"); part; part = strtok(NULL, ";")) {
    while (*part == ' ') part++;
    size_t n = strlen(part);
    while (n && part[n - 1] == ' ') part[--n] = 0;
    if (strncmp(part, "echo", 4) == 0 && (part[4] == ' ' || part[4] == 0)) {
      printf("%s\n", part[4] ? part + 5 : "");
      status = 0;
    } else if (strncmp(part, "exit", 4) == 0) {
      fflush(stdout);
      exit(part[4] ? atoi(part + 5) : status);
    } else if (strcmp(part, "true") == 0) {
      status = 0;
    } else if (*part) {
      fflush(stdout);
      fprintf(stderr, "sh: %s: not found\n", part);
      status = 127;
    }
  }
  return status;
}

// ---- the tests ----

static char pid_env[32], ppid_env[32], exe_env[4200], dir_env[300];

/** The PRE_ variables the new image compares itself with, then the rest. */
static char **make_env(const char *const *extra) {
  static char *env[32];
  int n = 0;
  snprintf(pid_env, sizeof pid_env, "PRE_PID=%d", (int)getpid());
  snprintf(ppid_env, sizeof ppid_env, "PRE_PPID=%d", (int)getppid());
  snprintf(exe_env, sizeof exe_env, "PRE_EXE=%s", self_path);
  env[n++] = pid_env;
  env[n++] = ppid_env;
  env[n++] = exe_env;
  if (tmpdir_path[0]) {
    snprintf(dir_env, sizeof dir_env, "PRE_DIR=%s", tmpdir_path);
    env[n++] = dir_env;
  }
  for (int i = 0; extra && extra[i]; i++) env[n++] = (char *)extra[i];
  env[n] = NULL;
  return env;
}

/** self: execve("/proc/self/exe") with an argv and environment of our own making. */
static int mode_self(void) {
  static const char *const extra[] = {"FOO=bar", "EMPTY=", "SPACES=a b  c", "NOEQUALS", NULL};
  char *args[] = {"chosen-argv0", "show-args", "two words", "", "last", NULL};
  out("execve /proc/self/exe\n");
  execve("/proc/self/exe", args, make_env(extra));
  exec_failed("execve /proc/self/exe");
  return 1;
}

/** path: execve of argv[0] as we were started, then execvp through PATH, then execveat on a descriptor. */
static int mode_path(int argc, char **argv) {
  (void)argc;
  const char *step = getenv("PATH_STEP");
  if (!step) {
    static const char *const extra[] = {"PATH_STEP=1", NULL};
    char *args[] = {argv[0], "path", NULL};
    out("step 0: execve(argv[0])\n");
    execve(argv[0], args, make_env(extra));
    exec_failed("execve argv[0]");
  }
  if (strcmp(step, "1") == 0) {
    // PATH search: the program's directory first, a missing one before it.
    char dir[4096];
    strcpy(dir, self_path);
    char *slash = strrchr(dir, '/');
    *slash = 0;
    char path[4200];
    snprintf(path, sizeof path, "PATH=/nonexistent-dir:%s", dir);
    static char path_env[4200];
    strcpy(path_env, path);
    const char *extra[] = {"PATH_STEP=2", path_env, NULL};
    char **env = make_env(extra);
    environ = env;
    char *args[] = {slash + 1, "path", NULL};
    out("step 1: execvp(basename) through PATH\n");
    execvp(slash + 1, args);
    exec_failed("execvp");
  }
  if (strcmp(step, "2") == 0) {
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    static const char *const extra[] = {"PATH_STEP=3", NULL};
    char *args[] = {"by-descriptor", "path", NULL};
    out("step 2: execveat(fd, \"\", AT_EMPTY_PATH)\n");
    syscall(SYS_execveat, fd, "", args, make_env(extra), AT_EMPTY_PATH);
    exec_failed("execveat");
  }
  out("step 3: argv[0] '%s', pid kept through three execs: %s\n", argv[0], yes(getpid() == env_num("PRE_PID")));
  return 0;
}

/** script: #! scripts with this program as interpreter, directly and nested. */
static int mode_script(void) {
  make_tmpdir();
  char path[512], text[8192], path2[512];
  snprintf(path, sizeof path, "%s/script", tmpdir_path);
  snprintf(text, sizeof text, "#!%s script-interp\nthe body of the script\n", self_path);
  write_file(path, text, 0755);
  // An interpreter with an argument of two words: Linux passes it as one.
  snprintf(path2, sizeof path2, "%s/script-words", tmpdir_path);
  snprintf(text, sizeof text, "#! %s   script-interp two  words  \nsecond line\n", self_path);
  write_file(path2, text, 0755);
  // A script whose interpreter is the first script.
  char path3[512];
  snprintf(path3, sizeof path3, "%s/nested", tmpdir_path);
  snprintf(text, sizeof text, "#!%s\nnested second line\n", path);
  write_file(path3, text, 0755);

  const char *const *none = NULL;
  const char *scripts[] = {path, path2, path3};
  for (int i = 0; i < 3; i++) {
    pid_t p = must_fork();
    if (p == 0) {
      char *args[] = {"script-argv0", "arg one", "arg2", NULL};
      execve(scripts[i], args, make_env(none));
      exec_failed("execve script");
    }
    char what[32];
    snprintf(what, sizeof what, "script %d", i + 1);
    reap(what, p);
  }
  unlink(path);
  unlink(path2);
  unlink(path3);
  rmdir(tmpdir_path);
  return 0;
}

/** errors: what execve refuses, and the caller going on after it. */
static int mode_errors(void) {
  make_tmpdir();
  char p[512];
  char *args[] = {"x", NULL};
  char *env[] = {NULL};
  struct { const char *name; const char *text; mode_t mode; } files[] = {
    {"not-executable", "#!/bin/true\n", 0644},
    {"empty", "", 0755},
    {"garbage", "this is not a program\n", 0755},
    {"bad-elf", "\x7f" "ELF\x02\x01\x01 short", 0755},
    {"missing-interpreter", "#!/nonexistent/interpreter\n", 0755},
    {"interpreter-is-dir", "#!/tmp\n", 0755},
  };
  for (unsigned i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", tmpdir_path, files[i].name);
    write_file(p, files[i].text, files[i].mode);
  }
  for (unsigned i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", tmpdir_path, files[i].name);
    errno = 0;
    int r = execve(p, args, env);
    out("execve %s: %d %s\n", files[i].name, r, errname(errno));
  }
  static const struct { const char *what; const char *path; } paths[] = {
    {"a missing file", "/nonexistent-file"},
    {"a directory", "/tmp"},
    {"a path through a file", "/proc/self/exe/x"},
    {"an empty path", ""},
  };
  for (unsigned i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    errno = 0;
    int r = execve(paths[i].path, args, env);
    out("execve %s: %d %s\n", paths[i].what, r, errname(errno));
  }
  errno = 0;
  char **volatile bad_argv = (char **)16;
  int r = execve("/proc/self/exe", bad_argv, env);
  out("execve with a bad argv pointer: %d %s\n", r, errname(errno));
  // A symbolic link to a script with no #! line (execve does not fall back to sh; execvp does).
  snprintf(p, sizeof p, "%s/link", tmpdir_path);
  char target[512];
  snprintf(target, sizeof target, "%s/garbage", tmpdir_path);
  symlink(target, p);
  errno = 0;
  r = execve(p, args, env);
  out("execve a link to garbage: %d %s\n", r, errname(errno));
  unlink(p);
  for (unsigned i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", tmpdir_path, files[i].name);
    unlink(p);
  }
  rmdir(tmpdir_path);
  out("the caller goes on after every failed execve: yes\n");
  return 0;
}

/** cloexec: which descriptors the new image has. */
static int mode_cloexec(void) {
  make_tmpdir();
  char p[512];
  snprintf(p, sizeof p, "%s/file", tmpdir_path);
  write_file(p, "0123456789", 0644);
  int f = open(p, O_RDONLY);
  lseek(f, 4, SEEK_SET);
  dup2(f, 10);                      // plain: inherited, offset shared
  int c = open(p, O_RDONLY | O_CLOEXEC);
  dup2(c, 11);                      // dup2 clears FD_CLOEXEC: inherited
  dup3(c, 12, O_CLOEXEC);           // closed at exec
  fcntl(f, F_DUPFD_CLOEXEC, 13);    // closed at exec (13 is the lowest free >= 13)
  int fl = dup(f);
  dup2(fl, 14);
  fcntl(14, F_SETFD, FD_CLOEXEC);
  fcntl(14, F_SETFD, 0);            // set and cleared: inherited
  close(fl);
  int pp[2];
  pipe(pp);
  write(pp[1], "in the pipe", 11);
  dup2(pp[0], 15);                  // a pipe's read end with data: inherited
  dup2(pp[1], 16);
  fcntl(16, F_SETFD, FD_CLOEXEC);   // its write end: closed
  int q[2];
  pipe2(q, O_CLOEXEC);
  dup3(q[0], 17, O_CLOEXEC);
  close(f);
  close(c);
  close(pp[0]);
  close(pp[1]);
  close(q[0]);
  close(q[1]);
  unlink(p);
  rmdir(tmpdir_path);
  out("before exec: fds 10-17 open\n");
  char *args[] = {"fds", "fds", NULL};
  execve("/proc/self/exe", args, make_env(NULL));
  exec_failed("execve");
  return 1;
}

static void handler(int sig) { (void)sig; }

/** signals: dispositions, mask and pending signals across exec. */
static int mode_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigaction(SIGUSR1, &sa, NULL);          // handled: default after exec
  sigaction(SIGINT, &sa, NULL);           // handled: default after exec
  signal(SIGUSR2, SIG_IGN);               // ignored: stays ignored
  signal(SIGCHLD, SIG_IGN);               // ignored: stays ignored
  signal(SIGPIPE, SIG_IGN);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGHUP);
  sigaddset(&block, SIGUSR1);
  sigprocmask(SIG_BLOCK, &block, NULL);   // the mask is kept
  raise(SIGTERM);                         // pending and blocked: still pending after
  static char altstack[65536];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  sigaltstack(&ss, NULL);                 // the alternate stack is not kept
  out("before exec: SIGUSR1 SIGINT handled, SIGUSR2 SIGCHLD SIGPIPE ignored, SIGTERM SIGHUP SIGUSR1 blocked, SIGTERM pending\n");
  char *args[] = {"sigs", "sigs", NULL};
  execve("/proc/self/exe", args, make_env(NULL));
  exec_failed("execve");
  return 1;
}

/** ids: exec keeps the pid and the parent; in a child, its exit status is the new image's. */
static int mode_ids(void) {
  pid_t p = must_fork();
  if (p == 0) {
    char *args[] = {"ids", "show-ids", NULL};
    execve("/proc/self/exe", args, make_env(NULL));
    exec_failed("execve");
  }
  reap("child that exec'd", p);
  p = must_fork();
  if (p == 0) {
    char *args[] = {"exit", "exit-with", "42", NULL};
    execve("/proc/self/exe", args, make_env(NULL));
    exec_failed("execve");
  }
  reap("child whose new image exits 42", p);
  p = must_fork();
  if (p == 0) {
    char *args[] = {"die", "die-with", "15", NULL};
    execve("/proc/self/exe", args, make_env(NULL));
    exec_failed("execve");
  }
  reap("child whose new image dies of SIGTERM", p);
  return 0;
}

static void *exec_from_thread(void *arg) {
  (void)arg;
  char *args[] = {"ids", "show-ids", NULL};
  execve("/proc/self/exe", args, make_env(NULL));
  exec_failed("execve from a thread");
  return NULL;
}

static void *spin(void *arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

/** thread: exec from a second thread while a third spins: the new image has the old pid, alone. */
static int mode_thread(void) {
  pthread_t a, b;
  pthread_create(&a, NULL, spin, NULL);
  out("exec from a thread other than the main one\n");
  pthread_create(&b, NULL, exec_from_thread, NULL);
  for (;;) pause();
  return 1;
}

/** fork-exec: fork, exec in the child; a close-on-exec pipe tells the parent the exec happened. */
static int mode_fork_exec(void) {
  int report[2], status_pipe[2];
  pipe(report);
  pipe2(status_pipe, O_CLOEXEC);
  pid_t p = must_fork();
  if (p == 0) {
    close(report[0]);
    close(status_pipe[0]);
    dup2(report[1], 20);
    char *args[] = {"say", "say-on-fd", "20", "hello from the new image", NULL};
    execve("/proc/self/exe", args, make_env(NULL));
    int e = errno;
    write(status_pipe[1], &e, sizeof e);
    _exit(127);
  }
  close(report[1]);
  close(status_pipe[1]);
  int e;
  ssize_t n = read(status_pipe[0], &e, sizeof e);
  out("close-on-exec pipe at EOF (the exec succeeded): %s\n", yes(n == 0));
  char buf[128] = {0};
  size_t have = 0;
  while ((n = read(report[0], buf + have, sizeof buf - 1 - have)) > 0) have += n;
  out("the new image wrote: %s", buf);
  reap("child", p);

  // And an exec that fails: the errno comes through the pipe.
  pipe2(status_pipe, O_CLOEXEC);
  p = must_fork();
  if (p == 0) {
    close(status_pipe[0]);
    char *args[] = {"x", NULL};
    execve("/nonexistent-program", args, make_env(NULL));
    int e2 = errno;
    write(status_pipe[1], &e2, sizeof e2);
    _exit(127);
  }
  close(status_pipe[1]);
  n = read(status_pipe[0], &e, sizeof e);
  out("failed exec reported through the pipe: %s %s\n", yes(n == sizeof e), n == sizeof e ? errname(e) : "-");
  reap("child", p);
  return 0;
}

/** vfork-exec: the parent resumes as soon as the child has exec'd, not when it ends. */
static int mode_vfork_exec(void) {
  int done[2];
  pipe(done);
  char fdarg[16];
  snprintf(fdarg, sizeof fdarg, "%d", done[0]);
  char *args[] = {"wait", "wait-on-fd", fdarg, NULL};
  char **env = make_env(NULL);
  pid_t p = vfork();
  if (p == 0) {
    execve("/proc/self/exe", args, env);
    _exit(127);
  }
  if (p < 0) {
    out("vfork failed: %s\n", errname(errno));
    return 1;
  }
  close(done[0]);
  // The child waits for us: had vfork waited for it to end, we would not be here.
  int status;
  pid_t r = waitpid(p, &status, WNOHANG);
  out("parent resumed while the exec'd child still runs: %s\n", yes(r == 0));
  write(done[1], "go", 2);
  close(done[1]);
  reap("child", p);
  return 0;
}

/** spawn: posix_spawn and posix_spawnp with file actions and attributes. */
static int mode_spawn(void) {
  make_tmpdir();
  char path[512];
  snprintf(path, sizeof path, "%s/spawned-file", tmpdir_path);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 10, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 10, 11);
  int keep = open("/proc/self/exe", O_RDONLY);
  dup2(keep, 12);
  posix_spawn_file_actions_addclose(&fa, 12);
  int cloexec = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  dup2(cloexec, 13);
  fcntl(13, F_SETFD, FD_CLOEXEC);
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  sigset_t mask, def;
  sigemptyset(&mask);
  sigaddset(&mask, SIGHUP);
  sigemptyset(&def);
  sigaddset(&def, SIGUSR2);
  signal(SIGUSR2, SIG_IGN);  // SETSIGDEF puts it back to default in the child
  posix_spawnattr_setsigmask(&at, &mask);
  posix_spawnattr_setsigdefault(&at, &def);
  posix_spawnattr_setpgroup(&at, 0);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  char *args[] = {"spawned", "spawned", NULL};
  pid_t p;
  int r = posix_spawn(&p, "/proc/self/exe", &fa, &at, args, make_env(NULL));
  out("posix_spawn: %s\n", errname(r));
  if (r == 0) reap("spawned", p);
  char buf[512] = {0};
  int fd = open(path, O_RDONLY);
  read(fd, buf, sizeof buf - 1);
  close(fd);
  out("the spawned program wrote to its fd 11: %s", buf);
  unlink(path);
  rmdir(tmpdir_path);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);

  // posix_spawnp through PATH.
  char dir[4096];
  strcpy(dir, self_path);
  char *slash = strrchr(dir, '/');
  *slash = 0;
  // (posix_spawnp searches the caller's PATH, not the one it passes on.)
  char search[4200];
  snprintf(search, sizeof search, "/nonexistent-dir:%s", dir);
  setenv("PATH", search, 1);
  char *args2[] = {slash + 1, "exit-with", "3", NULL};
  r = posix_spawnp(&p, slash + 1, NULL, NULL, args2, make_env(NULL));
  out("posix_spawnp through PATH: %s\n", errname(r));
  if (r == 0) reap("spawned", p);
  // A program that does not exist: posix_spawn reports the exec's errno.
  r = posix_spawn(&p, "/nonexistent-program", NULL, NULL, args, make_env(NULL));
  out("posix_spawn of a missing program: %s\n", errname(r));
  if (r == 0) reap("spawned", p);
  return 0;
}

/** spawned: what posix_spawn set up. */
static int image_spawned(void) {
  char line[256];
  sigset_t mask;
  sigprocmask(SIG_SETMASK, NULL, &mask);
  int n = snprintf(line, sizeof line, "fd 10 %s, fd 12 closed %s, fd 13 closed %s, SIGHUP blocked %s, SIGUSR2 %s, own group %s\n",
                   fcntl(10, F_GETFD) >= 0 ? "open" : "closed", yes(fcntl(12, F_GETFD) < 0), yes(fcntl(13, F_GETFD) < 0),
                   yes(sigismember(&mask, SIGHUP)), disposition(SIGUSR2), yes(getpgrp() == getpid()));
  write(11, line, n);
  return 0;
}

/** popen: read a command's output, then its status from pclose. */
static int mode_popen(void) {
  FILE *f = popen("echo from popen; echo a second line; exit 4", "r");
  if (!f) {
    out("popen: %s\n", errname(errno));
    return 1;
  }
  char line[256];
  while (fgets(line, sizeof line, f)) out("read: %s", line);
  int status = pclose(f);
  describe("pclose", status);
  return 0;
}

/** system: a command's status; system(NULL) asks whether there is a shell. */
static int mode_system(void) {
  out("system(NULL): %s\n", yes(system(NULL) != 0));
  fflush(stdout);
  int status = system("echo via system");
  describe("system echo", status);
  status = system("exit 7");
  describe("system exit 7", status);
  status = system("no-such-command-here");
  describe("system of a missing command", status);
  return 0;
}

int main(int argc, char **argv) {
  const char *base = strrchr(argv[0], '/');
  base = base ? base + 1 : argv[0];
  if (strcmp(base, "sh") == 0) return mini_sh(argc, argv);
  find_self();
  const char *mode = argc > 1 ? argv[1] : "";
  // The new images.
  if (strcmp(mode, "show-args") == 0) return image_show_args(argc, argv);
  if (strcmp(mode, "fds") == 0) return image_fds();
  if (strcmp(mode, "sigs") == 0) return image_sigs();
  if (strcmp(mode, "show-ids") == 0) return image_ids();
  if (strcmp(mode, "spawned") == 0) return image_spawned();
  if (strncmp(mode, "script-interp", 13) == 0) return image_script(argc, argv);
  if (strcmp(mode, "exit-with") == 0 && argc > 2) {
    out("new image exits %s\n", argv[2]);
    return atoi(argv[2]);
  }
  if (strcmp(mode, "die-with") == 0 && argc > 2) {
    signal(atoi(argv[2]), SIG_DFL);
    raise(atoi(argv[2]));
    return 99;
  }
  if (strcmp(mode, "say-on-fd") == 0 && argc > 3) {
    int fd = atoi(argv[2]);
    dprintf(fd, "%s\n", argv[3]);
    return 0;
  }
  if (strcmp(mode, "wait-on-fd") == 0 && argc > 2) {
    char buf[4];
    ssize_t n = read(atoi(argv[2]), buf, sizeof buf);
    return n == 2 ? 0 : 1;
  }
  // The tests.
  out("proc-exec %s\n", mode);
  if (strcmp(mode, "self") == 0) return mode_self();
  if (strcmp(mode, "path") == 0) return mode_path(argc, argv);
  if (strcmp(mode, "script") == 0) return mode_script();
  if (strcmp(mode, "errors") == 0) return mode_errors();
  if (strcmp(mode, "cloexec") == 0) return mode_cloexec();
  if (strcmp(mode, "signals") == 0) return mode_signals();
  if (strcmp(mode, "ids") == 0) return mode_ids();
  if (strcmp(mode, "thread") == 0) return mode_thread();
  if (strcmp(mode, "fork-exec") == 0) return mode_fork_exec();
  if (strcmp(mode, "vfork-exec") == 0) return mode_vfork_exec();
  if (strcmp(mode, "spawn") == 0) return mode_spawn();
  if (strcmp(mode, "popen") == 0) return mode_popen();
  if (strcmp(mode, "system") == 0) return mode_system();
  fprintf(stderr, "proc-exec: unknown mode '%s'\n", mode);
  return 2;
}

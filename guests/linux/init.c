/*
 * ringvisor-init: the /init (PID 1) of ringvisor's guest Linux initramfs.
 *
 * A tiny line-oriented shell on /dev/console. It prints a banner and a
 * prompt, reads a line, splits it into words and runs a builtin, or any other
 * program with fork + execve (PATH=/bin:/sbin). Its output is deterministic
 * (no times, no addresses, no pids), so that a console transcript under QEMU
 * can be compared byte for byte with one under ringvisor.
 *
 * It never echoes input: on a tty the line discipline does that. On end of
 * input (read returns 0: a pipe closed, or ^D typed on the tty) it powers the
 * machine off. PID 1 must never exit (the kernel would panic), so `exit` also
 * powers off. Run as an ordinary process (pid != 1, e.g. under qemu-riscv64
 * for testing) `poweroff`, `reboot`, `exit` and end of input just exit.
 *
 * Words: split on spaces and tabs; '...' and "..." group words (no escapes);
 * the word $? is the last status. A line starting with # is a comment.
 *
 * Built with: riscv64-linux-gnu-gcc -static -O2 (glibc).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROMPT "ringvisor-init# "
#define BANNER "ringvisor-init: PID 1 shell, type help for commands"
#define MAXLINE 4096
#define MAXARGS 64

static const char *const path_dirs[] = {"/bin", "/sbin", NULL};
static char *const child_env[] = {"PATH=/bin:/sbin", "HOME=/", "TERM=linux", NULL};

static int is_init;   /* getpid() == 1 */
static int last_status;

/* ---- output: unbuffered, so it interleaves correctly with children ---- */

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static void out(const char *s) { write_all(1, s, strlen(s)); }

__attribute__((format(printf, 1, 2))) static void outf(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof buf - 1)
		n = sizeof buf - 1;
	if (n > 0)
		write_all(1, buf, (size_t)n);
}

/* "cmd: what: strerror(errno)" on stderr; returns 1 (the status) */
static int fail(const char *cmd, const char *what)
{
	char buf[1024];
	int e = errno;
	int n = snprintf(buf, sizeof buf, "%s: %s: %s\n", cmd, what, strerror(e));
	if (n > (int)sizeof buf - 1)
		n = sizeof buf - 1;
	write_all(2, buf, (size_t)n);
	return 1;
}

static int usage(const char *text)
{
	write_all(2, "usage: ", 7);
	write_all(2, text, strlen(text));
	write_all(2, "\n", 1);
	return 2;
}

/* ---- power ---- */

static int power(int cmd, const char *name)
{
	sync();
	if (!is_init)
		exit(last_status);
	if (reboot(cmd) < 0)
		return fail(name, "reboot");
	for (;;)
		pause();
}

/* ---- builtins ---- */

static int b_echo(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (i > 1)
			out(" ");
		out(argv[i]);
	}
	out("\n");
	return 0;
}

static int copy_fd(int fd, const char *cmd, const char *name, long long limit_bytes, long long limit_lines)
{
	char buf[4096];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail(cmd, name);
		}
		if (n == 0)
			return 0;
		size_t len = (size_t)n;
		if (limit_bytes >= 0 && (long long)len > limit_bytes)
			len = (size_t)limit_bytes;
		if (limit_lines >= 0) {
			for (size_t i = 0; i < len; i++)
				if (buf[i] == '\n' && --limit_lines == 0) {
					len = i + 1;
					break;
				}
		}
		write_all(1, buf, len);
		if (limit_bytes >= 0 && (limit_bytes -= (long long)len) == 0)
			return 0;
		if (limit_lines == 0)
			return 0;
	}
}

static int cat_files(const char *cmd, int first, int argc, char **argv, long long bytes, long long lines)
{
	int status = 0;
	if (first >= argc)
		return copy_fd(0, cmd, "stdin", bytes, lines);
	for (int i = first; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY);
		if (fd < 0) {
			status = fail(cmd, argv[i]);
			continue;
		}
		if (copy_fd(fd, cmd, argv[i], bytes, lines))
			status = 1;
		close(fd);
	}
	return status;
}

static int b_cat(int argc, char **argv) { return cat_files("cat", 1, argc, argv, -1, -1); }

/* head [-n LINES | -c BYTES] FILE... (default 10 lines) */
static int b_head(int argc, char **argv)
{
	long long lines = 10, bytes = -1;
	int i = 1;
	if (i + 1 < argc && (!strcmp(argv[i], "-n") || !strcmp(argv[i], "-c"))) {
		char *end;
		long long v = strtoll(argv[i + 1], &end, 10);
		if (*end || v < 0)
			return usage("head [-n LINES | -c BYTES] [FILE]...");
		if (argv[i][1] == 'n')
			lines = v;
		else {
			bytes = v;
			lines = -1;
		}
		i += 2;
	}
	if (lines == 0 || bytes == 0)
		return 0;
	return cat_files("head", i, argc, argv, bytes, lines);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ls_one(const char *path, int header)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return fail("ls", path);
	if (!S_ISDIR(st.st_mode)) {
		outf("%s\n", path);
		return 0;
	}
	DIR *d = opendir(path);
	if (!d)
		return fail("ls", path);
	size_t n = 0, cap = 64;
	char **names = malloc(cap * sizeof *names);
	struct dirent *e;
	while (names && (e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == cap) {
			char **more = realloc(names, (cap *= 2) * sizeof *names);
			if (!more)
				break;
			names = more;
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (!names) {
		errno = ENOMEM;
		return fail("ls", path);
	}
	qsort(names, n, sizeof *names, cmp_names);
	if (header)
		outf("%s:\n", path);
	for (size_t i = 0; i < n; i++) {
		if (names[i])
			outf("%s\n", names[i]);
		free(names[i]);
	}
	free(names);
	return 0;
}

static int b_ls(int argc, char **argv)
{
	if (argc < 2)
		return ls_one(".", 0);
	int status = 0;
	for (int i = 1; i < argc; i++) {
		if (argc > 2 && i > 1)
			out("\n");
		if (ls_one(argv[i], argc > 2))
			status = 1;
	}
	return status;
}

/* mount [-t TYPE] [-o OPTS] SRC DIR; no arguments: show /proc/mounts */
static int b_mount(int argc, char **argv)
{
	const char *type = NULL, *opts = NULL, *args[2];
	int nargs = 0;
	if (argc == 1) {
		char *cargv[] = {"mount", "/proc/mounts", NULL};
		return cat_files("mount", 1, 2, cargv, -1, -1);
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-t") && i + 1 < argc)
			type = argv[++i];
		else if (!strcmp(argv[i], "-o") && i + 1 < argc)
			opts = argv[++i];
		else if (nargs < 2)
			args[nargs++] = argv[i];
		else
			nargs = 3;
	}
	if (nargs != 2 || !type)
		return usage("mount -t TYPE [-o OPTIONS] SOURCE DIR");
	unsigned long flags = 0;
	if (opts && !strcmp(opts, "ro")) {
		flags = MS_RDONLY;
		opts = NULL;
	}
	if (mount(args[0], args[1], type, flags, opts) < 0)
		return fail("mount", args[1]);
	return 0;
}

static int b_umount(int argc, char **argv)
{
	if (argc != 2)
		return usage("umount DIR");
	if (umount(argv[1]) < 0)
		return fail("umount", argv[1]);
	return 0;
}

static int b_uname(int argc, char **argv)
{
	struct utsname u;
	if (uname(&u) < 0)
		return fail("uname", "uname");
	if (argc == 1)
		outf("%s\n", u.sysname);
	else if (argc == 2 && !strcmp(argv[1], "-a"))
		outf("%s %s %s %s %s\n", u.sysname, u.nodename, u.release, u.version, u.machine);
	else if (argc == 2 && !strcmp(argv[1], "-r"))
		outf("%s\n", u.release);
	else if (argc == 2 && !strcmp(argv[1], "-m"))
		outf("%s\n", u.machine);
	else
		return usage("uname [-a|-r|-m]");
	return 0;
}

static int b_mkdir(int argc, char **argv)
{
	if (argc < 2)
		return usage("mkdir DIR...");
	int status = 0;
	for (int i = 1; i < argc; i++)
		if (mkdir(argv[i], 0755) < 0)
			status = fail("mkdir", argv[i]);
	return status;
}

static int b_rm(int argc, char **argv)
{
	if (argc < 2)
		return usage("rm FILE...");
	int status = 0;
	for (int i = 1; i < argc; i++)
		if (unlink(argv[i]) < 0 && (errno != EISDIR || rmdir(argv[i]) < 0))
			status = fail("rm", argv[i]);
	return status;
}

/* write FILE TEXT...: FILE gets the words joined by spaces, and a newline */
static int b_write(int argc, char **argv)
{
	if (argc < 2)
		return usage("write FILE [TEXT]...");
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fail("write", argv[1]);
	for (int i = 2; i < argc; i++) {
		if (i > 2)
			write_all(fd, " ", 1);
		write_all(fd, argv[i], strlen(argv[i]));
	}
	int status = 0;
	if (write(fd, "\n", 1) != 1)
		status = fail("write", argv[1]);
	if (close(fd) < 0)
		status = fail("write", argv[1]);
	return status;
}

static int b_sleep(int argc, char **argv)
{
	char *end;
	double s = argc == 2 ? strtod(argv[1], &end) : -1;
	if (argc != 2 || *end || s < 0)
		return usage("sleep SECONDS");
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return 0;
}

static int b_cd(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/";
	if (chdir(dir) < 0)
		return fail("cd", dir);
	return 0;
}

static int b_pwd(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char buf[4096];
	if (!getcwd(buf, sizeof buf))
		return fail("pwd", ".");
	outf("%s\n", buf);
	return 0;
}

/* dmesg: print the kernel log buffer; dmesg -n LEVEL: set the console level */
static int b_dmesg(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "-n")) {
		if (klogctl(8 /* SYSLOG_ACTION_CONSOLE_LEVEL */, NULL, atoi(argv[2])) < 0)
			return fail("dmesg", "console level");
		return 0;
	}
	if (argc != 1)
		return usage("dmesg [-n LEVEL]");
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	if (size <= 0)
		size = 1 << 16;
	char *buf = malloc((size_t)size);
	if (!buf) {
		errno = ENOMEM;
		return fail("dmesg", "buffer");
	}
	int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size);
	if (n < 0) {
		free(buf);
		return fail("dmesg", "read");
	}
	write_all(1, buf, (size_t)n);
	free(buf);
	return 0;
}

static int b_poweroff(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return power(RB_POWER_OFF, "poweroff");
}

static int b_reboot(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return power(RB_AUTOBOOT, "reboot");
}

static int b_exit(int argc, char **argv)
{
	if (argc > 1)
		last_status = atoi(argv[1]);
	if (is_init)
		out("exit: PID 1 cannot exit; powering off\n");
	return power(RB_POWER_OFF, "exit");
}

static int b_true(int argc, char **argv) { (void)argc; (void)argv; return 0; }
static int b_false(int argc, char **argv) { (void)argc; (void)argv; return 1; }
static int b_help(int argc, char **argv);

struct builtin {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
};

static const struct builtin builtins[] = {
	{"echo", b_echo, "echo [WORD]..."},
	{"cat", b_cat, "cat [FILE]..."},
	{"head", b_head, "head [-n LINES | -c BYTES] [FILE]..."},
	{"ls", b_ls, "ls [PATH]..."},
	{"mount", b_mount, "mount -t TYPE [-o OPTIONS] SOURCE DIR"},
	{"umount", b_umount, "umount DIR"},
	{"uname", b_uname, "uname [-a|-r|-m]"},
	{"mkdir", b_mkdir, "mkdir DIR..."},
	{"rm", b_rm, "rm PATH..."},
	{"write", b_write, "write FILE [TEXT]..."},
	{"sleep", b_sleep, "sleep SECONDS"},
	{"cd", b_cd, "cd [DIR]"},
	{"pwd", b_pwd, "pwd"},
	{"dmesg", b_dmesg, "dmesg [-n LEVEL]"},
	{"true", b_true, "true"},
	{"false", b_false, "false"},
	{"poweroff", b_poweroff, "poweroff"},
	{"reboot", b_reboot, "reboot"},
	{"exit", b_exit, "exit [STATUS]  (as PID 1: power off)"},
	{"help", b_help, "help"},
	{NULL, NULL, NULL},
};

static int b_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (const struct builtin *b = builtins; b->name; b++)
		outf("  %s\n", b->help);
	out("  any other command: run /bin/NAME or /sbin/NAME (or a PATH with /)\n");
	return 0;
}

/* ---- external programs ---- */

static int find_program(const char *name, char *path, size_t size)
{
	if (strchr(name, '/')) {
		snprintf(path, size, "%s", name);
		return access(path, F_OK) == 0 ? 0 : -1;
	}
	for (int i = 0; path_dirs[i]; i++) {
		snprintf(path, size, "%s/%s", path_dirs[i], name);
		if (access(path, X_OK) == 0)
			return 0;
	}
	errno = ENOENT;
	return -1;
}

static int run_external(char **argv)
{
	char path[4096];
	if (find_program(argv[0], path, sizeof path) < 0) {
		if (strchr(argv[0], '/')) {
			fail(argv[0], "cannot run");
			return 127;
		}
		char buf[512];
		int n = snprintf(buf, sizeof buf, "%s: command not found\n", argv[0]);
		write_all(2, buf, (size_t)(n < (int)sizeof buf ? n : (int)sizeof buf - 1));
		return 127;
	}
	pid_t pid = fork();
	if (pid < 0)
		return fail(argv[0], "fork");
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		signal(SIGTSTP, SIG_DFL);
		execve(path, argv, child_env);
		fail(argv[0], path);
		_exit(126);
	}
	int ws;
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return fail(argv[0], "wait");
	int status;
	if (WIFEXITED(ws)) {
		status = WEXITSTATUS(ws);
		if (status)
			outf("exit status %d\n", status);
	} else {
		int sig = WTERMSIG(ws);
		status = 128 + sig;
		outf("killed by signal %d (%s)%s\n", sig, strsignal(sig), WCOREDUMP(ws) ? ", core dumped" : "");
	}
	return status;
}

/* ---- the shell loop ---- */

/* Reads one line, a byte at a time, so that a child started by this line
 * still finds the rest of the input unread. Returns 0 at end of input. */
static int read_line(char *buf, size_t size)
{
	size_t n = 0;
	for (;;) {
		char c;
		ssize_t r = read(0, &c, 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (n > 0)
				break;
			return 0;
		}
		if (r == 0) {
			if (n > 0)
				break; /* last line without a newline */
			return 0;
		}
		if (c == '\n')
			break;
		if (n + 1 < size)
			buf[n++] = c;
	}
	while (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = 0;
	return 1;
}

static char status_word[16];

static int split(char *line, char **argv)
{
	int argc = 0;
	char *r = line, *w = line;
	for (;;) {
		while (*r == ' ' || *r == '\t')
			r++;
		if (!*r)
			break;
		char *word = w;
		int quoted = 0;
		while (*r && *r != ' ' && *r != '\t') {
			if (*r == '\'' || *r == '"') {
				char q = *r++;
				quoted = 1;
				while (*r && *r != q)
					*w++ = *r++;
				if (*r)
					r++;
			} else {
				*w++ = *r++;
			}
		}
		if (*r)
			r++;
		*w++ = 0;
		if (!quoted && !strcmp(word, "$?")) {
			snprintf(status_word, sizeof status_word, "%d", last_status);
			word = status_word;
		}
		if (argc < MAXARGS)
			argv[argc++] = word;
	}
	argv[argc] = NULL;
	return argc;
}

/* If the kernel could not open /dev/console for us (no such node in the
 * initramfs), mount devtmpfs on /dev and open it ourselves. */
static void ensure_console(void)
{
	if (fcntl(0, F_GETFD) >= 0 && fcntl(1, F_GETFD) >= 0 && fcntl(2, F_GETFD) >= 0)
		return;
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0) {
		mkdir("/dev", 0755);
		mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
		fd = open("/dev/console", O_RDWR | O_NOCTTY);
	}
	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		if (fd != i)
			dup2(fd, i);
	if (fd > 2)
		close(fd);
}

int main(void)
{
	is_init = getpid() == 1;
	if (is_init) {
		ensure_console();
		umask(022);
		if (chdir("/") < 0)
			fail("init", "/");
	}
	out(BANNER "\n");
	static char line[MAXLINE];
	char *argv[MAXARGS + 1];
	for (;;) {
		/* PID 1 adopts orphans: reap any that have exited */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		out(PROMPT);
		if (!read_line(line, sizeof line)) {
			out("\ninit: end of input; powering off\n");
			power(RB_POWER_OFF, "poweroff");
			continue;
		}
		if (line[strspn(line, " \t")] == '#')
			continue;
		int argc = split(line, argv);
		if (argc == 0)
			continue;
		const struct builtin *b = builtins;
		while (b->name && strcmp(b->name, argv[0]))
			b++;
		last_status = b->name ? b->fn(argc, argv) : run_external(argv);
	}
}

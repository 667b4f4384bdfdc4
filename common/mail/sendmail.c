/* The sendmail transport (transport.h; MAS: lettre's AsyncSendmailTransport): the command run
 * with posix_spawn — no shell, an argument vector — as COMMAND -i -f FROM -- TO, the message on
 * its standard input, its output (standard output and error together) kept for the message an
 * operator reads, and its exit status read as sysexits(3) says. The addresses were checked by
 * mail_address_parse() and stand after "-f" and "--", so none can be taken for an option. */
#include "mail_internal.h"
#include "clock.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

extern char **environ;

#define OUTPUT_MAX 200 /* of the command's output, for the message */

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static int spawn(const char *command, char *const argv[], int in, int out, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dflt;
    sigemptyset(&none);
    sigemptyset(&dflt);
    /* masd-worker blocks SIGTERM and SIGINT and ignores SIGPIPE; the child starts clean */
    for (int s = 1; s < 32; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaddset(&dflt, s);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_adddup2(&fa, in, 0);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, out, 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3); /* nothing of the worker's leaks to it */
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dflt);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int e = strchr(command, '/') ? posix_spawn(pid, command, &fa, &at, argv, environ)
                                 : posix_spawnp(pid, command, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    return -e;
}

struct run {
    int in, out; /* our ends: the command's standard input, its output */
    const char *msg;
    size_t len, sent;
    char output[OUTPUT_MAX + 1];
    size_t got;
    bool write_failed;
};

/* Feeds the message and reads the output until both ends are done, the child exited (a child
 * that left a daemon holding its output is not waited for), or the deadline. */
static bool pump(struct run *r, pid_t pid, int *status, bool *exited, int64_t deadline)
{
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old); /* a write to a command that exited: EPIPE, no signal */
    if (r->len == 0)
        close_fd(&r->in);
    while (r->in >= 0 || r->out >= 0) {
        int64_t left = deadline - masd_monotonic_ms();
        if (left <= 0)
            break;
        if (r->in < 0 && waitpid(pid, status, WNOHANG) == pid) {
            *exited = true;
            break;
        }
        struct pollfd p[2] = {{r->in, POLLOUT, 0}, {r->out, POLLIN, 0}};
        if (poll(p, 2, (int)(left < 100 ? left : 100)) < 0 && errno != EINTR)
            break;
        if (r->in >= 0 && p[0].revents) {
            ssize_t n = write(r->in, r->msg + r->sent, r->len - r->sent);
            if (n > 0 && (r->sent += (size_t)n) == r->len)
                close_fd(&r->in);
            else if (n < 0 && errno != EAGAIN && errno != EINTR)
                r->write_failed = true, close_fd(&r->in);
        }
        if (r->out >= 0 && p[1].revents) {
            char buf[512];
            ssize_t n = read(r->out, buf, sizeof(buf));
            if (n > 0 && r->got < OUTPUT_MAX) {
                size_t k = (size_t)n < OUTPUT_MAX - r->got ? (size_t)n : OUTPUT_MAX - r->got;
                memcpy(r->output + r->got, buf, k);
                r->got += k;
            } else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                close_fd(&r->out);
            }
        }
    }
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &zero) > 0)
        ;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return masd_monotonic_ms() < deadline;
}

/* sysexits(3): the address or the message is wrong; anything else (EX_TEMPFAIL, EX_UNAVAILABLE,
 * EX_SOFTWARE, ...) may pass. */
static bool permanent(int code)
{
    return code == EX_USAGE || code == EX_DATAERR || code == EX_NOUSER || code == EX_NOHOST;
}

int mail_sendmail(const char *command, const struct mail_address *from, const struct mail_address *to,
                  const char *msg, size_t len, long timeout_ms, char *why, size_t size)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
        int e = errno;
        close_fd(&in[0]), close_fd(&in[1]);
        snprintf(why, size, "sendmail: cannot make a pipe: %s", strerror(e));
        return -EAGAIN;
    }
    char *const argv[] = {(char *)command, "-i", "-f", (char *)from->ascii, "--", (char *)to->ascii, NULL};
    pid_t pid;
    int r = spawn(command, argv, in[0], out[1], &pid);
    close_fd(&in[0]), close_fd(&out[1]);
    if (r < 0) {
        close_fd(&in[1]), close_fd(&out[0]);
        snprintf(why, size, "cannot run '%s': %s", command, strerror(-r));
        return -EAGAIN;
    }
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    struct run run = {.in = in[1], .out = out[0], .msg = msg, .len = len};
    int status = 0;
    bool exited = false;
    bool in_time = pump(&run, pid, &status, &exited, masd_monotonic_ms() + timeout_ms);
    close_fd(&run.in), close_fd(&run.out);
    if (!exited && in_time) { /* output closed: the child is exiting; wait for it, still bounded */
        int64_t deadline = masd_monotonic_ms() + 1000;
        while (!(exited = waitpid(pid, &status, WNOHANG) == pid) && masd_monotonic_ms() < deadline)
            usleep(5000);
        in_time = exited;
    }
    if (!exited) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        snprintf(why, size, "'%s' did not finish within %ld s: killed", command, timeout_ms / 1000);
        return -EAGAIN;
    }
    run.output[run.got] = '\0';
    char *nl = strpbrk(run.output, "\r\n");
    if (nl && nl != run.output)
        *nl = '\0';
    if (WIFSIGNALED(status)) {
        snprintf(why, size, "'%s' was killed by signal %d", command, WTERMSIG(status));
        return -EAGAIN;
    }
    int code = WEXITSTATUS(status);
    if (code == 0 && run.sent == len) {
        snprintf(why, size, "handed to '%s'", command);
        return 0;
    }
    if (code == 0)
        snprintf(why, size, "'%s' exited before reading the whole message", command);
    else
        snprintf(why, size, "'%s' exited with status %d%s%s", command, code, run.output[0] ? ": " : "",
                 run.output);
    return code && permanent(code) ? -EBADMSG : -EAGAIN;
}

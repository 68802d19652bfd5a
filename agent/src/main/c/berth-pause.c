/*
 * berth-pause: pid 1 of a pod's shared PID namespace (shareProcessNamespace). It holds the namespace
 * open for the pod's containers and reaps the orphans the kernel re-parents to it (pid_namespaces(7));
 * it exits on SIGTERM or SIGINT. The same job as Kubernetes' pause container (build/pause/linux/pause.c),
 * written for berth: a static binary with no files around it, run by a shim from a tiny rootfs.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) {
    (void) sig;
    _exit(0);
}

static void reap(int sig) {
    (void) sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    errno = saved;
}

int main(void) {
    if (getpid() != 1) {
        /* Outside its own PID namespace it would reap nobody's orphans: refuse loudly. */
        static const char msg[] = "berth-pause: must run as pid 1 of a PID namespace\n";
        (void) !write(2, msg, sizeof msg - 1);
        return 1;
    }
    struct sigaction term = {.sa_handler = stop};
    sigaction(SIGINT, &term, NULL);
    sigaction(SIGTERM, &term, NULL);
    struct sigaction chld = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
    sigaction(SIGCHLD, &chld, NULL);
    for (;;) {
        pause();
    }
}

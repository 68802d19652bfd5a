package io.berth.kernel.seccomp;

import io.berth.kernel.Credentials;
import io.berth.kernel.seccomp.SeccompProfile.Action;
import io.berth.kernel.seccomp.SeccompProfile.Arg;
import io.berth.kernel.seccomp.SeccompProfile.Op;
import io.berth.kernel.seccomp.SeccompProfile.Rule;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The RuntimeDefault profile: the allow-list of the Docker/moby default seccomp profile
 * (profiles/seccomp/default.json, the profile containerd's and CRI-O's RuntimeDefault follow),
 * resolved for x86_64: default action EPERM; a base allow-list; syscalls that need a capability
 * allowed only when the container has it; clone restricted to flags without CLONE_NEW* unless
 * CAP_SYS_ADMIN; clone3 failing with ENOSYS (so libcs fall back to clone, whose flags can be
 * checked); socket(AF_VSOCK) refused; personality limited to the harmless personas.
 */
public final class RuntimeDefault {
    private static final int ENOSYS = 38;

    private static final String[] BASE = {
            "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset", "chdir", "chmod",
            "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64",
            "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range",
            "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
            "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd",
            "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64",
            "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown", "fchown32",
            "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
            "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64",
            "futex", "futex_time64", "futex_waitv", "futimesat", "getcpu", "getcwd", "getdents", "getdents64",
            "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32",
            "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom",
            "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage",
            "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32",
            "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel",
            "ioctl", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get",
            "ioprio_set", "io_setup", "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc",
            "kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32",
            "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek",
            "lsetxattr", "lstat", "lstat64", "madvise", "membarrier", "memfd_create", "memfd_secret", "mincore",
            "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect",
            "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
            "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
            "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat",
            "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
            "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
            "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead",
            "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
            "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq",
            "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
            "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
            "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
            "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
            "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
            "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto",
            "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32",
            "setitimer", "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
            "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid", "setsockopt",
            "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt",
            "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall",
            "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
            "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
            "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
            "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
            "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime",
            "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
            "writev", "process_vm_readv", "process_vm_writev", "ptrace", "arch_prctl", "modify_ldt"};

    /** Syscalls allowed only with a capability (the profile's "includes": {"caps": [...]}). */
    private static final List<List<String>> BY_CAP = List.of(
            List.of("CAP_DAC_READ_SEARCH", "open_by_handle_at"),
            List.of("CAP_SYS_ADMIN", "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
                    "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl",
                    "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare"),
            List.of("CAP_SYS_BOOT", "reboot"),
            List.of("CAP_SYS_CHROOT", "chroot"),
            List.of("CAP_SYS_MODULE", "delete_module", "init_module", "finit_module"),
            List.of("CAP_SYS_PACCT", "acct"),
            List.of("CAP_SYS_PTRACE", "kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"),
            List.of("CAP_SYS_RAWIO", "iopl", "ioperm"),
            List.of("CAP_SYS_TIME", "settimeofday", "stime", "clock_settime", "clock_settime64"),
            List.of("CAP_SYS_TTY_CONFIG", "vhangup"),
            List.of("CAP_SYS_NICE", "get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"),
            List.of("CAP_SYSLOG", "syslog"),
            List.of("CAP_BPF", "bpf"),
            List.of("CAP_PERFMON", "perf_event_open"));

    /** Compiled filters by capability set: a node's containers use a handful of sets. */
    private static final Map<Set<String>, byte[]> FILTERS = new ConcurrentHashMap<>();

    private RuntimeDefault() {
    }

    /**
     * The compiled filter (see {@link BpfCompiler}) of {@link #forCapabilities} for capability names
     * as a container spec gives them ({@code CAP_CHOWN} or {@code chown}, any case); compiled once per
     * capability set. The caller must not modify the array.
     */
    public static byte[] filter(Collection<String> capabilityNames) {
        var caps = new TreeSet<String>();
        for (String name : capabilityNames) {
            caps.add(Credentials.CAP_NAMES.get(Credentials.capNumber(name)));
        }
        return FILTERS.computeIfAbsent(Set.copyOf(caps), c -> BpfCompiler.compile(forCapabilities(c)));
    }

    /** The profile for a container whose capability set (names like CAP_SYS_ADMIN) is {@code caps}. */
    public static SeccompProfile forCapabilities(Set<String> caps) {
        var rules = new ArrayList<Rule>();
        for (String name : BASE) {
            rules.add(new Rule(name, Action.ALLOW));
        }
        // socket: anything but AF_VSOCK (40), which would reach the host across namespaces.
        rules.add(new Rule("socket", Action.ALLOW, 0, List.of(new Arg(0, 40, 0, Op.NE))));
        for (long persona : new long[] {0x0, 0x8, 0x20000, 0x20008, 0xffffffffL}) {
            rules.add(new Rule("personality", Action.ALLOW, 0, List.of(new Arg(0, persona, 0, Op.EQ))));
        }
        for (List<String> group : BY_CAP) {
            if (caps.contains(group.getFirst())) {
                for (String name : group.subList(1, group.size())) {
                    rules.add(new Rule(name, Action.ALLOW));
                }
            }
        }
        if (!caps.contains("CAP_SYS_ADMIN")) {
            // clone without any CLONE_NEW* flag (mask 0x7E020000), and clone3 → ENOSYS since its
            // flags live in memory where BPF cannot look.
            rules.add(new Rule("clone", Action.ALLOW, 0, List.of(new Arg(0, 0x7E020000L, 0, Op.MASKED_EQ))));
            rules.add(new Rule("clone3", Action.ERRNO, ENOSYS, List.of()));
        }
        return new SeccompProfile(Action.ERRNO, 1, rules);
    }
}

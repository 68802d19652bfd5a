package io.berth.kernel.seccomp;

import com.sun.jna.Function;
import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.berth.kernel.Jna;
import io.berth.kernel.SyscallException;

/**
 * Installs a compiled filter on the calling thread with seccomp(2) SECCOMP_SET_MODE_FILTER and no
 * TSYNC flag, so only this thread (and what it spawns) is filtered, never the rest of the JVM.
 * Needs no_new_privs or CAP_SYS_ADMIN in the thread's effective set (seccomp(2)).
 */
public final class Seccomp {
    private static final long SYS_SECCOMP = 317;
    private static final long SECCOMP_SET_MODE_FILTER = 1;

    /** syscall(2) as a JNA function (see io.berth.kernel.Libc for why not direct mapping). */
    private static final class C {
        static final Function SYSCALL = Jna.library("c").getFunction("syscall", Function.THROW_LAST_ERROR);
    }

    private Seccomp() {
    }

    public static void install(byte[] filter) {
        int n = filter.length / 8;
        try (Memory prog = new Memory(filter.length); Memory fprog = new Memory(16)) {
            prog.write(0, filter, 0, filter.length);
            fprog.setShort(0, (short) n); // struct sock_fprog { unsigned short len; struct sock_filter *filter; }
            fprog.setPointer(8, prog);
            C.SYSCALL.invokeLong(new Object[] {SYS_SECCOMP, SECCOMP_SET_MODE_FILTER, 0L, Pointer.nativeValue(fprog)});
        } catch (LastErrorException e) {
            throw new SyscallException("seccomp", "SECCOMP_SET_MODE_FILTER (" + n + " instructions)", e.getErrorCode());
        }
    }

    /** Loads the native bindings now, on a normal thread (a tainted thread cannot start JNA's helpers). */
    public static void preload() {
        try {
            Class.forName(C.class.getName(), true, C.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
    }
}

package io.berth.agent.container;

import io.berth.agent.domain.BerthException;
import java.util.Locale;
import java.util.Map;

/** Signal names (as images and CRI's Signal enum give them) to numbers on Linux x86_64 (signal(7)). */
final class Signals {
    private static final Map<String, Integer> NUMBERS = Map.ofEntries(
            Map.entry("HUP", 1), Map.entry("INT", 2), Map.entry("QUIT", 3), Map.entry("ILL", 4),
            Map.entry("TRAP", 5), Map.entry("ABRT", 6), Map.entry("IOT", 6), Map.entry("BUS", 7),
            Map.entry("FPE", 8), Map.entry("KILL", 9), Map.entry("USR1", 10), Map.entry("SEGV", 11),
            Map.entry("USR2", 12), Map.entry("PIPE", 13), Map.entry("ALRM", 14), Map.entry("TERM", 15),
            Map.entry("STKFLT", 16), Map.entry("CHLD", 17), Map.entry("CONT", 18), Map.entry("STOP", 19),
            Map.entry("TSTP", 20), Map.entry("TTIN", 21), Map.entry("TTOU", 22), Map.entry("URG", 23),
            Map.entry("XCPU", 24), Map.entry("XFSZ", 25), Map.entry("VTALRM", 26), Map.entry("PROF", 27),
            Map.entry("WINCH", 28), Map.entry("IO", 29), Map.entry("POLL", 29), Map.entry("PWR", 30),
            Map.entry("SYS", 31));

    private Signals() {
    }

    /** "SIGTERM", "TERM", "15" or "SIGRTMIN+3" → its number; empty → {@code fallback}. */
    static int number(String name, int fallback) {
        if (name == null || name.isEmpty() || name.equals("RUNTIME_DEFAULT")) {
            return fallback;
        }
        String n = name.toUpperCase(Locale.ROOT);
        if (n.chars().allMatch(Character::isDigit)) {
            return Integer.parseInt(n);
        }
        if (n.startsWith("SIG")) {
            n = n.substring(3);
        }
        if (n.startsWith("RTMIN")) {
            return 34 + (n.length() > 5 ? Integer.parseInt(n.substring(6)) * (n.charAt(5) == '-' ? -1 : 1) : 0);
        }
        if (n.startsWith("RTMAX")) {
            return 64 + (n.length() > 5 ? Integer.parseInt(n.substring(6)) * (n.charAt(5) == '-' ? -1 : 1) : 0);
        }
        Integer number = NUMBERS.get(n);
        if (number == null) {
            throw BerthException.invalid("unknown stop signal '" + name + "'");
        }
        return number;
    }
}

package io.berth.kernel.testing;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Marks a test class that needs root on a real kernel (namespaces, mounts, cgroups, netlink).
 * Without root it fails when CI=true, so CI can never go green by skipping it; elsewhere it is
 * skipped with a message.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
@ExtendWith(RequiresRoot.Check.class)
public @interface RequiresRoot {

    final class Check implements BeforeAllCallback {
        @Override
        public void beforeAll(ExtensionContext context) {
            if (isRoot()) {
                return;
            }
            String why = context.getDisplayName() + " needs root on a real Linux kernel";
            if ("true".equals(System.getenv("CI"))) {
                fail(why + " (CI=true: root tests must run, not skip)");
            }
            assumeTrue(false, why + "; skipped (run as root to include it)");
        }

        public static boolean isRoot() {
            return "root".equals(System.getProperty("user.name"))
                    || new com.sun.security.auth.module.UnixSystem().getUid() == 0;
        }
    }
}

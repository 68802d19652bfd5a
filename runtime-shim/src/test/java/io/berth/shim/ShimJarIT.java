package io.berth.shim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.classfile.ClassFile;
import java.lang.classfile.constantpool.MemberRefEntry;
import java.lang.classfile.constantpool.PoolEntry;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;

/**
 * The shim's jar as the build leaves it (after package: an IT). Its classes' references to
 * {@code java.util.logging} are relocated to {@code io.berth.shim.jul} (runtime-shim/pom.xml), which
 * holds only what JNA and protobuf called when it was written: a newer JNA or protobuf that calls
 * more would fail at run time with NoSuchMethodError, so every reference is checked here.
 */
class ShimJarIT {
    private static final Path JAR = TestContainers.SHIM_LIB.resolve("berth-shim.jar");

    @Test
    void everyRelocatedLoggingReferenceExistsAndNoneIsLeftToJul() throws Exception {
        assertTrue(Files.isRegularFile(JAR), JAR + " is missing: build with ./mvnw package");
        var julLeft = new TreeSet<String>();
        var missing = new ArrayList<String>();
        int checked = 0;
        try (var jar = new JarFile(JAR.toFile())) {
            for (var entry : jar.stream().filter(e -> e.getName().endsWith(".class")).toList()) {
                var model = ClassFile.of().parse(jar.getInputStream(entry).readAllBytes());
                for (PoolEntry pe : model.constantPool()) {
                    if (!(pe instanceof MemberRefEntry ref)) continue;
                    String owner = ref.owner().asInternalName();
                    if (owner.startsWith("java/util/logging/")) julLeft.add(model.thisClass().asInternalName() + " -> " + owner);
                    if (!owner.startsWith("io/berth/shim/jul/") || model.thisClass().asInternalName().startsWith("io/berth/shim/jul/")) {
                        continue;
                    }
                    checked++;
                    if (!declares(Class.forName(owner.replace('/', '.')), ref.name().stringValue(), ref.type().stringValue())) {
                        missing.add(model.thisClass().asInternalName() + " -> " + owner + "." + ref.name() + ref.type());
                    }
                }
            }
        }
        assertEquals(Set.of(), julLeft, "references to java.util.logging left in the shim's jar");
        assertEquals(java.util.List.of(), missing, "referenced in the shim's jar, missing from io.berth.shim.jul");
        assertTrue(checked > 10, "references to io.berth.shim.jul checked: " + checked + " (is the relocation in runtime-shim/pom.xml gone?)");
    }

    private static boolean declares(Class<?> c, String name, String descriptor) {
        for (Method m : c.getDeclaredMethods()) {
            if (m.getName().equals(name) && descriptor.equals(methodDescriptor(m))) return true;
        }
        for (Field f : c.getDeclaredFields()) {
            if (f.getName().equals(name) && descriptor.equals(f.getType().descriptorString())) return true;
        }
        return false;
    }

    private static String methodDescriptor(Method m) {
        var b = new StringBuilder("(");
        for (Class<?> p : m.getParameterTypes()) b.append(p.descriptorString());
        return b.append(')').append(m.getReturnType().descriptorString()).toString();
    }
}

package io.bittensor.incentive.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.annotation.Annotation;
import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A module's public API as text, one line per public type and per public or protected member,
 * checked against the module's {@code api/<module>.api}: a change to the API fails the build
 * until the file is written again ({@code -Dapi.update}), so every change to it shows in review
 * as a diff of that file.
 *
 * <p>What counts: the types of the module's packages that are not {@code internal}, public and
 * reachable (a nested type counts when every type around it does), and their public members and
 * the protected members of those a user may extend. Synthetic and bridge members do not.
 */
public final class ApiDump {
  private ApiDump() {}

  /**
   * Checks the API of the types whose sources are under {@code sources} (a module's
   * {@code src/main/java}; the types are loaded from the class path) against {@code expected},
   * or writes it there when the system property {@code api.update} is set.
   */
  public static void check(Path sources, Path expected) throws IOException {
    String actual = dump(sources);
    if (System.getProperty("api.update") != null) {
      Files.createDirectories(expected.toAbsolutePath().getParent());
      Files.writeString(expected, actual, StandardCharsets.UTF_8);
      return;
    }
    if (!Files.exists(expected)) {
      fail("no API file " + expected + "; write it with -Dapi.update");
    }
    String before = Files.readString(expected, StandardCharsets.UTF_8);
    if (!before.equals(actual)) {
      fail("the public API changed; review the difference and write " + expected
          + " again with -Dapi.update:\n" + difference(before, actual));
    }
  }

  /**
   * The API of the types whose sources are under {@code sources}, as the file holds it. The
   * sources name the types (a stale class file left in {@code target/classes} does not count);
   * nested types are found from their enclosing ones.
   */
  public static String dump(Path sources) throws IOException {
    List<String> names;
    try (Stream<Path> files = Files.walk(sources)) {
      names = files.map(sources::relativize).map(Path::toString)
          .filter(n -> n.endsWith(".java") && !n.endsWith("package-info.java")
              && !n.endsWith("module-info.java"))
          .map(n -> n.substring(0, n.length() - ".java".length())
              .replace(java.io.File.separatorChar, '.'))
          .filter(n -> !Arrays.asList(n.split("\\.")).contains("internal"))
          .toList();
    }
    List<Class<?>> types = new ArrayList<>();
    ClassLoader loader = ApiDump.class.getClassLoader();
    for (String name : names) {
      try {
        collect(Class.forName(name, false, loader), types);
      } catch (ClassNotFoundException | LinkageError e) {
        throw new IOException("cannot load " + name + " from the class path", e);
      }
    }
    types.sort(Comparator.comparing(Class::getName));
    StringBuilder out = new StringBuilder();
    for (Class<?> c : types) {
      out.append(typeLine(c)).append('\n');
      boolean extensible = !Modifier.isFinal(c.getModifiers()) && !c.isEnum() && !c.isRecord()
          && c.getPermittedSubclasses() == null;
      List<String> members = new ArrayList<>();
      for (Field f : c.getDeclaredFields()) {
        if (shown(f.getModifiers(), f.isSynthetic(), extensible)) {
          members.add(marks(f) + modifiers(f.getModifiers())
              + f.getGenericType().getTypeName() + " " + f.getName());
        }
      }
      for (Constructor<?> k : c.getDeclaredConstructors()) {
        if (shown(k.getModifiers(), k.isSynthetic(), extensible)) {
          members.add(marks(k) + modifiers(k.getModifiers())
              + typeParameters(k.getTypeParameters())
              + "<init>(" + types(k.getGenericParameterTypes()) + ")"
              + throwing(k.getGenericExceptionTypes()));
        }
      }
      for (Method m : c.getDeclaredMethods()) {
        if (!m.isBridge() && shown(m.getModifiers(), m.isSynthetic(), extensible)) {
          members.add(marks(m) + modifiers(m.getModifiers()) + (m.isDefault() ? "default " : "")
              + typeParameters(m.getTypeParameters())
              + m.getGenericReturnType().getTypeName() + " " + m.getName() + "("
              + types(m.getGenericParameterTypes()) + ")"
              + throwing(m.getGenericExceptionTypes()));
        }
      }
      members.sort(Comparator.naturalOrder());
      for (String m : members) {
        out.append("  ").append(m).append('\n');
      }
    }
    return out.toString();
  }

  /** Adds {@code c} if a user can see it, and the nested types it shows. */
  private static void collect(Class<?> c, List<Class<?>> into) {
    if (!Modifier.isPublic(c.getModifiers()) || c.isSynthetic()) {
      return;
    }
    into.add(c);
    for (Class<?> nested : c.getDeclaredClasses()) {
      collect(nested, into);
    }
  }

  private static boolean shown(int modifiers, boolean synthetic, boolean extensible) {
    return !synthetic
        && (Modifier.isPublic(modifiers) || (extensible && Modifier.isProtected(modifiers)));
  }

  private static String typeLine(Class<?> c) {
    String kind = c.isAnnotation() ? "@interface" : c.isInterface() ? "interface"
        : c.isEnum() ? "enum" : c.isRecord() ? "record" : "class";
    int mods = c.getModifiers();
    if (c.isInterface() || c.isEnum() || c.isRecord()) {
      mods &= ~(Modifier.ABSTRACT | Modifier.FINAL | Modifier.STATIC | Modifier.INTERFACE);
    }
    StringBuilder line = new StringBuilder(marks(c)).append(modifiers(mods)).append(kind)
        .append(' ').append(c.getName()).append(typeParameters(c.getTypeParameters()));
    Type sup = c.getGenericSuperclass();
    if (sup != null && sup != Object.class && !c.isEnum() && !c.isRecord()) {
      line.append(" extends ").append(sup.getTypeName());
    }
    Type[] interfaces = c.getGenericInterfaces();
    if (interfaces.length > 0) {
      line.append(c.isInterface() ? " extends " : " implements ").append(types(interfaces));
    }
    // An enum's constant bodies are its permitted subclasses, named by the compiler: left out.
    if (c.getPermittedSubclasses() != null && !c.isEnum()) {
      line.append(" permits ").append(Arrays.stream(c.getPermittedSubclasses())
          .map(Class::getName).sorted().collect(Collectors.joining(", ")));
    }
    return line.toString();
  }

  /** {@code @Experimental } where the element carries core's mark (named: core is not here). */
  private static String marks(AnnotatedElement e) {
    for (Annotation a : e.getAnnotations()) {
      if (a.annotationType().getName().equals("io.bittensor.core.Experimental")) {
        return "@Experimental ";
      }
    }
    return "";
  }

  private static String modifiers(int mods) {
    String s = Modifier.toString(mods & (Modifier.PUBLIC | Modifier.PROTECTED | Modifier.STATIC
        | Modifier.FINAL | Modifier.ABSTRACT));
    return s.isEmpty() ? "" : s + " ";
  }

  private static String typeParameters(TypeVariable<?>[] vars) {
    if (vars.length == 0) {
      return "";
    }
    return Arrays.stream(vars).map(v -> {
      Type[] bounds = v.getBounds();
      boolean plain = bounds.length == 1 && bounds[0] == Object.class;
      return plain ? v.getName() : v.getName() + " extends " + Arrays.stream(bounds)
          .map(Type::getTypeName).collect(Collectors.joining(" & "));
    }).collect(Collectors.joining(", ", "<", "> "));
  }

  private static String types(Type[] types) {
    return Arrays.stream(types).map(Type::getTypeName).collect(Collectors.joining(", "));
  }

  private static String throwing(Type[] exceptions) {
    return exceptions.length == 0 ? "" : " throws " + types(exceptions);
  }

  /** The lines only one side has, marked - (the file) and + (the classes), members with types. */
  private static String difference(String before, String after) {
    List<String> old = qualified(before);
    List<String> now = qualified(after);
    Set<String> oldSet = new HashSet<>(old);
    Set<String> nowSet = new HashSet<>(now);
    StringBuilder d = new StringBuilder();
    old.stream().filter(l -> !nowSet.contains(l)).forEach(l -> d.append("- " + l + "\n"));
    now.stream().filter(l -> !oldSet.contains(l)).forEach(l -> d.append("+ " + l + "\n"));
    return d.length() == 0 ? "(the same lines in another order)\n" : d.toString();
  }

  /** Each member line prefixed with its type's line, so that equal members of two types differ. */
  private static List<String> qualified(String dump) {
    List<String> out = new ArrayList<>();
    String type = "";
    for (String line : dump.lines().toList()) {
      if (line.startsWith("  ")) {
        out.add(type + " :: " + line.strip());
      } else {
        type = line;
        out.add(line);
      }
    }
    return out;
  }
}

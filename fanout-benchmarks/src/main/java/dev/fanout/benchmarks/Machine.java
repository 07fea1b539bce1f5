package dev.fanout.benchmarks;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Where a run happened: the machine, the JDK and the databases, read when the run starts so that
 * the report says exactly what the numbers were measured on.
 */
final class Machine {
  /** The PostgreSQL every durable contender uses; each gets a schema of its own in it. */
  static final String POSTGRES = "jdbc:postgresql://127.0.0.1:5432/test";

  /** The user of {@link #POSTGRES}; the machine's PostgreSQL trusts local connections. */
  static final String POSTGRES_USER = "postgres";

  private final Map<String, String> facts = new LinkedHashMap<>();

  private Machine() {}

  /** Reads the facts now; the run's duration is added by {@link #finished}. */
  static Machine describeNow() {
    Machine m = new Machine();
    Runtime rt = Runtime.getRuntime();
    m.facts.put("date", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
    m.facts.put("commit", "`" + git("rev-parse", "--short", "HEAD") + "`" + dirty());
    m.facts.put("CPU", cpuModel() + ", " + rt.availableProcessors() + " available to the JVM");
    m.facts.put("memory", memTotal());
    m.facts.put(
        "OS",
        System.getProperty("os.name")
            + " "
            + System.getProperty("os.version")
            + " ("
            + System.getProperty("os.arch")
            + ")");
    m.facts.put(
        "JDK",
        System.getProperty("java.vm.vendor") + " " + System.getProperty("java.runtime.version"));
    m.facts.put(
        "runner JVM options",
        "`" + String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()) + "`");
    m.facts.put(
        "garbage collectors",
        ManagementFactory.getGarbageCollectorMXBeans().stream()
            .map(b -> b.getName())
            .collect(Collectors.joining(", ")));
    m.facts.put("PostgreSQL", postgresVersion());
    m.facts.put("H2", org.h2.engine.Constants.FULL_VERSION);
    m.facts.put("JobRunr", JobRunrContender.JOBRUNR_VERSION);
    m.facts.put(
        "load average at the start",
        String.format(
            Locale.ROOT,
            "%.2f",
            ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));
    return m;
  }

  /** Records how long the whole run took. */
  void finished(long nanos) {
    facts.put("run time", String.format(Locale.ROOT, "%.1f min", nanos / 60e9));
  }

  /** The facts, in the order the report lists them. */
  Map<String, String> describe() {
    return facts;
  }

  private static String cpuModel() {
    try {
      List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8);
      return lines.stream()
          .filter(l -> l.startsWith("model name"))
          .map(l -> l.substring(l.indexOf(':') + 1).strip())
          .findFirst()
          .orElse("unknown CPU");
    } catch (IOException e) {
      return "unknown CPU";
    }
  }

  private static String memTotal() {
    try {
      return Files.readAllLines(Path.of("/proc/meminfo"), StandardCharsets.UTF_8).stream()
          .filter(l -> l.startsWith("MemTotal:"))
          .map(l -> Long.parseLong(l.replaceAll("\\D", "")) / (1024 * 1024) + " GiB")
          .findFirst()
          .orElse("unknown");
    } catch (IOException | NumberFormatException e) {
      return "unknown";
    }
  }

  private static String postgresVersion() {
    try (Connection c = DriverManager.getConnection(POSTGRES, POSTGRES_USER, "");
        Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SHOW server_version")) {
      r.next();
      return r.getString(1) + " on 127.0.0.1:5432, database `test`";
    } catch (SQLException e) {
      return "not reachable (" + e.getMessage() + ")";
    }
  }

  private static String dirty() {
    return git("status", "--porcelain").isBlank() ? "" : " with uncommitted changes";
  }

  private static String git(String... args) {
    try {
      List<String> command = new ArrayList<>();
      command.add("git");
      command.addAll(List.of(args));
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 ? out : "unknown";
    } catch (IOException e) {
      return "unknown";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "unknown";
    }
  }
}

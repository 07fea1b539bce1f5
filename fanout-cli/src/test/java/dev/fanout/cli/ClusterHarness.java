package dev.fanout.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A cluster of real {@code fanout} nodes for one test: child JVMs running the packaged jar on a
 * PostgreSQL schema of the test's own, a {@link StubFunction} they call, and, for a node that asks
 * for one, a {@link TcpProxy} between it and PostgreSQL.
 *
 * <p>Every node gets short leases and polls unless the test says otherwise, and its own hosts file
 * so the stub knows which node calls it. Closing the harness kills what is left and drops the
 * schema.
 */
final class ClusterHarness implements AutoCloseable {
  static final String POSTGRES = TestSchema.POSTGRES;
  private static final Pattern LISTENING = Pattern.compile("Fanout listening on (\\S+)");
  private static final Pattern ID = Pattern.compile("\"id\"\\s*:\\s*\"([^\"]+)\"");

  /** One running node. */
  final class Node {
    final String id;
    final Path dir;
    final String command;
    final Process process;
    final TcpProxy proxy;
    String url;

    private Node(String id, Path dir, String command, Process process, TcpProxy proxy) {
      this.id = id;
      this.dir = dir;
      this.command = command;
      this.process = process;
      this.proxy = proxy;
    }

    /** SIGKILL: no shutdown hook, no goodbye to the database. */
    void kill() throws InterruptedException {
      process.destroyForcibly();
      assertThat(process.waitFor(30, TimeUnit.SECONDS)).as(id + " died after SIGKILL").isTrue();
    }

    /** What the node printed on stderr, for assertion messages. */
    String log() {
      try {
        return Files.readString(dir.resolve("stderr.txt"), StandardCharsets.UTF_8);
      } catch (IOException e) {
        return "(no log: " + e + ")";
      }
    }

    private String out() throws IOException {
      return Files.readString(dir.resolve("stdout.txt"), StandardCharsets.UTF_8);
    }
  }

  private final Path dir;
  private final TestSchema schema;
  private final List<String> nodeIds;
  private final Map<String, Node> nodes = new LinkedHashMap<>();
  private final HttpClient http = HttpClient.newHttpClient();
  private int leaseSeconds = 1;
  final StubFunction stub;

  /**
   * Creates the schema and the stub; the nodes start with {@link #launch}.
   *
   * @param dir the test's temporary folder
   * @param nodeIds every node the test will start, in order; each gets its own stub address
   * @param latency how long each stub call sleeps
   */
  ClusterHarness(Path dir, List<String> nodeIds, Duration latency) throws IOException {
    this.dir = dir;
    this.nodeIds = List.copyOf(nodeIds);
    this.schema = TestSchema.create("fanout_cluster_it_");
    this.stub = new StubFunction(nodeIds, latency);
  }

  /**
   * Gives the nodes launched from now on a lease of their own instead of one second, for a test
   * whose check a lapsed lease would break: a node stalled past its lease (a loaded machine does
   * that to three JVMs on two cores) has its items run again elsewhere while its calls still wait.
   *
   * @param seconds the lease
   * @return this harness
   */
  ClusterHarness leaseSeconds(int seconds) {
    this.leaseSeconds = seconds;
    return this;
  }

  /** The JDBC URL of the test's schema, through {@code port} (PostgreSQL's or a proxy's). */
  private String jdbcUrl(int port) {
    String base = port < 0 ? POSTGRES : POSTGRES.replaceFirst(":\\d+/", ":" + port + "/");
    return schema.url(base);
  }

  /** The JDBC URL of the test's schema, for the test's own queries. */
  String jdbcUrl() {
    return jdbcUrl(-1);
  }

  /**
   * Starts a node without waiting for it; {@link #awaitRunning} waits. Nodes started together boot
   * in parallel, which on a small machine saves seconds per node.
   *
   * @param id one of the ids given to the constructor
   * @param command {@code serve} or {@code worker}
   * @param viaProxy whether the node reaches PostgreSQL through a {@link TcpProxy}
   * @param extra more flags, besides the harness's own ({@code --db}, {@code --node-id}, {@code
   *     --lease-seconds}, {@code --poll-ms}, {@code --grace-seconds}, and {@code --port} for {@code
   *     serve}), which picocli refuses twice
   */
  Node launch(String id, String command, boolean viaProxy, String... extra) throws Exception {
    int slot = nodeIds.indexOf(id);
    assertThat(slot).as("node %s declared", id).isNotNegative();
    Path nodeDir = Files.createDirectories(dir.resolve(id));
    Path hosts = nodeDir.resolve("hosts");
    Files.writeString(
        hosts,
        StubFunction.address(slot)
            + " "
            + StubFunction.HOST
            + "\n127.0.0.1 localhost "
            + InetAddress.getLocalHost().getHostName()
            + "\n");
    TcpProxy proxy = null;
    if (viaProxy) {
      URI pg = URI.create(POSTGRES.substring("jdbc:".length()));
      proxy = new TcpProxy(pg.getHost(), pg.getPort() < 0 ? 5432 : pg.getPort());
    }
    List<String> command1 = new ArrayList<>();
    command1.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command1.add("-Djdk.net.hosts.file=" + hosts);
    command1.add("-Xmx512m");
    command1.add("-jar");
    command1.add(FanoutJar.jar().toString());
    command1.add(command);
    command1.addAll(
        List.of(
            "--db",
            jdbcUrl(proxy == null ? -1 : proxy.port()),
            "--node-id",
            id,
            "--lease-seconds",
            Integer.toString(leaseSeconds),
            "--poll-ms",
            "50",
            "--grace-seconds",
            "0"));
    if (command.equals("serve")) {
      command1.addAll(List.of("--port", "0"));
    }
    command1.addAll(List.of(extra));
    Files.writeString(nodeDir.resolve("stdin.txt"), "");
    ProcessBuilder builder =
        new ProcessBuilder(command1)
            .directory(nodeDir.toFile())
            .redirectInput(nodeDir.resolve("stdin.txt").toFile())
            .redirectOutput(nodeDir.resolve("stdout.txt").toFile())
            .redirectError(nodeDir.resolve("stderr.txt").toFile());
    builder.environment().remove("FANOUT_SERVER");
    builder.environment().remove("FANOUT_TOKEN");
    Node node = new Node(id, nodeDir, command, builder.start(), proxy);
    nodes.put(id, node);
    return node;
  }

  /**
   * Waits until each node runs: a {@code serve} node has printed its URL (then known as {@link
   * Node#url}), a worker its start line.
   */
  void awaitRunning(Node... started) throws IOException {
    for (Node node : started) {
      awaitRunning(node);
    }
  }

  private void awaitRunning(Node node) throws IOException {
    String id = node.id;
    String command = node.command;
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(50))
        .failFast(
            "node " + id + " exited",
            () -> {
              if (node.process.isAlive()) {
                return false;
              }
              System.err.println("node " + id + " exited:\n" + node.log());
              return true;
            })
        .until(() -> node.out().contains(command.equals("serve") ? "Fanout listening" : "running"));
    if (command.equals("serve")) {
      Matcher m = LISTENING.matcher(node.out());
      assertThat(m.find()).isTrue();
      node.url = m.group(1);
    }
  }

  Node node(String id) {
    return nodes.get(id);
  }

  /** Submits a job to a {@code serve} node and returns its id. */
  String submit(Node serve, String json) throws IOException, InterruptedException {
    return submit(serve, HttpRequest.BodyPublishers.ofString(json));
  }

  /** Submits a job whose body streams from {@code body}, never whole in memory. */
  String submitStream(Node serve, Supplier<InputStream> body)
      throws IOException, InterruptedException {
    return submit(serve, HttpRequest.BodyPublishers.ofInputStream(body));
  }

  private String submit(Node serve, HttpRequest.BodyPublisher body)
      throws IOException, InterruptedException {
    HttpResponse<String> accepted =
        http.send(
            HttpRequest.newBuilder(URI.create(serve.url + "/v1/jobs"))
                .header("Content-Type", "application/json")
                .timeout(Duration.ofMinutes(3))
                .POST(body)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
    Matcher m = ID.matcher(accepted.body());
    assertThat(m.find()).isTrue();
    return m.group(1);
  }

  /** POSTs to a route of a {@code serve} node and returns the status. */
  int post(Node serve, String path) throws IOException, InterruptedException {
    return http.send(
            HttpRequest.newBuilder(URI.create(serve.url + path))
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  /** A job as the database holds it. */
  record JobRow(
      String state, long total, long pending, long succeeded, long lastSeq, String aggregate) {
    boolean isFinal() {
      return state.equals("SUCCEEDED") || state.equals("FAILED") || state.equals("CANCELLED");
    }
  }

  /** The job's row, read straight from PostgreSQL. */
  JobRow job(String id) throws SQLException {
    try (Connection c = DriverManager.getConnection(jdbcUrl());
        var s =
            c.prepareStatement(
                "SELECT state, total, pending, succeeded, last_seq, aggregate FROM fanout_job"
                    + " WHERE id = ?")) {
      s.setString(1, id);
      try (ResultSet r = s.executeQuery()) {
        assertThat(r.next()).as("job %s stored", id).isTrue();
        return new JobRow(
            r.getString(1), r.getLong(2), r.getLong(3), r.getLong(4), r.getLong(5), r.getString(6));
      }
    }
  }

  /** Waits until the job is final and returns it. */
  JobRow awaitFinal(String id, Duration atMost) {
    await().atMost(atMost).pollInterval(Duration.ofMillis(100)).until(() -> job(id).isFinal());
    try {
      return job(id);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** One query's single number. */
  long count(String sql, Object... args) throws SQLException {
    try (Connection c = DriverManager.getConnection(jdbcUrl());
        var s = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        s.setObject(i + 1, args[i]);
      }
      try (ResultSet r = s.executeQuery()) {
        r.next();
        return r.getLong(1);
      }
    }
  }

  /** The recorded results of a job's items by index: the node named in each. */
  Map<Long, String> recordedNodes(String job) throws SQLException {
    Map<Long, String> byIndex = new LinkedHashMap<>();
    Pattern node = Pattern.compile("\"node\"\\s*:\\s*\"([^\"]*)\"");
    try (Connection c = DriverManager.getConnection(jdbcUrl());
        var s =
            c.prepareStatement(
                "SELECT idx, result FROM fanout_item WHERE job_id = ? AND state = 'SUCCEEDED'")) {
      s.setString(1, job);
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          Matcher m = node.matcher(r.getString(2));
          byIndex.put(r.getLong(1), m.find() ? m.group(1) : "?");
        }
      }
    }
    return byIndex;
  }

  /** The nodes' logs, for assertion messages. */
  String logs() {
    StringBuilder all = new StringBuilder();
    nodes
        .values()
        .forEach(n -> all.append("--- ").append(n.id).append(" ---\n").append(tail(n.log())));
    return all.toString();
  }

  private static String tail(String log) {
    return log.length() <= 4000 ? log : "..." + log.substring(log.length() - 4000);
  }

  @Override
  public void close() throws IOException, SQLException {
    for (Node node : nodes.values()) {
      node.process.destroyForcibly();
    }
    for (Node node : nodes.values()) {
      try {
        node.process.waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (node.proxy != null) {
        node.proxy.close();
      }
    }
    stub.close();
    schema.close();
  }
}

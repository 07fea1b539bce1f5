package dev.fanout.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * An HTTP function in the test JVM that the nodes of a cluster call: it sleeps like an I/O-bound
 * call, answers {@code {"v": <item>, "node": "<caller>"}}, and records who called it with which
 * index, when, and how it ended, with the in-flight count and its peak per job.
 *
 * <p>It knows the calling node without help from the node: it listens on one loopback address per
 * node (127.0.0.11, .12, ...) on one port, and each node's JVM resolves the job's host name {@link
 * #HOST} to its own address through a hosts file of its own ({@code -Djdk.net.hosts.file}), so the
 * address a call arrives on names its node. When the call carries {@code X-Fanout-Node}, that wins.
 */
final class StubFunction implements AutoCloseable {

  /** The host name in the jobs' function URL; each node resolves it to its own address. */
  static final String HOST = "fanout-stub";

  /** One call as the stub saw it; {@code endNanos} is 0 while it runs. */
  static final class Call {
    final String job;
    final long index;
    final int attempt;
    final String node;
    final long startNanos;

    /** When the call stopped counting as in flight, just before its answer; 0 until then. */
    volatile long uncountedNanos;

    volatile long endNanos;
    volatile boolean answered;

    Call(String job, long index, int attempt, String node, long startNanos) {
      this.job = job;
      this.index = index;
      this.attempt = attempt;
      this.node = node;
      this.startNanos = startNanos;
    }

    @Override
    public String toString() {
      return job + "#" + index + "@" + attempt + " by " + node + (answered ? " (answered)" : "");
    }
  }

  /** Calls that match a predicate wait here until released. */
  final class Gate {
    private final Predicate<Call> matches;
    private final CountDownLatch open = new CountDownLatch(1);
    private final Set<Call> waiting = ConcurrentHashMap.newKeySet();

    private Gate(Predicate<Call> matches) {
      this.matches = matches;
    }

    /** The calls held now. */
    List<Call> held() {
      return List.copyOf(waiting);
    }

    /** Lets every held call, and every later matching one, go on. */
    void release() {
      gates.remove(this);
      open.countDown();
    }
  }

  private final List<HttpServer> servers = new ArrayList<>();
  private final Map<String, String> nodeByAddress = new ConcurrentHashMap<>();
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final ConcurrentLinkedQueue<Call> calls = new ConcurrentLinkedQueue<>();
  private final Map<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> peak = new ConcurrentHashMap<>();
  private final List<Gate> gates = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final ConcurrentLinkedQueue<String> misnamed = new ConcurrentLinkedQueue<>();
  private final int port;
  private volatile Duration latency;

  /**
   * Listens for the given nodes, one loopback address each, in order from 127.0.0.11.
   *
   * @param nodes the node ids
   * @param latency how long each call sleeps before it answers
   */
  StubFunction(List<String> nodes, Duration latency) throws IOException {
    this.latency = latency;
    int p = 0;
    for (int i = 0; i < nodes.size(); i++) {
      String address = address(i);
      HttpServer server = HttpServer.create(new InetSocketAddress(address, p), 1024);
      p = server.getAddress().getPort();
      server.setExecutor(executor);
      server.createContext("/fn", this::handle);
      server.start();
      servers.add(server);
      nodeByAddress.put(address, nodes.get(i));
    }
    this.port = p;
  }

  /** The loopback address of the i-th node. */
  static String address(int i) {
    return "127.0.0." + (11 + i);
  }

  /** The function URL every job uses. */
  String url() {
    return "http://" + HOST + ":" + port + "/fn";
  }

  void latency(Duration latency) {
    this.latency = latency;
  }

  /** Holds every call that matches until the gate is released. */
  Gate hold(Predicate<Call> matches) {
    Gate gate = new Gate(matches);
    gates.add(gate);
    return gate;
  }

  /** Every call so far, in arrival order. */
  List<Call> calls() {
    return List.copyOf(calls);
  }

  /** The calls of one job. */
  List<Call> calls(String job) {
    return calls.stream().filter(c -> c.job.equals(job)).toList();
  }

  /** The calls of a job running now: from their arrival until just before their answer. */
  int inFlight(String job) {
    AtomicInteger n = inFlight.get(job);
    return n == null ? 0 : n.get();
  }

  /** The most calls of a job that ran at once. */
  int peak(String job) {
    AtomicInteger p = peak.get(job);
    return p == null ? 0 : p.get();
  }

  /**
   * The calls of a job that ran together at its busiest moment, for messages: whether they were
   * distinct items and first attempts tells a cap that failed from a lease that lapsed.
   */
  List<Call> busiest(String job) {
    List<Call> mine = calls(job);
    List<Call> best = List.of();
    for (Call at : mine) {
      List<Call> together =
          mine.stream()
              .filter(
                  c ->
                      c.startNanos <= at.startNanos
                          && (c.uncountedNanos == 0 || c.uncountedNanos > at.startNanos))
              .toList();
      if (together.size() > best.size()) {
        best = together;
      }
    }
    return best;
  }

  /**
   * Calls whose {@code X-Fanout-Node} header named another node than the address they came through:
   * each should be empty, else the header or the harness's node mapping is wrong.
   */
  List<String> misnamedCalls() {
    return List.copyOf(misnamed);
  }

  /** The calls answered per node, for messages. */
  Map<String, Long> answeredByNode() {
    return calls.stream()
        .filter(c -> c.answered)
        .collect(Collectors.groupingBy(c -> c.node, Collectors.counting()));
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String byAddress =
          nodeByAddress.getOrDefault(
              exchange.getLocalAddress().getAddress().getHostAddress(), "unknown");
      String node = exchange.getRequestHeaders().getFirst("X-Fanout-Node");
      if (node == null) {
        node = byAddress;
      } else if (!node.equals(byAddress)) {
        misnamed.add(node + " called through the address of " + byAddress);
      }
      String job =
          Objects.requireNonNullElse(exchange.getRequestHeaders().getFirst("X-Fanout-Job"), "");
      long index = Long.parseLong(exchange.getRequestHeaders().getFirst("X-Fanout-Index"));
      int attempt = Integer.parseInt(exchange.getRequestHeaders().getFirst("X-Fanout-Attempt"));
      String body;
      try (InputStream in = exchange.getRequestBody()) {
        body = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
      }
      Call call = new Call(job, index, attempt, node, System.nanoTime());
      calls.add(call);
      AtomicInteger running = inFlight.computeIfAbsent(job, j -> new AtomicInteger());
      AtomicInteger highest = peak.computeIfAbsent(job, j -> new AtomicInteger());
      highest.accumulateAndGet(running.incrementAndGet(), Math::max);
      boolean counted = true;
      try {
        for (Gate gate : gates) {
          if (gate.matches.test(call)) {
            gate.waiting.add(call);
            try {
              gate.open.await();
            } finally {
              gate.waiting.remove(call);
            }
          }
        }
        Thread.sleep(latency);
        byte[] answer =
            ("{\"v\": " + body + ", \"node\": \"" + node + "\"}").getBytes(StandardCharsets.UTF_8);
        // Counted out before the answer leaves: once the caller has it, Fanout may start the
        // item's successor on another node, whose call must not find this one still counted
        // (this thread may be descheduled between writing the answer and its finally).
        call.uncountedNanos = System.nanoTime();
        running.decrementAndGet();
        counted = false;
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, answer.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(answer);
        }
        call.answered = true;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        call.endNanos = System.nanoTime();
        if (counted) {
          call.uncountedNanos = call.endNanos;
          running.decrementAndGet();
        }
      }
    }
  }

  @Override
  public void close() {
    gates.forEach(Gate::release);
    servers.forEach(s -> s.stop(0));
    executor.shutdownNow();
  }
}

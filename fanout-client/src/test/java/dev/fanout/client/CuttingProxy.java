package dev.fanout.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on loopback between the client and the server that can cut connections: after a
 * number of bytes from the server, or all of them at once. It stands in for the load balancer that
 * drops long requests, and it keeps its port while the server behind it restarts elsewhere.
 */
final class CuttingProxy implements AutoCloseable {
  private final ServerSocket listener;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private final AtomicInteger connections = new AtomicInteger();
  private volatile int targetPort;
  private volatile long cutAfterBytes = Long.MAX_VALUE;

  CuttingProxy(int targetPort) throws IOException {
    this.targetPort = targetPort;
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofVirtual().name("proxy-accept").start(this::accept);
  }

  String url() {
    return "http://127.0.0.1:" + listener.getLocalPort();
  }

  /** Sends new connections to this port from now on. */
  void target(int port) {
    this.targetPort = port;
  }

  /** Cuts each connection opened from now on once the server sent it this many bytes. */
  void cutEachConnectionAfter(long bytes) {
    this.cutAfterBytes = bytes;
  }

  /** Lets connections opened from now on run uncut. */
  void stopCutting() {
    this.cutAfterBytes = Long.MAX_VALUE;
  }

  /** How many connections the proxy accepted. */
  int connections() {
    return connections.get();
  }

  private void accept() {
    while (!listener.isClosed()) {
      Socket client;
      try {
        client = listener.accept();
      } catch (IOException closed) {
        return;
      }
      connections.incrementAndGet();
      sockets.add(client);
      long limit = cutAfterBytes;
      Thread.ofVirtual()
          .start(
              () -> {
                Socket server;
                try {
                  server = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                } catch (IOException refused) {
                  closeQuietly(client); // as if the server were down
                  return;
                }
                sockets.add(server);
                Thread.ofVirtual().start(() -> pump(client, server, Long.MAX_VALUE));
                pump(server, client, limit);
              });
    }
  }

  private void pump(Socket from, Socket to, long limit) {
    byte[] buffer = new byte[1024];
    long sent = 0;
    try (InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream()) {
      for (int n; (n = in.read(buffer, 0, (int) Math.min(buffer.length, limit - sent))) > 0; ) {
        out.write(buffer, 0, n);
        out.flush();
        sent += n;
        if (sent >= limit) {
          break;
        }
      }
    } catch (IOException e) {
      // One side went away: the other goes too, below.
    } finally {
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  private void closeQuietly(Socket s) {
    sockets.remove(s);
    try {
      s.close();
    } catch (IOException ignored) {
      // Already closed.
    }
  }

  @Override
  public void close() throws IOException {
    listener.close();
    sockets.forEach(this::closeQuietly);
  }
}

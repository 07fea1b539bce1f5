package dev.fanout.jdbc.crash;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.HashSet;
import java.util.Set;

/**
 * A TCP proxy on 127.0.0.1 that forwards every connection to one server, and can cut them: {@link
 * #cut()} closes every live connection and refuses new ones (accepts and closes them at once) until
 * {@link #restore()}. Each connection is a pair of virtual threads, one per direction.
 */
final class TcpProxy implements AutoCloseable {

  private final InetSocketAddress target;
  private final ServerSocket server;
  private final Set<Socket> live = new HashSet<>();
  private boolean cut;
  private int accepted;
  private int refused;

  /**
   * Starts listening on a free port.
   *
   * @param target where connections go
   */
  TcpProxy(InetSocketAddress target) throws IOException {
    this.target = target;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofVirtual().name("proxy-accept").start(this::acceptAll);
  }

  /** Where clients connect. */
  InetSocketAddress address() {
    return new InetSocketAddress(server.getInetAddress(), server.getLocalPort());
  }

  /**
   * Closes every live connection and refuses new ones until {@link #restore()}.
   *
   * @return how many connections were cut
   */
  synchronized int cut() {
    cut = true;
    int connections = live.size() / 2;
    for (Socket socket : live) {
      closeQuietly(socket);
    }
    live.clear();
    return connections;
  }

  /** Forwards new connections again. */
  synchronized void restore() {
    cut = false;
  }

  /** How many connections were refused while cut. */
  synchronized int refused() {
    return refused;
  }

  /** How many connections were forwarded. */
  synchronized int accepted() {
    return accepted;
  }

  private void acceptAll() {
    while (!server.isClosed()) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      try {
        forward(client);
      } catch (IOException e) {
        closeQuietly(client);
      }
    }
  }

  private void forward(Socket client) throws IOException {
    synchronized (this) {
      if (cut) {
        refused++;
        closeQuietly(client);
        return;
      }
    }
    Socket upstream = new Socket();
    try {
      upstream.connect(target, 5_000);
    } catch (IOException e) {
      closeQuietly(upstream);
      throw e;
    }
    synchronized (this) {
      // A cut may have come while this connection was being made: it must not survive it.
      if (cut) {
        refused++;
        closeQuietly(client);
        closeQuietly(upstream);
        return;
      }
      accepted++;
      live.add(client);
      live.add(upstream);
    }
    Thread.ofVirtual().name("proxy-up").start(() -> pump(client, upstream));
    Thread.ofVirtual().name("proxy-down").start(() -> pump(upstream, client));
  }

  /** Copies one direction until either side closes, then closes both. */
  private void pump(Socket from, Socket to) {
    try (InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream()) {
      in.transferTo(out);
    } catch (IOException e) {
      // Cut, or closed by one side: either way the pair is done.
    } finally {
      synchronized (this) {
        live.remove(from);
        live.remove(to);
      }
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException e) {
      // Nothing to do about a socket that will not close.
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    cut();
  }
}

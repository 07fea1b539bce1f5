package dev.fanout.internal;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Properties;

/** What a node tells the cluster about itself besides its ID: its host and Fanout's version. */
final class NodeIdentity {
  private static final String VERSION = readVersion();

  private NodeIdentity() {}

  /** The local host's name, or {@code localhost} when it has none that resolves. */
  static String host() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "localhost";
    }
  }

  /** The version the build wrote into {@code version.properties}, or {@code unknown}. */
  static String version() {
    return VERSION;
  }

  private static String readVersion() {
    Properties properties = new Properties();
    try (InputStream in = NodeIdentity.class.getResourceAsStream("version.properties")) {
      if (in != null) {
        properties.load(in);
      }
    } catch (IOException e) {
      return "unknown";
    }
    String version = properties.getProperty("version", "");
    // Unfiltered (run from an IDE's own build): say so rather than show a placeholder.
    return version.isBlank() || version.contains("${") ? "unknown" : version;
  }
}

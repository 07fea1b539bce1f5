package dev.fanout.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** Tells the version the build wrote into {@code version.properties}. */
final class VersionProvider implements IVersionProvider {

  /**
   * The line that {@code fanout --version} and {@code fanout version} print.
   *
   * @return {@code fanout <version>}
   * @throws IllegalStateException when the jar was built without resource filtering
   */
  static String versionLine() {
    return "fanout " + version();
  }

  @Override
  public String[] getVersion() {
    return new String[] {versionLine()};
  }

  private static String version() {
    var properties = new Properties();
    try (InputStream in = VersionProvider.class.getResourceAsStream("version.properties")) {
      if (in != null) {
        properties.load(in);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read version.properties", e);
    }
    String version = properties.getProperty("version", "");
    // An unfiltered file means a build that skipped Maven's resources step: say so rather than
    // print a placeholder as if it were a version.
    if (version.isBlank() || version.contains("${")) {
      throw new IllegalStateException(
          "version.properties holds no version; build the jar with Maven (mvn package)");
    }
    return version;
  }
}

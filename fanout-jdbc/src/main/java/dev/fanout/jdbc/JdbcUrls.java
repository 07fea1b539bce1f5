package dev.fanout.jdbc;

import java.util.regex.Pattern;

/** Turns JDBC URLs into text fit for messages and logs. */
final class JdbcUrls {

  /**
   * A password given inside the URL, as PostgreSQL ({@code &password=}) or H2 ({@code ;PASSWORD=})
   * take it.
   */
  private static final Pattern PASSWORD = Pattern.compile("(?i)([?&;]password=)[^&;]*");

  private JdbcUrls() {}

  /** The URL with any password in it replaced by {@code ***}. */
  static String redact(String jdbcUrl) {
    return PASSWORD.matcher(jdbcUrl).replaceAll("$1***");
  }

  /** The URL's scheme up to its second colon, such as {@code jdbc:mysql:}. */
  static String scheme(String jdbcUrl) {
    int first = jdbcUrl.indexOf(':');
    if (first < 0) {
      return jdbcUrl;
    }
    int second = jdbcUrl.indexOf(':', first + 1);
    return second < 0 ? jdbcUrl : jdbcUrl.substring(0, second + 1);
  }
}

package dev.fanout.server.internal.call;

import dev.fanout.server.internal.ApiException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * Decides which URLs the server may call (HTTP functions, webhooks), so a job cannot turn the
 * server into a proxy towards the cloud metadata service (server-side request forgery).
 *
 * <p>Rules: the scheme is http or https; the URL has a host and no user info; the host is not a
 * well-known metadata name; when an allow-list is set ({@code --allow-hosts}) the host is on it;
 * and every address the host resolves to is neither link-local (169.254.0.0/16, fe80::/10, also in
 * IPv4-mapped, IPv4-compatible, NAT64 and 6to4 forms) nor a cloud metadata address ({@code
 * fd00:ec2::254}, {@code 100.100.100.200}). Loopback and private networks stay allowed: local
 * functions are a main use, and an operator narrows further with the allow-list.
 *
 * <p>The check runs at submit time, after DNS resolution, so a refused URL fails the request with a
 * 422 naming the field. A name could still be re-pointed at a metadata address between the check
 * and the connection (DNS rebinding), so the check is repeated at connect time by {@link
 * LinkLocalGuardResolverProvider}, which removes blocked addresses from every name lookup the
 * process makes. Literal IP addresses never reach a resolver, but they cannot change after the
 * submit-time check either. The HTTP client must not follow redirects (see {@link HttpFunction}),
 * since a redirect to a literal address would bypass both checks.
 */
public final class UrlGuard {

  /** Resolves a host name to its addresses; injectable so tests need no DNS. */
  @FunctionalInterface
  public interface HostResolver {
    /**
     * Resolves a host.
     *
     * @param host a host name or IP literal, without brackets
     * @return the addresses, never empty
     * @throws UnknownHostException when the host does not resolve
     */
    InetAddress[] resolve(String host) throws UnknownHostException;
  }

  /** Longer URLs are refused: no function needs one, and they bloat every stored job. */
  public static final int MAX_URL_LENGTH = 2048;

  // Names that reach a metadata service on the big clouds; refused by name so that no DNS answer
  // (or the absence of one, as on a developer machine) is needed to refuse them.
  private static final Set<String> METADATA_NAMES =
      Set.of(
          "metadata.google.internal",
          "metadata.goog",
          "metadata",
          "instance-data",
          "instance-data.ec2.internal");

  // Spelled out as bytes, not parsed: this class runs inside the resolver provider, which must not
  // touch InetAddress's lookup machinery while it is being installed.
  private static final byte[] AWS_IMDS_V6 = { // fd00:ec2::254
    (byte) 0xfd, 0x00, 0x0e, (byte) 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54
  };
  private static final byte[] ALIBABA_METADATA = {100, 100, 100, (byte) 200};

  private final Set<String> allowHosts;
  private final HostResolver resolver;

  private UrlGuard(Set<String> allowHosts, HostResolver resolver) {
    this.allowHosts = allowHosts;
    this.resolver = resolver;
  }

  /**
   * The default guard: any host except link-local and metadata ones, resolved with the JVM's
   * resolver.
   *
   * @return the guard
   */
  public static UrlGuard defaults() {
    return new UrlGuard(Set.of(), InetAddress::getAllByName);
  }

  /**
   * A guard that allows only the given hosts ({@code --allow-hosts}), still never a link-local or
   * metadata address. An entry is a host name or IP literal matched exactly (case-insensitive), or
   * {@code *.example.com} for any subdomain of {@code example.com}.
   *
   * @param hosts the allowed hosts; empty means any host
   * @return the guard
   * @throws IllegalArgumentException when an entry is blank
   */
  public static UrlGuard allowingOnly(Collection<String> hosts) {
    Set<String> normalized = new LinkedHashSet<>();
    for (String host : hosts) {
      if (host == null || host.isBlank()) {
        throw new IllegalArgumentException("allow-hosts entries must not be blank, got " + hosts);
      }
      String entry = normalizeHost(host.strip());
      normalized.add(entry.startsWith("*.") ? entry : canonicalLiteral(entry));
    }
    return new UrlGuard(Set.copyOf(normalized), InetAddress::getAllByName);
  }

  /**
   * The same guard with another resolver: tests use a fake one, and a server re-checking stored
   * jobs may use one that tolerates a DNS outage.
   *
   * @param resolver the resolver
   * @return a new guard with the same allow-list
   */
  public UrlGuard withResolver(HostResolver resolver) {
    return new UrlGuard(allowHosts, Objects.requireNonNull(resolver, "resolver"));
  }

  /**
   * The allow-list.
   *
   * @return the normalized allowed hosts; empty when any host is allowed
   */
  public Set<String> allowHosts() {
    return allowHosts;
  }

  /**
   * Checks a URL given in a request and parses it.
   *
   * @param field the request field, used in messages (e.g. {@code function.url})
   * @param text the URL as given
   * @return the parsed URL
   * @throws ApiException 422 {@code invalid_url} when it is malformed or not http(s), 422 {@code
   *     url_not_allowed} when its host is refused or resolves to a refused address
   */
  public URI check(String field, String text) {
    URI uri = parse(field, text);
    String host = normalizeHost(uri.getHost());
    if (METADATA_NAMES.contains(host)) {
      throw notAllowed(field + " host '" + host + "' is a cloud metadata endpoint, never called");
    }
    if (!allowHosts.isEmpty() && !isAllowed(host)) {
      throw notAllowed(
          field + " host '" + host + "' is not among the server's allowed hosts (--allow-hosts)");
    }
    InetAddress[] addresses;
    try {
      addresses = resolver.resolve(host);
    } catch (UnknownHostException | RuntimeException e) {
      // One message for "does not exist" and "resolves only to blocked addresses" (the resolver
      // provider hides those): a caller must not learn which internal names exist.
      throw notAllowed(
          field + " host '" + host + "' does not resolve to an address Fanout may call");
    }
    if (addresses == null || addresses.length == 0) {
      throw notAllowed(
          field + " host '" + host + "' does not resolve to an address Fanout may call");
    }
    for (InetAddress address : addresses) {
      if (isBlocked(address)) {
        throw notAllowed(
            field
                + " host '"
                + host
                + "' resolves to "
                + address.getHostAddress()
                + ", a link-local or cloud metadata address");
      }
    }
    return uri;
  }

  /**
   * Tells whether an address is one Fanout never calls: link-local or a cloud metadata address,
   * including IPv6 forms that embed such an IPv4 address.
   *
   * @param address the address
   * @return true when calls to it are refused
   */
  public static boolean isBlocked(InetAddress address) {
    byte[] b = address.getAddress();
    if (address instanceof Inet4Address) {
      return isBlockedV4(b, 0);
    }
    if (address instanceof Inet6Address) {
      if ((b[0] & 0xff) == 0xfe && (b[1] & 0xc0) == 0x80) {
        return true; // fe80::/10
      }
      if (Arrays.equals(b, AWS_IMDS_V6)) {
        return true;
      }
      if (zeros(b, 0, 10) && (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff) {
        return isBlockedV4(b, 12); // ::ffff:a.b.c.d, IPv4-mapped
      }
      if (zeros(b, 0, 12)) {
        return isBlockedV4(b, 12); // ::a.b.c.d, IPv4-compatible (deprecated, still routable)
      }
      if (b[0] == 0x00 && b[1] == 0x64 && (b[2] & 0xff) == 0xff && (b[3] & 0xff) == 0x9b) {
        return isBlockedV4(b, 12); // 64:ff9b::/96, NAT64
      }
      if (b[0] == 0x20 && b[1] == 0x02) {
        return isBlockedV4(b, 2); // 2002::/16, 6to4
      }
    }
    return false;
  }

  private static boolean isBlockedV4(byte[] b, int offset) {
    if ((b[offset] & 0xff) == 169 && (b[offset + 1] & 0xff) == 254) {
      return true;
    }
    return Arrays.equals(b, offset, offset + 4, ALIBABA_METADATA, 0, 4);
  }

  private static boolean zeros(byte[] b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return true;
  }

  private static URI parse(String field, String text) {
    if (text.length() > MAX_URL_LENGTH) {
      throw invalid(field + " must be at most " + MAX_URL_LENGTH + " characters long");
    }
    URI uri;
    try {
      uri = new URI(text);
    } catch (URISyntaxException e) {
      throw invalid(field + " is not a valid URL: " + e.getReason() + " at index " + e.getIndex());
    }
    String scheme = uri.getScheme();
    if (scheme == null || !List.of("http", "https").contains(scheme.toLowerCase(Locale.ROOT))) {
      throw invalid(
          field
              + " must be an http or https URL, got "
              + (scheme == null ? "no scheme" : "scheme '" + scheme + "'"));
    }
    if (uri.getHost() == null || uri.getHost().isEmpty()) {
      throw invalid(field + " must name a valid host, as in http://host:port/path");
    }
    if (uri.getRawUserInfo() != null) {
      throw invalid(field + " must not contain user info; send credentials as headers");
    }
    return uri;
  }

  private boolean isAllowed(String host) {
    String canonical = canonicalLiteral(host);
    for (String entry : allowHosts) {
      if (entry.startsWith("*.")) {
        String suffix = entry.substring(1);
        if (host.endsWith(suffix) && host.length() > suffix.length()) {
          return true;
        }
      } else if (entry.equals(canonical)) {
        return true;
      }
    }
    return false;
  }

  // Brackets, case and a trailing dot do not change which host a name means.
  private static String normalizeHost(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    while (h.endsWith(".")) {
      h = h.substring(0, h.length() - 1);
    }
    return h;
  }

  // IPv6 literals have many spellings; compare them in one. Parsing a literal does no DNS.
  private static String canonicalLiteral(String host) {
    if (host.indexOf(':') < 0) {
      return host;
    }
    try {
      return InetAddress.getByName(host).getHostAddress();
    } catch (UnknownHostException e) {
      return host;
    }
  }

  private static ApiException invalid(String message) {
    return ApiException.invalid("invalid_url", message);
  }

  private static ApiException notAllowed(String message) {
    return ApiException.invalid("url_not_allowed", message);
  }
}

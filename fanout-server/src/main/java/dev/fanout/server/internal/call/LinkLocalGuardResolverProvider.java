package dev.fanout.server.internal.call;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.util.List;
import java.util.stream.Stream;

/**
 * The connect-time half of the {@link UrlGuard}: a JVM-wide name resolver that removes link-local
 * and cloud metadata addresses from every lookup, installed through {@code
 * META-INF/services/java.net.spi.InetAddressResolverProvider}.
 *
 * <p>Why a resolver and not "resolve again and check just before each request": an HTTP client
 * (Jetty's for functions, the JDK's for webhooks) resolves the host itself when it connects, so a
 * check made a moment earlier leaves a window in which a DNS answer with a short TTL (DNS
 * rebinding) can point the name at 169.254.169.254. Filtering inside the resolver closes that
 * window, whatever code connects and however often it resolves, and costs nothing per call. A name
 * that resolves only to blocked addresses fails with an {@link UnknownHostException}, so the call
 * fails with {@code connect_error} and no packet reaches the metadata service.
 *
 * <p>The filter is process-wide by design. Fanout's server itself never needs a link-local address;
 * a process embedding it that does (a cloud SDK reading instance credentials, say) can switch the
 * filter off with the system property {@code fanout.linkLocalGuard=off}, and then relies on the
 * submit-time check alone.
 */
public final class LinkLocalGuardResolverProvider extends InetAddressResolverProvider {

  /** The system property that switches the filter off when set to {@code off}. */
  public static final String SWITCH_PROPERTY = "fanout.linkLocalGuard";

  /** Creates the provider; called by the {@link java.util.ServiceLoader}. */
  public LinkLocalGuardResolverProvider() {}

  /**
   * Wraps the JDK's built-in resolver in the filter (or returns it as is when switched off).
   *
   * @param configuration the JDK's resolver configuration
   * @return the resolver the whole JVM will use
   */
  @Override
  public InetAddressResolver get(Configuration configuration) {
    return guard(configuration.builtinResolver());
  }

  // Separate from get() because Configuration is sealed: a test wraps its fake DNS here.
  static InetAddressResolver guard(InetAddressResolver builtin) {
    if ("off".equalsIgnoreCase(System.getProperty(SWITCH_PROPERTY))) {
      return builtin;
    }
    return new Filtering(builtin);
  }

  /**
   * Names the provider, as the JDK shows it in diagnostics.
   *
   * @return {@code fanout-link-local-guard}
   */
  @Override
  public String name() {
    return "fanout-link-local-guard";
  }

  /**
   * Wraps a resolver and removes blocked addresses from its answers. Package-private so tests can
   * wrap a fake resolver.
   */
  static final class Filtering implements InetAddressResolver {
    private final InetAddressResolver delegate;

    Filtering(InetAddressResolver delegate) {
      this.delegate = delegate;
    }

    @Override
    public Stream<InetAddress> lookupByName(String host, LookupPolicy lookupPolicy)
        throws UnknownHostException {
      List<InetAddress> all = delegate.lookupByName(host, lookupPolicy).toList();
      List<InetAddress> allowed = all.stream().filter(a -> !UrlGuard.isBlocked(a)).toList();
      if (all.isEmpty()) {
        throw new UnknownHostException(host);
      }
      if (allowed.isEmpty()) {
        throw new UnknownHostException(
            host + ": resolves only to link-local or cloud metadata addresses, which are refused");
      }
      return allowed.stream();
    }

    @Override
    public String lookupByAddress(byte[] addr) throws UnknownHostException {
      return delegate.lookupByAddress(addr);
    }
  }
}

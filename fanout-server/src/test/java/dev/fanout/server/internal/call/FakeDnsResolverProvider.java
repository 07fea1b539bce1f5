package dev.fanout.server.internal.call;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A hostile DNS for {@link ResolverGuardTest}'s child JVM: answers names from a hosts-format file
 * (system property {@code fanout.test.fakeDns}) and puts the production {@link
 * LinkLocalGuardResolverProvider}'s filter in front of it, exactly as that provider wraps the JDK's
 * built-in resolver. (The JDK's own {@code jdk.net.hosts.file} cannot be used: it disables resolver
 * providers altogether.) Registered only on the child's classpath, never in the test JVM.
 */
public final class FakeDnsResolverProvider extends InetAddressResolverProvider {

  /** Called by the service loader. */
  public FakeDnsResolverProvider() {}

  @Override
  public InetAddressResolver get(Configuration configuration) {
    InetAddressResolver fake = new HostsFile(configuration.builtinResolver(), read());
    return LinkLocalGuardResolverProvider.guard(fake);
  }

  @Override
  public String name() {
    return "fanout-test-fake-dns";
  }

  private static Map<String, List<InetAddress>> read() {
    Map<String, List<InetAddress>> names = new HashMap<>();
    try {
      for (String line : Files.readAllLines(Path.of(System.getProperty("fanout.test.fakeDns")))) {
        String[] parts = line.strip().split("\\s+");
        if (parts.length == 2) {
          // A literal: parsing it never calls a resolver.
          names
              .computeIfAbsent(parts[1], n -> new ArrayList<>())
              .add(InetAddress.getByName(parts[0]));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return names;
  }

  private record HostsFile(InetAddressResolver real, Map<String, List<InetAddress>> names)
      implements InetAddressResolver {
    @Override
    public Stream<InetAddress> lookupByName(String host, LookupPolicy lookupPolicy)
        throws UnknownHostException {
      List<InetAddress> answers = names.get(host);
      return answers != null ? answers.stream() : real.lookupByName(host, lookupPolicy);
    }

    @Override
    public String lookupByAddress(byte[] addr) throws UnknownHostException {
      return real.lookupByAddress(addr);
    }
  }
}

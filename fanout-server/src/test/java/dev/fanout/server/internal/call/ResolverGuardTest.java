package dev.fanout.server.internal.call;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The connect-time half of the URL guard, end to end: a child JVM whose "DNS" ({@link
 * FakeDnsResolverProvider}) maps names to metadata and link-local addresses behind the production
 * resolver provider, so lookups, the guard and real calls through {@code HttpClient} all go through
 * the filter.
 */
class ResolverGuardTest {

  @Test
  void names_pointing_at_link_local_addresses_never_reach_them(@TempDir Path dir) throws Exception {
    Path services = dir.resolve("cp/META-INF/services");
    Files.createDirectories(services);
    Files.writeString(
        services.resolve("java.net.spi.InetAddressResolverProvider"),
        FakeDnsResolverProvider.class.getName() + "\n");
    Path hosts = dir.resolve("hosts");
    Files.writeString(
        hosts,
        """
        169.254.169.254 rebind.fanout.test
        127.0.0.1 mixed.fanout.test
        169.254.10.10 mixed.fanout.test
        fe80::1 ll6.fanout.test
        """);
    Map<String, String> seen;
    try (StubFunctionServer stub = StubFunctionServer.start();
        ChildJvm probe =
            ChildJvm.start(
                ResolverGuardProbe.class,
                List.of("-Dfanout.test.fakeDns=" + hosts),
                dir.resolve("cp"),
                Integer.toString(stub.port()))) {
      seen =
          probe.readAll().stream()
              .filter(line -> line.contains("="))
              .collect(
                  Collectors.toMap(
                      line -> line.substring(0, line.indexOf('=')),
                      line -> line.substring(line.indexOf('=') + 1)));
    }

    assertThat(seen.get("lookup.rebind.fanout.test")).startsWith("failed:").contains("link-local");
    assertThat(seen.get("lookup.mixed.fanout.test")).isEqualTo("127.0.0.1");
    assertThat(seen.get("lookup.ll6.fanout.test")).startsWith("failed:");
    assertThat(seen.get("guard.rebind")).isEqualTo("url_not_allowed");
    assertThat(seen.get("guard.mixed")).isEqualTo("allowed");
    assertThat(seen.get("call.rebind")).startsWith("connect_error:").contains("did not resolve");
    assertThat(seen.get("call.mixed")).isEqualTo("ok:7");
  }

  @Test
  void the_production_provider_is_the_one_the_jdk_picks() {
    // InetAddress uses the first provider the service loader finds.
    assertThat(
            java.util.ServiceLoader.load(java.net.spi.InetAddressResolverProvider.class)
                .findFirst())
        .containsInstanceOf(LinkLocalGuardResolverProvider.class);
  }
}

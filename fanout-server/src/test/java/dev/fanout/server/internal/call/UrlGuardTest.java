package dev.fanout.server.internal.call;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fanout.server.internal.ApiException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class UrlGuardTest {

  // A resolver with no DNS: names map to fixed answers, literals parse as usual.
  private static final Map<String, List<String>> FAKE_DNS =
      Map.of(
          "rebind.attacker.test", List.of("169.254.169.254"),
          "mixed.attacker.test", List.of("93.184.216.34", "169.254.10.10"),
          "v6ll.attacker.test", List.of("fe80::1"),
          "api.example.com", List.of("93.184.216.34"),
          "other.example.org", List.of("93.184.216.35"),
          "functions.local", List.of("127.0.0.1"));

  private static InetAddress[] fakeResolve(String host) throws UnknownHostException {
    List<String> answers = FAKE_DNS.get(host);
    if (answers == null) {
      if (Character.isDigit(host.charAt(0)) || host.contains(":")) {
        return InetAddress.getAllByName(host); // a literal: parsed, never looked up
      }
      throw new UnknownHostException(host);
    }
    InetAddress[] addresses = new InetAddress[answers.size()];
    for (int i = 0; i < addresses.length; i++) {
      addresses[i] = InetAddress.getByName(answers.get(i));
    }
    return addresses;
  }

  private final UrlGuard guard = UrlGuard.defaults().withResolver(UrlGuardTest::fakeResolve);

  @ParameterizedTest(name = "{0} is refused with {1}")
  @CsvSource(
      delimiter = '|',
      value = {
        "file:///etc/passwd | invalid_url",
        "ftp://example.com/f | invalid_url",
        "gopher://127.0.0.1:6379/_FLUSHALL | invalid_url",
        "javascript:alert(1) | invalid_url",
        "not a url | invalid_url",
        "/relative/path | invalid_url",
        "http:///no-host | invalid_url",
        "http://exa_mple.com/f | invalid_url",
        "http://user:secret@127.0.0.1/f | invalid_url",
        "http://169.254.169.254/latest/meta-data/ | url_not_allowed",
        "http://169.254.0.1:8080/ | url_not_allowed",
        "http://[fe80::1]/ | url_not_allowed",
        "http://[febf:ffff::1]/ | url_not_allowed",
        "http://[::ffff:169.254.169.254]/ | url_not_allowed",
        "http://[::169.254.169.254]/ | url_not_allowed",
        "http://[64:ff9b::a9fe:a9fe]/ | url_not_allowed",
        "http://[2002:a9fe:a9fe::1]/ | url_not_allowed",
        "http://[fd00:ec2::254]/latest/meta-data/ | url_not_allowed",
        "http://100.100.100.200/latest/meta-data/ | url_not_allowed",
        "http://metadata.google.internal/computeMetadata/v1/ | url_not_allowed",
        "http://METADATA.Google.Internal./computeMetadata/v1/ | url_not_allowed",
        "http://metadata/computeMetadata/v1/ | url_not_allowed",
        "http://rebind.attacker.test/ | url_not_allowed",
        "http://mixed.attacker.test/ | url_not_allowed",
        "http://v6ll.attacker.test/ | url_not_allowed",
        "http://does-not-exist.invalid/ | url_not_allowed",
      })
  void hostile_urls_are_refused_with_a_422_and_a_stable_code(String url, String code) {
    assertThatThrownBy(() -> guard.check("function.url", url))
        .isInstanceOfSatisfying(
            ApiException.class,
            e -> {
              assertThat(e.status()).isEqualTo(422);
              assertThat(e.code()).isEqualTo(code);
              assertThat(e.getMessage()).startsWith("function.url ");
            });
  }

  @Test
  void the_message_says_which_address_a_name_resolves_to() {
    assertThatThrownBy(() -> guard.check("webhook.url", "https://rebind.attacker.test/hook"))
        .hasMessage(
            "webhook.url host 'rebind.attacker.test' resolves to 169.254.169.254,"
                + " a link-local or cloud metadata address");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "http://127.0.0.1:8089/f",
        "https://127.0.0.1/f?x=1",
        "http://[::1]:9000/",
        "HTTP://api.example.com/v1/score",
        "http://functions.local:8080/square",
        "http://10.1.2.3/private-networks-are-allowed",
      })
  void ordinary_urls_including_loopback_are_allowed(String url) {
    assertThat(guard.check("function.url", url).toString()).isEqualTo(url);
  }

  @Test
  void the_allow_list_narrows_hosts_by_exact_name_or_subdomain_wildcard() {
    UrlGuard narrow =
        UrlGuard.allowingOnly(List.of("API.example.com", "*.functions.local", "127.0.0.1", "[::1]"))
            .withResolver(h -> InetAddress.getAllByName("127.0.0.1"));

    assertThat(narrow.check("function.url", "http://api.example.com/f")).isNotNull();
    assertThat(narrow.check("function.url", "http://a.functions.local/f")).isNotNull();
    assertThat(narrow.check("function.url", "http://127.0.0.1:1234/f")).isNotNull();
    assertThat(narrow.check("function.url", "http://[0:0:0:0:0:0:0:1]/f")).isNotNull();
    assertThatThrownBy(() -> narrow.check("function.url", "http://other.example.org/f"))
        .isInstanceOfSatisfying(
            ApiException.class, e -> assertThat(e.code()).isEqualTo("url_not_allowed"))
        .hasMessageContaining("--allow-hosts");
    assertThatThrownBy(() -> narrow.check("function.url", "http://functions.local/f"))
        .isInstanceOf(ApiException.class);
    assertThatThrownBy(() -> narrow.check("function.url", "http://evil-api.example.com/f"))
        .isInstanceOf(ApiException.class);
  }

  @Test
  void the_allow_list_never_admits_a_link_local_address() {
    UrlGuard narrow = UrlGuard.allowingOnly(List.of("169.254.169.254"));

    assertThatThrownBy(() -> narrow.check("function.url", "http://169.254.169.254/"))
        .isInstanceOfSatisfying(
            ApiException.class, e -> assertThat(e.code()).isEqualTo("url_not_allowed"));
  }

  @Test
  void blocked_addresses_cover_link_local_metadata_and_embedded_forms_but_not_loopback()
      throws Exception {
    for (String blocked :
        List.of(
            "169.254.169.254",
            "169.254.0.0",
            "169.254.255.255",
            "fe80::1",
            "febf::1",
            "::ffff:169.254.169.254",
            "fd00:ec2::254",
            "100.100.100.200")) {
      assertThat(UrlGuard.isBlocked(InetAddress.getByName(blocked))).as(blocked).isTrue();
    }
    for (String allowed :
        List.of("127.0.0.1", "::1", "10.0.0.1", "169.253.255.255", "169.255.0.1", "fec0::1")) {
      assertThat(UrlGuard.isBlocked(InetAddress.getByName(allowed))).as(allowed).isFalse();
    }
  }

  @Test
  void the_resolver_filter_drops_blocked_answers_and_fails_names_with_nothing_left()
      throws Exception {
    InetAddressResolver fake =
        new InetAddressResolver() {
          @Override
          public Stream<InetAddress> lookupByName(String host, LookupPolicy policy)
              throws UnknownHostException {
            return Stream.of(fakeResolve(host));
          }

          @Override
          public String lookupByAddress(byte[] addr) {
            return "reverse";
          }
        };
    InetAddressResolver filtering = new LinkLocalGuardResolverProvider.Filtering(fake);
    InetAddressResolver.LookupPolicy any =
        InetAddressResolver.LookupPolicy.of(
            InetAddressResolver.LookupPolicy.IPV4 | InetAddressResolver.LookupPolicy.IPV6);

    assertThat(filtering.lookupByName("mixed.attacker.test", any).map(InetAddress::getHostAddress))
        .containsExactly("93.184.216.34");
    assertThat(filtering.lookupByName("functions.local", any).map(InetAddress::getHostAddress))
        .containsExactly("127.0.0.1");
    assertThatThrownBy(() -> filtering.lookupByName("rebind.attacker.test", any))
        .isInstanceOf(UnknownHostException.class)
        .hasMessageContaining("link-local");
    assertThatThrownBy(() -> filtering.lookupByName("v6ll.attacker.test", any))
        .isInstanceOf(UnknownHostException.class);
  }

  @Test
  void the_resolver_provider_is_registered_for_the_service_loader() {
    assertThat(
            ServiceLoader.load(InetAddressResolverProvider.class).stream()
                .map(ServiceLoader.Provider::type))
        .contains(LinkLocalGuardResolverProvider.class);
  }
}

package dev.fanout.server.internal.call;

import com.fasterxml.jackson.databind.node.IntNode;
import dev.fanout.server.internal.ApiException;
import java.net.InetAddress;
import java.net.URI;
import java.time.Duration;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.eclipse.jetty.client.HttpClient;

/**
 * Runs in a child JVM whose hosts file ({@code -Djdk.net.hosts.file}) plays a hostile DNS: it
 * prints, one {@code name=answer} line each, what lookups, the URL guard and real calls see once
 * the resolver provider is installed. Arguments: the port of a stub on 127.0.0.1.
 */
final class ResolverGuardProbe {
  private ResolverGuardProbe() {}

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    for (String host :
        new String[] {"rebind.fanout.test", "mixed.fanout.test", "ll6.fanout.test"}) {
      System.out.println("lookup." + host + "=" + lookup(host));
    }
    System.out.println("guard.rebind=" + guard("http://rebind.fanout.test:" + port + "/f"));
    System.out.println("guard.mixed=" + guard("http://mixed.fanout.test:" + port + "/f"));
    HttpClient client = HttpFunction.newClient(Duration.ofSeconds(5));
    try {
      System.out.println("call.rebind=" + call(client, "http://rebind.fanout.test:" + port + "/f"));
      System.out.println("call.mixed=" + call(client, "http://mixed.fanout.test:" + port + "/f"));
    } finally {
      HttpFunction.stopClient(client);
    }
  }

  private static String lookup(String host) {
    try {
      return Arrays.stream(InetAddress.getAllByName(host))
          .map(InetAddress::getHostAddress)
          .collect(Collectors.joining(","));
    } catch (Exception e) {
      return "failed:" + e.getMessage();
    }
  }

  private static String guard(String url) {
    try {
      UrlGuard.defaults().check("function.url", url);
      return "allowed";
    } catch (ApiException e) {
      return e.code();
    }
  }

  private static String call(HttpClient client, String url) {
    // Built without the submit-time check, as if DNS had changed since: only the resolver guards.
    HttpFunction function =
        HttpFunction.builder(HttpFunctionConfig.of(URI.create(url)), client).build();
    try {
      return "ok:" + function.apply(IntNode.valueOf(7), FakeTaskContext.of(0));
    } catch (CallException e) {
      return e.code() + ":" + e.getMessage();
    } catch (Exception e) {
      return "failed:" + e;
    }
  }
}

package dev.fanout.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fanout.JobId;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A server with a token: the client sends it, and a missing or wrong one is told apart. */
// A guard against a hang (a stream that never ends), not a timing assertion.
@Timeout(value = 3, unit = java.util.concurrent.TimeUnit.MINUTES)
class AuthTest {
  @TempDir Path data;

  private TestServer server;

  @BeforeEach
  void start() {
    server = new TestServer(data, TestServer.TOKEN);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private FanoutClient clientWith(String token) {
    FanoutClient.Builder b = FanoutClient.builder(URI.create(server.url()));
    if (token != null) {
      b.token(token);
    }
    return b.build();
  }

  @Test
  void the_right_token_is_sent_with_every_request() {
    try (FanoutClient client = clientWith(TestServer.TOKEN)) {
      JobAccepted job =
          client.submit(
              SubmitRequest.builder().functionName("identity").items(List.of(1, 2)).build());
      try (var results = client.results(job.id())) {
        assertThat(results.count()).isEqualTo(2);
      }
      assertThat(client.get(job.id()).state().isFinal()).isTrue();
    }
  }

  @Test
  void a_missing_or_wrong_token_is_401_unauthorized_on_every_route() {
    JobId id = JobId.of("0192f1e4-7b1c-7d3e-9a4f-2b6c8d0e1f23");
    for (String token : new String[] {null, "not-the-right-token-at-all"}) {
      try (FanoutClient client = clientWith(token)) {
        assertThatThrownBy(() -> client.get(id)).satisfies(AuthTest::isUnauthorized);
        assertThatThrownBy(() -> client.list(null, 10, null)).satisfies(AuthTest::isUnauthorized);
        assertThatThrownBy(() -> client.results(id).toList()).satisfies(AuthTest::isUnauthorized);
        assertThatThrownBy(
                () ->
                    client.submit(
                        SubmitRequest.builder().functionName("identity").items(List.of(1)).build()))
            .satisfies(AuthTest::isUnauthorized);
        assertThatThrownBy(() -> client.status(id)).satisfies(AuthTest::isUnauthorized);
      }
    }
  }

  @Test
  void a_large_submission_with_a_wrong_token_is_refused_as_unauthorized_not_as_a_broken_upload() {
    // About 8 MiB of items: more than the server reads from a refused body before it hangs up.
    String pad = "x".repeat(40);
    try (FanoutClient client = clientWith("not-the-right-token-at-all")) {
      assertThatThrownBy(
              () ->
                  client.submit(
                      SubmitRequest.builder()
                          .functionName("identity")
                          .items(IntStream.range(0, 200_000).mapToObj(i -> pad + i))
                          .build()))
          .satisfies(AuthTest::isUnauthorized);
    }
  }

  private static void isUnauthorized(Throwable e) {
    assertThat(e).isInstanceOf(FanoutApiException.class);
    FanoutApiException api = (FanoutApiException) e;
    assertThat(api.status()).isEqualTo(401);
    assertThat(api.code()).isEqualTo("unauthorized");
    assertThat(api.isUnauthorized()).isTrue();
  }
}

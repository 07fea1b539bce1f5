package dev.fanout.jdbc.crash;

import java.nio.file.Path;

/** Workers killed with SIGKILL over an embedded H2 file, which each one opens in turn. */
class H2SigkillTest extends SigkillBehaviour {
  @Override
  StoreTarget target(Path folder) {
    return new StoreTarget.H2(folder.resolve("store"));
  }
}

/**
 * The durable job store over JDBC: {@link dev.fanout.jdbc.JdbcJobStore}, on an embedded H2 file for
 * one process or on PostgreSQL for a cluster of engines sharing one database.
 *
 * <p>Everything else in this package is internal: the dialects that hold what differs between the
 * two databases, the schema migrations (Flyway, under {@code db/migration/h2} and {@code
 * db/migration/postgresql}), and the transaction plumbing.
 */
package dev.fanout.jdbc;

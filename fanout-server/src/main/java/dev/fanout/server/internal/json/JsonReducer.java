package dev.fanout.server.internal.json;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.server.internal.ApiException;
import java.util.Iterator;
import java.util.List;

/**
 * The fan-in of the HTTP API: a job's {@code reduce} field, folding the succeeded results (JSON
 * values) in input (index) order into the job's aggregate.
 *
 * <p>The reducers and what they do with odd input:
 *
 * <table>
 *   <caption>Built-in reducers</caption>
 *   <tr><th>name</th><th>result</th><th>of nothing</th><th>refuses (with {@link ReduceFailure})</th></tr>
 *   <tr><td>{@code sum}</td><td>exact decimal sum; integral sums are JSON integers</td>
 *       <td>{@code 0}</td><td>any value that is not a finite number, {@code null} included</td></tr>
 *   <tr><td>{@code count}</td><td>the number of succeeded items, whatever their values</td>
 *       <td>{@code 0}</td><td>nothing</td></tr>
 *   <tr><td>{@code min}, {@code max}</td><td>the least or greatest value, the first one on ties;
 *       numbers compare numerically, strings by UTF-16 code units</td><td>{@code null}</td>
 *       <td>values that are neither numbers nor strings, and strings mixed with numbers</td></tr>
 *   <tr><td>{@code avg}</td><td>exact sum divided by the count (16 significant digits), as a
 *       JSON floating-point number</td><td>{@code null}</td><td>as {@code sum}</td></tr>
 *   <tr><td>{@code collect}</td><td>an array of the values in index order</td><td>{@code []}</td>
 *       <td>nothing</td></tr>
 *   <tr><td>{@code concat}</td><td>arrays joined into one array, or strings into one string</td>
 *       <td>{@code null} (no value says which kind)</td><td>other types, and arrays mixed with
 *       strings</td></tr>
 *   <tr><td>{@code merge}</td><td>objects merged shallowly, a later index winning a key</td>
 *       <td>{@code {}}</td><td>values that are not objects</td></tr>
 *   <tr><td>{@code {"jq": e, "init": v}}</td><td>{@code e} runs once per value with {@code .} the
 *       aggregate so far (first {@code v}, default {@code null}), {@code $item} the value and
 *       {@code $index} its index; its one output is the new aggregate</td><td>{@code v}</td>
 *       <td>an expression that fails or yields no value or several</td></tr>
 * </table>
 *
 * <p>The results match the built-in reducers of durable core jobs for the names both have ({@code
 * sum}, {@code count}, {@code min}, {@code max}, {@code avg}, {@code collect}), except that this
 * one refuses a non-number, non-string value for {@code min} and {@code max} even when it is alone,
 * and writes integral sums beyond 64 bits as plain integers.
 *
 * <p>Usage: {@code acc = identity()}, then {@code acc = accumulate(acc, index, value)} for each
 * succeeded result in index order, then {@code finish(acc)}. The aggregate in between is opaque
 * (avg keeps a sum and a count in it) and may be mutated in place, so pass each one only to the
 * reducer that made it, once. A reducer itself is immutable and thread-safe.
 */
public interface JsonReducer {
  /** The reducer names the API accepts as a string. */
  List<String> NAMES = List.of("sum", "count", "min", "max", "avg", "collect", "concat", "merge");

  /**
   * Parses the API's {@code reduce} field; call it only when the field is present and not null.
   *
   * @param reduceField a reducer name, or {@code {"jq": "...", "init": value}}
   * @return the reducer
   * @throws ApiException 400 {@code invalid_type} for a value of the wrong JSON type (null
   *     included), 422 {@code unknown_reducer} for an unknown name, 422 {@code invalid_jq} for a
   *     bad expression, 422 {@code invalid_value} for an unknown field in the object form
   */
  static JsonReducer parse(JsonNode reduceField) {
    return Reducers.parse(reduceField);
  }

  /**
   * Rebuilds a reducer stored with a job (by {@link #toJson()}), for example after a restart.
   *
   * @param stored the stored form
   * @return the reducer
   * @throws ApiException as {@link #parse(JsonNode)}, should the stored form be invalid
   */
  static JsonReducer fromJson(JsonNode stored) {
    return Reducers.parse(stored);
  }

  /**
   * The form to store with the job: the same JSON the API accepts, so {@link #fromJson(JsonNode)}
   * rebuilds an equal reducer.
   *
   * @return the reducer's name as a string, or {@code {"jq": ..., "init": ...}}
   */
  JsonNode toJson();

  /**
   * The aggregate of no values yet; a new, mutable one on every call.
   *
   * @return the starting aggregate
   */
  JsonNode identity();

  /**
   * Folds one succeeded result into the aggregate.
   *
   * @param aggregate the aggregate so far, from {@link #identity()} or the previous call
   * @param index the item's 0-based index in the job's items, named in errors
   * @param value the item's result
   * @return the new aggregate, possibly {@code aggregate} itself, mutated
   * @throws ReduceFailure when the value cannot be folded
   */
  JsonNode accumulate(JsonNode aggregate, long index, JsonNode value);

  /**
   * Turns the aggregate into the job's result, once every value was folded.
   *
   * @param aggregate the aggregate after the last value
   * @return the aggregate to show the client
   */
  default JsonNode finish(JsonNode aggregate) {
    return aggregate;
  }

  /**
   * Folds values whose indexes are their positions (0, 1, 2, ...): a convenience for jobs whose
   * items all succeeded, and for tests. A job with failed items calls {@link #accumulate} with the
   * real indexes.
   *
   * @param valuesInIndexOrder the values, in index order
   * @return the finished aggregate
   * @throws ReduceFailure when a value cannot be folded
   */
  default JsonNode fold(Iterator<? extends JsonNode> valuesInIndexOrder) {
    JsonNode aggregate = identity();
    long index = 0;
    while (valuesInIndexOrder.hasNext()) {
      aggregate = accumulate(aggregate, index++, valuesInIndexOrder.next());
    }
    return finish(aggregate);
  }
}

package dev.fanout.server.internal.json;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import dev.fanout.server.internal.ApiException;
import java.io.Serial;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import net.thisptr.jackson.jq.BuiltinFunctionLoader;
import net.thisptr.jackson.jq.Expression;
import net.thisptr.jackson.jq.Function;
import net.thisptr.jackson.jq.JsonQuery;
import net.thisptr.jackson.jq.PathOutput;
import net.thisptr.jackson.jq.Scope;
import net.thisptr.jackson.jq.Version;
import net.thisptr.jackson.jq.Versions;
import net.thisptr.jackson.jq.exception.JsonQueryException;
import net.thisptr.jackson.jq.path.Path;

/**
 * A jq expression (jackson-jq, jq 1.7 semantics) compiled once at submit time and applied to each
 * result, which must yield exactly one value.
 *
 * <p>Instances are immutable and safe to share between worker threads: every evaluation runs in its
 * own child scope of one shared, read-only scope holding the built-in functions. jq 1.7 has no
 * {@code env}, {@code $ENV} or {@code input} in jackson-jq, so an expression cannot read the
 * server's environment or other requests.
 *
 * <p><b>Runaway expressions.</b> jackson-jq cannot be interrupted and has no time or memory limit,
 * so this class bounds what it can:
 *
 * <ul>
 *   <li>outputs are counted and evaluation stops once more than {@value #MAX_COUNTED_OUTPUTS} are
 *       seen, so {@code range(1e18)} or {@code recurse(. + 1)} at the top level ends at once;
 *   <li>{@code range} (the one built-in that makes values out of nothing, in a Java loop) is
 *       metered: one evaluation may take at most {@value #STEP_BUDGET} steps of it, so {@code
 *       [range(1e18)]} or {@code reduce range(1e18) as $x (0; . + 1)} fails instead of spinning;
 *   <li>every other jq loop ({@code while}, {@code until}, {@code recurse}, a recursive {@code
 *       def}) recurses on the Java stack, so it ends in a {@link StackOverflowError}, which is
 *       reported as a failure of the item;
 *   <li>expressions longer than {@value #MAX_EXPRESSION_LENGTH} characters are refused.
 * </ul>
 *
 * <p>What remains possible is a single expression building a huge value without looping in jq (for
 * example {@code "x" * 1e9}, or a catastrophic regular expression in {@code test}): run transforms
 * on worker threads under the job's attempt timeout and memory limits, never on a request thread.
 */
public final class JqTransform {
  /** The longest expression accepted; a jq program for one result needs far less. */
  public static final int MAX_EXPRESSION_LENGTH = 10_000;

  /** Outputs counted exactly before evaluation stops; the error then says "more than". */
  static final int MAX_COUNTED_OUTPUTS = 100;

  /** Steps of {@code range} one evaluation may take: about a fifth of a second of CPU. */
  static final long STEP_BUDGET = 1_000_000L;

  /** The submit-time trial run gets few steps: it only looks for undefined names. */
  private static final long TRIAL_BUDGET = 10_000L;

  private static final Version VERSION = Versions.JQ_1_7;
  private static final Scope ROOT = rootScope();

  /** The remaining {@code range} steps of the evaluation running on this thread, if any. */
  private static final ThreadLocal<long[]> BUDGET = new ThreadLocal<>();

  /** jackson-jq reports unknown names only when it reaches them, with these messages. */
  private static final Pattern UNDEFINED_NAME =
      Pattern.compile("Function \\S+ does not exist|\\$\\S+ is not defined");

  private final String expression;
  private final String field;
  private final JsonQuery query;
  private final long stepBudget;

  private JqTransform(String expression, String field, JsonQuery query, long stepBudget) {
    this.expression = expression;
    this.field = field;
    this.query = query;
    this.stepBudget = stepBudget;
  }

  /**
   * Compiles an expression from a request, so a bad one is refused at submit time instead of
   * failing every item later.
   *
   * <p>Besides syntax, it makes one short trial run on {@code null} to find unknown functions and
   * variables, which jackson-jq only reports when it reaches them; other errors of the trial are
   * ignored, since they depend on the input.
   *
   * @param expression the jq expression
   * @param field the request field it came from ({@code transform} or {@code reduce.jq}), named in
   *     errors
   * @return the compiled transform
   * @throws ApiException 422 {@code invalid_jq} naming the field, when the expression is too long,
   *     does not parse, or uses an unknown function or variable
   */
  public static JqTransform compile(String expression, String field) {
    return compile(expression, field, Map.of(), STEP_BUDGET);
  }

  /**
   * Compiles an expression that will run with the given variables bound, tried with them bound.
   *
   * @param variables sample values of the variables (names without {@code $})
   * @param stepBudget the {@code range} steps one evaluation may take
   */
  static JqTransform compile(
      String expression, String field, Map<String, JsonNode> variables, long stepBudget) {
    Objects.requireNonNull(expression, "expression");
    Objects.requireNonNull(field, "field");
    if (expression.length() > MAX_EXPRESSION_LENGTH) {
      throw invalid(
          field
              + " is "
              + expression.length()
              + " characters long; at most "
              + MAX_EXPRESSION_LENGTH
              + " are allowed");
    }
    JsonQuery query;
    try {
      query = JsonQuery.compile(expression, VERSION);
    } catch (JsonQueryException e) {
      throw invalid(field + " is not a valid jq expression: " + parseError(e));
    } catch (RuntimeException | StackOverflowError e) {
      throw invalid(field + " is not a valid jq expression: " + firstLine(e.toString()));
    } catch (Error e) {
      // javacc reports a bad character with TokenMgrError, an Error; keep the JVM's own errors.
      if (e instanceof VirtualMachineError) {
        throw e;
      }
      throw invalid(field + " is not a valid jq expression: " + firstLine(e.getMessage()));
    }
    JqTransform transform = new JqTransform(expression, field, query, stepBudget);
    transform.tryOnNull(variables);
    return transform;
  }

  private void tryOnNull(Map<String, JsonNode> variables) {
    long[] budget = {TRIAL_BUDGET};
    try {
      run(NullNode.instance, variables, budget, new int[1], new JsonNode[1]);
    } catch (JsonQueryException e) {
      String message = e.getMessage();
      if (budget[0] >= 0 && message != null && UNDEFINED_NAME.matcher(message).matches()) {
        throw invalid(field + " is not a valid jq expression: " + message);
      }
    } catch (RuntimeException | StackOverflowError e) {
      // Depends on the input; the real items will tell.
    }
  }

  /**
   * Applies the expression to one result.
   *
   * @param input the result
   * @return the single value the expression yielded
   * @throws TransformFailure when it yielded no value or several, or failed
   */
  public JsonNode apply(JsonNode input) {
    return apply(input, Map.of());
  }

  /**
   * Applies the expression with variables bound, as the jq reducer does with {@code $item}.
   *
   * @param variables values by name, without {@code $}
   */
  JsonNode apply(JsonNode input, Map<String, JsonNode> variables) {
    Objects.requireNonNull(input, "input");
    long[] budget = {stepBudget};
    int[] count = new int[1];
    JsonNode[] first = new JsonNode[1];
    try {
      run(input, variables, budget, count, first);
    } catch (JsonQueryException e) {
      if (budget[0] >= 0) {
        throw new TransformFailure(describe() + " failed: " + e.getMessage(), e);
      }
    } catch (StackOverflowError e) {
      throw new TransformFailure(describe() + " recursed too deeply (a loop that never ends?)", e);
    } catch (RuntimeException e) {
      throw new TransformFailure(describe() + " failed: " + e, e);
    }
    // Checked after the run, since jq's try/catch may have swallowed the signal that stopped it.
    if (budget[0] < 0) {
      throw new TransformFailure(
          describe() + " ran more than " + stepBudget + " steps of range; it must stay smaller",
          null);
    }
    if (count[0] == 0) {
      throw new TransformFailure(describe() + " yielded no value; it must yield exactly one", null);
    }
    if (count[0] > 1) {
      String n =
          count[0] > MAX_COUNTED_OUTPUTS ? "more than " + MAX_COUNTED_OUTPUTS : "" + count[0];
      throw new TransformFailure(
          describe() + " yielded " + n + " values; it must yield exactly one", null);
    }
    return first[0];
  }

  private void run(
      JsonNode input, Map<String, JsonNode> variables, long[] budget, int[] count, JsonNode[] first)
      throws JsonQueryException {
    Scope scope = Scope.newChildScope(ROOT);
    variables.forEach(scope::setValue);
    long[] outer = BUDGET.get();
    BUDGET.set(budget);
    try {
      query.apply(
          scope,
          input,
          value -> {
            count[0]++;
            if (count[0] == 1) {
              first[0] = value;
            } else if (count[0] > MAX_COUNTED_OUTPUTS) {
              throw new Stop();
            }
          });
    } catch (Stop stop) {
      // Enough outputs seen; count tells the rest.
    } finally {
      if (outer == null) {
        BUDGET.remove();
      } else {
        BUDGET.set(outer);
      }
    }
  }

  /**
   * The expression as written.
   *
   * @return the jq source
   */
  public String expression() {
    return expression;
  }

  /**
   * The request field the expression came from.
   *
   * @return {@code transform} or {@code reduce.jq}
   */
  public String field() {
    return field;
  }

  @Override
  public String toString() {
    return describe();
  }

  private String describe() {
    String shown = expression.length() > 80 ? expression.substring(0, 77) + "..." : expression;
    return field + " \"" + shown + "\"";
  }

  private static ApiException invalid(String message) {
    return ApiException.invalid("invalid_jq", message);
  }

  /** jackson-jq wraps the parser's message ("Encountered ... at line 1, column 3.") in a cause. */
  private static String parseError(JsonQueryException e) {
    Throwable detail = e.getCause() != null ? e.getCause() : e;
    return firstLine(detail.getMessage());
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "syntax error";
    }
    int newline = message.indexOf('\n');
    return (newline < 0 ? message : message.substring(0, newline)).strip();
  }

  private static Scope rootScope() {
    Scope root = Scope.newEmptyScope();
    BuiltinFunctionLoader.getInstance().loadFunctions(VERSION, root);
    for (int arity = 1; arity <= 3; arity++) {
      Function range = root.getFunction("range", arity);
      if (range != null) {
        root.addFunction("range", arity, new Metered(range));
      }
    }
    return root;
  }

  /** Counts each value a built-in emits against the running evaluation's budget. */
  private record Metered(Function inner) implements Function {
    @Override
    public void apply(
        Scope scope,
        List<Expression> args,
        JsonNode in,
        Path path,
        PathOutput output,
        Version version)
        throws JsonQueryException {
      inner.apply(
          scope,
          args,
          in,
          path,
          (value, valuePath) -> {
            long[] budget = BUDGET.get();
            if (budget != null && --budget[0] < 0) {
              throw new Stop();
            }
            output.emit(value, valuePath);
          },
          version);
    }
  }

  /** Unwinds an evaluation; cheap, since it is thrown on every over-long expression. */
  private static final class Stop extends JsonQueryException {
    @Serial private static final long serialVersionUID = 1L;

    Stop() {
      super("evaluation stopped");
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
      return this;
    }
  }
}

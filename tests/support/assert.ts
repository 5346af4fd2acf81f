/** Assertions for the tests, on top of node:assert (the @std/assert module is not reachable here). */
import nodeAssert from "node:assert/strict";

/** Asserts that `cond` is truthy. */
export function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg);
}

/** Asserts deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}

/** Asserts that `haystack` contains `needle`. */
export function assertStringIncludes(haystack: string, needle: string, msg?: string): void {
  nodeAssert.ok(
    haystack.includes(needle),
    msg ?? `Expected to find ${JSON.stringify(needle)} in:\n${haystack}`,
  );
}

/** Asserts that `fn` throws an instance of `cls` whose message includes `includes`. */
export function assertThrows(
  fn: () => unknown,
  cls: abstract new (...args: never[]) => Error = Error,
  includes?: string,
): Error {
  try {
    fn();
  } catch (err) {
    nodeAssert.ok(err instanceof cls, `Expected ${cls.name}, got ${String(err)}`);
    if (includes !== undefined) assertStringIncludes((err as Error).message, includes);
    return err as Error;
  }
  throw new nodeAssert.AssertionError({ message: "Expected the function to throw" });
}

/** Async variant of {@link assertThrows}. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  cls: abstract new (...args: never[]) => Error = Error,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    nodeAssert.ok(err instanceof cls, `Expected ${cls.name}, got ${String(err)}`);
    if (includes !== undefined) assertStringIncludes((err as Error).message, includes);
    return err as Error;
  }
  throw new nodeAssert.AssertionError({ message: "Expected the promise to reject" });
}

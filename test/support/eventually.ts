/**
 * Polls until `check` passes on what `read` returns — for changes that arrive asynchronously (a delta sync, a
 * watcher batch) — and fails with the last value after `ms`. Waits for the condition, not for a fixed time. The
 * default deadline is generous (a loaded CI machine can be ten times slower than a quiet one): it only fails a test
 * that is really stuck, and stays below the suite's 60 s per-test timeout so the failure shows the last value.
 *
 * A `read` that throws counts as "not yet", like a value that fails the check: reading a tree while a change is
 * applied to it can fail as it would on any file system (`find` lists a folder that is gone when it descends into it:
 * "No such file or directory"). At the deadline the last error is what the failure shows.
 */
export async function eventually<T>(read: () => Promise<T> | T, check: (v: T) => boolean, ms = 45_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    let last: { value: T } | { error: unknown };
    try {
      const value = await read();
      if (check(value)) return value;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() > deadline) {
      if ("error" in last) throw new Error(`condition not met in ${ms} ms; the last read failed: ${last.error instanceof Error ? last.error.message : String(last.error)}`);
      throw new Error(`condition not met in ${ms} ms; last value: ${JSON.stringify(last.value)}`);
    }
    await Bun.sleep(everyMs);
  }
}

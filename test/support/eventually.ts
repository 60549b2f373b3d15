/**
 * Polls until `check` passes on what `read` returns — for changes that arrive asynchronously (a delta sync, a
 * watcher batch) — and fails with the last value after `ms`. Waits for the condition, not for a fixed time. The
 * default deadline is generous (a loaded CI machine can be ten times slower than a quiet one): it only fails a test
 * that is really stuck, and stays below the suite's 60 s per-test timeout so the failure shows the last value.
 */
export async function eventually<T>(read: () => Promise<T> | T, check: (v: T) => boolean, ms = 45_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await read();
  while (!check(v)) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${ms} ms; last value: ${JSON.stringify(v)}`);
    await Bun.sleep(everyMs);
    v = await read();
  }
  return v;
}

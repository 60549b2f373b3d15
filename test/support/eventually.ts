/**
 * Polls until `check` passes on what `read` returns — for changes that arrive asynchronously (a delta sync, a
 * watcher batch) — and fails with the last value after `ms`. Waits for the condition, not for a fixed time.
 */
export async function eventually<T>(read: () => Promise<T> | T, check: (v: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await read();
  while (!check(v)) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${ms} ms; last value: ${JSON.stringify(v)}`);
    await Bun.sleep(200);
    v = await read();
  }
  return v;
}

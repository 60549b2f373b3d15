import { expect, test } from "bun:test";
import { oneAtATime } from "../../src/library/scanParse.ts";

// Issue 20: a scan worker that started a second batch while the first was parsing ran two parses interleaved in one
// thread. The worker's message handler must take one message at a time.
test("a scan worker's messages are handled one at a time, in order, even when a handler fails", async () => {
  const events: string[] = [];
  let releaseFirst!: () => void;
  const firstMayEnd = new Promise<void>((resolve) => (releaseFirst = resolve));
  const handle = oneAtATime(async (n: number) => {
    events.push(`start ${n}`);
    if (n === 1) await firstMayEnd;
    if (n === 2) throw new Error("parser crashed");
    events.push(`end ${n}`);
  });
  const first = handle(1);
  const second = handle(2);
  const third = handle(3);
  for (let i = 0; i < 20; i++) await Promise.resolve(); // everything that could start without waiting has started
  expect(events).toEqual(["start 1"]);
  releaseFirst();
  await first;
  await expect(second).rejects.toThrow("parser crashed"); // still rejected: a crash stays a crash
  await third;
  expect(events).toEqual(["start 1", "end 1", "start 2", "start 3", "end 3"]);
});

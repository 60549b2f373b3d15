import { expect, test } from "bun:test";
import { eventually } from "./eventually.ts";

test("a read that fails while the state changes is tried again, like a value that does not pass yet", async () => {
  let reads = 0;
  const value = await eventually(
    () => {
      reads++;
      if (reads <= 2) throw new Error("find: 'Genres/Ambient': No such file or directory");
      return reads;
    },
    (n) => n >= 4,
    45_000,
    1,
  );
  expect(value).toBe(4);
});

test("a read that never succeeds fails at the deadline with its last error, not a value", async () => {
  const failure = await eventually(() => Promise.reject(new Error("find failed: gone")), () => true, 20, 1).catch((e: Error) => e);
  expect(failure).toBeInstanceOf(Error);
  expect((failure as Error).message).toContain("the last read failed: find failed: gone");
});

import { describe, expect, test } from "bun:test";
import { createConsola } from "consola";
import { createScanProgress, describeProgress, formatDuration } from "../../src/library/scanProgress.ts";

describe("scan progress", () => {
  test("describeProgress: running total while walking, ETA once the total is known", () => {
    expect(describeProgress({ found: 5000, toParse: 4000, done: 1000, walkDone: false }, 2000, 0.5)).toBe(
      "1,000 / 4,000+ files · 2,000 files/s · walking (5,000 audio files found) · 0:01 elapsed",
    );
    expect(describeProgress({ found: 9000, toParse: 9000, done: 3000, walkDone: true }, 3000, 61)).toBe(
      "3,000 / 9,000 files · 3,000 files/s · ETA 0:02 · 1:01 elapsed",
    );
    expect(formatDuration(3725)).toBe("1:02:05");
  });

  test("on a terminal: one line redrawn in place, throttled, cleared at the end", () => {
    let t = 0;
    const writes: string[] = [];
    const stream = { isTTY: true, columns: 120, write: (s: string) => writes.push(s) };
    const log = createConsola({ level: 3, reporters: [{ log: () => writes.push("LOG") }] });
    const progress = createScanProgress({ stream, log, now: () => t, redrawMs: 100 });
    for (let i = 0; i <= 10; i++) {
      t = i * 20;
      progress.update({ found: 100, toParse: 100, done: i * 10, walkDone: true });
    }
    progress.stop();
    expect(writes.includes("LOG")).toBe(false);
    const lines = writes.filter((w) => w.startsWith("\r") && w.includes("files"));
    expect(lines.length).toBe(3); // t = 0, 100, 200
    expect(lines[2]).toContain("files/s");
    expect(lines[2]).toContain("ETA");
    expect(writes[writes.length - 1]).toBe("\r\x1b[K");
  });

  test("elsewhere: plain log lines every few seconds, nothing written to the stream", () => {
    let t = 0;
    const writes: string[] = [];
    const logged: string[] = [];
    const stream = { isTTY: false, write: (s: string) => writes.push(s) };
    const log = createConsola({ level: 3, reporters: [{ log: (o) => logged.push(o.args.join(" ")) }] });
    const progress = createScanProgress({ stream, log, now: () => t, logEveryMs: 5000 });
    for (let i = 1; i <= 120; i++) {
      t = i * 100; // 12 s
      progress.update({ found: 1200, toParse: 1200, done: i * 10, walkDone: true });
    }
    progress.stop();
    expect(writes).toEqual([]);
    expect(logged.length).toBe(3); // at 0.1 s, 5.1 s, 10.1 s
    expect(logged[1]).toMatch(/^scan: \d[\d,]* \/ 1,200 files · 100 files\/s · ETA/);
  });
});

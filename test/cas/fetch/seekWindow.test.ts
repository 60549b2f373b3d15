import { expect, test } from "bun:test";
import { defaultSeekWindow, withinSeekWindow } from "../../../src/cas/fetch/seekWindow.ts";

const MiB = 1024 * 1024;

test("the default window covers the playback threshold plus the stream's reads in flight", () => {
  expect(defaultSeekWindow(4 * MiB, 8 * MiB)).toBe(12 * MiB);
});

test("a read just ahead of the stream waits for it; one behind it or beyond the window is a seek", () => {
  const w = 12 * MiB;
  expect(withinSeekWindow(10 * MiB, 10 * MiB, w)).toBe(true);
  expect(withinSeekWindow(10 * MiB, 22 * MiB - 1, w)).toBe(true);
  expect(withinSeekWindow(10 * MiB, 22 * MiB, w)).toBe(false);
  expect(withinSeekWindow(10 * MiB, 10 * MiB - 1, w)).toBe(false);
});

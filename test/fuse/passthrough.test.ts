/**
 * The passthrough table's sharing rule, without a kernel: every open of an inode must reply with the backing id its
 * first open registered (the kernel refuses a second backing file for an inode: the opener saw EIO), and the id is
 * closed with the last RELEASE, whichever worker's table view receives it. Real mounts: test/e2e/sharedOpens.test.ts.
 */
import { expect, test } from "bun:test";
import { createPassthroughTable, PASSTHROUGH_FH_BASE, PassthroughTable, type BackingIoctls } from "../../src/fuse/passthrough.ts";
import { SyscallError } from "../../src/fuse/ffi.ts";
import { makeRandom } from "../../src/sample/random.ts";

/** Records the ioctls a table makes; ids count up from 1 as the kernel's do. */
function fakeKernel() {
  let nextId = 1;
  const registered = new Set<number>();
  const log: string[] = [];
  const ioctls: BackingIoctls = {
    open(fd) {
      const id = nextId++;
      registered.add(id);
      log.push(`open fd ${fd} → ${id}`);
      return id;
    },
    close(id) {
      if (!registered.delete(id)) throw new Error(`closed backing id ${id} twice or never opened`);
      log.push(`close ${id}`);
    },
  };
  return { ioctls, registered, log };
}

test("two workers' views: the second open of an inode reuses its backing id; the last release closes it", () => {
  const sab = createPassthroughTable();
  const kernel = fakeKernel();
  const worker1 = new PassthroughTable(sab, -1, kernel.ioctls);
  const worker2 = new PassthroughTable(sab, -1, kernel.ioctls);

  const a = worker1.open(7, { fd: 40 }, 40)!;
  const b = worker2.open(7, { fd: 41 }, 41)!;
  expect(b.backingId).toBe(a.backingId);
  expect(b.fh).not.toBe(a.fh);
  expect(kernel.log).toEqual(["open fd 40 → 1"]);

  expect(worker2.release(a.fh)).toBe(40); // the first open's RELEASE arrives at the other worker
  expect(kernel.registered.has(a.backingId)).toBe(true); // still used by the second open
  expect(worker1.release(b.fh)).toBe(41);
  expect(kernel.log).toEqual(["open fd 40 → 1", "close 1"]);

  // The next open registers afresh.
  expect(worker1.open(7, { fd: 42 }, 42)!.backingId).toBe(2);
  expect(worker1.counts()).toEqual({ opens: 1, backingIds: 1 });
  // Handles below the base are the filesystem's own: not ours to release.
  expect(worker1.release(42)).toBeUndefined();
  expect(worker1.release(PASSTHROUGH_FH_BASE + 12345)).toBeUndefined(); // a slot not in use
});

test("thousands of opens and releases over many inodes keep one id per open inode, closed exactly once", () => {
  const kernel = fakeKernel();
  const table = new PassthroughTable(createPassthroughTable(), -1, kernel.ioctls);
  const random = makeRandom(2026);
  const model = new Map<number, { id: number; opens: number }>();
  const handles: { fh: number; ino: number; fsFh: number }[] = [];
  for (let step = 0; step < 60_000; step++) {
    if (handles.length === 0 || random() < 0.55) {
      // Inodes from a dense range (long probe chains in the hash table) and a few huge ones.
      const ino = random() < 0.9 ? 1 + Math.floor(random() * 20_000) : 2 ** 40 + Math.floor(random() * 1000);
      const opened = table.open(ino, { fd: step }, step)!;
      const known = model.get(ino);
      if (known) {
        expect(opened.backingId).toBe(known.id);
        known.opens++;
      } else {
        expect(kernel.registered.has(opened.backingId)).toBe(true);
        model.set(ino, { id: opened.backingId, opens: 1 });
      }
      handles.push({ fh: opened.fh, ino, fsFh: step });
    } else {
      const [h] = handles.splice(Math.floor(random() * handles.length), 1);
      expect(table.release(h!.fh)).toBe(h!.fsFh);
      const known = model.get(h!.ino)!;
      if (--known.opens === 0) {
        expect(kernel.registered.has(known.id)).toBe(false);
        model.delete(h!.ino);
      } else {
        expect(kernel.registered.has(known.id)).toBe(true);
      }
    }
  }
  expect(table.counts()).toEqual({ opens: handles.length, backingIds: model.size });
  expect(kernel.registered.size).toBe(model.size);
  for (const h of handles) table.release(h.fh);
  expect(kernel.registered.size).toBe(0);
  expect(table.counts()).toEqual({ opens: 0, backingIds: 0 });
});

test("when the kernel refuses passthrough (not root, old kernel), the table turns itself off: normal READs", () => {
  let attempts = 0;
  const refusing: BackingIoctls = {
    open() {
      attempts++;
      throw new SyscallError("ioctl", 1); // EPERM
    },
    close() {},
  };
  const table = new PassthroughTable(createPassthroughTable(), -1, refusing);
  expect(table.open(1, { fd: 3 }, 3)).toBeUndefined();
  expect(table.disabled).toBe(true);
  expect(table.open(2, { fd: 4 }, 4)).toBeUndefined();
  expect(attempts).toBe(1); // nobody asks the kernel again
  expect(table.counts()).toEqual({ opens: 0, backingIds: 0 });
});

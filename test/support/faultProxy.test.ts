/**
 * The fault proxy must never change the bytes it carries: the e2e tests that slow a download with it compare what a
 * mount cached against the original. Under its bandwidth cap it once delivered a small piece ahead of a big one
 * scheduled just before it (a timer per piece, with Bun rounding fractional delays) — s3Resume then found a 512 KiB
 * region of a cached file rotated by 399 bytes. Here: an upstream that writes many pieces of odd sizes, read through
 * the proxy with the cap on, with the cap lifted half-way, and with a delay.
 */
import { afterEach, expect, test } from "bun:test";
import { concatBytes, pseudoRandomBytes } from "../cas/testData.ts";
import { eventually } from "./eventually.ts";
import { startFaultProxy, type FaultProxy } from "./faultProxy.ts";

const TOTAL = 1_500_000;
const payload = pseudoRandomBytes(TOTAL, 7);

let stopAll: (() => void)[] = [];
afterEach(() => {
  for (const stop of stopAll.splice(0)) stop();
});

/** A TCP server that sends `payload` to each client in pieces of 1–700 bytes, yielding between them. */
function pieceServer(): number {
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async open(socket) {
        let at = 0;
        let size = 1;
        while (at < TOTAL) {
          size = (size * 7 + 13) % 700 || 1;
          const piece = payload.subarray(at, Math.min(TOTAL, at + size));
          let sent = 0;
          while (sent < piece.length) {
            const n = socket.write(piece.subarray(sent));
            sent += Math.max(0, n);
            if (sent < piece.length) await Bun.sleep(1); // the socket's buffer is full: let it drain
          }
          at += piece.length;
          await Bun.sleep(0); // a separate write, so the proxy sees many small arrivals
        }
      },
      data() {},
    },
  });
  stopAll.push(() => server.stop(true));
  return server.port;
}

/** Connects through the proxy and collects what arrives until TOTAL bytes did (or the deadline). */
async function readThrough(proxy: FaultProxy, during?: (got: number) => void): Promise<Uint8Array> {
  const received: Uint8Array[] = [];
  let got = 0;
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port: proxy.port,
    socket: {
      data(_s, bytes) {
        received.push(new Uint8Array(bytes));
        got += bytes.length;
        during?.(got);
      },
    },
  });
  stopAll.push(() => socket.end());
  await eventually(() => got, (n) => n >= TOTAL, 120_000, 20);
  return concatBytes(...received);
}

function proxyTo(port: number, opts: { delayMs?: number } = {}): FaultProxy {
  const proxy = startFaultProxy({ port }, opts);
  stopAll.push(() => proxy.stop());
  return proxy;
}

test("under the bandwidth cap, every byte arrives once and in order", async () => {
  const proxy = proxyTo(pieceServer());
  proxy.rateBytesPerS = 8 * 1024 * 1024;
  const bytes = await readThrough(proxy);
  expect(bytes.length).toBe(TOTAL);
  expect(Buffer.compare(bytes, payload)).toBe(0);
}, 130_000);

test("the cap lifted while pieces wait: the later ones do not overtake them", async () => {
  const proxy = proxyTo(pieceServer());
  proxy.rateBytesPerS = 2 * 1024 * 1024;
  let lifted = false;
  const bytes = await readThrough(proxy, (got) => {
    if (!lifted && got > TOTAL / 4) {
      lifted = true;
      proxy.rateBytesPerS = 0;
    }
  });
  expect(lifted).toBe(true);
  expect(Buffer.compare(bytes, payload)).toBe(0);
}, 130_000);

test("with an added delay and the cap together, the bytes are unchanged", async () => {
  const proxy = proxyTo(pieceServer(), { delayMs: 3 });
  proxy.rateBytesPerS = 16 * 1024 * 1024;
  const bytes = await readThrough(proxy);
  expect(Buffer.compare(bytes, payload)).toBe(0);
}, 130_000);

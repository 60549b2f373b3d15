/**
 * Serves test/fuse/memfs.ts at a mountpoint, as its own process (the tests and the benchmark drive it).
 *
 *   bun test/fuse/memfsServer.ts MOUNTPOINT [--backing DIR] [--ttl MS] [--workers N] [--zero-open]
 *                                [--no-passthrough] [--create] [--readahead KB]
 *
 * Prints `READY {json}` once the mount is usable, then obeys stdin lines:
 *   stats              → `STATS {"reads":…,"mirrorReads":…,"opens":…,"getattrs":…,"requests":{"LOOKUP":…}}`
 *   dyn a,b,c          → set /dyn's children and notify the kernel → `DYN <results>`
 *   dyn-silent a,b,c   → set /dyn's children without telling the kernel → `DYN silent`
 *   gate               → readers blocked in /gate.txt right now → `GATE <n>`
 *   open-gate          → let the readers of /gate.txt finish → `GATE open`
 *   hang DIR           → open every FIFO in DIR through node:fs/promises, which blocks thread-pool threads in
 *                        open(2) as a hung NAS share blocks an origin read → `HUNG <n>`
 *   unmount            → ordered unmount, exit 0
 * Deferred reads of /deferred.txt are answered after 50 ms; /slow.txt is never answered: its arrival on the main
 * thread prints `SLOW <unique>`, its INTERRUPT `INTERRUPTED <unique>`. SIGINT/SIGTERM unmount and exit 0.
 */
import { readdirSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { installSignalUnmount, startSession } from "../../src/fuse/session.ts";
import { DEFERRED_CONTENT, DYN_INO, type MemFsData, writeDynamic } from "./memfs.ts";
import { isUserError } from "../../src/core/errors.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    backing: { type: "string" },
    ttl: { type: "string", default: "60000" },
    workers: { type: "string", default: "2" },
    "zero-open": { type: "boolean", default: false },
    "no-passthrough": { type: "boolean", default: false },
    create: { type: "boolean", default: false },
    readahead: { type: "string" },
  },
});
const mountpoint = positionals[0];
if (!mountpoint) {
  console.error("usage: memfsServer.ts MOUNTPOINT [options]");
  process.exit(2);
}

const fsData: MemFsData = {
  backingDir: values.backing,
  passthrough: !values["no-passthrough"],
  ttlMs: Number(values.ttl),
  zeroMessageOpen: values["zero-open"],
  stats: new SharedArrayBuffer(16),
  dynamic: new SharedArrayBuffer(1 << 16),
  gate: new SharedArrayBuffer(8),
};
let dynNames: string[] = [];
writeDynamic(fsData.dynamic, dynNames);

let session;
try {
  session = await startSession({
    mountpoint,
    fsName: "musicfs",
    readOnly: true,
    workerUrl: new URL("./memfsWorker.ts", import.meta.url).href,
    workerData: fsData,
    workers: Number(values.workers),
    createMountpoint: values.create,
    passthrough: !values["no-passthrough"],
    readAheadKb: values.readahead === undefined ? undefined : Number(values.readahead),
  });
} catch (e) {
  console.log(`FAILED ${isUserError(e) ? e.message + (e.hint ? " " + e.hint : "") : String(e)}`);
  process.exit(1);
}
installSignalUnmount(session);

const deferredBytes = new TextEncoder().encode(DEFERRED_CONTENT);
session.onDeferred((req, reply) => {
  const p = req.payload as { kind: string; offset?: number; size?: number };
  if (p.kind === "deferred") {
    setTimeout(() => reply.data(deferredBytes.subarray(req.offset, req.offset + req.size)), 50);
  } else if (p.kind === "slow") {
    req.signal.addEventListener("abort", () => console.log(`INTERRUPTED ${req.unique}`));
    console.log(`SLOW ${req.unique}`);
  } else {
    reply.error(5);
  }
});
session.closed.then((end) => {
  console.log(`CLOSED ${end.reason}${end.error ? " " + end.error.message : ""}`);
  process.exit(end.reason === "worker-failed" ? 1 : 0);
});

console.log(`READY ${JSON.stringify({ ...session.init, mountpoint: session.mountpoint })}`);

for await (const line of console) {
  const [cmd, arg = ""] = line.trim().split(/\s+/, 2);
  if (cmd === "stats") {
    const s = new Int32Array(fsData.stats);
    console.log(`STATS ${JSON.stringify({ reads: s[0], mirrorReads: s[1], opens: s[2], getattrs: s[3], requests: session.requestCounts() })}`);
  } else if (cmd === "gate") {
    console.log(`GATE ${Atomics.load(new Int32Array(fsData.gate!), 1)}`);
  } else if (cmd === "open-gate") {
    const gate = new Int32Array(fsData.gate!);
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    console.log("GATE open");
  } else if (cmd === "dyn" || cmd === "dyn-silent") {
    const old = dynNames;
    dynNames = arg ? arg.split(",") : [];
    writeDynamic(fsData.dynamic, dynNames);
    if (cmd === "dyn-silent") {
      console.log("DYN silent");
      continue;
    }
    const results = [...new Set([...old, ...dynNames])].map((n) => session.invalidateEntry(DYN_INO, n));
    results.push(session.invalidateInode(DYN_INO));
    console.log(`DYN ${results.join(",")}`);
  } else if (cmd === "hang") {
    const fifos = readdirSync(arg).filter((n) => n.startsWith("fifo"));
    for (const n of fifos) open(join(arg, n), "r").then((h) => h.close(), () => {});
    console.log(`HUNG ${fifos.length}`);
  } else if (cmd === "unmount") {
    await session.unmount();
    process.exit(0);
  }
}

/**
 * A TCP proxy between musicfs and an HTTP server (RGW) on loopback, for fault tests and latency benchmarks:
 * - added delay per direction (sch_netem is not available on these machines), and a bandwidth cap;
 * - a count and log of HTTP requests (method + path), so tests can assert "zero requests";
 * - injected faults for the next N requests: 503 SlowDown answers, connection resets, or stalls (no answer);
 * - outages: connections refused (nothing listens on the port) or every connection reset, until ended.
 *
 * Requests are recognised by their request line at the start of a client write; musicfs sends GETs/HEADs without
 * bodies, so one request per write is the common case and the count is exact for it.
 */

export type Fault = "slowdown" | "reset" | "stall";

export interface ProxyRequest {
  method: string;
  path: string;
  /** When the request reached the proxy (performance.now() of this process), for request timelines in benches. */
  at: number;
  /** The Range header's value, if the request had one. */
  range?: string;
  /**
   * When the answer's first and (so far) last bytes were handed to the client (performance.now()): the bytes the
   * connection delivered after this request and before its next one (HTTP/1.1, one request at a time on it).
   */
  firstByteAt?: number;
  lastByteAt?: number;
}

export interface FaultProxy {
  port: number;
  endpoint: string;
  /** Every request seen (forwarded or answered with a fault), in order. */
  readonly requests: ProxyRequest[];
  /** Delay added to each direction, in ms (changeable at any time). */
  delayMs: number;
  /** Cap on server → client bytes per second over all connections (0 = none). */
  rateBytesPerS: number;
  /** Bytes passed from the server to clients so far. */
  readonly bytesToClients: number;
  /** Connections accepted and reset at once by an outage("reset") so far: the clients' tries during it. */
  readonly outageResets: number;
  /** Connections the clients closed (or reset) so far: a client that cancels a response body closes its connection. */
  readonly clientCloses: number;
  /** Answers the next `count` requests with `fault` instead of forwarding them (optionally only paths matching). */
  inject(fault: Fault, count: number, pathPattern?: RegExp): void;
  /** Drops the injected faults not used yet. */
  clearFaults(): void;
  /**
   * Holds every request whose path matches from now on: neither forwarded nor answered, until `release()` forwards
   * them all (a scan kept half-way for as long as a test needs, without timing anything).
   */
  hold(pathPattern: RegExp): void;
  release(): void;
  /** Refuse every new connection and drop open ones (the server looks down) until `up()`. Same as outage("reset"). */
  down(): void;
  up(): void;
  /**
   * An outage until `outage(null)`, open connections dropped either way: "refuse" — the port is closed, so connecting
   * fails with ECONNREFUSED (a server or NAS that is down, a Wi-Fi hand-over); "reset" — every connection is accepted
   * and reset at once (a gateway restarting behind a load balancer).
   */
  outage(kind: "refuse" | "reset" | null): void;
  stop(): void;
}

interface Side {
  socket: Bun.Socket<Conn> | null;
  pending: Uint8Array[];
}
interface Conn {
  client: Bun.Socket<Conn>;
  upstream: Side;
  /** Bytes for the client waiting for the socket to drain. */
  toClient: Uint8Array[];
  /**
   * Bytes from upstream not yet due for the client (delay, bandwidth cap), in arrival order with the time each may
   * go: one timer per connection takes them in that order. A timer per piece did not keep it — Bun rounds a
   * fractional delay, so a small piece scheduled just after a big one could fire first — and a piece arriving after
   * the cap was lifted went at once, ahead of those still waiting: the client got a body with bytes swapped (found
   * as wrong bytes cached by test/e2e/s3Resume.test.ts under load).
   */
  inbound: { at: number; bytes: Uint8Array }[];
  inboundTimer: ReturnType<typeof setTimeout> | null;
  /** The upstream side closed: the client's side closes once `inbound` is delivered. */
  closeWhenDelivered: boolean;
  /** The last request seen on this connection: the bytes delivered are its answer (timelines). */
  current: ProxyRequest | null;
  stalled: boolean;
  closed: boolean;
}

const REQUEST_LINE = /^(GET|HEAD|PUT|POST|DELETE) (\S+) HTTP\/1\.[01]\r\n/;

function flush(socket: Bun.Socket<any>, queue: Uint8Array[]): void {
  while (queue.length > 0) {
    const chunk = queue[0];
    const n = socket.write(chunk);
    if (n < chunk.length) {
      queue[0] = chunk.subarray(Math.max(0, n));
      return;
    }
    queue.shift();
  }
}

/**
 * @param opts.tls terminate TLS with this certificate (PEM), forwarding plain HTTP: an HTTPS endpoint in front of
 *   RGW, for certificate tests.
 */
export function startFaultProxy(target: { host?: string; port: number }, opts: { delayMs?: number; tls?: { cert: string; key: string } } = {}): FaultProxy {
  const host = target.host ?? "127.0.0.1";
  const faults: { fault: Fault; pattern?: RegExp }[] = [];
  const requests: ProxyRequest[] = [];
  const conns = new Set<Conn>();
  let isDown = false;
  let holding: RegExp | null = null;
  const held: { c: Conn; bytes: Uint8Array }[] = [];

  const state = { delayMs: opts.delayMs ?? 0, rate: 0, bytesToClients: 0, rateFreeAt: 0, outageResets: 0, clientCloses: 0 };
  const later = (fn: () => void) => (state.delayMs > 0 ? setTimeout(fn, state.delayMs) : fn());
  /** Server → client: each piece is due after the delay, plus the time the bandwidth cap needs for the bytes before it. */
  const towardClient = (c: Conn, bytes: Uint8Array) => {
    const now = performance.now();
    let due = now + state.delayMs;
    if (state.rate > 0) {
      state.rateFreeAt = Math.max(now, state.rateFreeAt) + (bytes.length * 1000) / state.rate;
      due = state.rateFreeAt + state.delayMs;
    }
    c.inbound.push({ at: due, bytes });
    deliverDue(c);
  };
  /** Delivers a connection's pieces that are due, in arrival order (never one before an earlier one). */
  const deliverDue = (c: Conn) => {
    if (c.inboundTimer) return;
    while (c.inbound.length > 0) {
      const wait = c.inbound[0].at - performance.now();
      if (wait > 0) {
        c.inboundTimer = setTimeout(() => {
          c.inboundTimer = null;
          deliverDue(c);
        }, wait);
        return;
      }
      const { bytes } = c.inbound.shift()!;
      state.bytesToClients += bytes.length;
      if (c.closed || c.stalled || bytes.length === 0) continue;
      c.toClient.push(bytes);
      flush(c.client, c.toClient);
      if (c.current) {
        c.current.firstByteAt ??= performance.now();
        c.current.lastByteAt = performance.now();
      }
    }
    if (c.closeWhenDelivered) closeConn(c, false);
  };

  const closeConn = (c: Conn, hard: boolean) => {
    if (c.closed) return;
    c.closed = true;
    conns.delete(c);
    if (hard) {
      c.client.terminate();
      c.upstream.socket?.terminate();
    } else {
      c.client.end();
      c.upstream.socket?.end();
    }
  };

  const sendUpstream = (c: Conn, data: Uint8Array) => {
    if (c.upstream.socket) {
      c.upstream.pending.push(data);
      flush(c.upstream.socket, c.upstream.pending);
    } else c.upstream.pending.push(data);
  };

  const handlers: Bun.SocketHandler<Conn> = {
    open(client) {
      const c: Conn = {
        client, upstream: { socket: null, pending: [] }, toClient: [], inbound: [], inboundTimer: null, closeWhenDelivered: false,
        current: null, stalled: false, closed: false,
      };
      client.data = c;
      if (isDown) {
        c.closed = true;
        state.outageResets++;
        client.terminate();
        return;
      }
      conns.add(c);
      Bun.connect<Conn>({
        hostname: host,
        port: target.port,
        socket: {
          open(up) {
            up.data = c;
            c.upstream.socket = up;
            if (c.closed) return void up.end();
            flush(up, c.upstream.pending);
          },
          data(_up, bytes) {
            towardClient(c, new Uint8Array(bytes));
          },
          drain(up) {
            flush(up, c.upstream.pending);
          },
          close() {
            // The close travels like the bytes before it: after the delay, and after every one of them.
            c.inbound.push({ at: performance.now() + state.delayMs, bytes: new Uint8Array(0) });
            c.closeWhenDelivered = true;
            deliverDue(c);
          },
          error() {
            closeConn(c, true);
          },
        },
      }).catch(() => closeConn(c, true));
    },
    data(client, bytes) {
      const c = client.data;
      if (c.closed || c.stalled) return;
      const copy = new Uint8Array(bytes);
      const head = new TextDecoder().decode(copy.subarray(0, Math.min(copy.length, 2048)));
      const m = REQUEST_LINE.exec(head);
      if (m) {
        const range = /\r\nrange: *([^\r]*)/i.exec(head)?.[1];
        const request: ProxyRequest = { method: m[1], path: m[2], at: performance.now(), ...(range ? { range } : {}) };
        requests.push(request);
        c.current = request;
        const i = faults.findIndex((f) => !f.pattern || f.pattern.test(m[2]));
        if (i >= 0) {
          const { fault } = faults.splice(i, 1)[0];
          if (fault === "reset") return void closeConn(c, true);
          if (fault === "stall") return void (c.stalled = true);
          const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`;
          const reply = `HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
          later(() => {
            if (c.closed) return;
            c.toClient.push(new TextEncoder().encode(reply));
            flush(c.client, c.toClient);
            setTimeout(() => closeConn(c, false), 10);
          });
          return;
        }
      }
      if (holding && m && holding.test(m[2])) return void held.push({ c, bytes: copy });
      later(() => {
        if (!c.closed) sendUpstream(c, copy);
      });
    },
    drain(client) {
      flush(client, client.data.toClient);
    },
    close(client) {
      if (client.data && !client.data.closed) state.clientCloses++;
      if (client.data) closeConn(client.data, false);
    },
    error(client) {
      if (client.data && !client.data.closed) state.clientCloses++;
      if (client.data) closeConn(client.data, true);
    },
  };
  const listen = (port: number) => Bun.listen<Conn>({ hostname: "127.0.0.1", port, ...(opts.tls ? { tls: opts.tls } : {}), socket: handlers });
  let server: ReturnType<typeof listen> | null = listen(0);
  const port = server.port;
  const dropAll = () => {
    for (const c of [...conns]) closeConn(c, true);
  };
  return {
    port,
    endpoint: `${opts.tls ? "https" : "http"}://127.0.0.1:${port}`,
    requests,
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(v: number) {
      state.delayMs = v;
    },
    get rateBytesPerS() {
      return state.rate;
    },
    set rateBytesPerS(v: number) {
      state.rate = v;
      state.rateFreeAt = 0;
    },
    get bytesToClients() {
      return state.bytesToClients;
    },
    get clientCloses() {
      return state.clientCloses;
    },
    get outageResets() {
      return state.outageResets;
    },
    clearFaults() {
      faults.length = 0;
    },
    hold(pathPattern) {
      holding = pathPattern;
    },
    release() {
      holding = null;
      for (const { c, bytes } of held.splice(0)) if (!c.closed) sendUpstream(c, bytes);
    },
    inject(fault, count, pathPattern) {
      for (let i = 0; i < count; i++) faults.push({ fault, pattern: pathPattern });
    },
    down() {
      this.outage("reset");
    },
    up() {
      this.outage(null);
    },
    outage(kind) {
      isDown = kind === "reset";
      if (kind === "refuse") {
        server?.stop(true);
        server = null;
      } else if (server === null) server = listen(port);
      if (kind !== null) dropAll();
    },
    stop() {
      dropAll();
      server?.stop(true);
      server = null;
    },
  };
}

/**
 * As a process of its own (benchmarks: the proxy must not share the measured process's thread):
 *   bun test/support/faultProxy.ts --target PORT [--delay-ms MS]     prints the proxy's port, runs until killed
 */
if (import.meta.main) {
  const argv = process.argv.slice(2);
  const value = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : undefined;
  };
  const target = value("target");
  if (!target) {
    console.error("usage: faultProxy.ts --target PORT [--delay-ms MS]");
    process.exit(2);
  }
  const proxy = startFaultProxy({ port: target }, { delayMs: value("delay-ms") ?? 0 });
  console.log(proxy.port);
  process.on("SIGTERM", () => {
    proxy.stop();
    process.exit(0);
  });
}

/** Starts the proxy as a child process; `stop()` kills it by PID. */
export async function spawnFaultProxy(targetPort: number, delayMs: number): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const proc = Bun.spawn(["bun", import.meta.path, "--target", String(targetPort), "--delay-ms", String(delayMs)], { stdout: "pipe", stderr: "inherit" });
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) throw new Error("the proxy process exited before printing its port");
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return {
    endpoint: `http://127.0.0.1:${Number(text.trim())}`,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

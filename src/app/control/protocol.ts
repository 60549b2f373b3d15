/**
 * The control channel's wire format: one JSON object per line each way. A request is `{"cmd": "...", "args": {...}}`;
 * a reply is `{"ok": true, "result": ...}` or `{"ok": false, "error": "...", "hint"?: "..."}`. Pure: framing and
 * parsing only, so that every malformed input has one answer and none can throw out of the server.
 */

/** Longest request line accepted (a pin of many paths fits easily; a runaway client does not fill memory). */
export const MAX_REQUEST_BYTES = 1024 * 1024;

export interface ControlRequest {
  cmd: string;
  args: Record<string, unknown>;
}

export type ControlReply = { ok: true; result: unknown } | { ok: false; error: string; hint?: string };

export type Framed = { kind: "line"; line: string } | { kind: "tooLong"; bytes: number };

/**
 * Splits a byte stream into lines of at most `limit` bytes. A longer line is reported once (as soon as it passes
 * the limit, so a 100 MB message is answered before it has all arrived) and its bytes are dropped up to its
 * newline: memory stays bounded by `limit` whatever the client sends.
 */
export class LineFramer {
  private parts: Uint8Array[] = [];
  private held = 0;
  private discarding = false;
  private discarded = 0;

  constructor(private readonly limit = MAX_REQUEST_BYTES) {}

  push(chunk: Uint8Array): Framed[] {
    const out: Framed[] = [];
    let start = 0;
    while (start <= chunk.length) {
      const nl = chunk.indexOf(10, start);
      const end = nl < 0 ? chunk.length : nl;
      const piece = chunk.subarray(start, end);
      if (this.discarding) this.discarded += piece.length;
      else if (this.held + piece.length > this.limit) {
        this.discarding = true;
        this.discarded = this.held + piece.length;
        this.parts = [];
        this.held = 0;
        out.push({ kind: "tooLong", bytes: this.discarded });
      } else if (piece.length > 0) {
        this.parts.push(piece.slice());
        this.held += piece.length;
      }
      if (nl < 0) break;
      if (!this.discarding) out.push({ kind: "line", line: this.take() });
      this.discarding = false;
      start = nl + 1;
    }
    return out;
  }

  /** Bytes of an unfinished line (the client stopped mid-message). */
  get pending(): number {
    return this.discarding ? 0 : this.held;
  }

  private take(): string {
    const text = Buffer.concat(this.parts).toString("utf8");
    this.parts = [];
    this.held = 0;
    return text;
  }
}

/** A request line → a request, or the error to answer with. */
export function parseRequest(line: string): { request: ControlRequest } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: "not a JSON message (one JSON object per line is expected)" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { error: "a message must be a JSON object" };
  const { cmd, args } = value as Record<string, unknown>;
  if (typeof cmd !== "string" || cmd === "") return { error: 'a message needs a "cmd" string' };
  if (args !== undefined && (typeof args !== "object" || args === null || Array.isArray(args))) return { error: '"args" must be an object' };
  return { request: { cmd, args: (args ?? {}) as Record<string, unknown> } };
}

export function encodeReply(reply: ControlReply): string {
  return `${JSON.stringify(reply)}\n`;
}

export function encodeRequest(request: ControlRequest): string {
  return `${JSON.stringify(request)}\n`;
}

/** A reply line → a reply (a line that is not one is reported as an error reply). */
export function parseReply(line: string): ControlReply {
  try {
    const v = JSON.parse(line) as ControlReply;
    if (typeof v === "object" && v !== null && typeof v.ok === "boolean") return v;
  } catch {
    /* answered below */
  }
  return { ok: false, error: "the mount answered something that is not a control reply" };
}

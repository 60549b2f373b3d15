import { describe, expect, test } from "bun:test";
import { LineFramer, parseReply, parseRequest } from "../../../src/app/control/protocol.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("LineFramer", () => {
  test("lines split across pushes come out whole, several in one push come out in order", () => {
    const f = new LineFramer(100);
    expect(f.push(bytes('{"cmd":"st'))).toEqual([]);
    expect(f.pending).toBe(10);
    expect(f.push(bytes('atus"}\n{"cmd":"ping"}\n'))).toEqual([
      { kind: "line", line: '{"cmd":"status"}' },
      { kind: "line", line: '{"cmd":"ping"}' },
    ]);
    expect(f.pending).toBe(0);
  });

  test("a line over the limit is reported once, as soon as it passes the limit, and the next line is read normally", () => {
    const f = new LineFramer(10);
    expect(f.push(bytes("x".repeat(8)))).toEqual([]);
    expect(f.push(bytes("x".repeat(8)))).toEqual([{ kind: "tooLong", bytes: 16 }]);
    expect(f.push(bytes("x".repeat(1000)))).toEqual([]); // still the same line: no second report, nothing held
    expect(f.pending).toBe(0);
    expect(f.push(bytes('x\n{"a":1}\n'))).toEqual([{ kind: "line", line: '{"a":1}' }]);
  });

  test("multi-byte characters cut between pushes decode whole", () => {
    const f = new LineFramer(100);
    const b = bytes('{"p":"Sólveig Ørn"}\n');
    expect([...f.push(b.subarray(0, 9)), ...f.push(b.subarray(9))]).toEqual([{ kind: "line", line: '{"p":"Sólveig Ørn"}' }]);
  });
});

describe("parseRequest", () => {
  test("garbage, non-objects and missing commands are errors with a reason, never exceptions", () => {
    expect(parseRequest("garbage")).toEqual({ error: expect.stringContaining("not a JSON message") });
    expect(parseRequest("[1,2]")).toEqual({ error: expect.stringContaining("object") });
    expect(parseRequest("{}")).toEqual({ error: expect.stringContaining('"cmd"') });
    expect(parseRequest('{"cmd":"pin","args":[1]}')).toEqual({ error: expect.stringContaining('"args"') });
  });

  test("a request with and without args", () => {
    expect(parseRequest('{"cmd":"status"}')).toEqual({ request: { cmd: "status", args: {} } });
    expect(parseRequest('{"cmd":"pin","args":{"paths":["a"]}}')).toEqual({ request: { cmd: "pin", args: { paths: ["a"] } } });
  });
});

test("parseReply turns anything that is not a reply into an error reply", () => {
  expect(parseReply('{"ok":true,"result":3}')).toEqual({ ok: true, result: 3 });
  expect(parseReply("nope").ok).toBe(false);
});

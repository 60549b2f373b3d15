import { expect, test } from "bun:test";
import { parseMetricsAddress } from "../../src/config/config.ts";
import { UserError } from "../../src/core/errors.ts";

test("loopback addresses are taken, with their port", () => {
  expect(parseMetricsAddress("127.0.0.1:9464", "metrics")).toEqual({ hostname: "127.0.0.1", port: 9464 });
  expect(parseMetricsAddress("127.3.4.5:1", "metrics")).toEqual({ hostname: "127.3.4.5", port: 1 });
  expect(parseMetricsAddress("localhost:9464", "metrics")).toEqual({ hostname: "localhost", port: 9464 });
  expect(parseMetricsAddress("[::1]:9464", "metrics")).toEqual({ hostname: "::1", port: 9464 });
  expect(parseMetricsAddress(null, "metrics")).toBeNull();
});

test("other hosts are refused as network exposure, malformed ones as such, naming the setting", () => {
  for (const bad of ["0.0.0.0:9464", "192.168.1.2:9464", "[::]:9464", "example.org:80"]) {
    expect(() => parseMetricsAddress(bad, "--metrics")).toThrow(UserError);
    expect(() => parseMetricsAddress(bad, "--metrics")).toThrow(/--metrics = .* would serve metrics to the network/);
  }
  for (const bad of ["9464", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", ":9464"]) expect(() => parseMetricsAddress(bad, "metrics")).toThrow(/metrics must be HOST:PORT/);
});

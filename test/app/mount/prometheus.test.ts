import { expect, test } from "bun:test";
import { renderPrometheus } from "../../../src/app/mount/prometheus.ts";

test("counters, gauges with escaped labels, and cumulative histograms with +Inf, _sum and _count", () => {
  const text = renderPrometheus([
    { name: "x_total", help: "a\nb", type: "counter", samples: [{ labels: { origin: 'my "bucket"\\1' }, value: 3 }] },
    { name: "g", help: "g", type: "gauge", samples: [{ value: 0.5 }] },
    { name: "h_seconds", help: "h", type: "histogram", bounds: [0.1, 1], samples: [{ labels: { op: "READ" }, buckets: [2, 0, 1], sum: 7.25 }] },
  ]);
  expect(text).toBe(
    [
      "# HELP x_total a\\nb",
      "# TYPE x_total counter",
      'x_total{origin="my \\"bucket\\"\\\\1"} 3',
      "# HELP g g",
      "# TYPE g gauge",
      "g 0.5",
      "# HELP h_seconds h",
      "# TYPE h_seconds histogram",
      'h_seconds_bucket{op="READ",le="0.1"} 2',
      'h_seconds_bucket{op="READ",le="1"} 2',
      'h_seconds_bucket{op="READ",le="+Inf"} 3',
      'h_seconds_sum{op="READ"} 7.25',
      'h_seconds_count{op="READ"} 3',
      "",
    ].join("\n"),
  );
});

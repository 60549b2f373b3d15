/**
 * The Prometheus text exposition format (version 0.0.4), pure: metric families in, text out. Counters end in
 * `_total`, label values are escaped, histograms get cumulative `_bucket` lines with `le`, `_sum` and `_count`.
 */

export type Labels = Readonly<Record<string, string>>;

export type MetricFamily =
  | { name: string; help: string; type: "counter" | "gauge"; samples: readonly { labels?: Labels; value: number }[] }
  | {
      name: string;
      help: string;
      type: "histogram";
      /** Upper bounds, ascending (+Inf is added). */
      bounds: readonly number[];
      /** Per label set: counts per bucket (not cumulative; one more than bounds, the last above the last bound). */
      samples: readonly { labels?: Labels; buckets: readonly number[]; sum: number }[];
    };

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

function labelText(labels: Labels | undefined, extra?: [string, string]): string {
  const pairs = Object.entries(labels ?? {});
  if (extra) pairs.push(extra);
  return pairs.length === 0 ? "" : `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
}

function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

export function renderPrometheus(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    if (f.type !== "histogram") {
      for (const s of f.samples) out.push(`${f.name}${labelText(s.labels)} ${num(s.value)}`);
      continue;
    }
    for (const s of f.samples) {
      let cumulative = 0;
      f.bounds.forEach((bound, i) => {
        cumulative += s.buckets[i] ?? 0;
        out.push(`${f.name}_bucket${labelText(s.labels, ["le", num(bound)])} ${cumulative}`);
      });
      cumulative += s.buckets[f.bounds.length] ?? 0;
      out.push(`${f.name}_bucket${labelText(s.labels, ["le", "+Inf"])} ${cumulative}`);
      out.push(`${f.name}_sum${labelText(s.labels)} ${num(s.sum)}`, `${f.name}_count${labelText(s.labels)} ${cumulative}`);
    }
  }
  return `${out.join("\n")}\n`;
}

// Read Prometheus' text format, and turn counters seen at two moments into rates.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = LINE.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(LABEL)) {
      labels[key] = value.replace(/\\(.)/g, "$1");
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** Sum of a metric's samples, grouped by one label ("" groups everything together). */
export function sumBy(samples: Sample[], name: string, label = ""): Map<string, number> {
  const sums = new Map<string, number>();
  for (const s of samples) {
    if (s.name !== name) continue;
    const key = label ? (s.labels[label] ?? "") : "";
    sums.set(key, (sums.get(key) ?? 0) + s.value);
  }
  return sums;
}

/** Per-second rates between two readings of the same counters (a counter that went down
 * was reset by a restart: its new value is the increase). */
export function rates(
  before: Map<string, number>,
  after: Map<string, number>,
  seconds: number,
): Map<string, number> {
  const out = new Map<string, number>();
  if (seconds <= 0) return out;
  for (const [key, value] of after) {
    const previous = before.get(key) ?? 0;
    out.set(key, (value >= previous ? value - previous : value) / seconds);
  }
  return out;
}

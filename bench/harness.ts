/**
 * Benchmark harness (DESIGN.md, Benchmarks): each metric is measured `runs` times, ours and the
 * peer alternately in the same process, and the medians are written to bench/results/<id>.json.
 * `ratio` is ours / peer; `better` says which direction wins. No collection is forced: each side's
 * garbage is collected as the process would collect it for a user calling both in a loop (forced
 * full collections before each measurement, tried, raised our resample and rolling figures by
 * 40-60% while Polars' hardly moved).
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

export interface MetricSpec {
  name: string;
  unit: string;
  better: 'lower' | 'higher';
  /** One measurement of ours (e.g. elapsed ms, or rows/s). */
  ours: () => Promise<number> | number;
  /** The peer measured the same way, alternately with ours; omit for an absolute figure. */
  peer?: { name: string; run: () => Promise<number> | number };
  /** Extra facts to record beside the figure (peak RSS, row counts). */
  notes?: () => Record<string, unknown>;
}

export interface MetricResult {
  name: string;
  unit: string;
  ours: number;
  peer: string | null;
  peer_value: number | null;
  ratio: number | null;
  better: 'lower' | 'higher';
  samples: { ours: number[]; peer: number[] };
  notes?: Record<string, unknown>;
}

export interface BenchResult {
  id: string;
  date: string;
  node: string;
  cpus: number;
  runs: number;
  metrics: MetricResult[];
}

export interface Benchmark {
  id: string;
  /** What is measured, one line, for BENCHMARKS.md. */
  title: string;
  /** The target from the issue, one line (e.g. "ratio <= 0.25"). */
  aim?: string;
  run(opts: { runs: number }): Promise<MetricSpec[]> | MetricSpec[];
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Time a synchronous or async function in milliseconds. */
export async function timeMs(fn: () => unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export const RESULTS_DIR = join(import.meta.dirname, 'results');

/** Measure every metric `runs` times (ours, peer, ours, peer, ...) and write the results file. */
export async function measure(id: string, specs: MetricSpec[], runs: number): Promise<BenchResult> {
  const metrics: MetricResult[] = [];
  for (const spec of specs) {
    const ours: number[] = [];
    const peer: number[] = [];
    for (let r = 0; r < runs; r++) {
      const flip = r % 2 === 1;
      if (flip && spec.peer) peer.push(await spec.peer.run());
      ours.push(await spec.ours());
      if (!flip && spec.peer) peer.push(await spec.peer.run());
    }
    const o = median(ours);
    const p = spec.peer ? median(peer) : null;
    const result: MetricResult = {
      name: spec.name,
      unit: spec.unit,
      ours: round(o),
      peer: spec.peer?.name ?? null,
      peer_value: p === null ? null : round(p),
      ratio: p === null || p === 0 ? null : round(o / p, 3),
      better: spec.better,
      samples: { ours: ours.map((x) => round(x)), peer: peer.map((x) => round(x)) },
    };
    if (spec.notes) result.notes = spec.notes();
    metrics.push(result);
    console.log(
      `${id}: ${spec.name}: ours ${result.ours} ${spec.unit}` +
        (p === null ? '' : `, ${result.peer} ${result.peer_value} ${spec.unit}, ratio ${result.ratio}`),
    );
  }
  const out: BenchResult = {
    id,
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    runs,
    metrics,
  };
  writeFileSync(join(RESULTS_DIR, `${id}.json`), `${JSON.stringify(out, null, 2)}\n`);
  return out;
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

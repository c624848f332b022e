/**
 * Runs `deno bench --json` and prints one compact markdown table per bench
 * group: each entry's mean time per call and its ratio to the group's
 * baseline (mean ÷ baseline mean, so above 1 is slower). Groups named
 * `matmul N` also get GFLOP/s (2·N³ ÷ time).
 *
 * ```sh
 * deno task bench:report                      # bench/peers/peers_bench.ts
 * deno run -A bench/report.ts bench/          # the library's own bench files
 * deno run -A bench/report.ts --numpy         # adds NumPy rows (python3 bench/numpy_reference.py --json)
 * deno run -A bench/report.ts --runs=3        # median of three runs, with their range
 * deno run -A bench/report.ts --filter=matmul
 * deno run -A bench/report.ts --group=conv      # only the peer bench's groups containing "conv"
 * ```
 *
 * Arguments: bench files or folders (default `bench/peers/peers_bench.ts`,
 * run with its own configuration `bench/peers/deno.json`, which pins the
 * peers and has their lockfile); `--config=FILE` runs `deno bench` with
 * another configuration; `--numpy` also times the NumPy reference and puts
 * its rows in the groups of the same name (they are not part of
 * `deno bench`, so the ratio compares two separate runs); `--runs=N` runs
 * `deno bench` N times and reports each entry's median mean and the range of
 * its means (for noisy, multi-threaded peers); `--filter=TEXT` is passed on
 * to `deno bench`; `--group=TEXT` is passed to the bench files (after `--`),
 * where the peer bench keeps only the groups whose name contains TEXT (and
 * only those groups' NumPy rows are shown).
 *
 * @module
 */

/** One result of `deno bench --json` (version 1); times are in nanoseconds. */
interface BenchRecord {
  origin: string;
  group: string | null;
  name: string;
  baseline: boolean;
  results: {
    ok?: { n: number; min: number; max: number; avg: number; p75: number; p99: number };
    failed?: { message?: string } | string;
  }[];
}

interface BenchReport {
  version: number;
  runtime: string;
  cpu: string;
  benches: BenchRecord[];
}

/** A table row. */
interface Row {
  name: string;
  baseline: boolean;
  /** Mean time per call in nanoseconds, one per run in which the bench succeeded. */
  avgs: number[];
  /** Why the bench failed (in the last run where it did). */
  error?: string;
}

// `deno task bench:report -- --numpy` passes the `--` on: skip it.
const args = Deno.args.filter((a) => a !== "--");
const withNumpy = args.includes("--numpy");
const filter = args.find((a) => a.startsWith("--filter="));
const runsArg = args.find((a) => a.startsWith("--runs="));
const runs = runsArg ? Number(runsArg.slice("--runs=".length)) : 1;
const configArg = args.find((a) => a.startsWith("--config="));
const groupArg = args.find((a) => a.startsWith("--group="));
const unknown = args.filter((a) =>
  a.startsWith("--") && a !== "--numpy" && a !== filter && a !== runsArg && a !== configArg &&
  a !== groupArg
);
if (unknown.length > 0 || !Number.isInteger(runs) || runs < 1) {
  console.error(`report.ts: bad option ${[...unknown, runsArg ?? ""].join(" ")}`);
  Deno.exit(2);
}
const paths = args.filter((a) => !a.startsWith("--"));
const targets = paths.length > 0
  ? paths
  : [new URL("./peers/peers_bench.ts", import.meta.url).pathname];
// The peer bench has its own configuration (its npm peers and their lockfile).
const config = configArg
  ? configArg.slice("--config=".length)
  : paths.length > 0
  ? undefined
  : new URL("./peers/deno.json", import.meta.url).pathname;

/** Formats nanoseconds with three significant digits. */
function fmtTime(ns: number): string {
  const [v, unit] = ns < 1e3
    ? [ns, "ns"]
    : ns < 1e6
    ? [ns / 1e3, "µs"]
    : ns < 1e9
    ? [ns / 1e6, "ms"]
    : [ns / 1e9, "s"];
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${unit}`;
}

function fmtRatio(r: number): string {
  return `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Parses `deno bench --json` output; modules may print lines before the JSON. */
function parseBenchJson(stdout: string): BenchReport {
  const start = stdout.search(/^\{\s*"version"/m);
  if (start < 0) throw new Error("no JSON in the output of deno bench");
  return JSON.parse(stdout.slice(start)) as BenchReport;
}

async function runDenoBench(): Promise<{ report: BenchReport | null; code: number }> {
  const benchArgs = [
    "bench",
    "--json",
    "--allow-read",
    "--allow-env",
    "--allow-ffi", // the wasm backend's native-BLAS rows (blasInfo)
    ...(config ? [`--config=${config}`] : []),
    ...(filter ? [filter] : []),
    ...targets,
    ...(groupArg ? ["--", groupArg] : []),
  ];
  console.error(`$ deno ${benchArgs.join(" ")}`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: benchArgs,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  try {
    return { report: parseBenchJson(stdout), code: out.code };
  } catch (e) {
    console.error(stdout);
    console.error(`report.ts: ${(e as Error).message}`);
    return { report: null, code: out.code || 1 };
  }
}

/** NumPy rows by group, from `python3 bench/numpy_reference.py --json`. */
async function runNumpy(): Promise<{ runtime: string; rows: Map<string, Row[]> } | null> {
  const script = new URL("./numpy_reference.py", import.meta.url).pathname;
  console.error(`$ python3 ${script} --json`);
  try {
    const out = await new Deno.Command("python3", {
      args: [script, "--json"],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!out.success) return null;
    const data = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      runtime: string;
      benches: { group: string; name: string; avg_s: number }[];
    };
    const rows = new Map<string, Row[]>();
    for (const b of data.benches) {
      const list = rows.get(b.group) ?? [];
      list.push({
        name: `${b.name} (python3, separate run)`,
        baseline: false,
        avgs: [b.avg_s * 1e9],
      });
      rows.set(b.group, list);
    }
    return { runtime: data.runtime, rows };
  } catch (e) {
    console.error(`report.ts: NumPy reference not run: ${(e as Error).message}`);
    return null;
  }
}

function table(group: string, rows: Row[]): string {
  const base = rows.find((r) => r.baseline && r.avgs.length > 0) ??
    rows.find((r) => r.avgs.length > 0);
  const baseNs = base ? median(base.avgs) : null;
  const matmulN = /^matmul\D*(\d+)$/.exec(group)?.[1];
  const flops = matmulN === undefined ? null : 2 * Number(matmulN) ** 3;
  const header = [
    "",
    runs > 1 ? "median mean" : "mean",
    ...(runs > 1 ? [`range (${runs} runs)`] : []),
    "× baseline",
    ...(flops ? ["GFLOP/s"] : []),
  ];
  const body = rows.map((r) => {
    const name = r.baseline ? `**${r.name}** (baseline)` : r.name;
    if (r.avgs.length === 0) {
      return [
        `${name}: failed: ${r.error}`,
        ...header.slice(1).map(() => ""),
      ];
    }
    const ns = median(r.avgs);
    const range = r.avgs.length > 1
      ? `${fmtTime(Math.min(...r.avgs))} – ${fmtTime(Math.max(...r.avgs))}`
      : "";
    return [
      name + (r.error ? ` (failed in ${runs - r.avgs.length} of ${runs} runs)` : ""),
      fmtTime(ns),
      ...(runs > 1 ? [range] : []),
      baseNs ? fmtRatio(ns / baseNs) : "",
      ...(flops ? [(flops / ns).toFixed(1)] : []),
    ];
  });
  const all = [header, ...body];
  const widths = header.map((_, c) => Math.max(3, ...all.map((row) => row[c].length)));
  // The first column is left-aligned, the numbers right-aligned.
  const line = (row: string[]) =>
    `| ${
      row.map((cell, c) => c > 0 ? cell.padStart(widths[c]) : cell.padEnd(widths[c])).join(" | ")
    } |`;
  const rule = `| ${
    widths.map((w, c) => c > 0 ? "-".repeat(w - 1) + ":" : "-".repeat(w)).join(" | ")
  } |`;
  return [`### ${group}`, "", line(header), rule, ...body.map(line)].join("\n");
}

const load = Deno.loadavg();
if (load[0] > 1) {
  console.error(`report.ts: load average ${load[0].toFixed(2)} > 1; timings will be noisy`);
}

const groups = new Map<string, Row[]>();
let report: BenchReport | null = null;
let code = 0;
for (let run = 0; run < runs; run++) {
  const result = await runDenoBench();
  report = result.report ?? report;
  code ||= result.code;
  for (const b of result.report?.benches ?? []) {
    const group = b.group ?? "(no group)";
    const list = groups.get(group) ?? [];
    groups.set(group, list);
    let row = list.find((r) => r.name === b.name);
    if (row === undefined) {
      row = { name: b.name, baseline: b.baseline, avgs: [] };
      list.push(row);
    }
    const { ok, failed } = b.results[0] ?? {};
    if (ok) row.avgs.push(ok.avg);
    else row.error = typeof failed === "string" ? failed : failed?.message ?? "no result";
  }
}
const numpy = withNumpy ? await runNumpy() : null;
for (const [group, rows] of numpy?.rows ?? []) groups.get(group)?.push(...rows);

const header = [
  `${report?.runtime ?? "Deno"}, ${
    report?.cpu ?? "unknown CPU"
  }, ${navigator.hardwareConcurrency} CPUs`,
  ...(numpy ? [numpy.runtime] : []),
  `load average before the run: ${load.map((l) => l.toFixed(2)).join(", ")}`,
  `${new Date().toISOString()}; ${
    runs > 1 ? `${runs} runs of deno bench; ` : ""
  }ratio = mean ÷ baseline mean (above 1 is slower)`,
];
console.log(header.map((h) => `> ${h}`).join("\n>\n"));
for (const [group, rows] of groups) console.log(`\n${table(group, rows)}`);
if (numpy) console.log("\nNumPy rows come from a separate run of bench/numpy_reference.py.");
Deno.exit(code);

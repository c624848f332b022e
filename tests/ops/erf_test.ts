/**
 * `erf`, `erfc` and the exact GELU against float64 references from mpmath at
 * 50 significant digits, rounded to float64 once:
 *
 *   python3 -c "import mpmath as mp; mp.mp.dps = 50
 *   for x in X: print([x, float(mp.erf(x)), float(mp.erfc(x))])"
 *   python3 -c "import mpmath as mp; mp.mp.dps = 50
 *   for x in G: x = mp.mpf(x); print([x, float(x / 2 * mp.erfc(-x / mp.sqrt(2))),
 *     float(mp.erfc(-x / mp.sqrt(2)) / 2 + x * mp.exp(-x**2 / 2) / mp.sqrt(2 * mp.pi))])"
 *
 * (X and G are the first columns below; the float32 references are the same
 * values rounded with `np.float32`.) float64 runs on the backend of the test
 * run (`wasm`, and `cpu` with `--preload tests/_on_cpu.ts`); float32 runs on
 * every backend there is. Gradients against central differences come from
 * the shared op-case table (tests/autodiff/primitives_test.ts).
 */

import assert from "node:assert/strict";
import {
  checkGrads,
  erf,
  erfc,
  getBackend,
  grad,
  nn,
  sum,
  type Tensor,
  tensor,
} from "../../mod.ts";
import { withBackend } from "../_helpers.ts";

const f64 = { dtype: "float64" } as const;

/** [x, erf(x), erfc(x)]: the regions of fdlibm's method, their edges, and the tails to 26.5. */
const ERF: readonly (readonly [number, number, number])[] = [
  [-26.5, -1.0, 2.0],
  [-10, -1.0, 2.0],
  [-6, -1.0, 2.0],
  [-5.9, -0.9999999999999999, 2.0],
  [-4, -0.9999999845827421, 1.999999984582742],
  [-2.857, -0.9999466417399131, 1.9999466417399132],
  [-2.5, -0.999593047982555, 1.999593047982555],
  [-1.25, -0.9229001282564583, 1.9229001282564582],
  [-1.2, -0.9103139782296353, 1.9103139782296354],
  [-0.84375, -0.7672256612323416, 1.7672256612323416],
  [-0.5, -0.5204998778130465, 1.5204998778130465],
  [-0.25, -0.27632639016823696, 1.276326390168237],
  [-1e-05, -1.1283791670579e-05, 1.0000112837916706],
  [-1e-300, -1.1283791670955126e-300, 1.0],
  [1e-300, 1.1283791670955126e-300, 1.0],
  [1e-20, 1.1283791670955125e-20, 1.0],
  [1.5e-09, 1.6925687506432689e-09, 0.9999999983074312],
  [1e-05, 1.1283791670579e-05, 0.9999887162083294],
  [0.1, 0.1124629160182849, 0.887537083981715],
  [0.25, 0.27632639016823696, 0.7236736098317631],
  [0.3, 0.3286267594591274, 0.6713732405408726],
  [0.5, 0.5204998778130465, 0.4795001221869535],
  [0.8, 0.7421009647076605, 0.2578990352923395],
  [0.84375, 0.7672256612323416, 0.23277433876765838],
  [0.9, 0.7969082124228322, 0.20309178757716786],
  [1, 0.8427007929497149, 0.15729920705028513],
  [1.1, 0.8802050695740817, 0.11979493042591827],
  [1.25, 0.9229001282564583, 0.07709987174354177],
  [1.5, 0.9661051464753108, 0.033894853524689274],
  [2, 0.9953222650189527, 0.004677734981047266],
  [2.5, 0.999593047982555, 0.0004069520174449589],
  [2.857142857, 0.9999466876885658, 5.3312311434252784e-05],
  [3, 0.9999779095030014, 2.209049699858544e-05],
  [3.5, 0.9999992569016276, 7.430983723414128e-07],
  [4, 0.9999999845827421, 1.541725790028002e-08],
  [5, 0.9999999999984626, 1.537459794428035e-12],
  [5.9, 0.9999999999999999, 7.190409783550478e-17],
  [6, 1.0, 2.1519736712498913e-17],
  [7, 1.0, 4.183825607779414e-23],
  [8, 1.0, 1.1224297172982926e-29],
  [10, 1.0, 2.088487583762545e-45],
  [12, 1.0, 1.3562611692059042e-64],
  [15, 1.0, 7.212994172451207e-100],
  [20, 1.0, 5.395865611607901e-176],
  [25, 1.0, 8.300172571196523e-274],
  [26, 1.0, 5.663192408856143e-296],
  [26.5, 1.0, 2.2109076642637343e-307],
];

/** [x, x·Φ(x), Φ(x) + x·φ(x)]: both tails (the left one to 2e-298) and tiny arguments. */
const GELU: readonly (readonly [number, number, number])[] = [
  [-37, -2.1184613523340935e-298, -7.838298669418516e-297],
  [-30, -1.472014178144456e-196, -4.416031690708495e-195],
  [-20, -5.507248237212468e-88, -1.1014360483133464e-86],
  [-12, -2.1317785344932147e-32, -2.5578956616748956e-31],
  [-8, -4.976768459417427e-15, -3.979607261086796e-14],
  [-5, -1.4332578593959695e-06, -7.146946001792295e-06],
  [-3, -0.0040496940948902835, -0.011945647204183927],
  [-2, -0.04550026389635842, -0.0852318010781969],
  [-1.5, -0.1002108019032871, -0.12746919222997952],
  [-1, -0.15865525393145705, -0.0833154705876863],
  [-0.5, -0.15426876936299344, 0.13250487534383715],
  [-0.001, -0.000499601057786089, 0.4992021157051586],
  [-1e-200, -5e-201, 0.5],
  [1e-200, 5e-201, 0.5],
  [0.001, 0.000500398942213911, 0.5007978842948414],
  [0.5, 0.34573123063700656, 0.8674951246561629],
  [1, 0.8413447460685429, 1.0833154705876864],
  [2, 1.9544997361036416, 1.085231801078197],
  [3, 2.99595030590511, 1.011945647204184],
  [5, 4.999998566742141, 1.000007146946002],
  [8, 7.999999999999995, 1.0000000000000397],
  [12, 12.0, 1.0],
  [40, 40.0, 1.0],
  [1e+300, 1e+300, 1.0],
];

/** [x, erf(x), erfc(x)] rounded to float32, at float32 inputs (erfc to 9, still a normal float32). */
const ERF32: readonly (readonly [number, number, number])[] = [
  [-4, -1.0, 2.0],
  [-2.5, -0.9995930194854736, 1.9995930194854736],
  [-1, -0.8427007794380188, 1.8427008390426636],
  [-0.625, -0.6232408881187439, 1.6232408285140991],
  [-0.125, -0.1403162032365799, 1.1403162479400635],
  [0.0078125, 0.008815282955765724, 0.9911847114562988],
  [0.125, 0.1403162032365799, 0.8596838116645813],
  [0.5, 0.5204998850822449, 0.4795001149177551],
  [0.84375, 0.7672256827354431, 0.23277433216571808],
  [1, 0.8427007794380188, 0.15729920566082],
  [1.25, 0.9229001402854919, 0.07709987461566925],
  [2, 0.9953222870826721, 0.004677734803408384],
  [2.875, 0.9999521374702454, 4.785483906744048e-05],
  [3.5, 0.9999992847442627, 7.430983828271565e-07],
  [5, 1.0, 1.5374598295869735e-12],
  [7, 1.0, 4.1838257316685907e-23],
  [9, 1.0, 4.137031708073991e-37],
];

const col = (rows: readonly (readonly number[])[], i: number) => rows.map((r) => r[i]);

/** Asserts `|got − want| ≤ rtol·|want|` elementwise (exact where `want` is 0), naming the worst. */
function assertRelative(
  what: string,
  xs: readonly number[],
  got: ArrayLike<number>,
  want: readonly number[],
  rtol: number,
): void {
  want.forEach((w, i) => {
    const err = Math.abs(got[i] - w);
    assert.ok(
      err <= rtol * Math.abs(w),
      `${what}(${xs[i]}) on ${getBackend()}: got ${got[i]}, want ${w} ` +
        `(relative error ${err / Math.abs(w)} > ${rtol})`,
    );
  });
}

Deno.test("erf and erfc in float64: within 1e-15 relative of mpmath, tails included", () => {
  const x = tensor(col(ERF, 0), f64);
  assertRelative("erf", col(ERF, 0), erf(x).dataSync(), col(ERF, 1), 1e-15);
  assertRelative("erfc", col(ERF, 0), erfc(x).dataSync(), col(ERF, 2), 1e-15);
});

Deno.test("erf and erfc: special values, symmetry, and erfc's underflow past x ≈ 26.5", () => {
  const x = tensor([0, -0, Infinity, -Infinity, NaN, 27.2, 28, 30, -30, 1e300, -1e300], f64);
  const e = [...erf(x).dataSync()];
  const c = [...erfc(x).dataSync()];
  assert.deepEqual(e.map((v) => Object.is(v, -0) ? "-0" : v), [
    0,
    "-0",
    1,
    -1,
    NaN,
    1,
    1,
    1,
    -1,
    1,
    -1,
  ]);
  // erfc(27.2) ≈ 1e-323 (mpmath) is subnormal: some value of that size, then 0.
  assert.ok(c[5] > 0 && c[5] < 1e-320, `erfc(27.2) = ${c[5]}`);
  assert.deepEqual([c[0], c[1], c[2], c[3], c[4], ...c.slice(6)], [1, 1, 0, 2, NaN, 0, 0, 2, 0, 2]);
  // erf is odd bit for bit; erf + erfc = 1 to an ulp on a dense grid across every region edge.
  const xs = Array.from({ length: 6 * 64 + 1 }, (_, i) => i / 64);
  const pos = tensor(xs, f64), neg = tensor(xs.map((v) => -v), f64);
  const ep = erf(pos).dataSync(), en = erf(neg).dataSync(), cp = erfc(pos).dataSync();
  xs.forEach((v, i) => {
    assert.equal(en[i], -ep[i], `erf(-${v})`);
    assert.ok(Math.abs(ep[i] + cp[i] - 1) <= 2.3e-16, `erf + erfc at ${v}: ${ep[i] + cp[i]}`);
  });
});

/** The spacing of float32 numbers at `v` (a normal float32). */
function ulp32(v: number): number {
  return 2 ** (Math.floor(Math.log2(Math.abs(v))) - 23);
}

const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
/** The backends to check float32 on, with the tolerance in float32 ulps each is held to. */
const FLOAT32_BACKENDS: readonly (readonly [string, number, boolean])[] = [
  ["cpu", 1, true], // fdlibm in float64, rounded once
  ["wasm", 1, true], // the CPU loop for now
  ["webgpu", 4, !!adapter], // fdlibm's float32 erff in WGSL, with its own exp
];

for (const [backend, ulps, available] of FLOAT32_BACKENDS) {
  Deno.test({
    name: `erf and erfc in float32 on ${backend}: within ${ulps} float32 ulp of mpmath`,
    ignore: !available,
    fn: () =>
      withBackend(backend, async () => {
        const x = tensor(col(ERF32, 0));
        for (const [name, f, i] of [["erf", erf, 1], ["erfc", erfc, 2]] as const) {
          const got = await f(x).data();
          ERF32.forEach((row, k) => {
            const want = row[i];
            const err = Math.abs(got[k] - want);
            assert.ok(
              err <= ulps * ulp32(want),
              `${name}(${row[0]}) on ${backend}: got ${got[k]}, want ${want} (${
                err / ulp32(want)
              } ulp)`,
            );
          });
        }
      }),
  });
}

Deno.test("exact GELU in float64: within 1e-15 relative of x·Φ(x), both tails included", () => {
  const x = tensor(col(GELU, 0), f64);
  assertRelative(
    "gelu",
    col(GELU, 0),
    nn.gelu(x, { approximate: false }).dataSync(),
    col(GELU, 1),
    1e-15,
  );
  // gelu(−∞ < x ≪ 0) underflows to −0 without NaN; far right it is x itself.
  const far = nn.gelu(tensor([-1e300, -60, 60], f64), { approximate: false }).dataSync();
  assert.deepEqual([...far], [-0, -0, 60]);
});

Deno.test("exact GELU's derivative in float64: Φ(x) + x·φ(x) within 1e-13 relative", () => {
  // The derivative goes through erfc's rule, 2/√π·exp(−u²) (JAX's rule too), whose
  // exp rounds u² first: x²·2⁻⁵³ relative in the left tail (measured 2.6e-14 at x = −37).
  const x = tensor(col(GELU, 0), f64);
  const g = grad((t: Tensor) => sum(nn.gelu(t, { approximate: false })))(x) as Tensor;
  assertRelative("gelu′", col(GELU, 0), g.dataSync(), col(GELU, 2), 1e-13);
  checkGrads((t: Tensor) => nn.gelu(t, { approximate: false }), [
    tensor([-3, -0.5, 0, 0.7, 2.5], f64),
  ], {
    order: 2,
  });
});

Deno.test("issue 17: nn.gelu(tensor([-2, 1], float64), { approximate: false }) is x·Φ(x)", () => {
  const got = nn.gelu(tensor([-2, 1], f64), { approximate: false }).dataSync();
  // exact x·Φ(x) (mpmath): [-0.04550026389635842, 0.8413447460685429]; the old
  // Numerical Recipes fit gave [-0.04550025978024894, 0.8413447386043253]
  assertRelative("gelu", [-2, 1], got, [-0.04550026389635842, 0.8413447460685429], 1e-15);
});

for (const [backend, ulps, available] of FLOAT32_BACKENDS) {
  Deno.test({
    name: `exact GELU in float32 on ${backend}: within ${ulps + 2} float32 ulp of x·Φ(x)`,
    ignore: !available,
    fn: () =>
      withBackend(backend, async () => {
        // x in [−3, 3]: 0.5·x·erfc(u) rounds x/√2, erfc, and two products (+2 ulp).
        const rows = GELU.filter(([v]) => Math.abs(v) <= 3 && Math.abs(v) >= 1e-3);
        const xs = col(rows, 0);
        const got = await nn.gelu(tensor(xs), { approximate: false }).data();
        rows.forEach(([v, want], k) => {
          const w32 = Math.fround(want);
          const err = Math.abs(got[k] - w32);
          assert.ok(
            err <= (ulps + 2) * ulp32(w32) + 1.5 * Math.abs(w32) * Math.abs(v * v) * 2 ** -24,
            `gelu(${v}) on ${backend}: got ${got[k]}, want ${w32}`,
          );
        });
      }),
  });
}

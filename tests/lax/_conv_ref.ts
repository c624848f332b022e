/**
 * Direct-loop float64 references for the convolution tests, written
 * independently of the im2col implementation: the input is dilated and
 * padded into an explicit array (negative padding crops), the kernel is
 * dilated into an explicit array, and a plain strided loop sums products.
 * `convTransposeRef` scatters each input element times the kernel into the
 * output, PyTorch's definition of `conv_transpose2d`.
 *
 * @module
 */

/** A float64 array with its shape (row-major). */
export interface Nd {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function stridesOf(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  for (let i = shape.length - 1, acc = 1; i >= 0; acc *= shape[i--]) st[i] = acc;
  return st;
}

/** Calls `fn` with every index of `shape`, row-major. */
function forEachIndex(shape: readonly number[], fn: (idx: number[]) => void): void {
  if (shape.some((s) => s === 0)) return;
  const idx = new Array<number>(shape.length).fill(0);
  for (let n = size(shape), k = 0; k < n; k++) {
    fn(idx);
    for (let a = shape.length - 1; a >= 0 && ++idx[a] === shape[a]; a--) idx[a] = 0;
  }
}

/** Inserts `d - 1` zeros between elements of each axis from `first` on. */
function dilate(x: Nd, first: number, d: readonly number[]): Nd {
  const shape = x.shape.map((s, a) => a < first ? s : (s - 1) * d[a - first] + 1);
  const out = new Float64Array(size(shape));
  const st = stridesOf(shape);
  let k = 0;
  forEachIndex(x.shape, (idx) => {
    let f = 0;
    idx.forEach((v, a) => (f += (a < first ? v : v * d[a - first]) * st[a]));
    out[f] = x.data[k++];
  });
  return { shape, data: out };
}

/** Pads (or, for negative widths, crops) each axis from `first` on with zeros. */
function padNd(x: Nd, first: number, pads: readonly (readonly [number, number])[]): Nd {
  const shape = x.shape.map((s, a) => a < first ? s : s + pads[a - first][0] + pads[a - first][1]);
  const out = new Float64Array(size(shape));
  const st = stridesOf(shape);
  let k = 0;
  forEachIndex(x.shape, (idx) => {
    let f = 0, inside = true;
    idx.forEach((v, a) => {
      const p = a < first ? v : v + pads[a - first][0];
      if (p < 0 || p >= shape[a]) inside = false;
      f += p * st[a];
    });
    if (inside) out[f] = x.data[k];
    k++;
  });
  return { shape, data: out };
}

/** Options of {@link convRef}, per spatial axis. */
export interface ConvRefOptions {
  strides?: readonly number[];
  pads?: readonly (readonly [number, number])[];
  lhsDilation?: readonly number[];
  rhsDilation?: readonly number[];
  groups?: number;
}

/** `lax.conv_general_dilated` in NC…/OI… layout by definition (float64). */
export function convRef(x: Nd, w: Nd, o: ConvRefOptions = {}): Nd {
  const nsp = x.shape.length - 2;
  const ones = new Array<number>(nsp).fill(1);
  const xp = padNd(
    dilate(x, 2, o.lhsDilation ?? ones),
    2,
    o.pads ?? ones.map(() => [0, 0] as const),
  );
  const wd = dilate(w, 2, o.rhsDilation ?? ones);
  const strides = o.strides ?? ones;
  const groups = o.groups ?? 1;
  const [n, c] = x.shape, [oc, ic] = w.shape;
  const win = wd.shape.slice(2);
  const outSp = xp.shape.slice(2).map((s, a) => Math.floor((s - win[a]) / strides[a]) + 1);
  const shape = [n, oc, ...outSp];
  const out = new Float64Array(size(shape));
  const xs = stridesOf(xp.shape), ws = stridesOf(wd.shape);
  let k = 0;
  forEachIndex(shape, ([b, f, ...pos]) => {
    const g = Math.floor(f / (oc / groups));
    let acc = 0;
    for (let ci = 0; ci < ic; ci++) {
      const cin = g * ic + ci;
      if (cin >= c) throw new Error("bad reference shapes");
      forEachIndex(win, (t) => {
        let xi = b * xs[0] + cin * xs[1], wi = f * ws[0] + ci * ws[1];
        t.forEach((v, a) => {
          xi += (pos[a] * strides[a] + v) * xs[a + 2];
          wi += v * ws[a + 2];
        });
        acc += xp.data[xi] * wd.data[wi];
      });
    }
    out[k++] = acc;
  });
  return { shape, data: out };
}

/** PyTorch's `conv_transpose2d` by definition: out[n, g·O + co, i·s − p + kh·d, …] += x · w. */
export function convTransposeRef(
  x: Nd,
  w: Nd,
  { stride = [1, 1], padding = [0, 0], outputPadding = [0, 0], dilation = [1, 1], groups = 1 }: {
    stride?: number[];
    padding?: number[];
    outputPadding?: number[];
    dilation?: number[];
    groups?: number;
  } = {},
): Nd {
  const [n, cin, h, wd] = x.shape, [, coutG, kh, kw] = w.shape;
  const cinG = cin / groups;
  const ho = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + outputPadding[0] + 1;
  const wo = (wd - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + outputPadding[1] + 1;
  const shape = [n, coutG * groups, ho, wo];
  const out = new Float64Array(size(shape));
  forEachIndex(x.shape, ([b, ci, i, j]) => {
    const v = x.data[((b * cin + ci) * h + i) * wd + j];
    const g = Math.floor(ci / cinG);
    for (let co = 0; co < coutG; co++) {
      for (let a = 0; a < kh; a++) {
        for (let c = 0; c < kw; c++) {
          const oi = i * stride[0] - padding[0] + a * dilation[0];
          const oj = j * stride[1] - padding[1] + c * dilation[1];
          if (oi < 0 || oi >= ho || oj < 0 || oj >= wo) continue;
          const wv = w.data[((ci * coutG + co) * kh + a) * kw + c];
          out[((b * shape[1] + g * coutG + co) * ho + oi) * wo + oj] += v * wv;
        }
      }
    }
  });
  return { shape, data: out };
}

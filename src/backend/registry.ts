/**
 * Which backend new tensors are created on. Ops on existing tensors run on
 * the backend their inputs live on.
 *
 * @module
 */

import type { Backend } from "./backend.ts";
import { CpuBackend } from "./cpu/cpu_backend.ts";
import { WasmBackend } from "./wasm/wasm_backend.ts";

/**
 * Makes a backend; may be async (WebGPU needs to request a device).
 *
 * @example
 * ```ts
 * import {
 *   type BackendFactory,
 *   CpuBackend,
 *   getBackend,
 *   registerBackend,
 *   setBackend,
 * } from "@gradus/core";
 *
 * // Called once, on the first setBackend of that name; may return a promise.
 * const factory: BackendFactory = () => new CpuBackend();
 * registerBackend("reference", factory);
 * const before = getBackend();
 * await setBackend("reference");
 * console.log(getBackend()); // "reference"
 * await setBackend(before);
 * ```
 */
export type BackendFactory = () => Backend | Promise<Backend>;

const factories = new Map<string, BackendFactory>();
const instances = new Map<string, Backend>();
let current: Backend | null = null;
let currentName = "cpu";

let wasmOk: boolean | undefined;

/** Whether the `wasm` backend can run here (shared WebAssembly memory), checked once. */
function wasmSupported(): boolean {
  if (wasmOk === undefined) {
    try {
      new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
      wasmOk = true;
    } catch {
      wasmOk = false;
    }
  }
  return wasmOk;
}

/**
 * Registers a backend under a name, so `setBackend(name)` can select it.
 * Re-registering a name replaces the factory (and forgets a made instance).
 *
 * @param name The name `setBackend` takes.
 * @param factory Makes the backend the first time it is selected.
 * @example
 * ```ts
 * import { CpuBackend, getBackend, registerBackend, setBackend } from "@gradus/core";
 * registerBackend("my-cpu", () => new CpuBackend());
 * await setBackend("my-cpu");
 * console.log(getBackend()); // "my-cpu"
 * await setBackend("cpu");
 * ```
 */
export function registerBackend(name: string, factory: BackendFactory): void {
  factories.set(name, factory);
  instances.delete(name);
}

/** The backend the last `setBackend` call is still making (an async factory), if any. */
let pending: string | null = null;
let setBackendCalls = 0;

/**
 * Selects the backend new tensors are created on (`"cpu"` is always there).
 * A backend made before, or by a synchronous factory (`cpu`, `wasm`), is
 * selected at once; one whose factory is async (`webgpu`) once the promise
 * resolves. Until then making a tensor is an error, not a tensor on the
 * old backend: await the call.
 *
 * @param name A registered backend name.
 * @returns A promise that resolves once the backend is ready.
 * @example
 * ```ts
 * import { getBackend, setBackend } from "@gradus/core";
 * await setBackend("cpu");
 * console.log(getBackend()); // "cpu"
 * ```
 */
export async function setBackend(name: string): Promise<void> {
  let call = -1;
  const select = (backend: Backend) => {
    instances.set(name, backend);
    // A later call has chosen another backend meanwhile: it wins.
    if (call !== setBackendCalls) return;
    current = backend;
    currentName = name;
    pending = null;
  };
  const made = instances.get(name);
  if (made !== undefined) {
    call = ++setBackendCalls;
    return select(made);
  }
  const factory = factories.get(name);
  if (factory === undefined) {
    const known = [...factories.keys()].join(", ");
    throw new Error(`setBackend(): unknown backend "${name}" (registered: ${known})`);
  }
  // Counted once the factory has started: a call that fails at once (an
  // unknown name, a factory that throws) leaves an earlier pending one to
  // finish and select its backend.
  const making = factory();
  call = ++setBackendCalls;
  if (!(making instanceof Promise)) return select(making);
  pending = name;
  try {
    select(await making);
  } finally {
    if (call === setBackendCalls) pending = null;
  }
}

/**
 * The name of the backend new tensors are created on.
 *
 * @returns The current backend's name, e.g. `"wasm"`.
 * @example
 * ```ts
 * import { getBackend } from "@gradus/core";
 * console.log(getBackend()); // "wasm" (where WebAssembly runs; else "cpu")
 * ```
 */
export function getBackend(): string {
  currentBackend();
  return currentName;
}

/**
 * The name of the backend selected now, also while a `setBackend` is
 * pending (when the name of the backend being made, marked): what `jit`
 * keys its programs by, so a program already traced runs on the tensors it
 * is given meanwhile. @internal
 */
export function selectedBackendName(): string {
  if (current === null) return pending === null ? currentBackend().name : `pending:${pending}`;
  return currentName;
}

/** The current backend object: by default `wasm` where it can run, else `cpu`. @internal */
export function currentBackend(): Backend {
  if (pending !== null) {
    throw new Error(
      `setBackend("${pending}") has not finished: await it before making tensors ` +
        `(await setBackend("${pending}"))`,
    );
  }
  if (current === null) {
    currentName = wasmSupported() ? "wasm" : "cpu";
    current = currentName === "wasm" ? new WasmBackend() : new CpuBackend();
    instances.set(currentName, current);
  }
  return current;
}

registerBackend("cpu", () => new CpuBackend());

registerBackend("wasm", () => {
  if (!wasmSupported()) {
    throw new Error(
      'setBackend("wasm"): this runtime has no shared WebAssembly memory; use "cpu"',
    );
  }
  return new WasmBackend();
});

registerBackend("webgpu", async () => {
  const { webgpuBackend } = await import("./webgpu/mod.ts");
  return await webgpuBackend();
});

/**
 * Options of {@linkcode ready}.
 *
 * @example
 * ```ts
 * import { getBackend, ready, type ReadyOptions, setBackend } from "@gradus/core";
 *
 * const before = getBackend();
 * const options: ReadyOptions = { backend: "cpu" }; // or "auto": WebGPU on a real GPU, else wasm
 * console.log(await ready(options)); // "cpu"
 * await setBackend(before);
 * ```
 */
export interface ReadyOptions {
  /**
   * Which backend to pick: `"auto"` (default) selects `webgpu` when a real
   * (non-fallback) GPU adapter is available and otherwise `wasm` (or `cpu`
   * where WebAssembly shared memory is missing); a name selects that backend.
   */
  readonly backend?: string;
}

/**
 * Picks the backend once at start-up. With `"auto"`, a real GPU adapter
 * selects `webgpu`; a software fallback adapter (such as llvmpipe) or no
 * WebGPU at all selects `wasm` (`cpu` where shared WebAssembly memory is
 * missing) — select `webgpu` explicitly to use a fallback adapter anyway.
 *
 * @param opts `backend` (default `"auto"`).
 * @returns The name of the selected backend.
 * @example
 * ```ts
 * import { ready } from "@gradus/core";
 * const name = await ready({ backend: "cpu" });
 * console.log(name); // "cpu"
 * ```
 */
export async function ready(opts: ReadyOptions = {}): Promise<string> {
  // Checked here (the registry sits below the ops' option checks): ready("cpu") or a misspelt
  // key would otherwise pick a backend of its own.
  if (typeof opts !== "object" || opts === null || Object.keys(opts).some((k) => k !== "backend")) {
    throw new TypeError(
      `ready(): expected an options object such as { backend: "cpu" }, got ${
        typeof opts === "object" && opts !== null
          ? `the unknown option "${Object.keys(opts).find((k) => k !== "backend")}"`
          : `${typeof opts} ${String(opts)}`
      }`,
    );
  }
  const want = opts.backend ?? "auto";
  if (want !== "auto") {
    await setBackend(want);
    return currentName;
  }
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (gpu !== undefined) {
    try {
      const adapter = await gpu.requestAdapter();
      const info = adapter?.info as (GPUAdapterInfo & { isFallbackAdapter?: boolean }) | undefined;
      if (adapter && info?.isFallbackAdapter !== true) {
        await setBackend("webgpu");
        return currentName;
      }
    } catch {
      // No usable adapter: stay on the CPU.
    }
  }
  await setBackend(wasmSupported() ? "wasm" : "cpu");
  return currentName;
}

/**
 * Which backend new tensors are created on. Ops on existing tensors run on
 * the backend their inputs live on.
 *
 * @module
 */

import type { Backend } from "./backend.ts";
import { CpuBackend } from "./cpu/cpu_backend.ts";

/** Makes a backend; may be async (WebGPU needs to request a device). */
export type BackendFactory = () => Backend | Promise<Backend>;

const factories = new Map<string, BackendFactory>();
const instances = new Map<string, Backend>();
let current: Backend | null = null;
let currentName = "cpu";

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

/**
 * Selects the backend new tensors are created on (`"cpu"` is always there).
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
  const made = instances.get(name);
  if (made !== undefined) {
    current = made;
    currentName = name;
    return;
  }
  const factory = factories.get(name);
  if (factory === undefined) {
    const known = [...factories.keys()].join(", ");
    throw new Error(`setBackend(): unknown backend "${name}" (registered: ${known})`);
  }
  const backend = await factory();
  instances.set(name, backend);
  current = backend;
  currentName = name;
}

/**
 * The name of the backend new tensors are created on.
 *
 * @returns The current backend's name, e.g. `"cpu"`.
 * @example
 * ```ts
 * import { getBackend } from "@gradus/core";
 * console.log(getBackend()); // "cpu"
 * ```
 */
export function getBackend(): string {
  currentBackend();
  return currentName;
}

/** The current backend object. @internal */
export function currentBackend(): Backend {
  if (current === null) {
    current = new CpuBackend();
    instances.set("cpu", current);
  }
  return current;
}

registerBackend("cpu", () => new CpuBackend());

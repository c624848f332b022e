/**
 * Preloaded by `deno task test` for a second run of the suite on the
 * plain-JS `cpu` backend (the first run uses the default, `wasm`):
 * `deno test --preload tests/_on_cpu.ts tests/`.
 *
 * @module
 */

import { setBackend } from "../mod.ts";

await setBackend("cpu");

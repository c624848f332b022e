/**
 * Writing and reading whole files with errors that name the function and
 * the user's path (checkpoints and the dataset cache use them). Writes are atomic and durable: the bytes go to a fresh
 * temporary file next to the target (`<path>.<16 random hex digits>.tmp`,
 * created with `createNew`, so no existing file is ever opened), which is
 * flushed to disk (fsync) and then renamed over the target; the directory is
 * synced too where the system allows it. Concurrent writers to one path each
 * use their own temporary file, so the target is always one complete file
 * (the last rename wins). On failure only the temporary file this call
 * created is removed.
 *
 * @module
 */

/** The directory part of a path (`"."` for a bare file name). */
function dirOf(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  if (i < 0) return ".";
  return i === 0 ? path.slice(0, 1) : path.slice(0, i);
}

/** A temporary name next to `path` that nobody else will pick. */
function tempName(path: string): string {
  const r = crypto.getRandomValues(new Uint8Array(8));
  return `${path}.${Array.from(r, (b) => b.toString(16).padStart(2, "0")).join("")}.tmp`;
}

/** Why a file-system call failed, in words, with the fix where there is one. */
function reason(e: unknown, path: string, flag: string): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof Deno.errors.NotCapable) {
    // Deno's rename needs read access as well as write access.
    const needed = /requires read access/i.test(msg) ? "--allow-read" : flag;
    return `no permission (run with ${needed}=${dirOf(path)} or ${needed}; ${msg})`;
  }
  if (e instanceof Deno.errors.NotFound) {
    return flag === "--allow-write"
      ? `the directory ${dirOf(path)} does not exist (create it first; ${msg})`
      : `the file does not exist (${msg})`;
  }
  if (e instanceof Deno.errors.NotADirectory) {
    return `a part of the path is not a directory (${msg})`;
  }
  if (e instanceof Deno.errors.IsADirectory) return `it is a directory (${msg})`;
  if (e instanceof Deno.errors.PermissionDenied) {
    return `the operating system refused access (${msg})`;
  }
  return msg;
}

/**
 * The error to throw: `<op>: cannot <verb> <path>: <reason>`, of the same
 * class as Deno's (so `instanceof Deno.errors.NotFound` still works), with
 * Deno's error as the `cause`.
 */
export function fsError(
  op: string,
  verb: string,
  path: string,
  flag: string,
  e: unknown,
): Error {
  const message = `${op}: cannot ${verb} ${path}: ${reason(e, path, flag)}`;
  const Ctor = e instanceof Error && Object.values(Deno.errors).includes(
      e.constructor as typeof Deno.errors.NotFound,
    )
    ? e.constructor as ErrorConstructor
    : Error;
  return new Ctor(message, { cause: e });
}

/**
 * Writes `bytes` to `path` atomically and durably (see the module doc).
 *
 * @param op The public function, for messages (`"saveSafetensors()"`).
 * @param path The file to write.
 * @param bytes Its new contents.
 * @returns A promise that resolves once the file is in place.
 * @throws {Error} Deno's error class, with a message naming `op` and `path`.
 */
export async function writeFileAtomic(op: string, path: string, bytes: Uint8Array): Promise<void> {
  let tmp = tempName(path);
  let file: Deno.FsFile | undefined;
  for (let attempt = 0; file === undefined; attempt++) {
    try {
      file = await Deno.open(tmp, { write: true, createNew: true });
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists && attempt < 3) {
        tmp = tempName(path);
        continue;
      }
      throw fsError(op, "write", path, "--allow-write", e);
    }
  }
  try {
    try {
      for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    try {
      await Deno.remove(tmp);
    } catch {
      // already gone, or not removable: nothing more to do
    }
    throw fsError(op, "write", path, "--allow-write", e);
  }
  try {
    // Make the rename itself durable; not possible everywhere (Windows).
    const dir = await Deno.open(dirOf(path), { read: true });
    try {
      await dir.sync();
    } finally {
      dir.close();
    }
  } catch {
    // the file is in place; only the directory entry's durability is unknown
  }
}

/**
 * Reads a whole file.
 *
 * @param op The public function, for messages (`"loadSafetensors()"`).
 * @param path The file to read.
 * @returns Its bytes.
 * @throws {Error} Deno's error class, with a message naming `op` and `path`.
 */
export async function readFileNamed(op: string, path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw fsError(op, "read", path, "--allow-read", e);
  }
}

import { chmodSync, closeSync, constants, fsyncSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Small file helpers for the secrets keybridge keeps on a host (tokens, site secrets,
 * root keys, later certificates). Every write is temp file + fsync + publish + fsync of the
 * directory, so a crash or a full disk leaves either the old file or the new one, never
 * half of one. Files that must never be replaced once used (a root key, a site secret)
 * are created with `createPrivateFileExclusive`; files that are meant to be replaced
 * (agent.url, an export) with `writeFileAtomic`.
 */

/** Creates `dir` (and parents) with mode 0700 if missing; never loosens an existing dir. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): void {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', mode);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temp);
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temp, path);
  } catch (error) {
    unlinkSync(temp);
    throw error;
  }
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** True when group or others may read (or write) the file or directory. */
export function isOpenToOthers(path: string): boolean {
  return (statSync(path).mode & 0o077) !== 0;
}

/**
 * Durable, private, no-clobber creation of a small key file: temp file (0600, O_EXCL) +
 * write + fsync, then published under its final name, then an fsync of the directory so
 * the new name survives a crash.
 *
 * The publish step is `link()` rather than `rename()`: it fails if the name already
 * exists, so two processes starting at once can never replace a root key the other has
 * already used to seal data. Filesystems without hard links fall back to `rename()` after
 * an existence check.
 */
export async function createPrivateFileExclusive(file: string, data: Uint8Array): Promise<boolean> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  let created = true;
  try {
    await link(tmp, file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      created = false;
    } else if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
      if (await exists(file)) created = false;
      else await rename(tmp, file);
    } else {
      await unlink(tmp).catch(() => undefined);
      throw error;
    }
  }
  await unlink(tmp).catch(() => undefined);
  if (created) await fsyncDirectory(dir);
  return created;
}

export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } catch (error) {
    // Some filesystems refuse fsync on a directory; the data itself was synced.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EBADF' && code !== 'EISDIR') throw error;
  } finally {
    await handle.close();
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Moves the files of a private directory (the certificate directory) to `to`, safely:
 * `to` must not exist or be empty; every file is copied with its mode, fsync'ed, and
 * compared byte for byte before anything is removed from `from`. A crash at any point
 * leaves a complete copy in at least one of the two places.
 */
export async function movePrivateDirectory(from: string, to: string): Promise<string[]> {
  const entries = await readdir(from, { withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile() && !entry.name.endsWith('.tmp')).map((entry) => entry.name);
  if (entries.some((entry) => !entry.isFile())) throw new Error(`${from} holds something other than plain files: move it by hand`);
  await mkdir(to, { recursive: true, mode: 0o700 });
  if ((await readdir(to)).length > 0) throw new Error(`${to} is not empty`);
  for (const name of files) {
    const source = join(from, name);
    const data = await readFile(source);
    const mode = (await stat(source)).mode & 0o777;
    if (!(await createPrivateFileExclusive(join(to, name), data))) throw new Error(`${join(to, name)} appeared during the move`);
    if (mode !== 0o600) chmodSync(join(to, name), mode & 0o700);
    if (!Buffer.from(await readFile(join(to, name))).equals(data)) throw new Error(`copy of ${name} differs: nothing was removed`);
  }
  await fsyncDirectory(to);
  for (const name of files) await rm(join(from, name));
  for (const entry of entries.filter((e) => e.name.endsWith('.tmp'))) await rm(join(from, entry.name), { force: true });
  await rmdir(from);
  return files;
}

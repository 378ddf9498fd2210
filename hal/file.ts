// The file-system boundary the journal needs: positional I/O, fsync of a file
// and of a directory, and the few namespace operations. Nothing is durable
// until `sync()` (file data) and `syncDir()` (its directory entry) returned.

/** 'read': existing file, read-only. 'readwrite': existing file. 'create': new file, fails with EEXIST. */
export type OpenMode = 'read' | 'readwrite' | 'create';

export interface FileHandle {
  readonly path: string;
  /** Current size in bytes. */
  size(): Promise<number>;
  /** Up to `length` bytes from `position`; fewer at the end of the file. */
  read(position: number, length: number): Promise<Uint8Array>;
  /** Writes `data` at the end of the file (one writing handle per file: the end is tracked by the handle). */
  append(data: Uint8Array): Promise<void>;
  /** Writes `data` at `position` (in-place rewrite). */
  write(position: number, data: Uint8Array): Promise<void>;
  truncate(length: number): Promise<void>;
  /** fdatasync: data and the size are on stable storage when this resolves. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface FileSystem {
  /** `perm`: the permission bits of a file 'create' makes (default 0o600; a double may ignore it). */
  open(path: string, mode: OpenMode, perm?: number): Promise<FileHandle>;
  /** Entry names (not paths) of a directory. */
  readdir(dir: string): Promise<string[]>;
  /** Rejects with code ENOENT when missing. */
  stat(path: string): Promise<{ size: number; isFile: boolean }>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Creates the directory and its parents (`perm` default 0o700); fine if it exists. */
  mkdir(path: string, perm?: number): Promise<void>;
  /** fsync of a directory: entries created, renamed or removed in it are durable. */
  syncDir(dir: string): Promise<void>;
  /**
   * Space of the file system holding `dir`, in bytes: `free` is what an
   * unprivileged writer can still use. Optional: a file system that cannot tell
   * leaves it out, and its users rely on ENOSPC alone.
   */
  space?(dir: string): Promise<{ total: number; free: number }>;
}

/** An error shaped like Node's (`code` = errno name), so callers can tell ENOENT from EIO. */
export function fileError(code: string, op: string, path: string): Error & { code: string } {
  return Object.assign(new Error(`${code}: ${op} ${path}`), { code });
}

export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

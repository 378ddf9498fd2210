// The fleet store behind one small interface: PostgreSQL (`pg`) for a
// postgres:// URL, PGlite (PostgreSQL in WASM) for a directory — the same SQL
// for both. The drivers load on demand, so nothing on the device's `run` path
// (nor the device bundle, where they are external) ever loads them.

export interface Sql {
  /** Rows of one statement ($1.. parameters). int8 values may be strings or numbers: read them with Number(). */
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
}

export interface Db extends Sql {
  readonly kind: 'postgres' | 'pglite';
  /** Where the data lives, for messages: the URL without password, or the directory. */
  readonly where: string;
  /** Several statements without parameters (DDL). */
  exec(text: string): Promise<void>;
  /** BEGIN … COMMIT around `fn`; ROLLBACK when it throws. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenDbOptions {
  /** Told once, before a new PGlite directory is created (it takes ~5 s). */
  onCreate?: (message: string) => void;
  /** Names the holder in a PGlite lock file, e.g. "tapwire ingest". */
  command?: string;
  /** Refuse to create a PGlite database (commands that only read one). */
  mustExist?: boolean;
}

/** A failure the user can act on (bad target, database in use, unreachable): one clear line. */
export class DbError extends Error {
  constructor(readonly code: 'ERR_DB_TARGET' | 'ERR_DB_IN_USE' | 'ERR_DB_CONNECT' | 'ERR_DB_DRIVER' | 'ERR_DB_SCHEMA', message: string) {
    super(message);
    this.name = 'DbError';
  }
}

export const isPostgresUrl = (target: string): boolean => /^postgres(ql)?:\/\//i.test(target);

/** The URL with any password replaced by ***. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/**
 * A driver module that may be missing: the single-executable device build
 * leaves pg and PGlite out (they are cloud-side), so say where to get them.
 */
export async function loadDriver<T>(name: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    // only the import runs here: any failure is the driver not being loadable
    const cause = (err as { code?: string }).code ?? (err as Error).message;
    throw new DbError('ERR_DB_DRIVER', `the ${name} driver cannot be loaded (${cause}): the device build leaves it out — run the fleet commands from the npm package (npm install, then npx tapwire ...)`);
  }
}

/** Opens (and, for PGlite, creates) the store named by `target`; the schema is the caller's. */
export async function openDb(target: string, opts: OpenDbOptions = {}): Promise<Db> {
  if (target.trim() === '') throw new DbError('ERR_DB_TARGET', '--db is empty: give a postgres:// URL or a directory');
  if (isPostgresUrl(target)) {
    const { openPostgres } = await import('./db-pg.js');
    return openPostgres(target);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    throw new DbError('ERR_DB_TARGET', `--db ${target}: not a postgres:// URL (for the embedded database give a directory)`);
  }
  const { openPglite } = await import('./db-pglite.js');
  return openPglite(target, opts);
}

// A real PostgreSQL server (Debian's binaries in /usr/lib/postgresql/<ver>/bin),
// created with initdb in a temp dir and started with pg_ctl on a free port on
// 127.0.0.1 and a private unix socket dir. As root it runs as user `postgres`
// (initdb refuses root). close() stops it (fast shutdown) and removes the dir.

import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchOnFreePort } from './free-port.js';

export interface PostgresPeer {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth, loopback only) */
  url: string;
  port: number;
  /** A fresh database on this server; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Fast shutdown (an outage); start() brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
  log(): string;
}

export interface PostgresOptions {
  /** Extra `-c name=value` settings, e.g. { fsync: 'off' } for fast tests. */
  settings?: Record<string, string>;
}

/** The newest installed server's bin dir, or undefined. */
export function postgresBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], 'bin') : undefined;
}

function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) throw new Error('running as root needs the "postgres" user (apt-get install postgresql)');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function run(bin: string, args: string[], as: { uid: number; gid: number } | undefined, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(as ?? {}), env: { ...process.env, LC_ALL: 'C' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out); else reject(new Error(`${bin} ${args.join(' ')} exited ${code}:\n${out}`));
    });
  });
}

export async function startPostgres(opts: PostgresOptions = {}): Promise<PostgresPeer> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (apt-get install postgresql; test/peers/ensure-system-deps.sh does it)');
  const as = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), 'tapwire-pg-'));
  if (as) chownSync(dir, as.uid, as.gid);
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  let output = '';
  await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'], as);
  const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: dir, max_connections: '50', ...opts.settings };
  const launch = async (candidate: number): Promise<void> => {
    const o = Object.entries({ ...settings, port: String(candidate) }).map(([k, v]) => `-c ${k}=${v}`).join(' ');
    output = await run(join(bin, 'pg_ctl'), ['-D', data, '-l', logFile, '-o', o, '-w', '-t', '60', 'start'], as);
  };
  const port = await launchOnFreePort(launch, dir);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    url, port,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name ${name} must be a plain identifier`);
      await run(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', name], undefined);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() { await run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop'], as); },
    async start() { await launch(port); },
    async close() {
      if (stopped) return;
      stopped = true;
      try { await run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop'], as); } catch { /* already gone */ }
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => output + (existsSync(logFile) ? spawnSync('tail', ['-n', '50', logFile], { encoding: 'utf8' }).stdout : ''),
  };
}

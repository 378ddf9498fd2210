// `tapwire status --config <file>`: what the running agent is doing, read
// from the status file it rewrites every few seconds (no socket to ask).

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentStatus } from '../agent.js';
import { loadConfigOrExit } from './config-file.js';
import { EXIT_OK, EXIT_RUNTIME, parse, requireOption, type Command } from './usage.js';

const usage = `Usage: tapwire status --config <file> [--json]

Shows what the running agent is doing: sources, uplink, journal, counters.

Options:
  -c, --config <file>   config file of the agent
      --json            raw status as JSON
  -h, --help            this help`;

function processAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** The journal's bound in force: maxBytes, or less when the disk cannot hold it (status files of older agents lack it). */
function journalBound(j: Partial<AgentStatus['journal']>): string {
  if (j.limitBytes === undefined || j.maxBytes === undefined) return `max ${j.maxBytes ?? '?'} bytes`;
  return j.limitedBy === 'disk'
    ? `${j.limitBytes} bytes: LIMITED BY THE DISK (journal.maxBytes ${j.maxBytes} does not fit; oldest unsent batches are dropped and told as disk-full)`
    : `${j.limitBytes} bytes (journal.maxBytes)`;
}

export function formatStatus(s: AgentStatus, alive: boolean): string {
  const ago = (t?: number): string => (t === undefined ? 'never' : `${Math.max(0, Math.round(Date.now() / 1000 - t))} s ago`);
  const lines = [
    `device     ${s.dev}  (pid ${s.pid}, ${alive ? s.state : 'NOT RUNNING'}, up since ${new Date(s.since * 1000).toISOString()}, status ${ago(s.updated)})`,
    `uplink     ${s.uplink.connected ? 'connected' : 'DISCONNECTED'}; published seq ${s.uplink.publishedSeq}, acked ${s.uplink.ackedSeq}, in flight ${s.uplink.inflight}, reconnects ${s.uplink.reconnects}${s.uplink.lastError ? `; last error: ${s.uplink.lastError}` : ''}`,
    `config     version ${s.config?.version ?? 0}${s.config?.version ? ' (signed, over the air)' : ' (local file)'}; device key ${s.key?.kid ?? '?'}${s.key?.oldKeyKept ? ' (rollover announced, old key kept until acknowledged)' : ''}`,
    `journal    seq ${s.chain.seq}${s.chain.epoch ? ` (chain epoch ${s.chain.epoch})` : ''}, durable ${s.journal.durableSeq}, committed ${s.journal.committedSeq}, ${s.journal.segments} segment(s), ${s.journal.diskBytes} bytes, dropped ${s.journal.droppedBatches} batch(es)`,
    `bound      ${journalBound(s.journal)}`,
  ];
  for (const [id, h] of Object.entries(s.sources)) {
    lines.push(`source     ${id}: ${h.open ? 'open' : 'CLOSED'}, last reading ${h.lastReadingAt ? ago(h.lastReadingAt / 1000) : 'never'}`);
  }
  const counters = Object.entries(s.counters);
  if (counters.length) lines.push('counters   ' + counters.map(([k, v]) => `${k}=${v}`).join(' '));
  return lines.join('\n');
}

export const statusCommand: Command = {
  name: 'status',
  usage,
  async run(argv) {
    const { values } = parse(argv, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } }, usage);
    const config = loadConfigOrExit(requireOption(values.config, 'config', usage));
    const candidates = [process.env.RUNTIME_DIRECTORY, '/run/tapwire', config.stateDir]
      .filter((d): d is string => !!d)
      .map((d) => join(d, 'status.json'))
      .filter((f) => existsSync(f))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    const file = candidates[0];
    if (!file) {
      process.stderr.write(`no status file for ${config.device} (looked in ${config.stateDir}): is the agent running?\n`);
      return EXIT_RUNTIME;
    }
    const status = JSON.parse(readFileSync(file, 'utf8')) as AgentStatus;
    const alive = processAlive(status.pid) && status.state !== 'stopping';
    process.stdout.write((values.json ? JSON.stringify(status, null, 2) : formatStatus(status, alive)) + '\n');
    return alive ? EXIT_OK : EXIT_RUNTIME;
  },
};

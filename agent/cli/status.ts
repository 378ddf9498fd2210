// `tapwire status --config <file>`: what the running agent is doing, read
// from the status file it rewrites every few seconds (no socket to ask).

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentStatus } from '../agent.js';
import { duration } from '../console/format.js';
import { bufferAnswer, statusAnswer, uplinkAnswer } from '../console/status-answers.js';
import { loadConfigOrExit } from './config-file.js';
import { CliError, EXIT_OK, EXIT_RUNTIME, parse, requireOption, type Command } from './usage.js';

const usage = `Usage: tapwire status --config <file> [--json]

Shows what the running agent is doing, from the status file it rewrites every
5 s: the same status, buffer and uplink answers as the local console.

Options:
  -c, --config <file>   config file of the agent
      --json            raw status as JSON
  -h, --help            this help`;

function processAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

/**
 * The console's `status`, `buffer` and `uplink` answers (one home:
 * agent/console/status-answers.ts), from the status file, with where it came from and how old it is.
 */
export function formatStatus(s: AgentStatus, alive: boolean, file: string, nowMs: number): string {
  const age = duration(nowMs - s.updated * 1000);
  return [
    `${file}: written ${age} ago by pid ${s.pid} (${alive ? s.state : 'NOT RUNNING'})`,
    '', '== status', ...statusAnswer(s, nowMs),
    '', '== buffer', ...bufferAnswer(s, nowMs),
    '', '== uplink', ...uplinkAnswer(s, nowMs),
  ].join('\n');
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
    let status: AgentStatus;
    try { status = JSON.parse(readFileSync(file, 'utf8')) as AgentStatus; } catch (err) {
      throw new CliError(`${file}: not a readable status file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, EXIT_RUNTIME);
    }
    const alive = processAlive(status.pid) && status.state !== 'stopping';
    process.stdout.write((values.json ? JSON.stringify(status, null, 2) : formatStatus(status, alive, file, Date.now())) + '\n');
    return alive ? EXIT_OK : EXIT_RUNTIME;
  },
};

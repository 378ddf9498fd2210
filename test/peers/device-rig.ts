// One device as the integration suites set it up: a socat pty whose far end
// the test writes lines into, a config with one `lines` source on the pty's
// agent end and a fresh device key in a temp dir, and the fake cloud client
// (cloud.ts) subscribed before the agent starts. The broker is the test's
// (aedes or Mosquitto); the test starts the agent (startAgent) as often as it
// likes, kills or stops it; close() leaves no agent running.

import { join } from 'node:path';
import { prepareDevice, startAgentProcess, type AgentProcess, type AgentProcessOptions } from './agent-process.js';
import { watchCloud, type CloudOptions, type CloudWatch } from './cloud.js';
import { openFieldPty, type FieldPty } from './field-pty.js';
import { tempDir } from '../helpers.js';

export interface DeviceRigOptions {
  /** The broker's URL. */
  url: string;
  device: string;
  /** Of the agent and the cloud client; default 5. */
  protocolVersion?: 4 | 5;
  /** More uplink settings (TLS files, reconnect); reconnect defaults to 100–1000 ms. */
  uplink?: Record<string, unknown>;
  batch: Record<string, number>;
  /** Journal settings; default the agent's. */
  journal?: Record<string, number>;
  /** The source's id (readings are named `<id>:<field>`; default `field`) and decoder (default kv). */
  source?: { id?: string; decoder?: Record<string, unknown> };
  /** More top-level config settings (e.g. `console`). */
  config?: Record<string, unknown>;
  /** The agent's state directory (e.g. a small tmpfs); default `state` in the rig's temp dir. */
  stateDir?: string;
  /** The cloud client's options, or false for none. */
  cloud?: false | Pick<CloudOptions, 'clientId' | 'tls'>;
}

export interface DeviceRig {
  device: string;
  pty: FieldPty;
  dir: { path: string; remove(): void };
  configPath: string;
  stateDir: string;
  publicKey: Uint8Array;
  /** The fake cloud client, subscribed (absent with `cloud: false`). */
  cloud: CloudWatch;
  /** Writes `line` and a newline into the pty, as the field device would. */
  write(line: string): void;
  /** `tapwire run` on this rig's config (startAgentProcess); close() kills -9 whichever still runs. */
  startAgent(opts?: AgentProcessOptions): Promise<AgentProcess>;
  close(): Promise<void>;
}

export async function startDeviceRig(opts: DeviceRigOptions): Promise<DeviceRig> {
  const protocolVersion = opts.protocolVersion ?? 5;
  const pty = await openFieldPty();
  const dir = tempDir(`tapwire-${opts.device}-`);
  const stateDir = opts.stateDir ?? join(dir.path, 'state');
  const configPath = join(dir.path, 'config.json');
  const publicKey = prepareDevice(configPath, {
    device: opts.device,
    stateDir,
    uplink: { url: opts.url, protocolVersion, reconnect: { initialMs: 100, maxMs: 1000 }, ...opts.uplink },
    batch: opts.batch,
    ...(opts.journal ? { journal: opts.journal } : {}),
    sources: [{ id: opts.source?.id ?? 'field', type: 'lines', port: { path: pty.agentPath, baudRate: 115200 }, decoder: opts.source?.decoder ?? { type: 'kv' } }],
    ...opts.config,
  });
  const cloud = opts.cloud === false ? undefined : watchCloud({ url: opts.url, device: opts.device, publicKey, protocolVersion, ...opts.cloud });
  if (cloud) await cloud.ready;
  const agents: AgentProcess[] = [];
  return {
    device: opts.device, pty, dir, configPath, stateDir, publicKey,
    get cloud(): CloudWatch {
      if (!cloud) throw new Error('this rig has no cloud client (cloud: false)');
      return cloud;
    },
    write: (line) => { pty.write(`${line}\n`); },
    async startAgent(run) {
      const agent = await startAgentProcess(configPath, run);
      agents.push(agent);
      return agent;
    },
    async close() {
      for (const agent of agents) await agent.kill9();
      await cloud?.close();
      await pty.close();
      dir.remove();
    },
  };
}

// The README sample of each source type (agent/sources/<type>/README.md, the
// first ```json block) and the config the contract suites wrap it in.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { exampleConfig } from '../agent/config/example.js';

export type Json = Record<string, unknown>;

export function readmeSample(type: string): Json {
  const path = fileURLToPath(new URL(`../agent/sources/${type}/README.md`, import.meta.url));
  const block = /```json\n([\s\S]*?)\n```/.exec(readFileSync(path, 'utf8'));
  if (!block?.[1]) throw new Error(`${path}: no \`\`\`json sample`);
  return JSON.parse(block[1]) as Json;
}

/** A whole config with `source` as its only source. */
export function configWith(source: unknown): Json {
  const c = exampleConfig('/var/lib/tapwire', 'mqtts://broker.example.net:8883', { weather: '/dev/ttyUSB9' }) as unknown as Json;
  return { ...c, sources: [source] };
}

// The agent's version: set by the bundle (esbuild `define`), "dev" from source.

declare const TAPWIRE_VERSION: string | undefined;

export const AGENT_VERSION: string = typeof TAPWIRE_VERSION === 'string' ? TAPWIRE_VERSION : 'dev';

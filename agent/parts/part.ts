// A part of the agent: one side job with start() and stop(), wired in one
// list (agent.ts). The list starts its parts in order and stops them in
// reverse, every one of them: a part's stop() must be safe when its start()
// never ran or failed (an agent whose start failed is still stopped).
// Like zigbee2mqtt's extension list.

export interface Part {
  readonly name: string;
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

export interface PartList {
  /** Starts each part in order; the first that throws ends the start (the rest stay unstarted). */
  start(): Promise<void>;
  /** Stops every part in reverse order; the first error is thrown once all were stopped. */
  stop(): Promise<void>;
}

export function createPartList(parts: readonly Part[]): PartList {
  return {
    async start() {
      for (const p of parts) await p.start();
    },
    async stop() {
      let first: { err: unknown } | undefined;
      for (const p of [...parts].reverse()) {
        try { await p.stop(); } catch (err) { first ??= { err }; }
      }
      if (first) throw first.err;
    },
  };
}

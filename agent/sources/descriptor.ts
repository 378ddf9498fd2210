// What a source type is to the rest of the agent: its name, its config schema
// fragment, its semantic checks and its factory. One folder per type
// (agent/sources/<type>/) holds these and a README with a sample config; the
// registry lists the descriptors; config loading and `config schema` assemble
// from them and know no type by name.
//
// The contract: check judges a config that passed `schema`; create calls the
// same check and refuses (throws a SourceConfigError) exactly when it finds a
// problem, so `config check` and `run` cannot disagree.

import type { Static, TObject } from '@sinclair/typebox';
import type { Problem } from './problem.js';
import type { Source, SourceContext } from './source.js';

export interface SourceDescriptor<S extends TObject = TObject> {
  readonly type: string;
  readonly schema: S;
  /** Problems of a schema-valid config, paths relative to the source. */
  check(config: Static<S>): Problem[];
  create(config: Static<S>, ctx: SourceContext): Source;
}

/** Keeps the schema's static type (a plain annotation would widen it). */
export function defineSource<S extends TObject>(descriptor: SourceDescriptor<S>): SourceDescriptor<S> {
  return descriptor;
}

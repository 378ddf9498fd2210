// Config schema of a `lines` source (README.md in this folder has a sample).

import { Type, type Static } from '@sinclair/typebox';
import { Identifier, PortSchema, strict } from '../../schema-parts.js';
import { DecoderSchema } from '../decoders/schema.js';

export const LinesSourceSchema = Type.Object({
  id: Identifier('source id; reading names are "<id>:<field>"'),
  type: Type.Literal('lines'),
  port: PortSchema,
  decoder: DecoderSchema,
  delimiter: Type.Optional(Type.String({ minLength: 1, default: '\n', description: 'line delimiter; a trailing \\r is always stripped' })),
  maxLineBytes: Type.Optional(Type.Integer({ minimum: 16, maximum: 65536, default: 1024, description: 'longer lines are counted and dropped' })),
}, strict);

export type LinesSourceConfig = Static<typeof LinesSourceSchema>;

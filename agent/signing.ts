// The device key the agent signs with now, and the batch encoder that uses
// it. One holder, so a key rollover (parts/key-rotation.ts) swaps key, signer
// and encoder together, and everything that signs (batches, gap notices, the
// status message, config acks) reads the current one at each call.

import type { Clock } from '../hal/clock.js';
import { createBatchEncoder, type BatchEncoder, type ChainState } from './encode/batch.js';
import { encodeCbor } from './encode/cbor.js';
import { signSign1 } from './encode/cose.js';
import type { KeyPair } from './encode/keys.js';
import { createCryptoSigner, type Signer } from './encode/signer.js';

export interface Signing {
  readonly keyPair: KeyPair;
  readonly signer: Signer;
  readonly encoder: BatchEncoder;
  /** `payload` as CBOR in a COSE_Sign1 by the current key (status messages, config acks). */
  sign(payload: unknown, contentType: string): Uint8Array;
  /** The chain continues from `chain` (after the journal opened). */
  resume(chain: ChainState): void;
  /** From the next batch on, sign with `next` (the chain continues). */
  use(next: KeyPair): void;
}

export function createSigning(keyPair: KeyPair, opts: { device: string; clock: Clock }): Signing {
  let pair = keyPair;
  let signer = createCryptoSigner(pair.seed);
  const encoderFrom = (chain: ChainState): BatchEncoder => createBatchEncoder({
    device: opts.device, signer, clockSynced: () => opts.clock.synced(), nowMs: () => opts.clock.now(),
  }, chain);
  // replaced in resume() by the chain state after the last journaled batch
  let encoder = encoderFrom({ seq: 0, prev: new Uint8Array(32) });
  return {
    get keyPair() { return pair; },
    get signer() { return signer; },
    get encoder() { return encoder; },
    sign: (payload, contentType) => signSign1(signer, encodeCbor(payload), contentType),
    resume(chain) { encoder = encoderFrom(chain); },
    use(next) {
      const chain = encoder.state();
      pair = next;
      signer = createCryptoSigner(next.seed);
      encoder = encoderFrom(chain);
    },
  };
}

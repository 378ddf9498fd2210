// COSE_Sign1 (RFC 9052 §4.2) with EdDSA/Ed25519 over any payload bytes.
// Invariant: alg, content type and kid are all in the protected (signed)
// header; verification rebuilds Sig_structure from the received bytes as-is.
//
//   d2                          tag 18 (COSE_Sign1)
//   84                          array(4)
//     bstr  protected           CBOR {1: -8 (EdDSA), 3: "<content type>", 4: h'<kid 8>'}
//     a0    unprotected         {}
//     bstr  payload
//     bstr  signature (64)      Ed25519 over Sig_structure:
//                                 ["Signature1", protected, h'', payload]

import { decodeCbor, encodeCbor, Tag } from './cbor.js';
import { verifyEd25519, type Signer } from './signer.js';

export const COSE_ALG_EDDSA = -8;
export const DEFAULT_CONTENT_TYPE = 'application/tapwire+cbor';
/** Default cap for decodeSign1: far above any batch (100 readings ~ 3 KB). */
export const DEFAULT_MAX_SIGN1_BYTES = 1 << 20;

const TAG_SIGN1 = 18;
const HDR_ALG = 1;
const HDR_CRIT = 2;
const HDR_CONTENT_TYPE = 3;
const HDR_KID = 4;
const EMPTY = new Uint8Array(0);

export type CoseErrorCode =
  | 'ERR_COSE_TOO_LARGE' | 'ERR_COSE_CBOR' | 'ERR_COSE_TAG' | 'ERR_COSE_STRUCTURE'
  | 'ERR_COSE_HEADER' | 'ERR_COSE_ALG' | 'ERR_COSE_KID_UNKNOWN' | 'ERR_COSE_SIGNATURE';

export class CoseError extends Error {
  readonly code: CoseErrorCode;
  constructor(code: CoseErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'CoseError';
  }
}

export interface Sign1 {
  /** the protected header exactly as received (what the signature covers) */
  protectedBytes: Uint8Array;
  alg: number;
  contentType: string;
  kid: Uint8Array;
  payload: Uint8Array;
  signature: Uint8Array;
}

// one encoded protected header per (signer, content type): they never change
const protectedCache = new WeakMap<Signer, Map<string, Uint8Array>>();

function protectedHeader(signer: Signer, contentType: string): Uint8Array {
  let bySigner = protectedCache.get(signer);
  if (!bySigner) protectedCache.set(signer, (bySigner = new Map()));
  let bytes = bySigner.get(contentType);
  if (!bytes) {
    bytes = encodeCbor(new Map<number, unknown>([[HDR_ALG, COSE_ALG_EDDSA], [HDR_CONTENT_TYPE, contentType], [HDR_KID, signer.kid]]));
    bySigner.set(contentType, bytes);
  }
  return bytes;
}

function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  return encodeCbor(['Signature1', protectedBytes, EMPTY, payload]);
}

/** Signs `payload` (any bytes) into an encoded, tagged COSE_Sign1. */
export function signSign1(signer: Signer, payload: Uint8Array, contentType: string = DEFAULT_CONTENT_TYPE): Uint8Array {
  const prot = protectedHeader(signer, contentType);
  const signature = signer.sign(sigStructure(prot, payload));
  return encodeCbor(new Tag([prot, new Map(), payload, signature], TAG_SIGN1));
}

const isBytes = (x: unknown): x is Uint8Array => x instanceof Uint8Array;

/** Parses the envelope (no payload parsing, no signature check). Throws CoseError. */
export function decodeSign1(bytes: Uint8Array, maxBytes: number = DEFAULT_MAX_SIGN1_BYTES): Sign1 {
  if (bytes.length > maxBytes) throw new CoseError('ERR_COSE_TOO_LARGE', `COSE_Sign1 is ${bytes.length} bytes, limit ${maxBytes}`);
  let item: unknown;
  try {
    item = decodeCbor(bytes);
  } catch (err) {
    throw new CoseError('ERR_COSE_CBOR', `not a COSE_Sign1: ${(err as Error).message}`);
  }
  if (!(item instanceof Tag) || item.tag !== TAG_SIGN1) {
    throw new CoseError('ERR_COSE_TAG', `not a COSE_Sign1: expected CBOR tag 18, got ${item instanceof Tag ? `tag ${String(item.tag)}` : 'an untagged item'}`);
  }
  const arr: unknown = item.value;
  if (!Array.isArray(arr) || arr.length !== 4) throw new CoseError('ERR_COSE_STRUCTURE', 'COSE_Sign1 must be an array of 4 items');
  const [prot, unprot, payload, signature] = arr as unknown[];
  if (!isBytes(prot)) throw new CoseError('ERR_COSE_STRUCTURE', 'COSE_Sign1 protected header must be a byte string');
  if (!(unprot instanceof Map)) throw new CoseError('ERR_COSE_STRUCTURE', 'COSE_Sign1 unprotected header must be a map');
  if (!isBytes(payload)) throw new CoseError('ERR_COSE_STRUCTURE', 'COSE_Sign1 payload must be a byte string (detached payloads are not supported)');
  if (!isBytes(signature)) throw new CoseError('ERR_COSE_STRUCTURE', 'COSE_Sign1 signature must be a byte string');

  let hdr: unknown;
  try {
    hdr = prot.length === 0 ? new Map() : decodeCbor(prot);
  } catch (err) {
    throw new CoseError('ERR_COSE_HEADER', `protected header is not CBOR: ${(err as Error).message}`);
  }
  if (!(hdr instanceof Map)) throw new CoseError('ERR_COSE_HEADER', 'protected header must be a map');
  if (hdr.has(HDR_CRIT)) throw new CoseError('ERR_COSE_HEADER', 'protected header lists critical parameters (crit); none are supported');
  for (const label of [HDR_ALG, HDR_CONTENT_TYPE, HDR_KID]) {
    if (unprot.has(label)) throw new CoseError('ERR_COSE_HEADER', `header parameter ${label} must be in the protected header, not the unprotected one`);
  }
  const alg: unknown = hdr.get(HDR_ALG);
  if (typeof alg !== 'number') throw new CoseError('ERR_COSE_HEADER', 'protected header has no integer alg (1)');
  const contentType: unknown = hdr.get(HDR_CONTENT_TYPE);
  if (typeof contentType !== 'string') throw new CoseError('ERR_COSE_HEADER', 'protected header has no text content type (3)');
  const kid: unknown = hdr.get(HDR_KID);
  if (!isBytes(kid)) throw new CoseError('ERR_COSE_HEADER', 'protected header has no byte-string kid (4)');
  return { protectedBytes: prot, alg, contentType, kid, payload, signature };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * Decodes and verifies: alg must be EdDSA, the kid must map to a key, the
 * Ed25519 signature must verify. Returns the envelope; throws CoseError.
 */
export function verifySign1(bytes: Uint8Array, keyForKid: (kid: Uint8Array) => Uint8Array | undefined): Sign1 {
  const s = decodeSign1(bytes);
  if (s.alg !== COSE_ALG_EDDSA) throw new CoseError('ERR_COSE_ALG', `unsupported COSE alg ${s.alg} (only EdDSA, -8)`);
  const key = keyForKid(s.kid);
  if (!key) throw new CoseError('ERR_COSE_KID_UNKNOWN', `signed by unknown key id ${hex(s.kid)}`);
  if (!verifyEd25519(key, sigStructure(s.protectedBytes, s.payload), s.signature)) {
    throw new CoseError('ERR_COSE_SIGNATURE', `bad signature (key id ${hex(s.kid)})`);
  }
  return s;
}

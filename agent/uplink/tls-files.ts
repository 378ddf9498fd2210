// Reads the uplink's TLS material and password from files, fresh on every
// connect (so rotated certificates are picked up without a restart). Secret
// files (client key, password) must not be readable by group or other.

import { readFileSync, statSync } from 'node:fs';

export interface UplinkFilePaths {
  ca?: string;
  cert?: string;
  key?: string;
  passwordFile?: string;
}

export interface UplinkFiles {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** The password file's content without its trailing newline. */
  password?: Buffer;
}

export type UplinkFileErrorCode = 'ERR_SECRET_FILE_MODE' | 'ERR_UPLINK_FILE_READ' | 'ERR_UPLINK_CERT_PAIR';

export class UplinkFileError extends Error {
  readonly code: UplinkFileErrorCode;
  /** The config field at fault, e.g. "uplink.key". */
  readonly place: string;
  constructor(code: UplinkFileErrorCode, place: string, message: string) {
    super(message);
    this.name = 'UplinkFileError';
    this.code = code;
    this.place = place;
  }
}

function readFile(place: string, path: string, secret: boolean): Buffer {
  let mode: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error('not a regular file');
    mode = st.mode & 0o777;
  } catch (err) {
    throw new UplinkFileError('ERR_UPLINK_FILE_READ', place, `${place}: cannot read ${path}: ${(err as Error).message}`);
  }
  if (secret && (mode & 0o077) !== 0) {
    throw new UplinkFileError('ERR_SECRET_FILE_MODE', place,
      `${place}: ${path} is readable by group or other (mode ${mode.toString(8).padStart(4, '0')}); ` +
      `refusing to use it: chmod 600 ${path}`);
  }
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UplinkFileError('ERR_UPLINK_FILE_READ', place, `${place}: cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Strips one trailing "\n" or "\r\n": `echo secret > file` must work. */
function stripNewline(b: Buffer): Buffer {
  let end = b.length;
  if (end > 0 && b[end - 1] === 0x0a) end--;
  if (end > 0 && b[end - 1] === 0x0d) end--;
  return b.subarray(0, end);
}

/** Throws UplinkFileError (with `code` and `place`, e.g. "uplink.key") on any problem. */
export function readUplinkFiles(paths: UplinkFilePaths): UplinkFiles {
  if ((paths.cert === undefined) !== (paths.key === undefined)) {
    const missing = paths.cert === undefined ? 'uplink.cert' : 'uplink.key';
    throw new UplinkFileError('ERR_UPLINK_CERT_PAIR', missing,
      `${missing}: a client certificate needs both uplink.cert and uplink.key`);
  }
  const out: UplinkFiles = {};
  if (paths.ca !== undefined) out.ca = readFile('uplink.ca', paths.ca, false);
  if (paths.cert !== undefined) out.cert = readFile('uplink.cert', paths.cert, false);
  if (paths.key !== undefined) out.key = readFile('uplink.key', paths.key, true);
  if (paths.passwordFile !== undefined) {
    out.password = stripNewline(readFile('uplink.passwordFile', paths.passwordFile, true));
  }
  return out;
}

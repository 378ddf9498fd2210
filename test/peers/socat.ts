// The socat pty pair peer, shared by the demo and all tests.
export { createPtyPair, socatAvailable, type PtyPair, type PtyPairOptions } from '../../agent/demo/pty.js';

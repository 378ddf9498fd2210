// The socat pty pair peer, shared by the demo and all tests.
export { createPtyPair, socatAvailable, type PtyPair } from '../../agent/demo/pty.js';

// Types of build/sea.mjs for the TypeScript tests and benches that use it.
export declare const DEFAULT_NODE: string;
/** Node/V8 flags baked into the executables and the armv7 launcher. */
export declare const DEVICE_NODE_FLAGS: string[];
/** The armv7 launcher's flags (no --jitless: Node 20 warns about it at every start). */
export declare const LAUNCHER_NODE_FLAGS: string[];
export declare function defaultCacheDir(env?: Record<string, string | undefined>): string;
/** Downloads (once, cached) and verifies <pkg>@<version> from npm; returns its node binary. */
export declare function fetchNode(pkg: string, version: string, cacheDir?: string): string;
export interface SeaBinary { arch: string; path: string; bytes: number; nodeBytes: number; nodeVersion: string; stripped: boolean }
export declare function buildSea(opts?: { entry?: string; outdir?: string; arch?: string[]; nodeVersion?: string; cache?: string }): Promise<{ bundle: string; addons: string[]; binaries: SeaBinary[] }>;

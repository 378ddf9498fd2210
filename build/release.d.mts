// Types of build/release.mjs for the TypeScript tests and benches that use it.
export interface ReleaseArtifact {
  board: 'linux-x64' | 'linux-arm64' | 'linux-armv7';
  file: string;
  bytes: number;
  kind: 'sea' | 'bundle';
  /** SEA only: the executable, and the stripped Node binary it was built from. */
  binaryBytes?: number;
  nodeBytes?: number;
  nodeVersion?: string;
}
export interface Release { version: string; outdir: string; artifacts: ReleaseArtifact[] }
export declare const BOARDS: Array<{ name: string; sea?: string; prebuilds?: string }>;
export declare function buildRelease(opts?: { outdir?: string; cache?: string; nodeVersion?: string }): Promise<Release>;

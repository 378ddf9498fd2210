// Types of esbuild.config.mjs for the TypeScript tests and benches that use it.
export declare const TARGETS: string[];
export declare const EXTERNAL: string[];
export declare function buildBundle(opts?: { entry?: string; outdir?: string; minify?: boolean }): Promise<{ outfile: string; prebuilds: string[]; addons: string[] }>;
/** build/<name> (compile-cache.cjs, sea-main.cjs) as one file with build/code-cache.cjs inlined. */
export declare function buildHelper(name: string, outfile: string): Promise<void>;

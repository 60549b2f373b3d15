/**
 * The URL of a worker entry module, given as a path relative to src/ ("fs/fuseWorker.ts").
 *
 * Under `bun run` that is a file next to this one. In the compiled binary every entry listed in build.ts is
 * embedded at /$bunfs/root/<path relative to the entries' common folder, src/>, while import.meta.url of bundled
 * code points at the binary itself (/$bunfs/root/musicfs), so a URL relative to the importing module would miss.
 * Keep this list in step with build.ts (WORKER_ENTRIES); a test compiles the binary and mounts with it.
 */
export function workerEntry(pathInSrc: string): string {
  if (import.meta.url.startsWith("file:///$bunfs/")) return `/$bunfs/root/${pathInSrc}`;
  return new URL(`../${pathInSrc}`, import.meta.url).href;
}

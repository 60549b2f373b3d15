/**
 * The x64 release archive, built once per test run by the real `bun run release` code path (scripts/release.ts,
 * --targets linux-x64, gzip -1 to save time) and shared by the tests that need it (release check, packages).
 * Its folder is removed when the test process exits.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VERSION } from "../../src/cli/buildInfo.ts";
import { REPO } from "./paths.ts";
import { run } from "./process.ts";

export interface ReleaseBuild {
  dir: string;
  archive: string;
  /** archive file name → sha256, from the SHA256SUMS the release wrote. */
  sums: Map<string, string>;
}

let built: Promise<ReleaseBuild> | null = null;

export function x64ReleaseArchive(): Promise<ReleaseBuild> {
  built ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "musicfs-release-"));
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
    const r = await run(["bun", "scripts/release.ts", "--targets", "linux-x64", "--no-check", "--no-packaging", "--gzip-level", "1", "--out", dir], {
      cwd: REPO,
      timeoutMs: 600_000,
    });
    if (r.code !== 0) throw new Error(`bun run release failed (${r.code}):\n${r.stdout}${r.stderr}`);
    const sums = new Map(
      (await Bun.file(join(dir, "SHA256SUMS")).text())
        .split("\n")
        .filter(Boolean)
        .map((l) => [l.split("  ")[1]!, l.split("  ")[0]!] as const),
    );
    return { dir, archive: join(dir, `musicfs-${VERSION}-linux-x64.tar.gz`), sums };
  })();
  return built;
}

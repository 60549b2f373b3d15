/**
 * `bun run release` fills the new version and the archives' checksums into the Homebrew formula and the musicfs-bin
 * PKGBUILD. Pure text rewrites (tested) plus the file writes.
 */
import { readFileSync, writeFileSync } from "node:fs";

/** target name (linux-x64, linux-arm64) → sha256 hex */
export type Checksums = Record<string, string>;

const SHA = /[0-9a-f]{64}/;

/** The formula with `version`, both urls and each `sha256 "…" # <target>` line set. */
export function homebrewFormulaText(text: string, version: string, sums: Checksums): string {
  let out = text
    .replace(/^(\s*version ")[^"]*(")/m, `$1${version}$2`)
    .replace(/(releases\/download\/v)[^/]+(\/musicfs-)[^"]*?(-linux-[a-z0-9-]+\.tar\.gz")/g, `$1${version}$2${version}$3`);
  for (const [target, sha] of Object.entries(sums)) {
    const line = new RegExp(`^(\\s*sha256 ")[0-9a-f]{64}(" # ${target})$`, "m");
    if (line.test(out)) out = out.replace(line, `$1${sha}$2`);
  }
  return out;
}

/** The PKGBUILD with pkgver (pkgrel back to 1) and sha256sums_x86_64 / _aarch64 set. */
export function binPkgbuildText(text: string, version: string, sums: Checksums): string {
  const arch: Record<string, string> = { x86_64: "linux-x64", aarch64: "linux-arm64" };
  let out = text.replace(/^pkgver=.*$/m, `pkgver=${version}`).replace(/^pkgrel=.*$/m, "pkgrel=1");
  for (const [carch, target] of Object.entries(arch)) {
    const sha = sums[target];
    if (sha && SHA.test(sha)) out = out.replace(new RegExp(`^(sha256sums_${carch}=\\(')[^']*('\\))$`, "m"), `$1${sha}$2`);
  }
  return out;
}

export function updateHomebrewFormula(path: string, version: string, sums: Checksums): void {
  writeFileSync(path, homebrewFormulaText(readFileSync(path, "utf8"), version, sums));
}

export function updateBinPkgbuild(path: string, version: string, sums: Checksums): void {
  writeFileSync(path, binPkgbuildText(readFileSync(path, "utf8"), version, sums));
}

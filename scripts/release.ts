/**
 * `bun run release`: builds the release archives of this commit (docs/releasing.md).
 *
 *   dist/release/musicfs-<version>-linux-x64.tar.gz            x86-64 with AVX2 (most PCs since 2013)
 *   dist/release/musicfs-<version>-linux-x64-baseline.tar.gz   x86-64 without AVX2 (older or low-end CPUs)
 *   dist/release/musicfs-<version>-linux-arm64.tar.gz          64-bit ARM (Raspberry Pi 3/4/5 with a 64-bit OS)
 *   dist/release/SHA256SUMS
 *
 * Each archive holds one folder musicfs-<version>-<target>/ with the executable, README.md, LICENSE, the systemd
 * user unit, the man page and the shell completions. Archives are reproducible: files in name order, owner 0:0,
 * mtime = the commit's time, gzip without a name or time stamp. Then every archive is checked (scripts/
 * releaseCheck.ts: --version, demo with ffprobe through the mount, scan), the arm64 one under qemu-user, and the
 * Homebrew formula and musicfs-bin PKGBUILD get the new version and checksums.
 *
 * Options: --targets linux-x64,… (default all)  --out DIR (default dist/release)  --no-check  --no-packaging
 *          --gzip-level N (default 9; the test of the release check uses 1 to save time)
 */
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildExecutable } from "../build.ts";
import { buildCommit, VERSION, versionLine } from "../src/cli/buildInfo.ts";
import { rootCommand } from "../src/cli/commands.ts";
import { commandSpec } from "../src/cli/commandSpec.ts";
import { completionScript } from "../src/cli/completions.ts";
import { manPageText, sourceDateEpoch } from "./manPage.ts";
import { checkArchive, type CheckResult } from "./releaseCheck.ts";
import { QEMU_ARM64, RELEASE_TARGETS, archiveName, type ReleaseTarget } from "./releaseTargets.ts";
import { updateHomebrewFormula, updateBinPkgbuild } from "./releasePackaging.ts";

const REPO = resolve(import.meta.dir, "..");

async function sh(cmd: string[], cwd = REPO): Promise<string> {
  const p = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")}: exit ${code}\n${err}`);
  return out;
}

/** The files every archive has besides the executable: name in the archive → contents (mode 0644). */
async function sharedFiles(epoch: number): Promise<Map<string, string>> {
  const spec = await commandSpec(rootCommand);
  return new Map([
    ["README.md", readFileSync(join(REPO, "README.md"), "utf8")],
    ["LICENSE", readFileSync(join(REPO, "LICENSE"), "utf8")],
    ["musicfs.service", readFileSync(join(REPO, "packaging/systemd/musicfs.service"), "utf8")],
    ["musicfs.1", await manPageText(epoch)],
    ["completions/musicfs.bash", completionScript("bash", spec)],
    ["completions/_musicfs", completionScript("zsh", spec)],
    ["completions/musicfs.fish", completionScript("fish", spec)],
  ]);
}

/** Builds one target's archive; returns its path and the executable's size. */
async function buildArchive(t: ReleaseTarget, out: string, commit: string, epoch: number, files: Map<string, string>, gzipLevel: number) {
  const name = archiveName(VERSION, t);
  const stage = join(out, ".stage", name);
  rmSync(join(out, ".stage"), { recursive: true, force: true });
  mkdirSync(join(stage, "completions"), { recursive: true });
  // bun writes source maps beside the executable too: build elsewhere, ship the executable alone.
  const built = join(out, ".build", t.name, "musicfs");
  const { bytes } = await buildExecutable({ outfile: built, target: t.bunTarget, commit });
  copyFileSync(built, join(stage, "musicfs"));
  chmodSync(join(stage, "musicfs"), 0o755);
  for (const [file, text] of files) {
    writeFileSync(join(stage, file), text);
    chmodSync(join(stage, file), 0o644);
  }
  chmodSync(join(stage, "completions"), 0o755);
  chmodSync(stage, 0o755);
  const archive = join(out, `${name}.tar.gz`);
  // GNU tar, fixed order, owner and time; gzip -n leaves out the name and time it would otherwise record.
  const tar = ["tar", "--sort=name", `--mtime=@${epoch}`, "--owner=0", "--group=0", "--numeric-owner", "--format=gnu", "-C", join(out, ".stage"), "-cf", "-", name];
  await sh(["sh", "-c", `${tar.map((a) => `'${a}'`).join(" ")} | gzip -n -${gzipLevel} > '${archive}'`]);
  rmSync(join(out, ".stage"), { recursive: true, force: true });
  rmSync(join(out, ".build"), { recursive: true, force: true });
  return { archive, bytes };
}

async function sha256(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  hasher.update(await Bun.file(path).arrayBuffer());
  return hasher.digest("hex");
}

async function main() {
  const { values } = parseArgs({
    options: {
      targets: { type: "string" },
      out: { type: "string" },
      "no-check": { type: "boolean" },
      "no-packaging": { type: "boolean" },
      "gzip-level": { type: "string" },
    },
  });
  const wanted = values.targets?.split(",") ?? RELEASE_TARGETS.map((t) => t.name);
  const targets = wanted.map((n) => {
    const t = RELEASE_TARGETS.find((x) => x.name === n);
    if (!t) throw new Error(`release: unknown target "${n}" (one of ${RELEASE_TARGETS.map((x) => x.name).join(", ")})`);
    return t;
  });
  const out = resolve(values.out ?? join(REPO, "dist/release"));
  const gzipLevel = Number(values["gzip-level"] ?? 9);
  if (!Number.isInteger(gzipLevel) || gzipLevel < 1 || gzipLevel > 9) throw new Error(`release: --gzip-level is 1 to 9`);
  mkdirSync(out, { recursive: true });
  const commit = buildCommit();
  if (commit.endsWith("-dirty")) console.warn(`release: the checkout has uncommitted changes (${commit}); a release is built from a clean commit`);
  const epoch = sourceDateEpoch();
  const files = await sharedFiles(epoch);

  const built: { target: ReleaseTarget; archive: string; bytes: number; sha: string }[] = [];
  for (const t of targets) {
    const started = performance.now();
    const { archive, bytes } = await buildArchive(t, out, commit, epoch, files, gzipLevel);
    const sha = await sha256(archive);
    built.push({ target: t, archive, bytes, sha });
    console.log(`release: ${basename(archive)} (executable ${(bytes / 1024 / 1024).toFixed(1)} MiB, archive ${(Bun.file(archive).size / 1024 / 1024).toFixed(1)} MiB) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  writeFileSync(join(out, "SHA256SUMS"), built.map((b) => `${b.sha}  ${basename(b.archive)}\n`).join(""));
  console.log(`release: ${join(out, "SHA256SUMS")}`);

  if (!values["no-check"]) {
    const expected = versionLine(commit);
    const results: Record<string, CheckResult & { totalMs: number }> = {};
    for (const b of built) {
      const runner = b.target.emulated ? QEMU_ARM64 : undefined;
      if (runner && !Bun.which(runner[0]!)) throw new Error(`release: ${b.target.name} is checked under ${runner[0]} (apt-get install -y qemu-user libc6-arm64-cross)`);
      console.log(`release check: ${basename(b.archive)}${runner ? ` under ${runner.join(" ")}` : ""}`);
      const started = performance.now();
      const r = await checkArchive(b.archive, { runner, versionLine: expected, readyTimeoutMs: 600_000, log: (l) => console.log(`  ${l}`) });
      results[b.target.name] = { ...r, totalMs: performance.now() - started };
      console.log(`  passed in ${(results[b.target.name]!.totalMs / 1000).toFixed(1)} s`);
    }
    writeFileSync(join(out, "check.json"), JSON.stringify({ commit, results }, null, 2) + "\n");
  }

  if (!values["no-packaging"]) {
    const sums = Object.fromEntries(built.map((b) => [b.target.name, b.sha]));
    updateHomebrewFormula(join(REPO, "packaging/homebrew/musicfs.rb"), VERSION, sums);
    updateBinPkgbuild(join(REPO, "packaging/aur-bin/PKGBUILD"), VERSION, sums);
    console.log("release: packaging/homebrew/musicfs.rb and packaging/aur-bin/PKGBUILD carry the new checksums");
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}

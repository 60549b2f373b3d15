/**
 * Issue 19 item 3: the packages build. Both PKGBUILDs pass `makepkg --printsrcinfo` and a real `makepkg` run, as an
 * unprivileged user made for the test (makepkg refuses root) and removed after it, with local files standing in for
 * the downloads: the x64 release archive for musicfs-bin, `git archive` of HEAD for the source package (built with
 * no network at all: its `bun install` works from bun.lock and a copy of the machine's package cache). The built
 * packages get the checks namcap would make, as far as Debian allows (no namcap there): pacman's own `testpkg`
 * validity check, file layout, owners, the unit's ExecStart, no build paths left in files, the licence installed,
 * and the packaged executable runs. The Homebrew formula: `ruby -c`, and every file its install block names is in
 * the archive (Homebrew itself cannot run here: it needs its own prefix and refuses root).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VERSION, buildCommit, versionLine } from "../../src/cli/buildInfo.ts";
import { binPkgbuildText, homebrewFormulaText } from "../../scripts/releasePackaging.ts";
import { cleanupAll, tempDir } from "../support/cleanup.ts";
import { REPO } from "../support/paths.ts";
import { run } from "../support/process.ts";
import { x64ReleaseArchive } from "../support/releaseBuild.ts";
import { hasProgram, isRoot } from "../support/system.ts";
import { addUser, removeUser } from "../support/users.ts";

const USER = `mfs-mkpkg-${process.pid}`;
let userMade = false;

afterAll(async () => {
  if (userMade) await removeUser(USER);
  await cleanupAll();
});

const canMakepkg = isRoot && process.arch === "x64" && ["makepkg", "testpkg", "bsdtar", "fakeroot", "useradd", "setpriv", "unshare"].every(hasProgram);

/** The unprivileged build user (made once): uid and gid. */
async function buildUser(): Promise<{ uid: number; gid: number }> {
  if (!userMade) {
    await addUser(USER, ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin"]);
    userMade = true;
  }
  const id = async (flag: string) => Number((await run(["id", flag, USER])).stdout.trim());
  return { uid: await id("-u"), gid: await id("-g") };
}

/** A build dir owned by the build user, holding `files` (name → path to copy or text). */
async function buildDir(files: Record<string, { copy: string } | { text: string }>): Promise<string> {
  const { uid, gid } = await buildUser();
  const home = tempDir("musicfs-makepkg-");
  chmodSync(home, 0o755);
  const dir = join(home, "build");
  mkdirSync(dir);
  for (const [name, f] of Object.entries(files)) {
    if ("copy" in f) copyFileSync(f.copy, join(dir, name));
    else writeFileSync(join(dir, name), f.text);
  }
  await run(["chown", "-R", `${uid}:${gid}`, home]);
  chownSync(home, uid, gid);
  return dir;
}

/**
 * A copy of this machine's Bun package cache (the packages of bun.lock, which `bun install` put there; not the Bun
 * runtimes kept beside them) for the build user: the source package's `bun install --frozen-lockfile` then needs no
 * network, as in a clean chroot with a warm cache.
 */
async function bunCacheCopy(home: string): Promise<string> {
  const cache = (await run(["bun", "pm", "cache"], { cwd: REPO })).stdout.trim().split("\n").at(-1)!;
  const copy = join(home, "bun-cache");
  mkdirSync(copy);
  const entries = readdirSync(cache).filter((e) => !e.startsWith("bun-linux-"));
  expect((await run(["cp", "-a", ...entries.map((e) => join(cache, e)), copy])).code).toBe(0);
  const { uid, gid } = await buildUser();
  await run(["chown", "-R", `${uid}:${gid}`, copy]);
  return copy;
}

/** Runs a command in `dir` as the build user, HOME in the build dir's parent; uncompressed packages (faster). */
async function asBuilder(dir: string, cmd: string[], timeoutMs = 120_000, extraEnv: Record<string, string> = {}, offline = false) {
  const { uid, gid } = await buildUser();
  // Debian's makepkg looks for pacman even when told not to check dependencies (--nodeps): PACMAN=true.
  const env = { HOME: join(dir, ".."), PATH: process.env.PATH!, PKGEXT: ".pkg.tar", LANG: "C.UTF-8", PACMAN: "true", ...extraEnv };
  // offline: a network namespace of its own with no interfaces (made as root, before dropping to the build user).
  return run([...(offline ? ["unshare", "--net", "--"] : []), "setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--", "env", "-i", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...cmd], {
    cwd: dir,
    timeoutMs,
  });
}

/** What namcap would check, the parts that apply to musicfs, on a built package. Returns the package's file list. */
async function namcapStyleChecks(pkg: string, pkgname: string, buildDir: string): Promise<string[]> {
  // pacman's own validity check; it wants a pacman database dir, given a private, empty one (a tmpfs over /var/lib
  // in a mount namespace of its own) so that the machine's /var/lib is untouched.
  const valid = await run(["unshare", "--mount", "--", "sh", "-c", 'mount -t tmpfs musicfs-testpkg /var/lib && mkdir /var/lib/pacman && exec testpkg "$0"', pkg]);
  expect(valid.stdout + valid.stderr).toContain("Package is valid");
  const listing = await run(["bsdtar", "-tvf", pkg]);
  expect(listing.code).toBe(0);
  const rows = listing.stdout.trim().split("\n").map((l) => l.split(/\s+/));
  // Every file belongs to root (fakeroot worked), nothing outside /usr (no /usr/local, no home paths).
  for (const r of rows) expect({ file: r.at(-1), owner: `${r[2]}/${r[3]}` }).toEqual({ file: r.at(-1), owner: "root/root" });
  const files = rows.map((r) => r.at(-1)!).filter((f) => !f.startsWith("."));
  for (const f of files) expect(f.startsWith("usr/") && !f.startsWith("usr/local/")).toBe(true);
  expect(files).toEqual(
    expect.arrayContaining([
      "usr/bin/musicfs",
      "usr/lib/systemd/user/musicfs.service",
      "usr/share/man/man1/musicfs.1.gz",
      "usr/share/bash-completion/completions/musicfs",
      "usr/share/zsh/site-functions/_musicfs",
      "usr/share/fish/vendor_completions.d/musicfs.fish",
      `usr/share/licenses/${pkgname}/LICENSE`, // MIT: the licence text must be installed
    ]),
  );
  expect(rows.find((r) => r.at(-1) === "usr/bin/musicfs")![0]).toBe("-rwxr-xr-x");
  const info = (await run(["bsdtar", "-xOf", pkg, ".PKGINFO"])).stdout;
  expect(info).toContain(`pkgname = ${pkgname}`);
  expect(info).toContain("arch = x86_64");
  expect(info).toContain("depend = fuse3");
  // Text files name no build directory (namcap's "file-referred-in-startdir").
  for (const f of files.filter((f) => /\.(service|fish|bash)$|_musicfs$|LICENSE$/.test(f) || f.endsWith("completions/musicfs")))
    expect({ f, leaks: (await run(["bsdtar", "-xOf", pkg, f])).stdout.includes(buildDir) }).toEqual({ f, leaks: false });
  const unit = (await run(["bsdtar", "-xOf", pkg, "usr/lib/systemd/user/musicfs.service"])).stdout;
  expect(unit).toContain("ExecStart=/usr/bin/musicfs mount");
  expect(unit).not.toContain("%h/.local/bin");
  // The packaged executable is the program, unstripped (a stripped Bun executable loses its JavaScript).
  const out = join(buildDir, "unpacked");
  mkdirSync(out);
  expect((await run(["bsdtar", "-xf", pkg, "-C", out, "usr/bin/musicfs"])).code).toBe(0);
  const version = await run([join(out, "usr/bin/musicfs"), "--version"]);
  expect(version.stdout).toStartWith(`musicfs ${VERSION} (commit `);
  return files;
}

describe.skipIf(!canMakepkg)("makepkg (needs root to make the build user, an x86-64 machine, makepkg, bsdtar, fakeroot, unshare)", () => {
  test("musicfs-bin: --printsrcinfo names both architectures; makepkg builds it from the x64 release archive", async () => {
    const { archive, sums } = await x64ReleaseArchive();
    const archiveName = `musicfs-${VERSION}-linux-x64.tar.gz`;
    const pkgbuild = binPkgbuildText(readFileSync(join(REPO, "packaging/aur-bin/PKGBUILD"), "utf8"), VERSION, { "linux-x64": sums.get(archiveName)! });
    const dir = await buildDir({ PKGBUILD: { text: pkgbuild }, [archiveName]: { copy: archive } });
    const srcinfo = await asBuilder(dir, ["makepkg", "--printsrcinfo"]);
    expect(srcinfo.code).toBe(0);
    for (const line of ["pkgbase = musicfs-bin", `pkgver = ${VERSION}`, "arch = x86_64", "arch = aarch64", "depends = fuse3", "conflicts = musicfs", `sha256sums_x86_64 = ${sums.get(archiveName)}`])
      expect(srcinfo.stdout).toContain(line);
    expect(srcinfo.stdout).toMatch(/source_aarch64 = .*musicfs-[\d.]+-linux-arm64\.tar\.gz/);
    const made = await asBuilder(dir, ["makepkg", "--nodeps", "--noconfirm"], 300_000);
    expect({ code: made.code, out: made.code === 0 ? "" : made.stdout + made.stderr }).toEqual({ code: 0, out: "" });
    const pkg = readdirSync(dir).find((f) => f.endsWith(".pkg.tar"))!;
    expect(pkg).toBe(`musicfs-bin-${VERSION}-1-x86_64.pkg.tar`);
    await namcapStyleChecks(join(dir, pkg), "musicfs-bin", dir);
  }, 600_000);

  test("musicfs (from source): --printsrcinfo; makepkg builds it offline from `git archive` of HEAD (bun install from the lockfile and a warm cache, build, check)", async () => {
    const dir = await buildDir({ PKGBUILD: { copy: join(REPO, "packaging/aur/PKGBUILD") } });
    const tarball = join(dir, `musicfs-${VERSION}.tar.gz`);
    const archived = await run(["git", "archive", "--format=tar.gz", `--prefix=musicfs-${VERSION}/`, "-o", tarball, "HEAD"], { cwd: REPO });
    expect(archived.code).toBe(0);
    await run(["chown", `${(await buildUser()).uid}`, tarball]);
    const srcinfo = await asBuilder(dir, ["makepkg", "--printsrcinfo"]);
    expect(srcinfo.code).toBe(0);
    for (const line of ["pkgbase = musicfs", "arch = x86_64", "arch = aarch64", "makedepends = bun", "depends = fuse3"]) expect(srcinfo.stdout).toContain(line);
    // No network: bun install must come from the lockfile and the package cache alone.
    const cache = await bunCacheCopy(join(dir, ".."));
    const made = await asBuilder(dir, ["makepkg", "--nodeps", "--noconfirm"], 600_000, { BUN_INSTALL_CACHE_DIR: cache }, true);
    expect({ code: made.code, out: made.code === 0 ? "" : made.stdout + made.stderr }).toEqual({ code: 0, out: "" });
    const pkg = readdirSync(dir).find((f) => f.endsWith(".pkg.tar"))!;
    expect(pkg).toBe(`musicfs-${VERSION}-1-x86_64.pkg.tar`);
    await namcapStyleChecks(join(dir, pkg), "musicfs", dir);
    // A source tarball has no git checkout: --version names the tag it was made from.
    const version = await run([join(dir, "unpacked/usr/bin/musicfs"), "--version"]);
    expect(version.stdout.trim()).toBe(`musicfs ${VERSION} (commit v${VERSION})`);
  }, 900_000);
});

describe.skipIf(process.arch !== "x64")("Homebrew formula", () => {
  test("release fills in the version and the checksum of each archive; every file the install block names is in the archive", async () => {
    const { archive, sums } = await x64ReleaseArchive();
    const archiveName = `musicfs-${VERSION}-linux-x64.tar.gz`;
    const formula = homebrewFormulaText(readFileSync(join(REPO, "packaging/homebrew/musicfs.rb"), "utf8"), VERSION, { "linux-x64": sums.get(archiveName)! });
    expect(formula).toContain(`url "https://github.com/musicfs/musicfs/releases/download/v${VERSION}/${archiveName}"`);
    expect(formula).toContain(`sha256 "${sums.get(archiveName)}" # linux-x64`);
    expect(formula).toContain(`version "${VERSION}"`);
    // Unpacked once (not listed with tar -t, then unpacked: two decompressions of the archive): its files, by path
    // below the archive's top folder.
    const dir = tempDir("musicfs-brew-");
    expect((await run(["tar", "-xzf", archive, "-C", dir])).code).toBe(0);
    const top = join(dir, `musicfs-${VERSION}-linux-x64`);
    const listing = (readdirSync(top, { recursive: true }) as string[]).filter((f) => statSync(join(top, f)).isFile());
    const installed = [...formula.matchAll(/\.install "([^"]+)"/g)].map((m) => m[1]!);
    expect(installed.length).toBeGreaterThanOrEqual(6);
    for (const f of installed) expect({ f, inArchive: listing.includes(f) }).toEqual({ f, inArchive: true });
    // The test block runs what a user would: --version and demo --help. Both work with this archive's executable.
    expect(formula).toContain('shell_output("#{bin}/musicfs --version")');
    expect(formula).toContain('shell_output("#{bin}/musicfs demo --help")');
    const exe = join(top, "musicfs");
    expect((await run([exe, "--version"])).stdout.trim()).toBe(versionLine(buildCommit()));
    expect((await run([exe, "demo", "--help"], { env: { NO_COLOR: "1" } })).stdout).toContain("sample library");
  }, 600_000);

  test.skipIf(!hasProgram("ruby"))("the formula is valid Ruby (ruby -c)", async () => {
    const r = await run(["ruby", "-c", join(REPO, "packaging/homebrew/musicfs.rb")]);
    expect(r.stdout.trim()).toBe("Syntax OK");
  });
});

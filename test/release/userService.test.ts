/**
 * Issue 19 item 6: the user service, started for real. As a user who followed the README's download: the release
 * executable in ~/.local/bin, a config with mount_point and origins, `musicfs install-service` writes the unit; then
 * the unit runs under a stand-in for the systemd user manager (test/support/systemdStandIn.ts: none can run in this
 * container — PID 1 is not systemd and `systemd --user` exits at once). Checked: Type=notify readiness (READY=1 from
 * the main PID, the mount live at the configured mount_point), `systemctl --user stop` (KillSignal=SIGTERM: STOPPING=1,
 * ordered shutdown, exit 0, mount gone), and ExecStopPost clearing the dead mount a crashed musicfs leaves behind.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VERSION } from "../../src/cli/buildInfo.ts";
import { prepareDemoLibrary } from "../../src/app/commands/demo.ts";
import { systemdProblem, userUnitText } from "../../src/app/commands/userService.ts";
import { cleanupAll, isMountedAt, tempDir, trackMountpoint } from "../support/cleanup.ts";
import { REPO } from "../support/paths.ts";
import { findFiles, run } from "../support/process.ts";
import { x64ReleaseArchive } from "../support/releaseBuild.ts";
import { parseService, splitCommandLine, startService } from "../support/systemdStandIn.ts";
import { hasProgram, isRoot } from "../support/system.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

const canRun = isRoot && existsSync("/dev/fuse") && process.arch === "x64" && hasProgram("python3");

test("the packaged unit runs ~/.local/bin/musicfs; install-service swaps in the running program, quoted for systemd", () => {
  const packaged = readFileSync(join(REPO, "packaging/systemd/musicfs.service"), "utf8");
  expect(packaged).toContain("Type=notify\n");
  expect(packaged).toContain("ExecStart=%h/.local/bin/musicfs mount\n");
  expect(packaged).toContain("ExecStopPost=-%h/.local/bin/musicfs unmount --if-mounted\n");
  expect(packaged).not.toContain("MusicView"); // the mount point comes from the config
  const unit = userUnitText(["/opt/my music/musicfs"], "/home/a/100%.toml");
  expect(unit).toContain('ExecStart="/opt/my music/musicfs" mount --config /home/a/100%%.toml\n');
  expect(splitCommandLine(unit.match(/^ExecStart=(.*)$/m)![1]!)).toEqual(["/opt/my music/musicfs", "mount", "--config", "/home/a/100%%.toml"]);
});

describe.skipIf(!canRun)("the user service under a systemd stand-in (needs root for the mount, /dev/fuse, x86-64, python3)", () => {
  /** A home as the README's download leaves it, with a config naming the mount point and the sample library. */
  async function userHome() {
    const { archive } = await x64ReleaseArchive();
    const home = tempDir("musicfs-service-");
    mkdirSync(join(home, ".local/bin"), { recursive: true });
    expect((await run(["tar", "-xzf", archive, "-C", home])).code).toBe(0);
    copyFileSync(join(home, `musicfs-${VERSION}-linux-x64`, "musicfs"), join(home, ".local/bin/musicfs"));
    expect(statSync(join(home, ".local/bin/musicfs")).mode & 0o111).not.toBe(0);
    const { libraryDir } = await prepareDemoLibrary(join(home, "demo"));
    mkdirSync(join(home, ".config/musicfs"), { recursive: true });
    writeFileSync(
      join(home, ".config/musicfs/config.toml"),
      `mount_point = "~/Music View"\ncache_dir = "~/.cache/musicfs"\n\n[[origins]]\npath = "${libraryDir}"\n`,
    );
    const mnt = join(home, "Music View");
    trackMountpoint(mnt);
    const env = { HOME: home, PATH: process.env.PATH!, NO_COLOR: "1", LANG: "C.UTF-8" };
    return { home, mnt, env, exe: join(home, ".local/bin/musicfs") };
  }

  test("install-service writes the unit for this executable; the service is ready at the config's mount_point; stop is an ordered shutdown", async () => {
    const { home, mnt, env, exe } = await userHome();
    const installed = await run([exe, "install-service"], { env });
    const unitPath = join(home, ".config/systemd/user/musicfs.service");
    expect(installed.stderr).toContain(`Wrote ${"~/.config/systemd/user/musicfs.service"}: mounts at ~/Music View.`);
    if (systemdProblem()) {
      // This machine: a clear message, exit 1, the unit written all the same.
      expect(installed.stderr).toContain("systemd is not running on this machine (no /run/systemd/system): nothing will start the unit here.");
      expect(installed.code).toBe(1);
    } else expect(installed.code).toBe(0);
    const unit = readFileSync(unitPath, "utf8");
    expect(unit).toContain(`ExecStart=${exe} mount\n`);

    if (hasProgram("systemd-analyze")) {
      // systemd's own check of the unit (system mode: a user manager cannot be reached here); man:musicfs(1) is
      // looked up through MANPATH, pointed at the archive's page.
      const man = join(home, "man/man1");
      mkdirSync(man, { recursive: true });
      copyFileSync(join(home, `musicfs-${VERSION}-linux-x64`, "musicfs.1"), join(man, "musicfs.1"));
      const verify = await run(["systemd-analyze", "verify", unitPath], { env: { ...env, MANPATH: join(home, "man") } });
      expect(verify.stdout + verify.stderr).toBe("");
      expect(verify.code).toBe(0);
    }

    const service = parseService(unit, home);
    expect(service.type).toBe("notify");
    const running = await startService(service, home, env);
    await running.ready();
    const ready = running.notifications().find((n) => n.message === "READY=1")!;
    expect(ready.pid).toBe(running.main.pid); // NotifyAccess=main: systemd accepts it from the main process only
    expect(await isMountedAt(mnt)).toBe(true);
    expect((await findFiles(mnt)).filter((f) => f.endsWith(".flac")).length).toBeGreaterThan(0);

    const stopped = await running.stop();
    expect({ exitCode: stopped.exitCode, output: stopped.exitCode === 0 ? "" : running.output() }).toEqual({ exitCode: 0, output: "" });
    expect(running.notifications().map((n) => n.message)).toContain("STOPPING=1");
    expect(running.output()).toContain("SIGTERM received");
    expect(running.output()).toContain("Unmounted cleanly.");
    expect(await isMountedAt(mnt)).toBe(false);
    // ExecStopPost after a clean stop: nothing to clear, no failure.
    expect(stopped.stopPost).toEqual([{ code: 0, output: expect.stringContaining(`Nothing is mounted at ${mnt}.`) }]);
  }, 300_000);

  test("after a crash (kill -9) the mount is dead; ExecStopPost clears it at the configured mount_point", async () => {
    const { home, mnt, env, exe } = await userHome();
    await run([exe, "install-service"], { env });
    const service = parseService(readFileSync(join(home, ".config/systemd/user/musicfs.service"), "utf8"), home);
    const running = await startService(service, home, env);
    await running.ready();
    const crashed = await running.crash();
    expect(crashed.stopPost).toEqual([{ code: 0, output: expect.stringContaining(`Unmounted ${mnt}.`) }]);
    expect(await isMountedAt(mnt)).toBe(false);
    // The next start mounts again (no "Transport endpoint is not connected" left in the way).
    const again = await startService(service, home, env);
    await again.ready();
    expect(await isMountedAt(mnt)).toBe(true);
    expect((await again.stop()).exitCode).toBe(0);
  }, 300_000);
});

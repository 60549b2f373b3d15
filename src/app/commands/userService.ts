/**
 * `musicfs install-service`: the systemd user unit (packaging/systemd/musicfs.service, embedded in the binary) written
 * for the musicfs that runs the command, so that `systemctl --user enable --now musicfs` starts this very program.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import unitTemplate from "../../../packaging/systemd/musicfs.service" with { type: "text" };

/** The command the packaged unit runs: where the README's download puts musicfs. Packages replace it. */
export const PACKAGED_EXEC = "%h/.local/bin/musicfs";

/** A word on a systemd command line: % doubled, quoted when it holds spaces, quotes or backslashes. */
export function systemdWord(word: string): string {
  const escaped = word.replace(/%/g, "%%");
  return /[\s"'\\]/.test(escaped) ? `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"` : escaped;
}

/**
 * The unit for a musicfs started by `command` (its words: the executable, or bun and main.ts from source), with
 * `--config FILE` on its mount and unmount lines when a config file other than the default was named. Pure.
 */
export function userUnitText(command: string[], configPath?: string): string {
  const exec = command.map(systemdWord).join(" ");
  const config = configPath ? ` --config ${systemdWord(configPath)}` : "";
  return unitTemplate
    .replace(/^(ExecStart=)\S+ mount$/m, `$1${exec} mount${config}`)
    .replace(/^(ExecStopPost=-)\S+ unmount --if-mounted$/m, `$1${exec} unmount --if-mounted${config}`);
}

/** How this musicfs is started again: the compiled executable itself, or Bun with the CLI entry from source. */
export function selfCommand(): string[] {
  return Bun.main.startsWith("/$bunfs/") ? [process.execPath] : [process.execPath, Bun.main];
}

/** Whether a systemd user manager can run the unit here: systemd must be the init system (and systemctl present). */
export function systemdProblem(root = "/"): string | null {
  if (!existsSync(join(root, "run/systemd/system"))) return "systemd is not running on this machine (no /run/systemd/system)";
  if (!Bun.which("systemctl")) return "systemctl is not installed";
  return null;
}

/** Writes the unit atomically to `unitDir`/musicfs.service; returns its path. */
export function writeUserUnit(unitDir: string, text: string): string {
  mkdirSync(unitDir, { recursive: true });
  const path = join(unitDir, "musicfs.service");
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
  return path;
}

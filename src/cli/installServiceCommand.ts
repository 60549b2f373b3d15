import { defineCommand } from "citty";
import { join, resolve } from "node:path";
import { loadConfig } from "../config/config.ts";
import { defaultConfigPath, expandHome } from "../config/paths.ts";
import { UserError } from "../core/errors.ts";
import { log, tildify } from "../core/logger.ts";
import { selfCommand, systemdProblem, userUnitText, writeUserUnit } from "../app/commands/userService.ts";
import { logLevelArg, runCommand } from "./run.ts";

export const installServiceCommand = defineCommand({
  meta: {
    name: "install-service",
    description:
      "Write the systemd user unit (~/.config/systemd/user/musicfs.service) that keeps your library mounted at the config's mount_point while you are logged in, running this musicfs.",
  },
  args: {
    config: { type: "string", alias: "c", description: "Config file the service uses (default $XDG_CONFIG_HOME/musicfs/config.toml)" },
    ...logLevelArg,
  },
  async run({ args }) {
    await runCommand(async () => {
      const configPath = args.config ? resolve(expandHome(args.config as string)) : undefined;
      const config = loadConfig({ configPath });
      if (!config.mountPoint)
        throw new UserError(
          "The service mounts at mount_point from the config file, and none is set.",
          `Add mount_point = "~/MusicView" (and your [[origins]]) to ${tildify(configPath ?? defaultConfigPath())}, then run this again.`,
        );
      const unitDir = join(process.env.XDG_CONFIG_HOME || join(process.env.HOME ?? "~", ".config"), "systemd", "user");
      const path = writeUserUnit(unitDir, userUnitText(selfCommand(), configPath));
      log.success(`Wrote ${tildify(path)}: mounts at ${tildify(config.mountPoint)}.`);
      const problem = systemdProblem();
      if (problem) {
        log.warn(`${problem}: nothing will start the unit here. Run \`musicfs mount\` from your session's startup instead.`);
        process.exitCode = 1;
        return;
      }
      const reload = Bun.spawnSync(["systemctl", "--user", "daemon-reload"], { stderr: "pipe" });
      if (reload.exitCode !== 0) log.warn(`systemctl --user daemon-reload: ${reload.stderr.toString().trim()}`);
      log.info("Start it now and at every login: systemctl --user enable --now musicfs");
      log.info("Its log: journalctl --user -u musicfs");
    });
  },
});

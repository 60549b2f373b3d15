import { defineCommand, type CommandDef } from "citty";
import { SHELLS, completionScript, type Shell } from "./completions.ts";
import { commandSpec } from "./commandSpec.ts";
import { runCommand } from "./run.ts";

const INSTALL: Record<Shell, string> = {
  bash: "musicfs completions bash > ~/.local/share/bash-completion/completions/musicfs",
  zsh: 'musicfs completions zsh > "${fpath[1]}/_musicfs"',
  fish: "musicfs completions fish > ~/.config/fish/completions/musicfs.fish",
};

function shellCommand(shell: Shell): CommandDef {
  return defineCommand({
    meta: { name: shell, description: `Print the ${shell} completion script. Install: ${INSTALL[shell]}` },
    async run() {
      await runCommand(async () => {
        // Loaded here, not imported above: the command tree includes this command.
        const { rootCommand } = await import("./commands.ts");
        process.stdout.write(completionScript(shell, await commandSpec(rootCommand)));
      });
    },
  });
}

export const completionsCommand = defineCommand({
  meta: {
    name: "completions",
    description: "Print a shell completion script (bash, zsh or fish) for every musicfs command and option. The packages install them.",
  },
  subCommands: Object.fromEntries(SHELLS.map((s) => [s, shellCommand(s)])),
});

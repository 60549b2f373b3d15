/**
 * `bun run demo` (the README's first command): `musicfs demo` in this very process.
 *
 * Deliberately a file, not a package.json script. `bun run <script>` starts the script as a child and forwards the
 * terminal's SIGINT to it, while the terminal signals the child too (one process group): one Ctrl-C reached musicfs
 * twice, on a loaded machine seconds apart, so that no time window could tell the echo from a second keypress (a
 * second one exits at once, without the ordered shutdown). With no script of that name, `bun run demo` runs this
 * file in the `bun run` process itself: one process, one SIGINT per keypress. Run it from the repository's root
 * (./.demo and ./mnt are made there); arguments follow as for `musicfs demo`.
 */
import "./src/cli/colourPolicy.ts"; // first, as in main.ts: decides colours before citty and consola load
import { versionLine } from "./src/cli/buildInfo.ts";
import { runCli } from "./src/cli/cliRunner.ts";
import { rootCommand } from "./src/cli/commands.ts";

await runCli(rootCommand, ["demo", ...process.argv.slice(2)], versionLine);

/**
 * The command tree of musicfs: one definition that --help, the shell completions and the man page are all made
 * from (src/cli/commandSpec.ts walks it), so they cannot drift apart. Each command lives in its own module and is
 * loaded on use: `musicfs search` should not pay for the FUSE and scanner modules.
 */
import { defineCommand } from "citty";
import { VERSION } from "./buildInfo.ts";

export const rootCommand = defineCommand({
  meta: {
    name: "musicfs",
    version: VERSION,
    description: "Mount your music libraries as a read-only folder organised by tags.",
  },
  subCommands: {
    mount: () => import("./mountCommand.ts").then((m) => m.mountCommand),
    unmount: () => import("./unmountCommand.ts").then((m) => m.unmountCommand),
    scan: () => import("./scanCommand.ts").then((m) => m.scanCommand),
    demo: () => import("./demoCommand.ts").then((m) => m.demoCommand),
    search: () => import("./searchCommand.ts").then((m) => m.searchCommand),
    collection: () => import("./collectionCommand.ts").then((m) => m.collectionCommand),
    status: () => import("./statusCommand.ts").then((m) => m.statusCommand),
    cache: () => import("./cacheCommand.ts").then((m) => m.cacheCommand),
    sync: () => import("./syncCommand.ts").then((m) => m.syncCommand),
    pin: () => import("./pinCommands.ts").then((m) => m.pinCommand),
    unpin: () => import("./pinCommands.ts").then((m) => m.unpinCommand),
    pins: () => import("./pinCommands.ts").then((m) => m.pinsCommand),
    completions: () => import("./completionsCommand.ts").then((m) => m.completionsCommand),
    "install-service": () => import("./installServiceCommand.ts").then((m) => m.installServiceCommand),
  },
});

#!/usr/bin/env bun
/**
 * musicfs command line. Each subcommand lives in its own module and only parses arguments and prints results;
 * the work happens in src/app.
 */
import "./colourPolicy.ts"; // first: decides colours before citty and consola load
import { defineCommand } from "citty";
import pkg from "../../package.json" with { type: "json" };
import { runCli } from "./cliRunner.ts";

const main = defineCommand({
  meta: {
    name: "musicfs",
    version: pkg.version,
    description: "Mount your music libraries as a read-only folder organised by tags.",
  },
  subCommands: {
    // Loaded on use: `musicfs search` should not pay for the FUSE and scanner modules.
    mount: () => import("./mountCommand.ts").then((m) => m.mountCommand),
    unmount: () => import("./unmountCommand.ts").then((m) => m.unmountCommand),
    scan: () => import("./scanCommand.ts").then((m) => m.scanCommand),
    demo: () => import("./demoCommand.ts").then((m) => m.demoCommand),
    search: () => import("./searchCommand.ts").then((m) => m.searchCommand),
    collection: () => import("./collectionCommand.ts").then((m) => m.collectionCommand),
    status: () => import("./statusCommand.ts").then((m) => m.statusCommand),
    cache: () => import("./cacheCommand.ts").then((m) => m.cacheCommand),
  },
});

await runCli(main, process.argv.slice(2), pkg.version);

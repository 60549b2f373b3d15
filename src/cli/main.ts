#!/usr/bin/env bun
/**
 * musicfs command line. The commands are defined in commands.ts; each only parses arguments and prints results,
 * the work happens in src/app.
 */
import "./colourPolicy.ts"; // first: decides colours before citty and consola load
import { versionLine } from "./buildInfo.ts";
import { runCli } from "./cliRunner.ts";
import { rootCommand } from "./commands.ts";

await runCli(rootCommand, process.argv.slice(2), versionLine);

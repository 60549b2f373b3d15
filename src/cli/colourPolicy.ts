/**
 * Imported first by main.ts, before citty and consola read the environment: colours only when both stdout and
 * stderr are terminals and NO_COLOR is unset. Both libraries decide once, at load, from NO_COLOR (citty only
 * honours NO_COLOR=1, so any NO_COLOR becomes "1").
 */
import { isTerminal } from "../core/terminal.ts";

// isatty, not process.stdout.isTTY: building Node's stdio streams costs ~15 ms of CPU, for a command that may never
// write through them (src/core/terminal.ts).
if ("NO_COLOR" in process.env || !isTerminal(1) || !isTerminal(2)) process.env.NO_COLOR = "1";

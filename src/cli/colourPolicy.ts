/**
 * Imported first by main.ts, before citty and consola read the environment: colours only when both stdout and
 * stderr are terminals and NO_COLOR is unset. Both libraries decide once, at load, from NO_COLOR (citty only
 * honours NO_COLOR=1, so any NO_COLOR becomes "1").
 */
if ("NO_COLOR" in process.env || !process.stdout.isTTY || !process.stderr.isTTY) process.env.NO_COLOR = "1";

export {};

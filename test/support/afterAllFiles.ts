/**
 * Preloaded by bunfig.toml ([test] preload): a hook here runs once for the whole `bun test` process, after the last
 * test file — where what test files share (test/support/cleanup.ts processTempDir) is removed.
 */
import { afterAll } from "bun:test";
import { removeProcessTempDirs } from "./cleanup.ts";

afterAll(removeProcessTempDirs);

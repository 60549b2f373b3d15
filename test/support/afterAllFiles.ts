/**
 * Preloaded by bunfig.toml ([test] preload): a hook here runs once for the whole `bun test` process, after the last
 * test file — where what test files share is stopped and removed (test/support/cleanup.ts: atEndOfProcess, the
 * one Ceph RGW cluster, processTempDir: the scanned sample library).
 */
import { afterAll } from "bun:test";
import { endOfProcess, markProcessEndHook } from "./cleanup.ts";

markProcessEndHook();
afterAll(endOfProcess, 120_000);

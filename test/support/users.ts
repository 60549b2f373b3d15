/**
 * Users made for tests (root only). useradd and userdel fail while another program holds /etc/passwd's lock — other
 * test files make users too, and the shards of `bun run test` run at the same time — so both try until it works.
 */
import { eventually } from "./eventually.ts";
import { run } from "./process.ts";

/** Makes user `name` (useradd with `options`); an existing one is taken as it is. */
export async function addUser(name: string, options: string[] = []): Promise<void> {
  const r = await eventually(() => run(["useradd", ...options, name]), (r) => r.code === 0 || /already exists/.test(r.stderr), 30_000);
  if (r.code !== 0 && !/already exists/.test(r.stderr)) throw new Error(`useradd ${name} failed (${r.code}): ${r.stderr}`);
}

/** Removes user `name`; one that is already gone is fine. */
export async function removeUser(name: string): Promise<void> {
  await eventually(() => run(["userdel", name]), (r) => r.code === 0 || /does not exist/.test(r.stderr), 30_000);
}

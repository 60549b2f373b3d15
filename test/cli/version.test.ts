/** `musicfs --version` from source: the version in package.json and the checkout's commit. */
import { expect, test } from "bun:test";
import pkg from "../../package.json" with { type: "json" };
import { CLI, REPO } from "../support/paths.ts";
import { run } from "../support/process.ts";

test("--version prints the package version and the commit of the checkout", async () => {
  const head = (await run(["git", "rev-parse", "--short=12", "HEAD"], { cwd: REPO })).stdout.trim();
  for (const flag of ["--version", "-v"]) {
    const r = await run(["bun", CLI, flag]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^musicfs ${pkg.version.replace(/\./g, "\\.")} \\(commit ${head}(-dirty)?\\)\\n$`));
  }
});

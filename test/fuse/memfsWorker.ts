/** Session worker entry for the test filesystem (listed in `bun build --compile` next to memfsServer.ts). */
import { serveSessionWorker } from "../../src/fuse/sessionWorker.ts";
import { createMemFs } from "./memfs.ts";

serveSessionWorker(createMemFs);

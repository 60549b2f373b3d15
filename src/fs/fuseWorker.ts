/**
 * Entry point of a FUSE session worker thread (listed in build.ts). Each worker builds its own MusicFs, with its
 * own read-only database connection, and serves requests until the mount goes away.
 */
import { serveSessionWorker } from "../fuse/sessionWorker.ts";
import { MusicFs } from "./musicFs.ts";
import type { MusicFsWorkerConfig } from "./workerConfig.ts";

serveSessionWorker((data) => new MusicFs(data as MusicFsWorkerConfig));

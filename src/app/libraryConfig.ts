import type { MusicFsConfig } from "../config/config.ts";
import { compileTemplate } from "../library/template.ts";

/**
 * Checks what only the library can check in a loaded config (the path template compiles), so a bad value is a
 * clear error before anything is scanned or mounted.
 */
export function validateLibraryConfig(config: MusicFsConfig): void {
  compileTemplate(config.template);
}

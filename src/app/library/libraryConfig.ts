import type { MusicFsConfig } from "../../config/config.ts";
import { UserError } from "../../core/errors.ts";
import { compileTemplate } from "../../library/template.ts";

/**
 * Checks what only the library can check in a loaded config (the path templates compile), so a bad value is a
 * clear error before anything is scanned or mounted.
 */
export function validateLibraryConfig(config: MusicFsConfig): void {
  compileTemplate(config.template);
  config.views.forEach((view, i) => {
    try {
      compileTemplate(view.template);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      throw new UserError(`Config key view[${i}].template (view "${view.name}"): ${e.message}`, e.hint);
    }
  });
}

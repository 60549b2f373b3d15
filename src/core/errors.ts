/**
 * Errors meant for the user: an expected condition (missing origin, busy mountpoint, bad template) described in a
 * sentence that says what went wrong, which thing, and what to do. The CLI prints `message` (and `hint`) without a
 * stack trace and exits with `exitCode`. Anything that is not a UserError is a bug and is shown with its stack.
 */
export class UserError extends Error {
  override readonly name = "UserError";
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** A command line the CLI does not understand (unknown option, bad value): exit code 2, as usage errors do. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message, undefined, 2);
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

/** The message of any thrown value, for logs. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** The errno code of a Node/Bun system error ("ENOENT", "EACCES"...), or undefined. */
export function errnoCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

import { Database } from "bun:sqlite";
import { UserError } from "../core/errors.ts";
import { sanitizeComponent } from "../core/names.ts";
import { isReservedCollectionName } from "./builtinCollections.ts";
import { parseQuery } from "./queryParser.ts";

/**
 * Saved smart collections (name → query) in collections.db, a small database of its own (WAL) so that it survives
 * rebuilding metadata.db. Queries are validated when saved; a collection's tracks are whatever the query finds now.
 */

export interface SavedCollection {
  name: string;
  query: string;
  createdAt: number;
}

export type CollectionErrorCode = "bad-name" | "reserved" | "duplicate" | "unknown";

export class CollectionError extends UserError {
  constructor(
    readonly code: CollectionErrorCode,
    message: string,
    hint?: string,
  ) {
    super(message, hint);
  }
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS collections (
    name       TEXT PRIMARY KEY,
    query      TEXT NOT NULL,
    created_at INTEGER NOT NULL
  )`;

/** A collection name is a directory name under /.collections: one path segment, visible, ≤ 255 bytes. */
export function validateCollectionName(name: string): void {
  const bad = (why: string) => new CollectionError("bad-name", `"${name}" cannot be a collection name: ${why}.`);
  if (name.trim() === "") throw bad("it is empty");
  if (name !== name.trim()) throw bad("it starts or ends with a space");
  if (name.includes("/")) throw bad('it contains "/"');
  if (/[\u0000-\u001f\u007f]/.test(name)) throw bad("it contains a control character");
  if (name.startsWith(".")) throw bad('it starts with "." (hidden names are reserved)');
  if (Buffer.byteLength(name, "utf8") > 255) throw bad("it is longer than 255 bytes");
  // The folder name is the collection name itself, so it must already be what the naming rule shows.
  const shown = sanitizeComponent(name);
  if (shown !== name) {
    throw new CollectionError(
      "bad-name",
      `"${name}" cannot be a collection name: the mount would show it as "${shown}" (\\ : * ? " < > | become _, invisible and direction-changing characters are removed).`,
      `Use "${shown}".`,
    );
  }
  if (isReservedCollectionName(name)) {
    throw new CollectionError("reserved", `"${name}" is a built-in collection; choose another name.`);
  }
}

export class CollectionStore {
  private constructor(private readonly db: Database) {}

  /** Open (creating if needed) collections.db. Read-only openers (FUSE workers) need the file to exist. */
  static open(path: string, opts: { readonly?: boolean } = {}): CollectionStore {
    if (opts.readonly) return new CollectionStore(new Database(path, { readonly: true }));
    const db = new Database(path, { create: true });
    db.run("PRAGMA journal_mode = WAL");
    db.run("PRAGMA synchronous = NORMAL");
    db.run(SCHEMA);
    return new CollectionStore(db);
  }

  /** Save a collection. Throws CollectionError (bad/reserved/duplicate name) or QueryError (bad query). */
  add(name: string, query: string, nowMs = Date.now()): SavedCollection {
    validateCollectionName(name);
    parseQuery(query);
    if (this.get(name)) {
      throw new CollectionError("duplicate", `A collection named "${name}" already exists.`, `Remove it first: musicfs collection rm "${name}"`);
    }
    this.db.run("INSERT INTO collections (name, query, created_at) VALUES (?, ?, ?)", [name, query, nowMs]);
    return { name, query, createdAt: nowMs };
  }

  list(): SavedCollection[] {
    return this.db.query("SELECT name, query, created_at AS createdAt FROM collections ORDER BY name").all() as SavedCollection[];
  }

  get(name: string): SavedCollection | null {
    return this.db.query("SELECT name, query, created_at AS createdAt FROM collections WHERE name = ?").get(name) as SavedCollection | null;
  }

  remove(name: string): void {
    if (this.db.run("DELETE FROM collections WHERE name = ?", [name]).changes === 0) {
      throw new CollectionError("unknown", `There is no saved collection named "${name}".`, "List them with: musicfs collection list");
    }
  }

  close(): void {
    this.db.close();
  }
}

/**
 * Scan worker entry (build.ts embeds it: src/library/scanWorker.ts): serves parse requests from the scanner with
 * the tag parser (scanParse.ts).
 */
import { parseBatch, serveParseRequests } from "./scanParse.ts";

serveParseRequests(parseBatch);

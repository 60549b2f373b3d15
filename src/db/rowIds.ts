/**
 * The id of a new row of `files` or `folder_images` (an SQL expression): above every id the table has and every id
 * it ever deleted (id_high_water, kept by the tables' delete triggers), so an id is never handed out twice — data
 * files, range blocks and fetch progress are named by these ids (schema.sql says why).
 */
export function nextRowId(table: "files" | "folder_images"): string {
  return `(max(coalesce((SELECT max(id) FROM ${table}), 0), coalesce((SELECT id FROM id_high_water WHERE tbl = '${table}'), 0)) + 1)`;
}

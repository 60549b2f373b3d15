/**
 * A count with its noun, for every message that prints one: "1 track", "2 tracks", "0 files". Irregular plurals are
 * given ("match", "matches").
 */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

/**
 * Inode number spaces. Tree nodes use their `nodes` rowid (1 = root). Everything synthesised by musicfs (special
 * directories, search results) lives above SPECIAL_BASE so it can never collide with a stored node.
 * All numbers stay below 2^53 so they are exact JS numbers.
 */
export const SPECIAL_BASE = 2 ** 48;
export const SEARCH_DIR_INO = SPECIAL_BASE + 1;
export const COLLECTIONS_DIR_INO = SPECIAL_BASE + 2;
/** `/Playlists`, when the config asks for it (`playlists_folder = true`): the .m3u8 files of /.collections. */
export const PLAYLISTS_DIR_INO = SPECIAL_BASE + 3;

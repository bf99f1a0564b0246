/**
 * Limits of group metadata that every client enforces (and the browser client's forms use), kept
 * apart from the MLS code so that a form can read them without loading it.
 */

/** Longest group name, in UTF-16 code units (JavaScript string length, as an HTML `maxLength`). */
export const GROUP_NAME_MAX_LENGTH = 64;

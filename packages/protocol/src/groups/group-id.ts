/**
 * The size of a group id, kept apart from the MLS code (`group.ts`) so that the relay, which
 * checks ids but never reads MLS, can take it from `@parley/protocol` without loading ts-mls.
 */

/** Length of a group id in bytes (the relay's key for a group's delivery record). */
export const GROUP_ID_LENGTH = 16;

/** The API's password bounds, in characters (services/strata-api routes/auth.rs). */
export const MIN_PASSWORD_CHARS = 12;
export const MAX_PASSWORD_CHARS = 256;

/** Why the API would refuse `password` as a new one, said before anything is sent. */
export function newPasswordError(password: string): string | undefined {
  // The API counts characters, not UTF-16 units.
  const chars = [...password].length;
  if (chars < MIN_PASSWORD_CHARS) return `At least ${MIN_PASSWORD_CHARS} characters`;
  if (chars > MAX_PASSWORD_CHARS) return `At most ${MAX_PASSWORD_CHARS} characters`;
  return undefined;
}

/** Idempotent deletes: what is already gone counts as deleted. */
import { isNotFound } from '../../common/errors.js';

/** Runs a delete; "already gone" (404) is success, any other failure is thrown. */
export async function deleteIgnoringMissing(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

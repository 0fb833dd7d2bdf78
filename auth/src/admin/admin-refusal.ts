/**
 * An admin operation that will not go ahead as asked (a backup of another gateway, a missing
 * backup file, an unknown secret name); the message says why and what to do instead. The CLI
 * prints it and exits with status 1.
 */
export class AdminRefusal extends Error {
  override readonly name = 'AdminRefusal'
}

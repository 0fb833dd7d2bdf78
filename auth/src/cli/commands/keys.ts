import { AdminRefusal } from '../../admin/admin-refusal.ts'
import { rotateSigningKeys } from '../../keys/signing-keys.ts'
import type { CommandContext, CommandResult } from '../cli-context.ts'
import { bySubcommand, type Command, type UsageLine, usageError } from '../command.ts'

const ROTATE: UsageLine = {
  form: 'keys rotate',
  about: 'new signing key (old ones stay published)',
}

/** `keys rotate`: a new signing key; the old ones stay published so live tokens keep verifying. */
async function rotate(context: CommandContext, args: readonly string[]): Promise<CommandResult> {
  if (args.length > 0) throw usageError([ROTATE])
  // Understood and configured as meant, but not to be done: a refusal (exit 1), not a usage error.
  if (context.config.pinnedSigningKey) {
    throw new AdminRefusal(
      'JWT_PRIVATE_KEY_B64 pins the signing key: nothing rotated; replace that value and restart the gateway instead'
    )
  }
  const kid = await rotateSigningKeys(context.store)
  await context.audit.record({ event: 'admin.signing_key_rotated', kid })
  return {
    data: { kid },
    // A running gateway keeps the ring it loaded (it reloads only to verify an unknown kid), so
    // it signs with the new key once restarted; the old keys stay published either way.
    text: `new signing key ${kid}: restart the gateway (every replica) to sign with it; tokens signed by the previous keys keep verifying`,
  }
}

export const keysCommand: Command<CommandContext> = bySubcommand<CommandContext>({
  rotate: { usage: ROTATE, run: rotate },
})

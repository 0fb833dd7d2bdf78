import { rotateSigningKeys } from '../../keys/signing-keys.ts'
import { type CommandContext, type CommandResult, UsageError } from '../cli-context.ts'
import { bySubcommand, type Command, type UsageLine, usageError } from '../command.ts'

const ROTATE: UsageLine = {
  form: 'keys rotate',
  about: 'new signing key (old ones stay published)',
}

/** `keys rotate`: a new signing key; the old ones stay published so live tokens keep verifying. */
async function rotate(context: CommandContext, args: readonly string[]): Promise<CommandResult> {
  if (args.length > 0) throw usageError([ROTATE])
  if (context.config.pinnedSigningKey) {
    throw new UsageError(
      'JWT_PRIVATE_KEY_B64 pins the signing key: rotate it by changing that variable'
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

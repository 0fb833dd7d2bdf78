import { AdminRefusal } from '../../admin/admin-refusal.ts'
import { KEY_RING_RELOAD_SECONDS, rotateSigningKeys } from '../../keys/signing-keys.ts'
import type { CommandContext, CommandResult } from '../cli-context.ts'
import { bySubcommand, type Command, type UsageLine, usageError } from '../command.ts'

const ROTATE: UsageLine = {
  form: 'keys rotate',
  about: 'new signing key (old ones stay published while their tokens live)',
}

/**
 * `keys rotate`: a new signing key. The one it replaces stays published while tokens it signed
 * may live: the access-token lifetime, after the interval in which every replica reads the ring
 * again (and until then may still sign with it), with a minute's leeway for clocks.
 */
async function rotate(context: CommandContext, args: readonly string[]): Promise<CommandResult> {
  if (args.length > 0) throw usageError([ROTATE])
  // Understood and configured as meant, but not to be done: a refusal (exit 1), not a usage error.
  if (context.config.pinnedSigningKey) {
    throw new AdminRefusal(
      'JWT_PRIVATE_KEY_B64 pins the signing key: nothing rotated; replace that value and restart the gateway instead'
    )
  }
  const keepSeconds = context.config.ttl.accessToken + KEY_RING_RELOAD_SECONDS + 60
  const { kid, published, dropped } = await rotateSigningKeys(context.store, {
    clock: context.clock,
    keepSeconds,
  })
  await context.audit.record({ event: 'admin.signing_key_rotated', kid, dropped })
  const minutes = Math.ceil(keepSeconds / 60)
  return {
    data: { kid, published, dropped },
    text: [
      `new signing key ${kid}: every replica signs with it within ${KEY_RING_RELOAD_SECONDS} s, no restart needed`,
      `the key it replaces stays published for ${minutes} min, while tokens it signed may live`,
      `published: ${published.join(', ')}`,
      ...(dropped.length > 0 ? [`no longer published: ${dropped.join(', ')}`] : []),
    ].join('\n'),
  }
}

export const keysCommand: Command<CommandContext> = bySubcommand<CommandContext>({
  rotate: { usage: ROTATE, run: rotate },
})

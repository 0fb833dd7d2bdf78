import type { AuditEvent, AuditTrail, CountingAuditTrail } from '../audit/audit-trail.ts'
import type { AuthMetrics } from './auth-metrics.ts'

/**
 * The audit trail, counting each event as it is recorded: the domain records an event at the one
 * place it happens, and its metric moves from that same place, so the two never disagree.
 */
export function countedAuditTrail(trail: CountingAuditTrail, metrics: AuthMetrics): AuditTrail {
  metrics.keptCounter(
    'auth_audit_stream_failures_total',
    'Audit events the store stream could not keep since start (they are on standard output)',
    trail.streamFailures
  )
  return {
    record(event) {
      count(event, metrics)
      return trail.record(event)
    },
  }
}

function count(event: AuditEvent, metrics: AuthMetrics): void {
  metrics.auditEvents.inc({ event: event.event })
  switch (event.event) {
    case 'token.issued':
      metrics.tokensIssued.inc({ grant_type: event.grant_type })
      break
    case 'token.refreshed':
      metrics.tokensRefreshed.inc()
      break
    case 'token.revoked':
      metrics.tokensRevoked.inc({ token_type: event.token_type })
      break
    case 'refresh_token.reuse_detected':
      metrics.reuseDetected.inc({ credential: 'refresh_token' })
      break
    case 'authorization_code.reuse_detected':
      metrics.reuseDetected.inc({ credential: 'authorization_code' })
      break
    case 'client.registered':
      metrics.clientsRegistered.inc()
      break
    case 'user.sign_in_refused':
      metrics.signInsRefused.inc({ reason: event.reason })
      break
    case 'token.refresh_refused':
      metrics.refreshesRefused.inc({ reason: event.reason })
      break
  }
}

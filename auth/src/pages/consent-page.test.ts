import { describe, expect, it } from 'vitest'
import { describeRedirect } from './consent-page.ts'

describe('where the consent page says the application returns to', () => {
  it('names the host of a web redirect and the whole URI of a native one', () => {
    expect(describeRedirect('https://claude.ai/api/mcp/auth_callback')).toBe('claude.ai')
    expect(describeRedirect('http://127.0.0.1:33418/callback')).toBe(
      'this computer (127.0.0.1:33418)'
    )
    expect(describeRedirect('cursor://anysphere.cursor-mcp/oauth/callback')).toBe(
      'the cursor application on this computer (cursor://anysphere.cursor-mcp/oauth/callback)'
    )
  })
})

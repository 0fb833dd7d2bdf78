import { isPlainText } from '../clients/plain-text.ts'

/**
 * What a page shows of text a client chose. Registration refuses text that is not plain
 * (`plain-text.ts`), but a client registered before a character joined that rule keeps its
 * metadata for its whole lifetime, and a metadata document is only as careful as its publisher:
 * such text is left out here, where a person reads it, rather than shown as it came.
 */
export function shownClientText(value: string | undefined): string | undefined {
  return value !== undefined && isPlainText(value) ? value : undefined
}

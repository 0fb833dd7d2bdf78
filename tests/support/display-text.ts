/**
 * Characters a client-chosen name must not carry (`auth/src/clients/plain-text.ts`), each with
 * what it does on a page, and names in several scripts that must still pass.
 */
export const HIDDEN_CHARACTERS: readonly (readonly [string, string])[] = [
  ['U+0007 bell', '\u0007'],
  ['U+0085 next line', '\u0085'],
  ['U+00AD soft hyphen', '\u00ad'],
  ['U+034F combining grapheme joiner', '\u034f'],
  ['U+061C Arabic letter mark', '\u061c'],
  ['U+115F Hangul choseong filler', '\u115f'],
  ['U+1160 Hangul jungseong filler', '\u1160'],
  ['U+17B4 Khmer vowel inherent aq', '\u17b4'],
  ['U+180E Mongolian vowel separator', '\u180e'],
  ['U+200B zero-width space', '\u200b'],
  ['U+200C zero-width non-joiner', '\u200c'],
  ['U+200D zero-width joiner outside an emoji', '\u200d'],
  ['U+200E left-to-right mark', '\u200e'],
  ['U+2028 line separator', '\u2028'],
  ['U+2029 paragraph separator', '\u2029'],
  ['U+202E right-to-left override', '\u202e'],
  ['U+2060 word joiner', '\u2060'],
  ['U+2061 function application', '\u2061'],
  ['U+2062 invisible times', '\u2062'],
  ['U+2063 invisible separator', '\u2063'],
  ['U+2064 invisible plus', '\u2064'],
  ['U+2067 right-to-left isolate', '\u2067'],
  ['U+2800 braille blank', '\u2800'],
  ['U+3164 Hangul filler', '\u3164'],
  ['U+E000 private use', '\ue000'],
  ['U+FE0F variation selector after a letter', '\ufe0f'],
  ['U+FEFF zero-width no-break space', '\ufeff'],
  ['U+FFA0 halfwidth Hangul filler', '\uffa0'],
  ['U+E0041 tag letter outside a flag', '\u{e0041}'],
  ['U+E0100 variation selector 17', '\u{e0100}'],
]

/** `Claude` with `character` inside, where trimming cannot take it away. */
export const disguised = (character: string) => `Cla${character}ude`

export const PLAIN_NAMES: readonly string[] = [
  'Claude',
  'Crème Brûlée Éditeur',
  'Ελληνικά Δοκιμή',
  'Клиент MCP',
  '東京アプリ',
  '한국어 앱',
  'تطبيق المساعد',
  'עוזר קוד',
  'नमस्ते ऐप',
  'ไทย แอป',
  '🤖 Robot',
  '❤️ Love',
  '👨‍👩‍👧 Family',
  '👍🏽 Thumbs',
  '🇫🇷 Appli',
  '🏴󠁧󠁢󠁳󠁣󠁴󠁿 Alba',
  '1️⃣ First',
]

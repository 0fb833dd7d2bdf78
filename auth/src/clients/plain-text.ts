/**
 * Whether text a client chose may be shown to a person (consent, device and account pages, the
 * admin CLI): every character in it must be one you can see. A name that carries invisible,
 * formatting or bidirectional characters can look like another application's name, or hide part
 * of itself, so it is refused rather than cleaned up.
 *
 * Refused: control characters (`Cc`), format characters (`Cf`: bidi marks and overrides, zero-width
 * space and joiners, word joiner, invisible operators, BOM, soft hyphen, Arabic letter mark, tag
 * characters), line and paragraph separators, private-use and unassigned code points (no font
 * agrees on how they look), every default-ignorable code point (combining grapheme joiner,
 * variation selectors, Hangul fillers, Mongolian vowel separator) and the braille blank, which
 * renders as an empty cell.
 *
 * Emoji sequences are the exception: a zero-width joiner, variation selector or tag inside a
 * recommended (RGI) emoji sequence is part of one visible picture (👨‍👩‍👧, ❤️, 🏴󠁧󠁢󠁳󠁣󠁴󠁿). The same
 * characters anywhere else are refused, including the zero-width non-joiner and joiner of Persian
 * and Indic spelling: a name loses a ligature, which is readable, while between Latin letters the
 * same character would make a second, invisible spelling of a name.
 */
export function isPlainText(value: string): boolean {
  return value.isWellFormed() && !HIDDEN.test(value.replace(EMOJI_SEQUENCE, ''))
}

const EMOJI_SEQUENCE = /\p{RGI_Emoji}/gv
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}\p{Default_Ignorable_Code_Point}\u{2800}]/v

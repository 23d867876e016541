//! Text that is safe to print to a terminal.
//!
//! Everything mlguard prints can hold text it did not write: column names, file and member
//! names, cell values, Python source, error messages naming any of these. A terminal obeys
//! the control characters in such text: `ESC ] 0 ; … BEL` retitles the window, other
//! sequences move the cursor, rewrite what is already on the screen, or set the clipboard;
//! a carriage return or backspace overprints a line; Unicode's bidirectional overrides make
//! text read differently from what it holds ("Trojan Source"). [`terminal_safe`] escapes
//! all of them, so text can only ever show as text. The escapes are JSON's (`\u001b`): in a
//! JSON document they stand for the same characters, so JSON output stays valid and equal.

use std::borrow::Cow;

/// The colour codes mlguard's own output uses (SGR sequences, `ESC [ … m`): with colour on,
/// these exact sequences are kept and every other escape is shown as text. None of them
/// hides text.
const OWN_COLOURS: &[&str] =
    &["\x1b[0m", "\x1b[1m", "\x1b[2m", "\x1b[36m", "\x1b[31;1m", "\x1b[32;1m", "\x1b[33;1m"];

/// Whether `c` must be shown escaped: control characters other than newline and tab, and
/// the bidirectional embedding, override and isolate characters.
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// `text` with every control character (but newline and tab) and bidirectional control
/// escaped as JSON writes it (`\u001b`, `\u000d`, `\u202e`). With `keep_colours`, mlguard's own
/// colour codes are kept as they are. Borrowed when nothing needs escaping.
pub fn terminal_safe(text: &str, keep_colours: bool) -> Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if keep_colours
            && c == '\x1b'
            && let Some(code) = OWN_COLOURS.iter().find(|code| rest.starts_with(*code))
        {
            out.push_str(code);
            rest = &rest[code.len()..];
            continue;
        }
        if unsafe_char(c) {
            // Every such character is in the Basic Multilingual Plane: four hex digits.
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_a_terminal_would_obey() {
        let title = "name\x1b]0;owned\x07,age";
        assert_eq!(terminal_safe(title, false), "name\\u001b]0;owned\\u0007,age");
        assert_eq!(terminal_safe(title, true), "name\\u001b]0;owned\\u0007,age");
        assert_eq!(terminal_safe("a\rb\x08c\x7f", false), "a\\u000db\\u0008c\\u007f");
        assert_eq!(terminal_safe("x\u{202e}yz", false), "x\\u202eyz");
        assert_eq!(terminal_safe("\u{9b}2J", false), "\\u009b2J");
        // Inside JSON the escapes decode to what was there.
        let json = format!("{{\"name\": \"{}\"}}", terminal_safe("a\u{7f}\u{9b}\u{202e}b", false));
        let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(v["name"], "a\u{7f}\u{9b}\u{202e}b");
        // Lines and tabs stay; plain text is not copied.
        assert!(matches!(terminal_safe("a\tb\nc é 名", false), Cow::Borrowed(_)));
    }

    #[test]
    fn only_its_own_colours_pass_and_only_with_colour_on() {
        let painted = "\x1b[31;1merror\x1b[0m: bad";
        assert_eq!(terminal_safe(painted, true), painted);
        assert_eq!(terminal_safe(painted, false), "\\u001b[31;1merror\\u001b[0m: bad");
        // Conceal (8) and cursor movement are not mlguard's: escaped even with colour on.
        assert_eq!(terminal_safe("\x1b[8mhidden\x1b[2A", true), "\\u001b[8mhidden\\u001b[2A");
    }
}

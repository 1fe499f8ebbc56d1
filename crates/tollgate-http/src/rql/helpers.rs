//! Small helpers: character classes, hex digits, and the shortening and quoting of input in
//! error messages.

use super::EXCERPT_CHARS;
use super::parser::Node;

pub(super) fn is_space(c: char) -> bool {
    c.is_ascii_whitespace()
}

pub(super) fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

pub(super) fn join<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let joined = names.collect::<Vec<_>>().join(", ");
    if joined.is_empty() {
        "none".into()
    } else {
        joined
    }
}

/// `'x'`, or a name for characters that do not show.
pub(super) fn show_char(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!("character {}", c.escape_unicode())
    } else if c == '\'' {
        "\"'\"".into()
    } else {
        format!("'{c}'")
    }
}

/// How a node is called in messages.
pub(super) fn describe(node: &Node) -> String {
    match node {
        Node::Word { text, .. } => format!("'{}'", clip(text)),
        Node::Quoted { .. } => "a quoted value".into(),
        Node::List { .. } => "a list".into(),
        Node::Call { name, .. } => format!("{}(…)", clip(name)),
    }
}

/// Characters for a message: control characters escaped.
fn render(chars: &[char]) -> String {
    let mut out = String::with_capacity(chars.len());
    for c in chars {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(*c);
        }
    }
    out
}

/// At most [`EXCERPT_CHARS`] characters of `chars` around `position`, with `…` where cut.
pub(super) fn excerpt(chars: &[char], position: usize) -> String {
    if chars.len() <= EXCERPT_CHARS {
        return render(chars);
    }
    let end = position
        .saturating_add(EXCERPT_CHARS / 3)
        .max(EXCERPT_CHARS)
        .min(chars.len());
    let start = end - EXCERPT_CHARS;
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.push_str(&render(chars.get(start..end).unwrap_or_default()));
    if end < chars.len() {
        out.push('…');
    }
    out
}

/// The start of `chars` for a message, with `…` where cut.
pub(super) fn clip_chars(chars: &[char]) -> String {
    if chars.len() <= EXCERPT_CHARS {
        render(chars)
    } else {
        let mut out = render(chars.get(..EXCERPT_CHARS).unwrap_or_default());
        out.push('…');
        out
    }
}

pub(super) fn clip(text: &str) -> String {
    let chars: Vec<char> = text.chars().take(EXCERPT_CHARS + 1).collect();
    clip_chars(&chars)
}

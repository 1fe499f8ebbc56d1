//! Syntax: the text of a filter expression read into an untyped tree of [`Node`]s, with the
//! limits on depth, list length and value length enforced as it is read.

use super::helpers::{excerpt, is_space, show_char};
use super::{MAX_DEPTH, MAX_ITEMS, MAX_VALUE_CHARS, RqlError};

/// A stretch of the input, in characters.
#[derive(Debug, Clone, Copy)]
pub(super) struct Span {
    pub(super) start: usize,
    pub(super) end: usize,
}

/// The untyped syntax tree: at most [`MAX_DEPTH`] calls deep, with at most one value list
/// between two calls.
#[derive(Debug)]
pub(super) enum Node {
    /// A bare word: a value, a field or a collection name.
    Word { text: String, span: Span },
    /// A quoted value.
    Quoted { text: String },
    /// `(a,b)`.
    List { items: Vec<Node> },
    /// `name(args)`.
    Call {
        name: String,
        args: Vec<Node>,
        span: Span,
    },
}

#[derive(Debug)]
pub(super) struct Parser<'a> {
    pub(super) chars: &'a [char],
    pub(super) pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.pos += 1;
        }
    }

    fn syntax(&self, problem: String, position: usize, hint: &'static str) -> RqlError {
        RqlError::Syntax {
            problem,
            position,
            text: excerpt(self.chars, position),
            hint,
        }
    }

    /// After the whole term: nothing but space may follow.
    pub(super) fn expect_end(&mut self, after: &str, hint: &'static str) -> Result<(), RqlError> {
        self.skip_space();
        match self.peek() {
            None => Ok(()),
            Some(c) => Err(self.syntax(
                format!("unexpected {} {after}", show_char(c)),
                self.pos,
                hint,
            )),
        }
    }

    /// One argument: a quoted value, a list, a bare word or a call. `depth` counts the calls
    /// around it; `in_list` says it is an item of a value list.
    pub(super) fn term(&mut self, depth: usize, in_list: bool) -> Result<Node, RqlError> {
        self.skip_space();
        let start = self.pos;
        let node = match self.peek() {
            None => {
                return Err(self.syntax(
                    "expected an expression or value".into(),
                    start,
                    "; write '' for empty text",
                ));
            }
            Some(c @ (',' | ')')) => {
                return Err(self.syntax(
                    format!("expected an expression or value, found {}", show_char(c)),
                    start,
                    "; write '' for empty text",
                ));
            }
            Some(quote @ ('\'' | '"')) => Node::Quoted {
                text: self.quoted(quote)?,
            },
            Some('(') if in_list => {
                return Err(self.syntax("a value list cannot contain a list".into(), start, ""));
            }
            Some('(') => Node::List {
                items: self.group(depth, true)?,
            },
            Some(_) => {
                let word = self.word()?;
                if self.peek() == Some('(') {
                    let args = self.group(depth, false)?;
                    Node::Call {
                        name: word,
                        args,
                        span: Span {
                            start,
                            end: self.pos,
                        },
                    }
                } else {
                    Node::Word {
                        text: word,
                        span: Span {
                            start,
                            end: self.pos,
                        },
                    }
                }
            }
        };
        Ok(node)
    }

    /// `( term, … )`, at the `(`: the arguments of a call, or a value list when `list`. Calls
    /// count towards the depth; a value list does not, as it cannot hold another list.
    fn group(&mut self, depth: usize, list: bool) -> Result<Vec<Node>, RqlError> {
        let open = self.pos;
        let depth = if list {
            depth
        } else if depth >= MAX_DEPTH {
            return Err(RqlError::TooDeep {
                max: MAX_DEPTH,
                position: open,
                text: excerpt(self.chars, open),
            });
        } else {
            depth + 1
        };
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(')') {
            self.pos += 1;
            return Ok(items);
        }
        loop {
            if items.len() >= MAX_ITEMS {
                return Err(RqlError::TooManyItems {
                    max: MAX_ITEMS,
                    position: self.pos,
                    text: excerpt(self.chars, self.pos),
                });
            }
            items.push(self.term(depth, list)?);
            self.skip_space();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    return Ok(items);
                }
                None => {
                    let problem = if items.len() == 1 {
                        "expected ')'"
                    } else {
                        "expected ',' or ')'"
                    };
                    return Err(self.syntax(problem.into(), self.pos, ""));
                }
                Some(c) => {
                    let hint = if matches!(c, '\'' | '"') {
                        "; inside quotes write \\' for ' and \\\" for \" (doubling a quote does not \
                         escape it)"
                    } else {
                        "; quote values that contain ',', '(' or ')'"
                    };
                    return Err(self.syntax(
                        format!("expected ',' or ')', found {}", show_char(c)),
                        self.pos,
                        hint,
                    ));
                }
            }
        }
    }

    /// A bare word, up to `,`, `(`, `)` or the end, without surrounding space.
    fn word(&mut self) -> Result<String, RqlError> {
        let start = self.pos;
        while self.peek().is_some_and(|c| !matches!(c, ',' | '(' | ')')) {
            self.pos += 1;
        }
        let mut end = self.pos;
        while end > start && self.chars.get(end - 1).copied().is_some_and(is_space) {
            end -= 1;
        }
        if end - start > MAX_VALUE_CHARS {
            return Err(RqlError::ValueTooLong {
                max: MAX_VALUE_CHARS,
                position: start,
                text: excerpt(self.chars, start),
            });
        }
        Ok(self
            .chars
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .collect())
    }

    /// A quoted value, at the opening quote; `\` escapes the next character.
    fn quoted(&mut self, quote: char) -> Result<String, RqlError> {
        let start = self.pos;
        self.pos += 1;
        let mut text = String::new();
        let mut length = 0usize;
        loop {
            let c = match self.peek() {
                None => break,
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(text);
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        None => break,
                        Some(c) => c,
                    }
                }
                Some(c) => c,
            };
            self.pos += 1;
            length += 1;
            if length > MAX_VALUE_CHARS {
                return Err(RqlError::ValueTooLong {
                    max: MAX_VALUE_CHARS,
                    position: start,
                    text: excerpt(self.chars, start),
                });
            }
            text.push(c);
        }
        Err(self.syntax(
            format!("unterminated string: no closing {quote} for the string starting"),
            start,
            "; inside quotes write \\' for ', \\\" for \" and \\\\ for \\",
        ))
    }
}

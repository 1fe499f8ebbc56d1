//! Meaning: the untyped [`Node`] tree turned into the domain's typed [`Filter`], each field,
//! operator and value checked against the list's fields.

use super::helpers::{clip, clip_chars, describe, excerpt, join};
use super::parser::{Node, Span};
use super::{
    Comparison, Field, Filter, MAX_DEPTH, OperatorClass, QueryError, RqlError, Value,
    check_operator, typed_value,
};

#[derive(Debug)]
pub(super) struct Typer<'a> {
    pub(super) chars: &'a [char],
}

impl Typer<'_> {
    /// The text of `span`, shortened.
    fn context(&self, span: Span) -> String {
        let text = self.chars.get(span.start..span.end).unwrap_or_default();
        clip_chars(text)
    }

    /// An expression; `scope` is the collection of an enclosing `any`, `depth` counts the
    /// enclosing expressions (bounded by the parser's [`MAX_DEPTH`], checked again here).
    pub(super) fn expr<F: Field>(
        &self,
        node: &Node,
        scope: Option<&'static str>,
        depth: usize,
    ) -> Result<Filter<F>, RqlError> {
        let (name, args, span) = match node {
            Node::Call { name, args, span } => (name, args, *span),
            Node::Word { text, span } => {
                return Err(RqlError::Syntax {
                    problem: format!(
                        "expected an expression such as eq(field,value), found '{}'",
                        clip(text)
                    ),
                    position: span.start,
                    text: excerpt(self.chars, span.start),
                    hint: "",
                });
            }
            Node::Quoted { .. } | Node::List { .. } => {
                // Only reachable at the top: inside a call the caller reports it with context.
                return Err(RqlError::Syntax {
                    problem: format!(
                        "expected an expression such as eq(field,value), found {}",
                        describe(node)
                    ),
                    position: 0,
                    text: excerpt(self.chars, 0),
                    hint: "",
                });
            }
        };
        if depth >= MAX_DEPTH {
            return Err(RqlError::TooDeep {
                max: MAX_DEPTH,
                position: span.start,
                text: excerpt(self.chars, span.start),
            });
        }
        let context = self.context(span);
        let comparison = |op| self.compare::<F>(op, args, scope, &context);
        match name.as_str() {
            "eq" => comparison(Comparison::Eq),
            "ne" => comparison(Comparison::Ne),
            "gt" => comparison(Comparison::Gt),
            "ge" => comparison(Comparison::Ge),
            "lt" => comparison(Comparison::Lt),
            "le" => comparison(Comparison::Le),
            "like" => self.like(false, args, scope, &context),
            "ilike" => self.like(true, args, scope, &context),
            "in" => self.set(false, args, scope, &context),
            "out" => self.set(true, args, scope, &context),
            "and" | "or" => {
                let op = if name == "and" { "and" } else { "or" };
                if args.is_empty() {
                    return Err(RqlError::Arity {
                        op,
                        expected: "at least one expression",
                        got: 0,
                        context,
                    });
                }
                let parts = args
                    .iter()
                    .map(|arg| self.sub_expr(arg, scope, depth, &context))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if op == "and" {
                    Filter::And(parts)
                } else {
                    Filter::Or(parts)
                })
            }
            "not" => match args.as_slice() {
                [inner] => Ok(Filter::Not(Box::new(
                    self.sub_expr(inner, scope, depth, &context)?,
                ))),
                _ => Err(RqlError::Arity {
                    op: "not",
                    expected: "1 expression",
                    got: args.len(),
                    context,
                }),
            },
            "any" => self.any(args, scope, depth, &context),
            "empty" | "null" => Err(RqlError::BadArgument {
                problem: format!("{name}() is a value, not an expression"),
                context,
            }),
            _ => Err(RqlError::UnknownOperator {
                name: clip(name),
                context,
            }),
        }
    }

    /// An expression argument of `and`, `or`, `not` or `any`.
    fn sub_expr<F: Field>(
        &self,
        node: &Node,
        scope: Option<&'static str>,
        depth: usize,
        context: &str,
    ) -> Result<Filter<F>, RqlError> {
        match node {
            Node::Call { .. } | Node::Word { .. } => self.expr(node, scope, depth + 1),
            Node::Quoted { .. } | Node::List { .. } => Err(RqlError::BadArgument {
                problem: format!(
                    "expected an expression such as eq(field,value), found {}",
                    describe(node)
                ),
                context: context.to_owned(),
            }),
        }
    }

    fn any<F: Field>(
        &self,
        args: &[Node],
        scope: Option<&'static str>,
        depth: usize,
        context: &str,
    ) -> Result<Filter<F>, RqlError> {
        let [collection, inner] = args else {
            return Err(RqlError::Arity {
                op: "any",
                expected: "2 arguments (collection, expression)",
                got: args.len(),
                context: context.to_owned(),
            });
        };
        if let Some(outer) = scope {
            return Err(RqlError::BadArgument {
                problem: format!("any() cannot be used inside any({outer},…)"),
                context: context.to_owned(),
            });
        }
        let Node::Word { text, .. } = collection else {
            return Err(RqlError::BadArgument {
                problem: format!("expected a collection name, found {}", describe(collection)),
                context: context.to_owned(),
            });
        };
        let collection = F::COLLECTIONS
            .iter()
            .map(|(name, _)| *name)
            .find(|name| name == text)
            .ok_or_else(|| RqlError::UnknownCollection {
                name: clip(text),
                context: context.to_owned(),
                known: join(F::COLLECTIONS.iter().map(|(name, _)| *name)),
            })?;
        let filter = self.sub_expr(inner, Some(collection), depth, context)?;
        Ok(Filter::Any {
            collection,
            filter: Box::new(filter),
        })
    }

    fn field<F: Field>(
        &self,
        node: &Node,
        scope: Option<&'static str>,
        context: &str,
    ) -> Result<F, RqlError> {
        let Node::Word { text, .. } = node else {
            return Err(RqlError::BadArgument {
                problem: format!("expected a field name, found {}", describe(node)),
                context: context.to_owned(),
            });
        };
        // The context would hold a token value: say where `token` belongs, and quote nothing.
        if text == "token" {
            return Err(RqlError::TokenPlacement);
        }
        match scope {
            None => F::from_path(text).ok_or_else(|| RqlError::UnknownField {
                name: clip(text),
                context: context.to_owned(),
                known: join(F::ALL.iter().map(|f| f.path())),
            }),
            Some(collection) => {
                F::in_collection(collection, text).ok_or_else(|| RqlError::UnknownCollectionField {
                    collection,
                    name: clip(text),
                    context: context.to_owned(),
                    known: join(
                        F::COLLECTIONS
                            .iter()
                            .filter(|(name, _)| *name == collection)
                            .flat_map(|(_, fields)| fields.iter().map(|(name, _)| *name)),
                    ),
                })
            }
        }
    }

    fn compare<F: Field>(
        &self,
        op: Comparison,
        args: &[Node],
        scope: Option<&'static str>,
        context: &str,
    ) -> Result<Filter<F>, RqlError> {
        let [field, value] = args else {
            return Err(RqlError::Arity {
                op: op.name(),
                expected: "2 arguments (field, value)",
                got: args.len(),
                context: context.to_owned(),
            });
        };
        let field = self.field::<F>(field, scope, context)?;
        let class = match op {
            Comparison::Eq | Comparison::Ne => OperatorClass::Equality,
            Comparison::Gt | Comparison::Ge | Comparison::Lt | Comparison::Le => {
                OperatorClass::Ordering
            }
        };
        check_operator(field, op.name(), class).map_err(|error| in_filter(error, context))?;
        let value = self.value(
            value,
            field,
            op.name(),
            class == OperatorClass::Equality,
            context,
        )?;
        Ok(Filter::Compare { field, op, value })
    }

    fn like<F: Field>(
        &self,
        case_insensitive: bool,
        args: &[Node],
        scope: Option<&'static str>,
        context: &str,
    ) -> Result<Filter<F>, RqlError> {
        let op = if case_insensitive { "ilike" } else { "like" };
        let [field, pattern] = args else {
            return Err(RqlError::Arity {
                op,
                expected: "2 arguments (field, pattern)",
                got: args.len(),
                context: context.to_owned(),
            });
        };
        let field = self.field::<F>(field, scope, context)?;
        check_operator(field, op, OperatorClass::Pattern)
            .map_err(|error| in_filter(error, context))?;
        let pattern = match pattern {
            Node::Word { text, .. } | Node::Quoted { text } => text.clone(),
            Node::Call { name, .. } if name == "empty" || name == "null" => {
                return Err(RqlError::BadArgument {
                    problem: format!("{name}() can only be used with eq, ne, in and out"),
                    context: context.to_owned(),
                });
            }
            Node::Call { .. } | Node::List { .. } => {
                return Err(RqlError::BadArgument {
                    problem: format!(
                        "expected a pattern such as '*bot*', found {}",
                        describe(pattern)
                    ),
                    context: context.to_owned(),
                });
            }
        };
        Ok(Filter::Like {
            field,
            pattern,
            case_insensitive,
        })
    }

    fn set<F: Field>(
        &self,
        negated: bool,
        args: &[Node],
        scope: Option<&'static str>,
        context: &str,
    ) -> Result<Filter<F>, RqlError> {
        let op = if negated { "out" } else { "in" };
        let Some((field, rest)) = args.split_first().filter(|(_, rest)| !rest.is_empty()) else {
            return Err(RqlError::Arity {
                op,
                expected: "a field and at least one value",
                got: args.len(),
                context: context.to_owned(),
            });
        };
        let items = match rest {
            [Node::List { items }] => items.as_slice(),
            _ => rest,
        };
        if items.is_empty() {
            return Err(RqlError::BadArgument {
                problem: format!("{op}() needs at least one value"),
                context: context.to_owned(),
            });
        }
        let field = self.field::<F>(field, scope, context)?;
        check_operator(field, op, OperatorClass::Equality)
            .map_err(|error| in_filter(error, context))?;
        let values = items
            .iter()
            .map(|item| self.value(item, field, op, true, context))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Filter::In {
            field,
            values,
            negated,
        })
    }

    /// A value for `field`; `empty()`/`null()` only where `special` (eq, ne, in, out).
    pub(super) fn value<F: Field>(
        &self,
        node: &Node,
        field: F,
        op: &'static str,
        special: bool,
        context: &str,
    ) -> Result<Value, RqlError> {
        match node {
            Node::Word { text, .. } | Node::Quoted { text } => {
                typed_value(field, text).map_err(|error| in_filter(error, context))
            }
            Node::Call { name, args, .. } if name == "empty" || name == "null" => {
                let (op_name, value) = if name == "empty" {
                    ("empty", Value::Empty)
                } else {
                    ("null", Value::Null)
                };
                if !args.is_empty() {
                    return Err(RqlError::Arity {
                        op: op_name,
                        expected: "no arguments",
                        got: args.len(),
                        context: context.to_owned(),
                    });
                }
                if !special {
                    return Err(RqlError::BadArgument {
                        problem: format!(
                            "{op_name}() can only be used with eq, ne, in and out, not {op}"
                        ),
                        context: context.to_owned(),
                    });
                }
                Ok(value)
            }
            Node::Call { .. } => Err(RqlError::BadArgument {
                problem: format!(
                    "expected a value, found {}; quote values that contain '(' or ')'",
                    describe(node)
                ),
                context: context.to_owned(),
            }),
            Node::List { .. } => Err(RqlError::BadArgument {
                problem: format!("expected a single value for {op}(), found a list"),
                context: context.to_owned(),
            }),
        }
    }
}

fn in_filter(error: QueryError, context: &str) -> RqlError {
    RqlError::InFilter {
        error,
        context: context.to_owned(),
    }
}

//! A WIQL subset: tokenizer, parser, binder (field resolution and literal typing) and evaluator.
//!
//! Supported: `SELECT [f], … FROM WorkItems [WHERE expr] [ORDER BY [f] [ASC|DESC], …]`.
//! `expr` combines comparisons with `AND`, `OR`, `NOT` and parentheses. Comparisons:
//! `= <> != > >= < <=`, `[NOT] IN (…)`, `[NOT] CONTAINS`, `[NOT] CONTAINS WORDS`, `[NOT] UNDER`.
//! Right-hand sides: `'strings'` (`''` escapes a quote), numbers, `@project`, `@today[±N]`,
//! `@me`, or another `[Field]`.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::Value;
use time::{Date, Duration, OffsetDateTime};

use super::process::{self, FieldDef, FieldKind};
use super::util::{json_as_f64, parse_date, parse_instant, split_tags, DateLit};

/// A WIQL failure: the `code` is the TF/VS number at the start of the message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WiqlError(pub String);

fn syntax(detail: impl AsRef<str>) -> WiqlError {
    WiqlError(format!(
        "VS402375: The WIQL query has a syntax error: {}",
        detail.as_ref()
    ))
}

// ---- tokens ------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Field(String),
    Str(String),
    Num(f64),
    Macro(String),
    Word(String),
    Op(&'static str),
    Comma,
    LParen,
    RParen,
}

fn tokenize(q: &str) -> Result<Vec<Tok>, WiqlError> {
    let chars: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        match c {
            '[' => {
                let start = i + 1;
                let end = chars[start..]
                    .iter()
                    .position(|&c| c == ']')
                    .map(|p| start + p)
                    .ok_or_else(|| syntax("unterminated field reference '['"))?;
                out.push(Tok::Field(
                    chars[start..end]
                        .iter()
                        .collect::<String>()
                        .trim()
                        .to_string(),
                ));
                i = end + 1;
            }
            '\'' | '"' => {
                let quote = c;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(syntax("unterminated string literal")),
                        Some(&ch) if ch == quote => {
                            if chars.get(i + 1) == Some(&quote) {
                                s.push(quote);
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(s));
            }
            '@' => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
                    end += 1;
                }
                if end == start {
                    return Err(syntax("'@' must be followed by a macro name"));
                }
                out.push(Tok::Macro(
                    chars[start..end].iter().collect::<String>().to_lowercase(),
                ));
                i = end;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            '=' => {
                out.push(Tok::Op("="));
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push(Tok::Op("<>"));
                i += 2;
            }
            '<' => match chars.get(i + 1) {
                Some('>') => {
                    out.push(Tok::Op("<>"));
                    i += 2;
                }
                Some('=') => {
                    out.push(Tok::Op("<="));
                    i += 2;
                }
                _ => {
                    out.push(Tok::Op("<"));
                    i += 1;
                }
            },
            '>' => {
                if chars.get(i + 1) == Some(&'=') {
                    out.push(Tok::Op(">="));
                    i += 2;
                } else {
                    out.push(Tok::Op(">"));
                    i += 1;
                }
            }
            '+' => {
                out.push(Tok::Op("+"));
                i += 1;
            }
            '-' => {
                out.push(Tok::Op("-"));
                i += 1;
            }
            c if c.is_ascii_digit() => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let s: String = chars[start..i].iter().collect();
                let n = s
                    .parse::<f64>()
                    .map_err(|_| syntax(format!("invalid number '{s}'")))?;
                out.push(Tok::Num(n));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
                {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
            other => return Err(syntax(format!("unexpected character '{other}'"))),
        }
    }
    Ok(out)
}

// ---- AST -----------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    In,
    NotIn,
    Contains,
    NotContains,
    ContainsWords,
    NotContainsWords,
    Under,
    NotUnder,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Str(String),
    Num(f64),
    Macro { name: String, offset: f64 },
    Field(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Cmp {
        field: String,
        op: Op,
        rhs: Vec<Operand>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    pub columns: Vec<String>,
    pub filter: Option<Expr>,
    pub order: Vec<(String, bool)>,
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn peek_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn expect_word(&mut self, w: &str) -> Result<(), WiqlError> {
        if self.peek_word(w) {
            self.pos += 1;
            Ok(())
        } else {
            Err(syntax(format!(
                "expecting {} {}",
                w.to_uppercase(),
                self.near()
            )))
        }
    }

    fn near(&self) -> String {
        match self.peek() {
            None => "at the end of the query".to_string(),
            Some(t) => format!("near {}", describe(t)),
        }
    }

    fn field(&mut self) -> Result<String, WiqlError> {
        match self.next() {
            Some(Tok::Field(f)) => Ok(f),
            // Bare reference names are accepted too (`System.Id`).
            Some(Tok::Word(w)) if w.contains('.') => Ok(w),
            _ => {
                self.pos -= 1;
                Err(syntax(format!("expecting a field name {}", self.near())))
            }
        }
    }

    fn query(&mut self) -> Result<Query, WiqlError> {
        self.expect_word("select")?;
        let mut columns = vec![self.field()?];
        while self.peek() == Some(&Tok::Comma) {
            self.pos += 1;
            columns.push(self.field()?);
        }
        self.expect_word("from")?;
        match self.next() {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("workitems") => {}
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("workitemlinks") => {
                return Err(WiqlError(
                    "VS402376: The simulator only evaluates flat queries (FROM WorkItems); FROM WorkItemLinks is not supported.".to_string(),
                ))
            }
            _ => {
                self.pos -= 1;
                return Err(syntax(format!("expecting WorkItems after FROM {}", self.near())));
            }
        }
        let mut filter = None;
        if self.peek_word("where") {
            self.pos += 1;
            filter = Some(self.or_expr()?);
        }
        let mut order = Vec::new();
        if self.peek_word("order") {
            self.pos += 1;
            self.expect_word("by")?;
            loop {
                let f = self.field()?;
                let mut desc = false;
                if self.peek_word("asc") {
                    self.pos += 1;
                } else if self.peek_word("desc") {
                    self.pos += 1;
                    desc = true;
                }
                order.push((f, desc));
                if self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        if self.peek().is_some() {
            return Err(syntax(format!("unexpected token {}", self.near())));
        }
        Ok(Query {
            columns,
            filter,
            order,
        })
    }

    fn or_expr(&mut self) -> Result<Expr, WiqlError> {
        let mut parts = vec![self.and_expr()?];
        while self.peek_word("or") {
            self.pos += 1;
            parts.push(self.and_expr()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and_expr(&mut self) -> Result<Expr, WiqlError> {
        let mut parts = vec![self.unary()?];
        while self.peek_word("and") {
            self.pos += 1;
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Expr, WiqlError> {
        if self.peek_word("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.or_expr()?;
            if self.next() != Some(Tok::RParen) {
                self.pos -= 1;
                return Err(syntax(format!("expecting ')' {}", self.near())));
            }
            return Ok(e);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, WiqlError> {
        let field = self.field()?;
        let op = match self.next() {
            Some(Tok::Op("=")) => Op::Eq,
            Some(Tok::Op("<>")) => Op::Ne,
            Some(Tok::Op(">")) => Op::Gt,
            Some(Tok::Op(">=")) => Op::Ge,
            Some(Tok::Op("<")) => Op::Lt,
            Some(Tok::Op("<=")) => Op::Le,
            Some(Tok::Word(w)) => {
                let w = w.to_lowercase();
                let negated = w == "not";
                let w = if negated {
                    match self.next() {
                        Some(Tok::Word(n)) => n.to_lowercase(),
                        _ => {
                            self.pos -= 1;
                            return Err(syntax(format!(
                                "expecting IN, CONTAINS or UNDER after NOT {}",
                                self.near()
                            )));
                        }
                    }
                } else {
                    w
                };
                match w.as_str() {
                    "in" if self.peek_word("group") => {
                        return Err(syntax("IN GROUP is not supported by the simulator"))
                    }
                    "in" => {
                        if negated {
                            Op::NotIn
                        } else {
                            Op::In
                        }
                    }
                    "contains" => {
                        let words = self.peek_word("words");
                        if words {
                            self.pos += 1;
                        }
                        match (negated, words) {
                            (false, false) => Op::Contains,
                            (true, false) => Op::NotContains,
                            (false, true) => Op::ContainsWords,
                            (true, true) => Op::NotContainsWords,
                        }
                    }
                    "under" => {
                        if negated {
                            Op::NotUnder
                        } else {
                            Op::Under
                        }
                    }
                    "ever" => return Err(syntax("EVER is not supported by the simulator")),
                    other => return Err(syntax(format!("unknown operator '{other}'"))),
                }
            }
            _ => {
                self.pos -= 1;
                return Err(syntax(format!(
                    "expecting a comparison operator {}",
                    self.near()
                )));
            }
        };
        let rhs = if matches!(op, Op::In | Op::NotIn) {
            if self.next() != Some(Tok::LParen) {
                self.pos -= 1;
                return Err(syntax(format!("expecting '(' after IN {}", self.near())));
            }
            let mut vals = vec![self.operand()?];
            loop {
                match self.next() {
                    Some(Tok::Comma) => vals.push(self.operand()?),
                    Some(Tok::RParen) => break,
                    _ => {
                        self.pos -= 1;
                        return Err(syntax(format!("expecting ',' or ')' {}", self.near())));
                    }
                }
            }
            vals
        } else {
            vec![self.operand()?]
        };
        Ok(Expr::Cmp { field, op, rhs })
    }

    fn operand(&mut self) -> Result<Operand, WiqlError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Operand::Str(s)),
            Some(Tok::Num(n)) => Ok(Operand::Num(n)),
            Some(Tok::Op("-")) => match self.next() {
                Some(Tok::Num(n)) => Ok(Operand::Num(-n)),
                _ => Err(syntax("expecting a number after '-'")),
            },
            Some(Tok::Field(f)) => Ok(Operand::Field(f)),
            Some(Tok::Macro(name)) => {
                let mut offset = 0.0;
                if let Some(Tok::Op(sign @ ("+" | "-"))) = self.peek().cloned() {
                    if let Some(Tok::Num(n)) = self.toks.get(self.pos + 1).cloned() {
                        self.pos += 2;
                        offset = if sign == "-" { -n } else { n };
                    }
                }
                Ok(Operand::Macro { name, offset })
            }
            Some(Tok::Word(w))
                if w.eq_ignore_ascii_case("true") || w.eq_ignore_ascii_case("false") =>
            {
                Ok(Operand::Str(w.to_lowercase()))
            }
            _ => {
                self.pos -= 1;
                Err(syntax(format!("expecting a value {}", self.near())))
            }
        }
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Field(f) => format!("'[{f}]'"),
        Tok::Str(s) => format!("'{s}'"),
        Tok::Num(n) => format!("'{n}'"),
        Tok::Macro(m) => format!("'@{m}'"),
        Tok::Word(w) => format!("'{w}'"),
        Tok::Op(o) => format!("'{o}'"),
        Tok::Comma => "','".to_string(),
        Tok::LParen => "'('".to_string(),
        Tok::RParen => "')'".to_string(),
    }
}

pub(crate) fn parse(q: &str) -> Result<Query, WiqlError> {
    let toks = tokenize(q)?;
    Parser { toks, pos: 0 }.query()
}

// ---- binding -----------------------------------------------------------------------------

/// What macros expand to.
#[derive(Debug, Clone)]
pub(crate) struct Env {
    pub project: Option<String>,
    pub today: Date,
    /// `"Name <unique>"` of the caller, for `@me`.
    pub me: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TVal {
    Empty,
    Num(f64),
    Text(String),
    Date(DateLit),
    Bool(bool),
}

#[derive(Debug, Clone)]
pub(crate) enum Rhs {
    Vals(Vec<TVal>),
    Field(&'static FieldDef),
}

#[derive(Debug, Clone)]
pub(crate) enum Bound {
    And(Vec<Bound>),
    Or(Vec<Bound>),
    Not(Box<Bound>),
    Cmp {
        def: &'static FieldDef,
        op: Op,
        rhs: Rhs,
    },
}

pub(crate) fn resolve_field(name: &str) -> Result<&'static FieldDef, WiqlError> {
    process::field(name).ok_or_else(|| {
        WiqlError(format!(
            "TF51005: The query references a field that does not exist. The error is caused by «[{name}]»."
        ))
    })
}

fn typed(def: &FieldDef, o: &Operand, env: &Env) -> Result<TVal, WiqlError> {
    let s = match o {
        Operand::Str(s) => s.clone(),
        Operand::Num(n) => {
            return match def.kind {
                FieldKind::Integer | FieldKind::Double => Ok(TVal::Num(*n)),
                _ => Ok(TVal::Text(fmt_num(*n).to_lowercase())),
            }
        }
        Operand::Macro { name, offset } => match name.as_str() {
            "project" => env.project.clone().ok_or_else(|| {
                WiqlError("VS402371: The @project macro can only be used when the query is run in the context of a project.".to_string())
            })?,
            "today" => {
                let d = env.today + Duration::days(*offset as i64);
                return Ok(TVal::Date(DateLit::Day(d)));
            }
            "me" => env.me.clone(),
            other => {
                return Err(WiqlError(format!(
                    "VS402372: The macro '@{other}' is not supported by the simulator."
                )))
            }
        },
        Operand::Field(_) => return Ok(TVal::Empty),
    };
    if s.is_empty() {
        return Ok(TVal::Empty);
    }
    match def.kind {
        FieldKind::Integer | FieldKind::Double => {
            s.trim().parse::<f64>().map(TVal::Num).map_err(|_| {
                WiqlError(format!(
                    "TF51011: The specified value '{s}' for field '{}' is not a valid number.",
                    def.name
                ))
            })
        }
        FieldKind::DateTime => parse_date(&s).map(TVal::Date).ok_or_else(|| {
            WiqlError(format!(
                "TF51011: The specified value '{s}' for field '{}' is not a valid date.",
                def.name
            ))
        }),
        FieldKind::Boolean => Ok(TVal::Bool(s.eq_ignore_ascii_case("true") || s == "1")),
        _ => Ok(TVal::Text(s.to_lowercase())),
    }
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

pub(crate) fn bind(e: &Expr, env: &Env) -> Result<Bound, WiqlError> {
    Ok(match e {
        Expr::And(v) => Bound::And(v.iter().map(|x| bind(x, env)).collect::<Result<_, _>>()?),
        Expr::Or(v) => Bound::Or(v.iter().map(|x| bind(x, env)).collect::<Result<_, _>>()?),
        Expr::Not(x) => Bound::Not(Box::new(bind(x, env)?)),
        Expr::Cmp { field, op, rhs } => {
            let def = resolve_field(field)?;
            let rhs = match rhs.as_slice() {
                [Operand::Field(other)] => Rhs::Field(resolve_field(other)?),
                vals => Rhs::Vals(
                    vals.iter()
                        .map(|o| typed(def, o, env))
                        .collect::<Result<_, _>>()?,
                ),
            };
            if matches!(op, Op::Under | Op::NotUnder) && def.kind != FieldKind::TreePath {
                return Err(WiqlError(format!(
                    "VS402373: The operator UNDER can only be used with tree path fields; '{}' is not one.",
                    def.name
                )));
            }
            Bound::Cmp { def, op: *op, rhs }
        }
    })
}

// ---- evaluation ---------------------------------------------------------------------------

fn item_val(def: &FieldDef, v: Option<&Value>) -> TVal {
    let Some(v) = v else { return TVal::Empty };
    match def.kind {
        FieldKind::Integer | FieldKind::Double => {
            json_as_f64(v).map(TVal::Num).unwrap_or(TVal::Empty)
        }
        FieldKind::DateTime => v
            .as_str()
            .and_then(parse_instant)
            .map(|t| TVal::Date(DateLit::Instant(t)))
            .unwrap_or(TVal::Empty),
        FieldKind::Boolean => v.as_bool().map(TVal::Bool).unwrap_or(TVal::Empty),
        _ => match v {
            Value::String(s) if s.is_empty() => TVal::Empty,
            Value::String(s) => TVal::Text(s.to_lowercase()),
            Value::Null => TVal::Empty,
            other => TVal::Text(other.to_string().to_lowercase()),
        },
    }
}

fn instant(d: &DateLit) -> OffsetDateTime {
    match d {
        DateLit::Instant(t) => *t,
        DateLit::Day(d) => super::util::day_start(*d),
    }
}

/// Orders two values of the same field; `None` when they cannot be ordered.
fn order(def: &FieldDef, a: &TVal, b: &TVal) -> Option<Ordering> {
    match (a, b) {
        (TVal::Num(x), TVal::Num(y)) => x.partial_cmp(y),
        (TVal::Date(x), TVal::Date(y)) => match (x, y) {
            // Date-only literals compare by day.
            (DateLit::Instant(t), DateLit::Day(d)) => Some(t.date().cmp(d)),
            (DateLit::Day(d), DateLit::Instant(t)) => Some(d.cmp(&t.date())),
            _ => Some(instant(x).cmp(&instant(y))),
        },
        (TVal::Bool(x), TVal::Bool(y)) => Some(x.cmp(y)),
        (TVal::Text(x), TVal::Text(y)) if def.kind == FieldKind::Identity => {
            Some(identity_display(x).cmp(identity_display(y)))
        }
        (TVal::Text(x), TVal::Text(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn identity_parts(s: &str) -> (&str, Option<&str>) {
    match (s.rfind('<'), s.ends_with('>')) {
        (Some(lt), true) => (s[..lt].trim(), Some(s[lt + 1..s.len() - 1].trim())),
        _ => (s.trim(), None),
    }
}

fn identity_display(s: &str) -> &str {
    identity_parts(s).0
}

fn equal(def: &FieldDef, item: &TVal, lit: &TVal) -> bool {
    match (item, lit) {
        (TVal::Empty, TVal::Empty) => true,
        (TVal::Empty, _) | (_, TVal::Empty) => false,
        (TVal::Text(i), TVal::Text(l)) if def.kind == FieldKind::Identity => {
            let (idisp, iuniq) = identity_parts(i);
            let (ldisp, luniq) = identity_parts(l);
            match (iuniq, luniq) {
                (Some(iu), Some(lu)) => iu == lu,
                (Some(iu), None) => ldisp == idisp || ldisp == iu,
                _ => idisp == ldisp,
            }
        }
        _ => order(def, item, lit) == Some(Ordering::Equal),
    }
}

fn contains(def: &FieldDef, item: &TVal, lit: &TVal, words: bool) -> bool {
    let (TVal::Text(i), TVal::Text(l)) = (item, lit) else {
        return matches!(lit, TVal::Empty);
    };
    if def.ref_name == "System.Tags" && !words {
        return split_tags(i).iter().any(|t| t == l);
    }
    if words {
        let toks = |s: &str| -> Vec<String> {
            s.split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect()
        };
        let hay = toks(i);
        let needle = toks(l);
        if needle.is_empty() {
            return true;
        }
        return hay.windows(needle.len()).any(|w| w == needle.as_slice());
    }
    i.contains(l.as_str())
}

fn under(item: &TVal, lit: &TVal) -> bool {
    match (item, lit) {
        (TVal::Text(i), TVal::Text(l)) => {
            let l = l.trim_start_matches('\\');
            i == l || i.starts_with(&format!("{l}\\"))
        }
        _ => false,
    }
}

/// Evaluates a bound expression against one item's fields.
pub(crate) fn eval(b: &Bound, fields: &BTreeMap<String, Value>) -> bool {
    match b {
        Bound::And(v) => v.iter().all(|x| eval(x, fields)),
        Bound::Or(v) => v.iter().any(|x| eval(x, fields)),
        Bound::Not(x) => !eval(x, fields),
        Bound::Cmp { def, op, rhs } => {
            let item = item_val(def, fields.get(def.ref_name));
            let vals: Vec<TVal> = match rhs {
                Rhs::Vals(v) => v.clone(),
                Rhs::Field(other) => vec![item_val(other, fields.get(other.ref_name))],
            };
            let first = vals.first().cloned().unwrap_or(TVal::Empty);
            let ord = |want: &[Ordering]| -> bool {
                order(def, &item, &first).is_some_and(|o| want.contains(&o))
            };
            match op {
                Op::Eq => equal(def, &item, &first),
                Op::Ne => !equal(def, &item, &first),
                Op::Gt => ord(&[Ordering::Greater]),
                Op::Ge => ord(&[Ordering::Greater, Ordering::Equal]),
                Op::Lt => ord(&[Ordering::Less]),
                Op::Le => ord(&[Ordering::Less, Ordering::Equal]),
                Op::In => vals.iter().any(|v| equal(def, &item, v)),
                Op::NotIn => !vals.iter().any(|v| equal(def, &item, v)),
                Op::Contains => contains(def, &item, &first, false),
                Op::NotContains => !contains(def, &item, &first, false),
                Op::ContainsWords => contains(def, &item, &first, true),
                Op::NotContainsWords => !contains(def, &item, &first, true),
                Op::Under => under(&item, &first),
                Op::NotUnder => !under(&item, &first),
            }
        }
    }
}

/// Compares two items for `ORDER BY` (empty values first when ascending).
pub(crate) fn compare_for_sort(
    order_by: &[(&'static FieldDef, bool)],
    a: &BTreeMap<String, Value>,
    b: &BTreeMap<String, Value>,
) -> Ordering {
    for (def, desc) in order_by {
        let x = item_val(def, a.get(def.ref_name));
        let y = item_val(def, b.get(def.ref_name));
        let o = match (&x, &y) {
            (TVal::Empty, TVal::Empty) => Ordering::Equal,
            (TVal::Empty, _) => Ordering::Less,
            (_, TVal::Empty) => Ordering::Greater,
            _ => order(def, &x, &y).unwrap_or(Ordering::Equal),
        };
        let o = if *desc { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env() -> Env {
        Env {
            project: Some("Fabrikam".into()),
            today: Date::from_calendar_date(2024, time::Month::June, 10).expect("date"),
            me: "Dana Engineer <dana@contoso.example>".into(),
        }
    }

    fn item(v: Value) -> BTreeMap<String, Value> {
        v.as_object()
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    fn matches(q: &str, fields: Value) -> bool {
        let parsed = parse(q).expect("parse");
        let bound = bind(parsed.filter.as_ref().expect("filter"), &env()).expect("bind");
        eval(&bound, &item(fields))
    }

    #[test]
    fn parses_mixed_case_keywords_and_display_names() {
        let q = parse("select [System.Id], [System.Title], [State] from workitems where [Work Item Type] = 'Bug' and [State] <> 'Closed' and [System.Tags] contains 'q3' order by [Priority] asc, [System.ChangedDate] desc").expect("parse");
        assert_eq!(q.columns.len(), 3);
        assert_eq!(q.order.len(), 2);
        assert!(q.order[1].1);
        assert!(matches!(q.filter, Some(Expr::And(ref v)) if v.len() == 3));
    }

    #[test]
    fn string_escapes_and_case_insensitivity() {
        let it = json!({"System.Title": "Dana's idea"});
        assert!(matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.Title] = 'dana''s IDEA'",
            it.clone()
        ));
        assert!(matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.Title] CONTAINS 'IDEA'",
            it.clone()
        ));
        assert!(matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.Title] CONTAINS WORDS 'dana s'",
            it.clone()
        ));
        assert!(!matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.Title] CONTAINS WORDS 'ide'",
            it
        ));
    }

    #[test]
    fn numbers_in_not_in_and_precedence() {
        let it =
            json!({"System.Id": 12, "Microsoft.VSTS.Common.Priority": 2, "System.State": "Active"});
        assert!(matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.Id] > 9 AND [System.Id] <= 12",
            it.clone()
        ));
        assert!(matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.Id] IN (1, 12, 30)",
            it.clone()
        ));
        assert!(!matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.Id] NOT IN (12)",
            it.clone()
        ));
        // AND binds tighter than OR.
        assert!(matches("SELECT [System.Id] FROM WorkItems WHERE [System.Id] = 1 OR [System.Id] = 12 AND [System.State] = 'active'", it.clone()));
        assert!(!matches("SELECT [System.Id] FROM WorkItems WHERE ([System.Id] = 1 OR [System.Id] = 12) AND NOT [System.State] = 'Active'", it.clone()));
        assert!(matches(
            "SELECT [System.Id] FROM WorkItems WHERE [Priority] < 3",
            it
        ));
    }

    #[test]
    fn tags_contains_means_whole_tag() {
        let it = json!({"System.Tags": "customer; q3"});
        assert!(matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.Tags] CONTAINS 'Customer'",
            it.clone()
        ));
        assert!(!matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.Tags] CONTAINS 'cust'",
            it.clone()
        ));
        assert!(matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.Tags] NOT CONTAINS 'tech-debt'",
            it
        ));
    }

    #[test]
    fn dates_macros_and_under() {
        let it = json!({
            "System.ChangedDate": "2024-06-09T23:59:59.000Z",
            "System.TeamProject": "Fabrikam",
            "System.AreaPath": "Fabrikam\\Web",
            "System.AssignedTo": "Dana Engineer <dana@contoso.example>"
        });
        assert!(matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.ChangedDate] >= @today - 1",
            it.clone()
        ));
        assert!(!matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.ChangedDate] >= @today",
            it.clone()
        ));
        assert!(matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.ChangedDate] > '2024-06-09T12:00:00Z'",
            it.clone()
        ));
        assert!(matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project",
            it.clone()
        ));
        assert!(matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.AreaPath] UNDER 'Fabrikam'",
            it.clone()
        ));
        assert!(!matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.AreaPath] UNDER 'Fabrikam\\Mobile'",
            it.clone()
        ));
        assert!(matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.AssignedTo] = @me",
            it.clone()
        ));
        assert!(matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.AssignedTo] = 'dana@contoso.example'",
            it.clone()
        ));
        assert!(matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.AssignedTo] = 'Dana Engineer'",
            it
        ));
    }

    #[test]
    fn empty_values() {
        let it = json!({"System.Title": "x"});
        assert!(matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.AssignedTo] = ''",
            it.clone()
        ));
        assert!(matches(
            "SELECT [System.Id] FROM WorkItems WHERE [System.AssignedTo] <> 'Dana Engineer'",
            it.clone()
        ));
        assert!(!matches(
            "SELECT [System.Id] FROM WorkItems WHERE [Microsoft.VSTS.Common.Priority] > 0",
            it
        ));
    }

    #[test]
    fn errors() {
        for bad in [
            "SELECT FROM WorkItems",
            "SELECT [System.Id] WorkItems",
            "SELECT [System.Id] FROM WorkItems WHERE [System.Id] ==",
            "SELECT [System.Id] FROM WorkItems WHERE ([System.Id] = 1",
            "SELECT [System.Id] FROM WorkItems WHERE [System.Title] = 'open",
            "SELECT [System.Id] FROM WorkItems WHERE [System.Id] = 1 garbage",
            "SELECT [System.Id] FROM WorkItems WHERE [System.AssignedTo] EVER 'x'",
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.0.starts_with("VS402"), "{bad}: {}", e.0);
        }
        let q = parse("SELECT [System.Id] FROM WorkItems WHERE [Nope.Field] = 1").expect("parse");
        let e = bind(q.filter.as_ref().expect("filter"), &env()).expect_err("unknown field");
        assert!(e.0.starts_with("TF51005"));
        let q =
            parse("SELECT [System.Id] FROM WorkItems WHERE [System.Id] = 'abc'").expect("parse");
        assert!(bind(q.filter.as_ref().expect("filter"), &env()).is_err());
        let q = parse("SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project")
            .expect("parse");
        let no_project = Env {
            project: None,
            ..env()
        };
        assert!(bind(q.filter.as_ref().expect("filter"), &no_project).is_err());
    }

    #[test]
    fn sorting() {
        let defs = vec![
            (resolve_field("Priority").expect("p"), false),
            (resolve_field("System.Id").expect("id"), true),
        ];
        let a = item(json!({"System.Id": 1, "Microsoft.VSTS.Common.Priority": 2}));
        let b = item(json!({"System.Id": 2, "Microsoft.VSTS.Common.Priority": 2}));
        let c = item(json!({"System.Id": 3}));
        assert_eq!(compare_for_sort(&defs, &a, &b), Ordering::Greater);
        assert_eq!(compare_for_sort(&defs, &c, &a), Ordering::Less);
    }
}

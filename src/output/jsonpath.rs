//! kubectl's JSONPath templates (`-o jsonpath=...`, `custom-columns`, `--sort-by`), evaluated on
//! `serde_json::Value`.
//!
//! The syntax is kubectl's (client-go `util/jsonpath`), not RFC 9535: a template is text with
//! actions in braces, `{.items[*].metadata.name}`, `{range .items[*]}{.metadata.name}{"\n"}{end}`.
//! Inside an action: `.field` (any characters up to `.`, `[`, `,`, `]`, `{`, `}`, `$`, `@` or a
//! space; `\.` escapes a dot, as in `.metadata.labels.app\.kubernetes\.io/name`), `..field`
//! (recursive descent), `[n]`, `[-1]`, `[start:end:step]`, `[*]`, `.*`, unions `[0,2]` and
//! `['a','b']`, filters `[?(@.type=="Ready")]` with `== != < > <= >=` or bare existence, quoted
//! text `{"\t"}`, `@`/`$` for the current object. Missing keys print nothing (kubectl's
//! `--allow-missing-template-keys`); an index out of range is an error. Results of one action
//! are separated by spaces; strings print raw, numbers and booleans as written, objects and
//! arrays as compact JSON. One difference on purpose: `['a.b']` is the single key `a.b` (kubectl
//! splits it at the dot, which never finds anything).
//!
//! Written here rather than translated to an RFC 9535 crate: kubectl's grammar (fields with
//! dashes and slashes, range/end, text actions, its slice and filter rules) would need a parser
//! of its own anyway, and the evaluator over JSON is small.

use std::fmt::Write as _;

use serde_json::Value;

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    source: String,
    items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Text(String),
    Action(Vec<Node>),
    Range { path: Vec<Node>, body: Vec<Item> },
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Field(String),
    Wildcard,
    Recursive,
    Slice(Slice),
    Union(Vec<Vec<Node>>),
    Filter(Box<Filter>),
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Identifier(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Slice {
    start: Option<i64>,
    end: Option<i64>,
    /// `[n]`: end is n+1, derived (so `[-1]` ends at the length).
    single: bool,
    step: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Exists,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    left: Vec<Node>,
    op: Op,
    right: Vec<Node>,
}

/// A template that does not parse or cannot be evaluated, with kubectl's wording where it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPathError(pub String);

impl std::fmt::Display for JsonPathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JsonPathError {}

type Result<T> = std::result::Result<T, JsonPathError>;

fn err<T>(message: impl Into<String>) -> Result<T> {
    Err(JsonPathError(message.into()))
}

impl Template {
    /// Parses a template such as `{.items[*].metadata.name}` or
    /// `{range .items[*]}{.metadata.name}{"\n"}{end}`.
    pub fn parse(source: &str) -> Result<Template> {
        let chars: Vec<char> = source.chars().collect();
        let mut flat: Vec<Item> = Vec::new();
        let mut text = String::new();
        let mut pos = 0;
        while pos < chars.len() {
            if chars[pos] == '{' {
                if !text.is_empty() {
                    flat.push(Item::Text(std::mem::take(&mut text)));
                }
                let mut p = Parser {
                    chars: &chars,
                    pos: pos + 1,
                };
                let nodes = p.action()?;
                pos = p.pos;
                flat.push(Item::Action(nodes));
            } else {
                text.push(chars[pos]);
                pos += 1;
            }
        }
        if !text.is_empty() {
            flat.push(Item::Text(text));
        }
        let mut iter = flat.into_iter();
        let items = nest(&mut iter, false)?;
        Ok(Template {
            source: source.to_string(),
            items,
        })
    }

    /// kubectl's relaxed form for `custom-columns` and `--sort-by`: `.a.b`, `a.b`, `{.a.b}` or
    /// `{a.b}` all mean `{.a.b}`.
    pub fn parse_relaxed(expr: &str) -> Result<Template> {
        let inner = expr.trim();
        let inner = inner.strip_prefix('{').unwrap_or(inner);
        let inner = inner.strip_suffix('}').unwrap_or(inner);
        if inner.is_empty() || inner.contains('{') || inner.contains('}') {
            return err(format!(
                "unexpected path string {expr:?}, expected a 'name1.name2' or '.name1.name2' or \
                 '{{name1.name2}}' or '{{.name1.name2}}'"
            ));
        }
        let path = if inner.starts_with('.') || inner.starts_with('[') {
            inner.to_string()
        } else {
            format!(".{inner}")
        };
        Template::parse(&format!("{{{path}}}"))
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The printed template for `data`.
    pub fn render(&self, data: &Value) -> Result<String> {
        let mut out = String::new();
        render_items(&self.items, data, &mut out)?;
        Ok(out)
    }

    /// Every value the template's actions find, in order (what `-o jsonpath-as-json` prints,
    /// and what `custom-columns` and `--sort-by` use). Text is not included.
    pub fn values(&self, data: &Value) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        collect_items(&self.items, data, &mut out)?;
        Ok(out)
    }
}

/// Turns the flat list of actions into nested ranges.
fn nest(iter: &mut std::vec::IntoIter<Item>, in_range: bool) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    while let Some(item) = iter.next() {
        match item {
            Item::Action(nodes) => match nodes.first() {
                Some(Node::Identifier(id)) if id == "range" => {
                    let path = nodes[1..].to_vec();
                    let body = nest(iter, true)?;
                    items.push(Item::Range { path, body });
                }
                Some(Node::Identifier(id)) if id == "end" => {
                    if nodes.len() > 1 {
                        return err("unexpected path after end");
                    }
                    if !in_range {
                        return err("not in range, nothing to end");
                    }
                    return Ok(items);
                }
                _ => {
                    if let Some(id) = nodes.iter().find_map(|n| match n {
                        Node::Identifier(id) => Some(id),
                        _ => None,
                    }) {
                        return err(format!("unrecognized identifier {id}"));
                    }
                    items.push(Item::Action(nodes));
                }
            },
            other => items.push(other),
        }
    }
    if in_range {
        return err("range without a matching {end}");
    }
    Ok(items)
}

fn render_items(items: &[Item], data: &Value, out: &mut String) -> Result<()> {
    for item in items {
        match item {
            Item::Text(t) => out.push_str(t),
            Item::Action(nodes) => {
                let values = eval_list(nodes, vec![data.clone()])?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(&print_value(v));
                }
            }
            Item::Range { path, body } => {
                for v in eval_list(path, vec![data.clone()])? {
                    render_items(body, &v, out)?;
                }
            }
        }
    }
    Ok(())
}

fn collect_items(items: &[Item], data: &Value, out: &mut Vec<Value>) -> Result<()> {
    for item in items {
        match item {
            Item::Text(_) => {}
            Item::Action(nodes) => {
                // Quoted text inside an action is output, not data.
                if !matches!(nodes.as_slice(), [Node::Text(_)]) {
                    out.extend(eval_list(nodes, vec![data.clone()])?);
                }
            }
            Item::Range { path, body } => {
                for v in eval_list(path, vec![data.clone()])? {
                    collect_items(body, &v, out)?;
                }
            }
        }
    }
    Ok(())
}

/// How kubectl prints one result: strings raw, objects and arrays as compact JSON.
pub fn print_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(_) | Value::Object(_) => serde_json::to_string(v).unwrap_or_default(),
    }
}

/// Go's `%v` of a decoded JSON value, as kubectl's custom-columns prints cells:
/// `map[app:web tier:db]`, `[a b]`.
pub fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(go_value).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(m) => {
            let mut s = String::from("map[");
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                let _ = write!(s, "{k}:{}", go_value(v));
            }
            s.push(']');
            s
        }
    }
}

fn eval_list(nodes: &[Node], input: Vec<Value>) -> Result<Vec<Value>> {
    let mut cur = input;
    for node in nodes {
        cur = eval(node, cur)?;
    }
    Ok(cur)
}

fn eval(node: &Node, input: Vec<Value>) -> Result<Vec<Value>> {
    match node {
        Node::Text(t) => Ok(vec![Value::String(t.clone())]),
        Node::Int(i) => Ok(input.iter().map(|_| Value::from(*i)).collect()),
        Node::Float(f) => Ok(input.iter().map(|_| Value::from(*f)).collect()),
        Node::Bool(b) => Ok(input.iter().map(|_| Value::Bool(*b)).collect()),
        Node::Identifier(id) => err(format!("unrecognized identifier {id}")),
        Node::Field(name) => Ok(input
            .into_iter()
            .filter_map(|v| match v {
                Value::Object(mut m) => m.remove(name),
                _ => None,
            })
            .collect()),
        Node::Wildcard => Ok(input.into_iter().flat_map(children).collect()),
        Node::Recursive => {
            let mut out = Vec::new();
            recurse(input, &mut out);
            Ok(out)
        }
        Node::Slice(s) => {
            let mut out = Vec::new();
            for v in input {
                match v {
                    Value::Null => {}
                    Value::Array(a) => out.extend(slice(s, a)?),
                    other => {
                        return err(format!("{} is not array or slice", type_name(&other)));
                    }
                }
            }
            Ok(out)
        }
        Node::Union(parts) => {
            let mut out = Vec::new();
            for part in parts {
                out.extend(eval_list(part, input.clone())?);
            }
            Ok(out)
        }
        Node::Filter(f) => {
            let mut out = Vec::new();
            for v in input {
                let Value::Array(items) = v else {
                    return err(format!(
                        "{} is not array or slice and cannot be filtered",
                        print_value(&v)
                    ));
                };
                for item in items {
                    if filter_keeps(f, &item)? {
                        out.push(item);
                    }
                }
            }
            Ok(out)
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "map[string]interface {}",
    }
}

fn children(v: Value) -> Vec<Value> {
    match v {
        Value::Object(m) => m.into_iter().map(|(_, v)| v).collect(),
        Value::Array(a) => a,
        _ => Vec::new(),
    }
}

/// Every container at or below `input` (the containers themselves, then what is inside).
fn recurse(input: Vec<Value>, out: &mut Vec<Value>) {
    for v in input {
        let kids = children(v.clone());
        if !kids.is_empty() {
            out.push(v);
            recurse(kids, out);
        }
    }
}

fn slice(s: &Slice, a: Vec<Value>) -> Result<Vec<Value>> {
    let len = a.len() as i64;
    let mut start = s.start.unwrap_or(0);
    if start < 0 {
        start += len;
    }
    let mut end = match (s.single, s.end) {
        (true, _) => s.start.unwrap_or(0) + 1,
        (false, Some(e)) => e,
        (false, None) => len,
    };
    if end < 0 || (s.single && end == 0) {
        end += len;
    }
    if end == start {
        return Ok(Vec::new());
    }
    if start >= len || start < 0 {
        return err(format!(
            "array index out of bounds: index {start}, length {len}"
        ));
    }
    if end > len || end < 0 {
        return err(format!(
            "array index out of bounds: index {}, length {len}",
            end - 1
        ));
    }
    if start > end {
        return err(format!(
            "starting index {start} is greater than ending index {end}"
        ));
    }
    let step = match s.step {
        Some(st) if st <= 0 => return err("step must be > 0"),
        Some(st) => st as usize,
        None => 1,
    };
    Ok(a.into_iter()
        .skip(start as usize)
        .take((end - start) as usize)
        .step_by(step)
        .collect())
}

fn filter_keeps(f: &Filter, item: &Value) -> Result<bool> {
    let lefts = eval_list(&f.left, vec![item.clone()]);
    if f.op == Op::Exists {
        return Ok(lefts.is_ok_and(|l| !l.is_empty()));
    }
    let lefts = lefts?;
    let left = match lefts.as_slice() {
        [] => return Ok(false),
        [one] => one,
        _ => return err("can only compare one element at a time"),
    };
    let rights = eval_list(&f.right, vec![item.clone()])?;
    let right = match rights.as_slice() {
        [] => return Ok(false),
        [one] => one,
        _ => return err("can only compare one element at a time"),
    };
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (left, right) {
        (Value::Number(a), Value::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Value::Bool(b)) => match f.op {
            Op::Eq | Op::Ne => Some(a.cmp(b)),
            _ => return err("bool values can only be compared with == and !="),
        },
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        _ => None,
    };
    Ok(match (f.op, ord) {
        (Op::Eq, Some(o)) => o == Ordering::Equal,
        (Op::Ne, Some(o)) => o != Ordering::Equal,
        (Op::Ne, None) => true,
        (Op::Lt, Some(o)) => o == Ordering::Less,
        (Op::Gt, Some(o)) => o == Ordering::Greater,
        (Op::Le, Some(o)) => o != Ordering::Greater,
        (Op::Ge, Some(o)) => o != Ordering::Less,
        _ => false,
    })
}

struct Parser<'a> {
    chars: &'a [char],
    pos: usize,
}

fn is_terminator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\r' | '\n' | '.' | ',' | '[' | ']' | '$' | '@' | '{' | '}'
    )
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(i, c)| self.chars.get(self.pos + i) == Some(&c))
    }

    /// The nodes of one action; `pos` is just after `{` and ends just after `}`.
    fn action(&mut self) -> Result<Vec<Node>> {
        let nodes = self.nodes(Some('}'))?;
        Ok(nodes)
    }

    /// Nodes up to `close` (consumed) or the end of input when `close` is None.
    fn nodes(&mut self, close: Option<char>) -> Result<Vec<Node>> {
        let mut nodes = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return match close {
                    Some(_) => err("unclosed action"),
                    None => Ok(nodes),
                };
            };
            if Some(c) == close {
                self.pos += 1;
                return Ok(nodes);
            }
            if self.starts_with("[?(") {
                self.pos += 3;
                nodes.push(self.filter()?);
                continue;
            }
            if self.starts_with("..") {
                if nodes.last() == Some(&Node::Recursive) {
                    return err("invalid multiple recursive descent");
                }
                self.pos += 2;
                nodes.push(Node::Recursive);
                if self.peek().is_some_and(is_alnum) {
                    nodes.push(self.field());
                }
                continue;
            }
            self.pos += 1;
            match c {
                '\r' | '\n' => return err("unclosed action"),
                ' ' | '\t' | '@' | '$' => {}
                '[' => nodes.push(self.array()?),
                '"' | '\'' => nodes.push(Node::Text(self.quoted(c)?)),
                '.' => nodes.push(self.field()),
                '+' | '-' | '0'..='9' => {
                    self.pos -= 1;
                    nodes.push(self.number()?);
                }
                c if is_alnum(c) => {
                    self.pos -= 1;
                    let word = self.word();
                    nodes.push(match word.as_str() {
                        "true" => Node::Bool(true),
                        "false" => Node::Bool(false),
                        _ => Node::Identifier(word),
                    });
                }
                other => {
                    return err(format!(
                        "unrecognized character in action: {other:?} (U+{:04X})",
                        other as u32
                    ));
                }
            }
        }
    }

    fn word(&mut self) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if is_terminator(c) {
                break;
            }
            s.push(c);
            self.pos += 1;
        }
        s
    }

    /// A field name after `.`: up to an unescaped terminator; `\x` is `x`.
    fn field(&mut self) -> Node {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if c == '\\' {
                self.pos += 1;
                if let Some(n) = self.peek() {
                    s.push(n);
                    self.pos += 1;
                }
                continue;
            }
            if is_terminator(c) {
                break;
            }
            s.push(c);
            self.pos += 1;
        }
        if s == "*" {
            Node::Wildcard
        } else {
            Node::Field(s)
        }
    }

    fn number(&mut self) -> Result<Node> {
        let mut s = String::new();
        if let Some(c @ ('+' | '-')) = self.peek() {
            s.push(c);
            self.pos += 1;
        }
        while let Some(c) = self.peek() {
            if c == '.' || c.is_ascii_digit() {
                s.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        if let Ok(i) = s.parse::<i64>() {
            return Ok(Node::Int(i));
        }
        match s.parse::<f64>() {
            Ok(f) => Ok(Node::Float(f)),
            Err(_) => err(format!("cannot parse number {s}")),
        }
    }

    /// A quoted string (the opening quote consumed), with Go's escapes (`\n`, `\t`, `\"`, ...).
    fn quoted(&mut self, quote: char) -> Result<String> {
        let mut s = String::new();
        loop {
            let Some(c) = self.peek() else {
                return err("unterminated quoted string");
            };
            self.pos += 1;
            match c {
                '\n' => return err("unterminated quoted string"),
                '\\' => {
                    let Some(e) = self.peek() else {
                        return err("unterminated quoted string");
                    };
                    self.pos += 1;
                    s.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '0' => '\0',
                        'a' => '\u{7}',
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        'v' => '\u{b}',
                        other => other,
                    });
                }
                c if c == quote => return Ok(s),
                c => s.push(c),
            }
        }
    }

    /// `[...]` (the `[` consumed): index, slice, `*`, union or quoted key.
    fn array(&mut self) -> Result<Node> {
        let mut text = String::new();
        loop {
            match self.peek() {
                None | Some('\n') => return err("unterminated array"),
                Some(']') => {
                    self.pos += 1;
                    break;
                }
                Some(c) => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
        array_node(&text)
    }

    /// `[?(...)]` (the `[?(` consumed).
    fn filter(&mut self) -> Result<Node> {
        let mut text = String::new();
        let mut quote: Option<char> = None;
        loop {
            let Some(c) = self.peek() else {
                return err("unterminated filter");
            };
            self.pos += 1;
            match c {
                '\n' => return err("unterminated filter"),
                '"' | '\'' if quote.is_none() => quote = Some(c),
                c if Some(c) == quote && !text.ends_with('\\') => quote = None,
                ')' if quote.is_none() => break,
                _ => {}
            }
            text.push(c);
        }
        if self.peek() != Some(']') {
            return err("unclosed array expect ]");
        }
        self.pos += 1;
        let op_at = text.find(['!', '<', '>', '=']);
        let filter = match op_at {
            None => Filter {
                left: parse_inner(&text)?,
                op: Op::Exists,
                right: Vec::new(),
            },
            Some(i) => {
                let rest = &text[i..];
                let op_len = rest
                    .chars()
                    .take_while(|c| matches!(c, '!' | '<' | '>' | '=' | '~'))
                    .count();
                let op = match &rest[..op_len] {
                    "==" => Op::Eq,
                    "!=" => Op::Ne,
                    "<" => Op::Lt,
                    ">" => Op::Gt,
                    "<=" => Op::Le,
                    ">=" => Op::Ge,
                    other => return err(format!("unrecognized filter operator {other}")),
                };
                Filter {
                    left: parse_inner(&text[..i])?,
                    op,
                    right: parse_inner(&rest[op_len..])?,
                }
            }
        };
        Ok(Node::Filter(Box::new(filter)))
    }
}

/// The nodes of an action's text without braces.
fn parse_inner(text: &str) -> Result<Vec<Node>> {
    let chars: Vec<char> = text.trim().chars().collect();
    let mut p = Parser {
        chars: &chars,
        pos: 0,
    };
    p.nodes(None)
}

fn array_node(text: &str) -> Result<Node> {
    let text = text.trim();
    if text == "*" {
        return Ok(Node::Slice(Slice {
            start: None,
            end: None,
            single: false,
            step: None,
        }));
    }
    if text.contains(',') {
        let parts = text
            .split(',')
            .map(|part| Ok(vec![array_node(part)?]))
            .collect::<Result<Vec<_>>>()?;
        return Ok(Node::Union(parts));
    }
    for q in ['\'', '"'] {
        if text.len() >= 2 && text.starts_with(q) && text.ends_with(q) {
            return Ok(Node::Field(text[1..text.len() - 1].replace('\\', "")));
        }
    }
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() > 3 {
        return err(format!("invalid array index {text}"));
    }
    let num = |s: &str| -> Result<Option<i64>> {
        if s.is_empty() {
            Ok(None)
        } else {
            s.parse::<i64>()
                .map(Some)
                .map_err(|_| JsonPathError(format!("invalid array index {text}")))
        }
    };
    let start = num(parts[0])?;
    if parts.len() == 1 {
        if start.is_none() {
            return err(format!("invalid array index {text}"));
        }
        return Ok(Node::Slice(Slice {
            start,
            end: None,
            single: true,
            step: None,
        }));
    }
    Ok(Node::Slice(Slice {
        start,
        end: num(parts[1])?,
        single: false,
        step: if parts.len() == 3 {
            num(parts[2])?
        } else {
            None
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(template: &str, data: &Value) -> String {
        Template::parse(template)
            .unwrap_or_else(|e| panic!("{template}: {e}"))
            .render(data)
            .unwrap_or_else(|e| panic!("{template}: {e}"))
    }

    fn list() -> Value {
        json!({"kind": "List", "items": [
            {"metadata": {"name": "a", "labels": {"app": "web", "app.kubernetes.io/name": "x"}},
             "spec": {"replicas": 2, "containers": [{"name": "c1", "image": "nginx"}, {"name": "c2", "image": "busybox"}]},
             "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "False"}]}},
            {"metadata": {"name": "b"}, "spec": {"replicas": 5, "containers": []},
             "status": {"conditions": [{"type": "Ready", "status": "False"}]}},
        ]})
    }

    #[test]
    fn fields_wildcards_and_text() {
        let d = list();
        assert_eq!(run("{.items[*].metadata.name}", &d), "a b");
        assert_eq!(run("{.kind}", &d), "List");
        assert_eq!(run("kind={.kind}!", &d), "kind=List!");
        assert_eq!(run("{.items[0].spec.replicas}", &d), "2");
        assert_eq!(run("{.items[-1].metadata.name}", &d), "b");
        assert_eq!(
            run("{.items[0].metadata.labels}", &d),
            r#"{"app":"web","app.kubernetes.io/name":"x"}"#
        );
        assert_eq!(
            run(r"{.items[0].metadata.labels.app\.kubernetes\.io/name}", &d),
            "x"
        );
        assert_eq!(
            run("{.items[0].metadata.labels['app.kubernetes.io/name']}", &d),
            "x"
        );
        assert_eq!(run("{.nothing}{.items[*].nothing}", &d), "");
        assert_eq!(run("{$.kind}{@.kind}", &d), "ListList");
        assert_eq!(
            run("{.items[0].spec.containers[*]['name','image']}", &d),
            "c1 c2 nginx busybox"
        );
        assert_eq!(run("{.items[0:2].metadata.name}", &d), "a b");
        assert_eq!(run("{.items[::2].metadata.name}", &d), "a");
        assert_eq!(run("{.items[0,1].metadata.name}", &d), "a b");
        assert!(run("{.items[0].metadata.*}", &d).starts_with('{'));
        assert_eq!(run("{..image}", &d), "nginx busybox");
    }

    #[test]
    fn range_and_quoted_text() {
        let d = list();
        assert_eq!(
            run(
                r#"{range .items[*]}{.metadata.name}{"\t"}{.spec.replicas}{"\n"}{end}"#,
                &d
            ),
            "a\t2\nb\t5\n"
        );
        assert_eq!(
            run(
                "{range .items[*]}[{range .spec.containers[*]}{.name},{end}]{end}",
                &d
            ),
            "[c1,c2,][]"
        );
    }

    #[test]
    fn filters() {
        let d = list();
        assert_eq!(
            run(
                r#"{.items[*].status.conditions[?(@.type=="Ready")].status}"#,
                &d
            ),
            "True False"
        );
        assert_eq!(
            run(r#"{.items[?(@.spec.replicas>3)].metadata.name}"#, &d),
            "b"
        );
        assert_eq!(
            run(r#"{.items[?(@.metadata.labels)].metadata.name}"#, &d),
            "a"
        );
        assert_eq!(
            run(r#"{.items[?(@.metadata.name!='a')].metadata.name}"#, &d),
            "b"
        );
        assert_eq!(
            run(r#"{.items[?(@.spec.replicas<=2)].metadata.name}"#, &d),
            "a"
        );
    }

    #[test]
    fn errors_like_kubectl() {
        let d = list();
        let e = Template::parse("{.items[5]}")
            .unwrap()
            .render(&d)
            .unwrap_err();
        assert_eq!(e.0, "array index out of bounds: index 5, length 2");
        assert!(Template::parse("{.items").is_err());
        assert!(Template::parse("{range .items[*]}{.a}").is_err());
        assert!(Template::parse("{end}").is_err());
        assert!(Template::parse("{foo}").is_err());
        assert!(Template::parse("{.items[x]}").is_err());
        let e = Template::parse("{.kind[0]}")
            .unwrap()
            .render(&d)
            .unwrap_err();
        assert!(e.0.contains("not array"), "{e}");
    }

    #[test]
    fn relaxed_paths_and_values() {
        let d = list();
        for p in [
            ".items[0].metadata.name",
            "items[0].metadata.name",
            "{.items[0].metadata.name}",
        ] {
            assert_eq!(Template::parse_relaxed(p).unwrap().render(&d).unwrap(), "a");
        }
        assert!(Template::parse_relaxed("{a}{b}").is_err());
        let t = Template::parse_relaxed(".items[*].spec.replicas").unwrap();
        assert_eq!(t.values(&d).unwrap(), vec![json!(2), json!(5)]);
        assert_eq!(
            go_value(&json!({"b": [1, "x"], "a": true})),
            "map[a:true b:[1 x]]"
        );
    }
}

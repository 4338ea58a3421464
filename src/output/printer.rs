//! How `get` prints objects, like kubectl: `-o` (table, wide, json, yaml, name, jsonpath,
//! jsonpath-file, jsonpath-as-json, custom-columns, custom-columns-file), `--no-headers`,
//! `--show-labels`, `-L/--label-columns`, `--sort-by` and, for watches, `--output-watch-events`.
//!
//! A command turns what it found into [`Item`]s (the object as json/yaml print it, its `-o name`
//! line and its table cells) and leaves the rest here, so every kind prints the same way.

use std::cmp::Ordering;

use serde_json::{Value, json};

use super::jsonpath::{Template, go_value, print_value};
use super::{DocFormat, document};
use crate::{Error, Result};

/// `-o` values.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Format {
    /// The default human table.
    #[default]
    Table,
    /// The table with more columns.
    Wide,
    Json,
    Yaml,
    /// `kind.group/name`, one per line.
    Name,
    /// `jsonpath=TEMPLATE` or `jsonpath-file=FILE`.
    JsonPath(Template),
    /// `jsonpath-as-json=TEMPLATE`: the values found, as a JSON array.
    JsonPathAsJson(Template),
    /// `custom-columns=HEADER:PATH,...` or `custom-columns-file=FILE`.
    CustomColumns(Vec<Column>),
}

/// One column of `-o custom-columns`.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub header: String,
    pub path: Template,
}

/// What `-o` accepts, for help and errors.
pub const FORMATS: &str = "json, yaml, wide, name, jsonpath=..., jsonpath-file=..., \
    jsonpath-as-json=..., custom-columns=..., custom-columns-file=...";

impl Format {
    /// Parses an `-o` value (clap value parser).
    pub fn parse(value: &str) -> std::result::Result<Format, String> {
        let (name, arg) = match value.split_once('=') {
            Some((n, a)) => (n, Some(a)),
            None => (value, None),
        };
        let read = |file: &str| {
            std::fs::read_to_string(file).map_err(|e| format!("error reading template {file}: {e}"))
        };
        let need = |arg: Option<&str>| match arg {
            Some(a) if !a.is_empty() => Ok(a.to_string()),
            _ => Err(format!("{name} format specified but no template given")),
        };
        let template = |text: &str| {
            Template::parse(text).map_err(|e| format!("error parsing jsonpath {text}, {e}"))
        };
        match (name, arg) {
            ("wide", None) => Ok(Format::Wide),
            ("json", None) => Ok(Format::Json),
            ("yaml", None) => Ok(Format::Yaml),
            ("name", None) => Ok(Format::Name),
            ("jsonpath", _) => Ok(Format::JsonPath(template(&need(arg)?)?)),
            ("jsonpath-file", _) => Ok(Format::JsonPath(template(&read(&need(arg)?)?)?)),
            ("jsonpath-as-json", _) => Ok(Format::JsonPathAsJson(template(&need(arg)?)?)),
            ("custom-columns", _) => {
                let spec = arg.filter(|a| !a.is_empty()).ok_or(
                    "custom-columns format specified but no custom columns given".to_string(),
                )?;
                Ok(Format::CustomColumns(columns_from_spec(spec)?))
            }
            ("custom-columns-file", _) => Ok(Format::CustomColumns(columns_from_file(&read(
                &need(arg)?,
            )?)?)),
            ("go-template" | "go-template-file" | "template" | "templatefile", _) => Err(format!(
                "-o {name} is not supported: Go templates need Go's text/template, which no \
                 maintained Rust library implements; use -o jsonpath=... (kubectl's JSONPath \
                 templates, e.g. -o jsonpath='{{range .items[*]}}{{.metadata.name}}{{\"\\n\"}}{{end}}') \
                 or -o custom-columns=..."
            )),
            _ => Err(format!(
                "unable to match a printer suitable for the output format {value:?}, allowed formats are: {FORMATS}"
            )),
        }
    }

    /// Whether this format prints a table (where `--no-headers`, `--show-labels`, `-L` apply).
    pub fn is_table(&self) -> bool {
        matches!(self, Format::Table | Format::Wide)
    }

    /// Whether an empty result is reported on stderr ("No resources found"), as kubectl does
    /// for its human-readable formats.
    pub fn says_nothing_found(&self) -> bool {
        matches!(
            self,
            Format::Table | Format::Wide | Format::Name | Format::CustomColumns(_)
        )
    }
}

/// `NAME:.metadata.name,UID:.metadata.uid`.
fn columns_from_spec(spec: &str) -> std::result::Result<Vec<Column>, String> {
    spec.split(',')
        .map(|part| {
            let (header, path) = part.split_once(':').ok_or_else(|| {
                format!(
                    "unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>"
                )
            })?;
            Ok(Column {
                header: header.to_string(),
                path: Template::parse_relaxed(path).map_err(|e| e.to_string())?,
            })
        })
        .collect()
}

/// Two lines: headers, then paths, separated by whitespace.
fn columns_from_file(text: &str) -> std::result::Result<Vec<Column>, String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let headers: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let paths: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    if headers.is_empty() || headers.len() != paths.len() {
        return Err(format!(
            "expected a custom-columns file with a line of headers and a line of as many \
             paths, got {} headers and {} paths",
            headers.len(),
            paths.len()
        ));
    }
    headers
        .iter()
        .zip(paths)
        .map(|(h, p)| {
            Ok(Column {
                header: h.to_string(),
                path: Template::parse_relaxed(p).map_err(|e| e.to_string())?,
            })
        })
        .collect()
}

/// How to print: `-o` and the flags that shape the output.
#[derive(Debug, Clone, Default)]
pub struct PrintOptions {
    pub format: Format,
    /// `--no-headers`: tables and custom columns without their header line.
    pub no_headers: bool,
    /// `--show-labels`: a LABELS column at the end of tables.
    pub show_labels: bool,
    /// `-L/--label-columns`: a column per label key (header: the key's last segment, upper case).
    pub label_columns: Vec<String>,
    /// `--sort-by`: a JSONPath whose first value orders the objects.
    pub sort_by: Option<Template>,
    /// `--output-watch-events`: watch output says ADDED/MODIFIED/DELETED.
    pub output_watch_events: bool,
}

/// One object to print.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The object as `-o json` prints it (and what jsonpath, custom columns, labels and
    /// `--sort-by` read).
    pub object: Value,
    /// Its `-o name` line, without the newline: `deployment.apps/nginx`.
    pub name: String,
    /// Its table cells, matching the header given to [`render`].
    pub cells: Vec<String>,
}

/// Orders `items` by the first value `by` finds in each (numbers by value, other values by
/// their text; objects without it first). Stable. An error when no object has the field.
pub fn sort(items: &mut [Item], by: &Template) -> Result<()> {
    let mut keys = Vec::with_capacity(items.len());
    for item in items.iter() {
        let values = by
            .values(&item.object)
            .map_err(|e| Error::Invalid(format!("--sort-by {}: {e}", by.source())))?;
        keys.push(values.into_iter().next());
    }
    if !items.is_empty() && keys.iter().all(Option::is_none) {
        return Err(Error::Invalid(format!(
            "couldn't find any field with path {:?} in the list of objects",
            by.source()
        )));
    }
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|a, b| compare(keys[*a].as_ref(), keys[*b].as_ref()));
    let sorted: Vec<Item> = order.iter().map(|i| items[*i].clone()).collect();
    items.clone_from_slice(&sorted);
    Ok(())
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(x), Some(y)) => print_value(x).cmp(&print_value(y)),
    }
}

/// The headers of the label columns (`-L`, then `--show-labels`).
fn label_headers(opts: &PrintOptions) -> Vec<String> {
    let mut h: Vec<String> = opts
        .label_columns
        .iter()
        .map(|k| k.rsplit('/').next().unwrap_or(k).to_uppercase())
        .collect();
    if opts.show_labels {
        h.push("LABELS".into());
    }
    h
}

fn label_cells(object: &Value, opts: &PrintOptions) -> Vec<String> {
    let labels = object["metadata"]["labels"].as_object();
    let mut cells: Vec<String> = opts
        .label_columns
        .iter()
        .map(|k| {
            labels
                .and_then(|l| l.get(k))
                .map(print_value)
                .unwrap_or_default()
        })
        .collect();
    if opts.show_labels {
        let all = labels
            .map(|l| {
                l.iter()
                    .map(|(k, v)| format!("{k}={}", print_value(v)))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "<none>".into());
        cells.push(all);
    }
    cells
}

fn custom_cells(object: &Value, columns: &[Column]) -> Result<Vec<String>> {
    columns
        .iter()
        .map(|c| {
            let values = c
                .path
                .values(object)
                .map_err(|e| Error::Invalid(format!("custom-columns {}: {e}", c.path.source())))?;
            Ok(if values.is_empty() {
                "<none>".to_string()
            } else {
                values.iter().map(go_value).collect::<Vec<_>>().join(",")
            })
        })
        .collect()
}

/// A `v1 List`, as kubectl prints several objects.
pub fn list_document(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}})
}

/// The EVENT cell, as wide as the longest event so rows printed one at a time line up.
fn event_cell(event: &str) -> String {
    format!("{event:<8}")
}

/// The table rows (header first unless `--no-headers`) for `items`.
fn table_rows(
    header: &[&str],
    items: &[Item],
    opts: &PrintOptions,
    event: Option<&[&str]>,
) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let mut full_header: Vec<String> = Vec::new();
    if event.is_some() {
        full_header.push("EVENT".into());
    }
    let mut rows = Vec::with_capacity(items.len());
    if let Format::CustomColumns(columns) = &opts.format {
        full_header.extend(columns.iter().map(|c| c.header.clone()));
        for (i, item) in items.iter().enumerate() {
            let mut row: Vec<String> = event.map(|e| vec![event_cell(e[i])]).unwrap_or_default();
            row.extend(custom_cells(&item.object, columns)?);
            rows.push(row);
        }
    } else {
        full_header.extend(header.iter().map(|h| h.to_string()));
        full_header.extend(label_headers(opts));
        for (i, item) in items.iter().enumerate() {
            let mut row: Vec<String> = event.map(|e| vec![event_cell(e[i])]).unwrap_or_default();
            row.extend(item.cells.iter().cloned());
            row.extend(label_cells(&item.object, opts));
            rows.push(row);
        }
    }
    Ok((full_header, rows))
}

fn table_text(header: Vec<String>, rows: Vec<Vec<String>>, no_headers: bool) -> String {
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    if no_headers {
        super::table_without_header(rows)
    } else {
        super::table(&header, rows)
    }
}

fn doc(format: &Format) -> DocFormat {
    if *format == Format::Json {
        DocFormat::Json
    } else {
        DocFormat::Yaml
    }
}

fn jsonpath_error(t: &Template, e: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("error executing jsonpath {:?}: {e}", t.source()))
}

/// Prints `items` (already sorted) with `header` for the table formats. `single`: one object
/// was asked for by name and found, so json/yaml/jsonpath see the object, not a List.
pub fn render(
    header: &[&str],
    items: &[Item],
    opts: &PrintOptions,
    single: bool,
) -> Result<String> {
    let data = || {
        if single && items.len() == 1 {
            items[0].object.clone()
        } else {
            list_document(items.iter().map(|i| i.object.clone()).collect())
        }
    };
    Ok(match &opts.format {
        Format::Table | Format::Wide | Format::CustomColumns(_) => {
            if items.is_empty() {
                return Ok(String::new());
            }
            let (header, rows) = table_rows(header, items, opts, None)?;
            table_text(header, rows, opts.no_headers)
        }
        Format::Name => items.iter().map(|i| format!("{}\n", i.name)).collect(),
        Format::Json | Format::Yaml => document(&data(), doc(&opts.format))?,
        Format::JsonPath(t) => t.render(&data()).map_err(|e| jsonpath_error(t, e))?,
        Format::JsonPathAsJson(t) => {
            let values = t.values(&data()).map_err(|e| jsonpath_error(t, e))?;
            document(&Value::Array(values), DocFormat::Json)?
        }
    })
}

/// A change seen by a watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Added,
    Modified,
    Deleted,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Added => "ADDED",
            Event::Modified => "MODIFIED",
            Event::Deleted => "DELETED",
        }
    }
}

/// Prints what a watch lists first (the table with its header, or each object as an ADDED
/// event with `--output-watch-events`).
pub fn render_watch_start(header: &[&str], items: &[Item], opts: &PrintOptions) -> Result<String> {
    if !opts.output_watch_events {
        return match &opts.format {
            // A stream of documents rather than one List, so later events read the same way.
            Format::Json | Format::Yaml | Format::JsonPath(_) | Format::JsonPathAsJson(_) => {
                let mut out = String::new();
                for (i, item) in items.iter().enumerate() {
                    out.push_str(&render_watch_event(header, &[], item, None, opts, i > 0)?);
                }
                Ok(out)
            }
            _ => render(header, items, opts, false),
        };
    }
    if opts.format.is_table() || matches!(opts.format, Format::CustomColumns(_)) {
        if items.is_empty() {
            return Ok(String::new());
        }
        let events = vec!["ADDED"; items.len()];
        let (header, rows) = table_rows(header, items, opts, Some(&events))?;
        return Ok(table_text(header, rows, opts.no_headers));
    }
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        out.push_str(&render_watch_event(
            header,
            &[],
            item,
            Some(Event::Added),
            opts,
            i > 0,
        )?);
    }
    Ok(out)
}

/// One watch event. `above` are the items printed first, so a table row lines up with them;
/// `separate`: a YAML document came before (prefix `---`).
pub fn render_watch_event(
    header: &[&str],
    above: &[Item],
    item: &Item,
    event: Option<Event>,
    opts: &PrintOptions,
    separate: bool,
) -> Result<String> {
    let event = event.filter(|_| opts.output_watch_events);
    match &opts.format {
        Format::Table | Format::Wide | Format::CustomColumns(_) => {
            let mut all: Vec<Item> = above.to_vec();
            all.push(item.clone());
            let events: Vec<&str> = all
                .iter()
                .enumerate()
                .map(|(i, _)| {
                    if i + 1 == all.len() {
                        event.map_or("", Event::as_str)
                    } else {
                        "ADDED"
                    }
                })
                .collect();
            let (header, rows) = table_rows(
                header,
                &all,
                opts,
                opts.output_watch_events.then_some(events.as_slice()),
            )?;
            let text = table_text(header, rows, opts.no_headers);
            let last = text.lines().last().unwrap_or_default();
            Ok(format!("{last}\n"))
        }
        Format::Name => Ok(match event {
            Some(e) => format!("{} {}\n", e.as_str(), item.name),
            None => format!("{}\n", item.name),
        }),
        _ => {
            let data = match event {
                Some(e) => json!({"type": e.as_str(), "object": item.object}),
                None => item.object.clone(),
            };
            Ok(match &opts.format {
                Format::Json => document(&data, DocFormat::Json)?,
                Format::Yaml => {
                    let text = document(&data, DocFormat::Yaml)?;
                    if separate {
                        format!("---\n{text}")
                    } else {
                        text
                    }
                }
                Format::JsonPath(t) => t.render(&data).map_err(|e| jsonpath_error(t, e))?,
                Format::JsonPathAsJson(t) => {
                    let values = t.values(&data).map_err(|e| jsonpath_error(t, e))?;
                    document(&Value::Array(values), DocFormat::Json)?
                }
                _ => unreachable!("tables and names are handled above"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, replicas: i64, labels: Value) -> Item {
        Item {
            object: json!({"kind": "Deployment", "metadata": {"name": name, "labels": labels},
                "spec": {"replicas": replicas}}),
            name: format!("deployment.apps/{name}"),
            cells: vec![name.to_string(), format!("{replicas}")],
        }
    }

    fn items() -> Vec<Item> {
        vec![
            item(
                "web",
                10,
                json!({"app": "web", "app.kubernetes.io/tier": "front"}),
            ),
            item("db", 2, json!({})),
        ]
    }

    fn opts(format: &str) -> PrintOptions {
        PrintOptions {
            format: Format::parse(format).unwrap(),
            ..Default::default()
        }
    }

    #[test]
    fn parses_every_format_and_explains_the_rest() {
        assert_eq!(Format::parse("wide").unwrap(), Format::Wide);
        assert!(matches!(
            Format::parse("jsonpath={.a}").unwrap(),
            Format::JsonPath(_)
        ));
        assert!(
            Format::parse("jsonpath=")
                .unwrap_err()
                .contains("no template")
        );
        assert!(
            Format::parse("jsonpath={.a")
                .unwrap_err()
                .contains("error parsing jsonpath")
        );
        let e = Format::parse("go-template={{.metadata.name}}").unwrap_err();
        assert!(e.contains("jsonpath"), "{e}");
        assert!(
            Format::parse("xml")
                .unwrap_err()
                .contains("allowed formats")
        );
        assert!(
            Format::parse("custom-columns=NAME")
                .unwrap_err()
                .contains("<header>:<json-path-expr>")
        );
        let Format::CustomColumns(c) =
            Format::parse("custom-columns=NAME:.metadata.name,R:spec.replicas").unwrap()
        else {
            panic!()
        };
        assert_eq!(c.len(), 2);
        assert_eq!(columns_from_file("A  B\n.a .b\n").unwrap().len(), 2);
        assert!(columns_from_file("A B\n.a\n").is_err());
    }

    #[test]
    fn tables_with_labels_and_without_headers() {
        let mut o = opts("wide");
        o.show_labels = true;
        o.label_columns = vec!["app".into(), "app.kubernetes.io/tier".into()];
        let text = render(&["NAME", "REPLICAS"], &items(), &o, false).unwrap();
        let lines: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(lines[0], ["NAME", "REPLICAS", "APP", "TIER", "LABELS"]);
        assert_eq!(
            lines[1],
            [
                "web",
                "10",
                "web",
                "front",
                "app=web,app.kubernetes.io/tier=front"
            ]
        );
        assert_eq!(lines[2], ["db", "2", "<none>"]);
        o.no_headers = true;
        let text = render(&["NAME", "REPLICAS"], &items(), &o, false).unwrap();
        assert!(text.starts_with("web "), "{text}");
    }

    #[test]
    fn custom_columns_jsonpath_and_sorting() {
        let o = opts("custom-columns=NAME:.metadata.name,APP:.metadata.labels.app");
        let text = render(&[], &items(), &o, false).unwrap();
        let lines: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(
            lines,
            [
                vec!["NAME", "APP"],
                vec!["web", "web"],
                vec!["db", "<none>"]
            ]
        );

        let o = opts("jsonpath={.items[*].metadata.name}");
        assert_eq!(render(&[], &items(), &o, false).unwrap(), "web db");
        let o = opts("jsonpath={.metadata.name}");
        assert_eq!(render(&[], &items()[..1], &o, true).unwrap(), "web");

        let mut sorted = items();
        sort(
            &mut sorted,
            &Template::parse_relaxed(".spec.replicas").unwrap(),
        )
        .unwrap();
        assert_eq!(sorted[0].name, "deployment.apps/db");
        sort(
            &mut sorted,
            &Template::parse_relaxed("{.metadata.name}").unwrap(),
        )
        .unwrap();
        assert_eq!(sorted[0].name, "deployment.apps/db");
        let mut by_label = items();
        by_label.reverse();
        sort(
            &mut by_label,
            &Template::parse_relaxed(".metadata.labels.app").unwrap(),
        )
        .unwrap();
        assert_eq!(
            by_label[0].name, "deployment.apps/db",
            "objects without the field first"
        );
        assert!(sort(&mut by_label, &Template::parse_relaxed(".nope").unwrap()).is_err());
    }

    #[test]
    fn watch_events() {
        let mut o = opts("json");
        o.output_watch_events = true;
        let text =
            render_watch_event(&[], &[], &items()[0], Some(Event::Modified), &o, false).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["type"], "MODIFIED");
        assert_eq!(v["object"]["metadata"]["name"], "web");
        let mut o = opts("wide");
        o.output_watch_events = true;
        let start = render_watch_start(&["NAME", "REPLICAS"], &items(), &o).unwrap();
        assert!(start.starts_with("EVENT"), "{start}");
        let row = render_watch_event(
            &["NAME", "REPLICAS"],
            &items(),
            &items()[1],
            Some(Event::Deleted),
            &o,
            false,
        )
        .unwrap();
        assert!(row.starts_with("DELETED"), "{row}");
        assert_eq!(row.lines().count(), 1);
    }
}
